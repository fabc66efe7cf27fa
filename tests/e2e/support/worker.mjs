// Starts the worker under `wrangler dev` (real workerd, Durable Objects and KV emulated locally) on a free port.
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

/**
 * `scripts/test.sh` sets `MCP_E2E_RUN_DIR`: every worker's output, and the secrets it was given, are saved there
 * when it stops, so `check_run_logs.mjs` can check the log lines of the whole run (JSON, no secret in them).
 */
const RUN_DIR = process.env.MCP_E2E_RUN_DIR;
let saved = 0;

/** The secret values among a worker's settings: keys, secrets, tokens, credentials (each part of a list). */
function secretsOf(vars) {
  const found = [];
  const collect = (v) => {
    if (typeof v === 'string') {
      found.push(v);
      for (const item of v.split(',')) found.push(item.trim(), item.slice(item.indexOf(':') + 1).trim());
    } else if (v && typeof v === 'object') for (const x of Object.values(v)) collect(x);
  };
  for (const [name, value] of Object.entries(vars)) {
    if (!/(SECRET|KEYS?|TOKEN|CREDENTIALS|PASSWORD)$/.test(name)) continue;
    let parsed = value;
    try { parsed = JSON.parse(value); } catch {}
    collect(parsed);
    collect(value);
  }
  return found.filter((v) => v.length >= 8);
}

/** Records secrets a test saw (tokens it was issued), for the run's log check. */
export function recordSecrets(...values) {
  if (!RUN_DIR) return;
  const lines = values.filter((v) => typeof v === 'string' && v.length >= 8);
  if (lines.length) appendFileSync(join(RUN_DIR, `secrets-${process.pid}.txt`), lines.map((v) => `${JSON.stringify(v)}\n`).join(''));
}

let built = false;
/** Builds the worker once per process (scripts/build.sh). */
export function buildOnce() {
  if (built || process.env.MCP_SKIP_BUILD === '1') return;
  execFileSync('bash', [join(ROOT, 'scripts', 'build.sh')], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  built = true;
}

/**
 * The environment our `wrangler dev`s run in (the tests' and the bench's): no rebuild, no telemetry, plain output,
 * and without wrangler's local trace collector (`X_LOCAL_OBSERVABILITY`, on by default in wrangler 4.164.0), which
 * nothing here reads and which costs every request about 0.3 ms of workerd's thread (bench/README.md). `extra`
 * overrides.
 */
export function wranglerEnv(extra = {}) {
  return {
    ...process.env, MCP_SKIP_BUILD: '1', WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1',
    X_LOCAL_OBSERVABILITY: 'false', ...extra,
  };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `wrangler dev` and waits until it answers. Without `persistTo` it keeps its state in a temporary
 * directory of its own, removed by `stop()`; `restart()` stops it and starts another on the same state.
 * Development mode (`MCP_DEV_MODE=true`, as `npm run dev` sets it) is on unless `development: false`: the tests
 * run locally, like a developer; the ones about deployments turn it off.
 * With `direct`, `directUrl` reaches the Worker straight at a workerd socket of its own (bench/direct-sockets.cjs),
 * past wrangler's front proxy, for tests about the transport itself (flow control of large uploads).
 * @param {{vars?: Record<string,string>, persistTo?: string, port?: number, config?: string, development?: boolean, direct?: boolean}} options
 * @returns {Promise<{url: string, directUrl?: string, port: number, persistTo: string, logs: () => string, stop: () => Promise<void>, restart: (opts?: {samePort?: boolean}) => Promise<object>}>}
 */
export async function startWorker(options = {}) {
  buildOnce();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      // A `wrangler dev` that exits early (a port taken between our check and its bind) or never answers (seen
      // once on a loaded machine: stuck after "Starting local server…") is killed and started afresh.
      if (!(err instanceof StartFailed) || attempt === START_ATTEMPTS) throw err;
      process.stderr.write(`startWorker: attempt ${attempt} failed, starting again: ${err.message.split('\n')[0]}\n`);
    }
  }
}

const START_ATTEMPTS = 3;
/** How long one `wrangler dev` may take to answer (it takes 2 s here, under 20 s on a loaded machine). */
const START_TIMEOUT_MS = 60_000;

class StartFailed extends Error {}

/** Process groups of the `wrangler dev`s still running: killed when this process exits, so none outlives a test file. */
const running = new Set();
process.once('exit', () => {
  for (const pid of running) try { process.kill(-pid, 'SIGKILL'); } catch {}
});

async function startOnce(options) {
  const port = options.port ?? (await freePort());
  const persistTo = options.persistTo ?? mkdtempSync(join(tmpdir(), 'mcp-worker-state-'));
  const ownsState = options.ownsState ?? !options.persistTo;
  // The Worker's name in the default configuration (direct sockets are named by Worker).
  const directName = 'mcp-worker-rs';
  const socketsFile = join(persistTo, 'direct-sockets.json');
  const preload = options.direct ? ['--require', join(ROOT, 'bench', 'direct-sockets.cjs')] : [];
  const args = [...preload, WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', persistTo,
    '--inspector-port', String(options.inspectorPort ?? await freePort()), '--show-interactive-dev-session=false', '--log-level', options.logLevel ?? 'log'];
  if (options.config) args.push('--config', options.config);
  const vars = { ...(options.development === false ? {} : { MCP_DEV_MODE: 'true' }), ...(options.vars ?? {}) };
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: wranglerEnv(options.direct ? { BENCH_DIRECT_SOCKETS: directName, BENCH_DIRECT_SOCKETS_FILE: socketsFile } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  let saveOutput = () => {};
  if (RUN_DIR) {
    const file = join(RUN_DIR, `worker-${process.pid}-${++saved}-${port}.log`);
    saveOutput = () => { appendFileSync(file, output); saveOutput = () => {}; };
    process.once('exit', () => saveOutput());
    recordSecrets(...secretsOf(vars));
  }
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  running.add(child.pid);
  const exited = new Promise((resolve) => child.on('exit', () => { running.delete(child.pid); resolve(); }));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  const giveUp = async (message) => {
    try { process.kill(-child.pid, 'SIGKILL'); } catch {}
    await exited;
    saveOutput();
    if (ownsState) rmSync(persistTo, { recursive: true, force: true });
    throw new StartFailed(`${message}:\n${output}`);
  };
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) await giveUp('wrangler dev exited early');
    try {
      await fetch(`${url}/`, { signal: AbortSignal.timeout(2000) });
      break;
    } catch {
      if (Date.now() > deadline) await giveUp(`wrangler dev did not answer on ${url} within ${START_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  let directUrl;
  while (options.direct && !directUrl) {
    let report = null;
    try { report = JSON.parse(readFileSync(socketsFile, 'utf8')); } catch {}
    directUrl = report?.sockets?.[directName]?.replace(/\/$/, '');
    if (!directUrl && (report?.error || Date.now() > deadline)) {
      await giveUp(`no direct socket for ${directName}: ${report?.error ?? 'bench/direct-sockets.cjs wrote nothing'}`);
    }
    if (!directUrl) await new Promise((r) => setTimeout(r, 100));
  }
  async function halt() {
    if (child.exitCode === null) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch {}
      const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} }, 5000);
      await exited;
      clearTimeout(timer);
    }
    saveOutput();
  }
  return {
    url,
    directUrl,
    port,
    persistTo,
    logs: () => output,
    async stop() {
      await halt();
      if (ownsState) rmSync(persistTo, { recursive: true, force: true });
    },
    /**
     * A new `wrangler dev` over this one's state, which it then owns as this one did: on a new port, or with
     * `samePort` on this one's (for clients bound to the URL, such as the SDK's transport).
     */
    async restart({ samePort = false } = {}) {
      await halt();
      return startWorker({ ...options, persistTo, ownsState, port: samePort ? port : undefined });
    },
  };
}
