// Benchmark: the Rust MCP worker against three references, all four Workers in one `wrangler dev` (one workerd),
// each measured straight at a workerd socket of its own (not through wrangler's front proxy).
//
//   npm run bench                      # build, all four targets, upload size; writes bench/results/latest.json
//   BENCH_TARGETS=baseline npm run bench   # only the baseline (no build)
//
// Targets: ours (this repository's worker), baseline (bench/baseline: fixed answers), one-hop (bench/do-floor: fixed
// answers behind one Durable Object per session), mcp-agent (bench/mcp-agent: Cloudflare's McpAgent, one echo tool).
//
// Settings (environment):
//   BENCH_CONCURRENCY      concurrent requests (closed loop, one keep-alive connection each)            default 16
//   BENCH_SECONDS          measured duration of each scenario, per target                                default 20
//   BENCH_ROUNDS           the targets take turns in this many rounds of BENCH_SECONDS / rounds          default 4
//   BENCH_MAX_REQUESTS     cap on iterations per measured scenario                                       default 200000
//   BENCH_WARMUP           warm-up iterations per scenario and target (not reported)                    default 300
//   BENCH_WARMUP_SECONDS   cap on each warm-up's duration                                                default 5
//   BENCH_TARGETS          comma-separated subset of ours,baseline,one-hop,mcp-agent                     default all
//   BENCH_SCENARIOS        comma-separated subset of the scenario ids (tools_call, stateless_tools_call, …) default all
//                          (openapi_import: the native import of GitHub's OpenAPI spec, no Worker; alone, only it runs)
//   BENCH_ONLY             older form: baseline | ours | both (= all targets)
//   BENCH_DO_FLOOR=0       leaves out the one-hop reference;  BENCH_MCP_AGENT=0 leaves out McpAgent
//   BENCH_VIA              direct (each Worker's own socket) | entry (workerd's shared entry socket) |
//                          proxy (wrangler's front proxy, as `npm run dev` serves; one target only)      default direct
//   BENCH_SKIP_UPLOAD      1 = do not measure the upload size (wrangler deploy --dry-run)
//   BENCH_LOG_LEVEL        MCP_LOG_LEVEL of ours (the audit log)                                          default off
//   BENCH_VARS             extra settings of ours, `NAME=value` separated by `;` (e.g. MCP_MAX_SESSIONS_PER_CALLER=10000)
//   BENCH_PRODUCTION_LAYER what ours-production turns on (tools_call_production): rate, metrics, audit      default all three
//   BENCH_NO_SNAPSHOT      1 = run ours from the repository's wrangler.toml and build/ (see snapshotOurs)
//   BENCH_LOCAL_OBSERVABILITY 1 = leave wrangler's local trace collector on (see wranglerEnv)           default off
//   BENCH_COMPARE_BUILD    a directory holding another build of ours (index.js, index_bg.wasm, e.g. a copy of
//                          build/ before a change): measured as the target ours-compare beside ours in every
//                          scenario ours runs, under the same wrangler, so that two builds are compared in one
//                          run (between runs, rates move by 5-10 %)
//
// Exit status: 0 = ran (targets missed or not), 1 = correctness errors, 2 = crash (a worker or step failed).
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, buildOnce, freePort, wranglerEnv as sharedWranglerEnv } from '../tests/e2e/support/worker.mjs';
import { startFakeGitHub } from '../tests/e2e/support/fake_github.mjs';
import { signIn } from '../tests/e2e/support/oauth_flow.mjs';
import { cpuSample, cpuUsage, workerdMicros, workerdTicks } from './cpu.mjs';
import { DEFAULT_TOOLS, PROTOCOL_VERSION, SCENARIOS, createClient, mergeRuns, runScenario } from './loadgen.mjs';
import { OPENAPI_IMPORT_STEP, measureOpenApiImport, openApiImportText } from './openapi-import.mjs';

function exitWith(message) {
  console.error(`[bench] ${message}`);
  process.exit(2);
}
const numEnv = (name, fallback, min = Number.MIN_VALUE) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) exitWith(`${name} must be a number ≥ ${min === Number.MIN_VALUE ? '0 (exclusive)' : min}, got ${JSON.stringify(raw)}`);
  return n;
};

const settings = {
  concurrency: Math.floor(numEnv('BENCH_CONCURRENCY', 16, 1)),
  seconds: numEnv('BENCH_SECONDS', 20),
  maxIterations: Math.floor(numEnv('BENCH_MAX_REQUESTS', 200_000, 1)),
  warmup: Math.floor(numEnv('BENCH_WARMUP', 300, 0)),
  warmupSeconds: numEnv('BENCH_WARMUP_SECONDS', 5),
  rounds: Math.floor(numEnv('BENCH_ROUNDS', 4, 1)),
};
const scenarioIds = (process.env.BENCH_SCENARIOS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const unknownScenarios = scenarioIds.filter((id) => id !== OPENAPI_IMPORT_STEP && !SCENARIOS.some((s) => s.id === id));
if (unknownScenarios.length) exitWith(`BENCH_SCENARIOS: unknown scenario(s) ${unknownScenarios.join(', ')}; use ${[...SCENARIOS.map((s) => s.id), OPENAPI_IMPORT_STEP].join(', ')}`);
const measuredScenarios = SCENARIOS.filter((s) => !scenarioIds.length || scenarioIds.includes(s.id));
const measureImport = !scenarioIds.length || scenarioIds.includes(OPENAPI_IMPORT_STEP);
const NOISY_PERCENT = 10; // other processes' share of the CPUs above which a run is flagged as disturbed
const UPLOAD_LIMIT_KIB = 350;
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const PRELOAD = join(ROOT, 'bench', 'direct-sockets.cjs');
const ROUTE_HEADER = 'MF-Route-Override'; // Miniflare's entry Worker sends a request carrying it to the Worker it names

/** The four targets, in the order each scenario measures them. `tools`: what its tools/list must name. */
const ALL_TARGETS = [
  { id: 'baseline', title: 'baseline', dir: 'baseline', tools: DEFAULT_TOOLS },
  { id: 'ours', title: 'ours', dir: null, tools: DEFAULT_TOOLS },
  { id: 'one-hop', title: 'one-hop reference', dir: 'do-floor', tools: DEFAULT_TOOLS },
  { id: 'mcp-agent', title: 'McpAgent', dir: 'mcp-agent', tools: ['echo'] }, // it serves only echo
  // Ours again (same build, a Worker of its own) with the production layer on: MCP_RATE_LIMIT (a limit never
  // reached), MCP_METRICS_TOKEN (metrics batched to the MetricsHub) and MCP_LOG_LEVEL=info (the audit log).
  // Measured only in the scenarios that name it (tools_call_production), against ours.
  { id: 'ours-production', title: 'ours, production layer on', dir: null, tools: DEFAULT_TOOLS, only: ['tools_call_production'] },
  // Another build of ours (BENCH_COMPARE_BUILD), with ours's settings, wherever ours is measured.
  { id: 'ours-compare', title: 'ours, compared build', dir: null, tools: DEFAULT_TOOLS, withOurs: true },
];
/** BENCH_VARS, `NAME=value` pairs separated by `;`: extra settings of ours (and of the compared build). */
const BENCH_VARS = Object.fromEntries((process.env.BENCH_VARS ?? '').split(';').map((p) => p.trim()).filter(Boolean).map((pair) => {
  const at = pair.indexOf('=');
  if (at < 1) exitWith(`BENCH_VARS: ${JSON.stringify(pair)} is not NAME=value`);
  return [pair.slice(0, at), pair.slice(at + 1)];
}));
const COMPARE_BUILD = process.env.BENCH_COMPARE_BUILD || null;
if (COMPARE_BUILD && !['index.js', 'index_bg.wasm'].every((f) => existsSync(join(COMPARE_BUILD, f)))) {
  exitWith(`BENCH_COMPARE_BUILD: ${COMPARE_BUILD} must hold index.js and index_bg.wasm (a copy of build/)`);
}

function selectTargets() {
  let ids;
  if (process.env.BENCH_TARGETS) {
    ids = process.env.BENCH_TARGETS.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    const unknown = ids.filter((id) => !ALL_TARGETS.some((t) => t.id === id));
    if (unknown.length || !ids.length) exitWith(`BENCH_TARGETS: unknown target(s) ${unknown.join(', ')}; use ours, baseline, one-hop, mcp-agent, ours-production`);
  } else {
    const only = (process.env.BENCH_ONLY ?? 'both').toLowerCase();
    if (!['baseline', 'ours', 'both'].includes(only)) exitWith(`BENCH_ONLY must be baseline, ours or both, got ${only}`);
    ids = only === 'both' ? ALL_TARGETS.map((t) => t.id) : [only];
  }
  if (process.env.BENCH_DO_FLOOR === '0') ids = ids.filter((id) => id !== 'one-hop');
  if (process.env.BENCH_MCP_AGENT === '0') ids = ids.filter((id) => id !== 'mcp-agent');
  // The production copy of ours comes with ours, when a scenario that names it is measured.
  const wanted = ids.includes('ours') && measuredScenarios.some((s) => s.targets?.includes('ours-production'));
  ids = ids.filter((id) => id !== 'ours-production' && id !== 'ours-compare');
  if (wanted) ids.push('ours-production');
  if (COMPARE_BUILD && ids.includes('ours')) ids.push('ours-compare');
  if (!ids.length) exitWith('no target left to measure');
  return ALL_TARGETS.filter((t) => ids.includes(t.id));
}
const targets = selectTargets();
const has = (id) => targets.some((t) => t.id === id);
/** Whether `target` is measured in `scenario` (the compared build goes wherever ours goes). */
const measuredIn = (t, s) => (!s.targets || s.targets.includes(t.withOurs ? 'ours' : t.id)) && (!t.only || t.only.includes(s.id));
const via = (process.env.BENCH_VIA ?? 'direct').toLowerCase();
if (!['direct', 'entry', 'proxy'].includes(via)) exitWith(`BENCH_VIA must be direct, entry or proxy, got ${via}`);
// wrangler's proxy forwards to the first Worker only (it runs in a Miniflare of its own, whose entry Worker would
// take the MF-Route-Override header for itself), so it can serve one target per run.
if (via === 'proxy' && targets.length !== 1) exitWith('BENCH_VIA=proxy measures one target per run: set BENCH_TARGETS to one of ours, baseline, one-hop, mcp-agent');

let clientName = null;
const log = (...args) => console.error('[bench]', ...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// wrangler dev runs detached (its own process group); stop it if we are interrupted.
let devProcess = null;
let workDir = null;
function cleanup() {
  if (devProcess && devProcess.exitCode === null) {
    try { process.kill(-devProcess.pid, 'SIGKILL'); } catch {}
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = null;
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log(`${sig}: stopping wrangler dev`);
    cleanup();
    process.exit(130);
  });
}

function run(cmd, args, options) {
  return new Promise((resolve) => {
    execFile(cmd, args, { ...options, maxBuffer: 64 << 20 }, (error, stdout, stderr) => resolve({ error, output: `${stdout}${stderr}` }));
  });
}
/**
 * wrangler dev's environment: the tests' (`tests/e2e/support/worker.mjs`), with wrangler's local trace collector off
 * unless `BENCH_LOCAL_OBSERVABILITY=1`. The collector streams every invocation's trace events to a Worker in the same
 * workerd, which writes them to SQLite on the Workers' thread: about 320 µs per invocation here, three times the bare
 * baseline's own cost, and nothing of it runs in a deployed Worker's isolate (bench/README.md).
 */
const wranglerEnv = () => sharedWranglerEnv(process.env.BENCH_LOCAL_OBSERVABILITY === '1' ? { X_LOCAL_OBSERVABILITY: 'true' } : {});
const workerName = (tomlPath) => readFileSync(tomlPath, 'utf8').match(/^\s*name\s*=\s*"([^"]+)"/m)?.[1];

/**
 * Copies build/ and wrangler.toml (without its [build] table) to dir/ours, so that `wrangler dev` and
 * `wrangler deploy --dry-run` use exactly the build made at the start of the run: with the repository's config,
 * `wrangler dev` reloads the worker (answering 503 "Your worker restarted mid-request") whenever src/ changes or
 * something rebuilds build/ during the run. Returns the config path, or the repository's config.
 */
function snapshotOurs(dir) {
  const repoConfig = join(ROOT, 'wrangler.toml');
  if (process.env.BENCH_NO_SNAPSHOT === '1') return { config: repoConfig, snapshot: false };
  const toml = readFileSync(repoConfig, 'utf8');
  const main = toml.match(/^\s*main\s*=\s*"([^"]+)"/m)?.[1];
  if (!main || !main.startsWith('build/') || /^\s*\[(assets|site)\]|^\s*(base_dir|tsconfig|rules)\s*=/m.test(toml)) {
    log('wrangler.toml refers to files outside build/: using it as it is (no snapshot)');
    return { config: repoConfig, snapshot: false };
  }
  const out = join(dir, 'ours');
  cpSync(join(ROOT, 'build'), join(out, 'build'), { recursive: true, filter: (src) => !src.split(sep).includes('.tmp') });
  const lines = [];
  let inBuild = false;
  for (const line of toml.split('\n')) {
    if (/^\s*\[/.test(line)) inBuild = /^\s*\[build\]\s*(#.*)?$/.test(line);
    if (!inBuild) lines.push(line);
  }
  writeFileSync(join(out, 'wrangler.toml'), lines.join('\n'));
  return { config: join(out, 'wrangler.toml'), snapshot: true };
}

/** What the production copy turns on (BENCH_PRODUCTION_LAYER, to find what costs what): all three by default. */
const LAYER = (process.env.BENCH_PRODUCTION_LAYER ?? 'rate,metrics,audit').split(',').map((s) => s.trim());
if (LAYER.some((x) => !['rate', 'metrics', 'audit'].includes(x))) exitWith('BENCH_PRODUCTION_LAYER: a comma-separated subset of rate, metrics, audit');
/** The secret `/metrics` asks for on the production copy (the bench never reads it). */
const BENCH_METRICS_TOKEN = `bench-metrics-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

/**
 * A second config of ours next to `config` (same build): a Worker of its own name whose [vars] turn the
 * production layer on — `--var` reaches only the primary Worker — with a rate limit far above what the bench
 * sends, so nothing is denied and every request pays for the check.
 */
function productionCopy(config) {
  const vars = {
    MCP_DEV_MODE: 'true',
    ...(LAYER.includes('rate') ? { MCP_RATE_LIMIT: '1000000/60' } : {}),
    ...(LAYER.includes('metrics') ? { MCP_METRICS_TOKEN: BENCH_METRICS_TOKEN } : {}),
    MCP_LOG_LEVEL: LAYER.includes('audit') ? 'info' : 'off',
    MCP_API_KEYS: `bench:${BENCH_KEY}`,
    ...fakeGitHub?.vars,
  };
  const toml = withVars(readFileSync(config, 'utf8'), vars).replace(/^(\s*name\s*=\s*)"([^"]+)"/m, '$1"$2-production"');
  const path = join(dirname(config), 'wrangler.production.toml');
  writeFileSync(path, toml);
  return path;
}

/** `wrangler deploy --dry-run --outdir` of a config: the files it would upload and the size it reports. */
async function dryRun(config, outdir) {
  const args = [WRANGLER, 'deploy', '--dry-run', '--outdir', outdir, '--config', config];
  const { error, output } = await run(process.execPath, args, { cwd: ROOT, env: wranglerEnv() });
  if (error) throw new Error(`wrangler deploy --dry-run --config ${config} failed (${error.message}):\n${output}`);
  const m = output.match(/Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/);
  return { output, totalKiB: m ? Number(m[1]) : null, gzipKiB: m ? Number(m[2]) : null };
}

/**
 * The references run from copies too. McpAgent is bundled once, here, with `wrangler deploy --dry-run` (the
 * bundle Cloudflare would receive), and `wrangler dev` then runs that self-contained file: the run does not depend
 * on node_modules staying as it is, and it gives McpAgent's own upload size.
 */
async function snapshotReferences(dir) {
  const configs = {};
  let mcpAgentUpload = null;
  if (has('baseline') || has('one-hop')) cpSync(join(ROOT, 'bench', 'baseline'), join(dir, 'baseline'), { recursive: true });
  if (has('baseline')) configs.baseline = join(dir, 'baseline', 'wrangler.toml');
  if (has('one-hop')) {
    cpSync(join(ROOT, 'bench', 'do-floor'), join(dir, 'do-floor'), { recursive: true }); // it imports ../baseline/worker.js
    configs['one-hop'] = join(dir, 'do-floor', 'wrangler.toml');
  }
  if (has('mcp-agent')) {
    const src = join(ROOT, 'bench', 'mcp-agent', 'wrangler.toml');
    const bundleDir = join(dir, 'mcp-agent-bundle');
    log('bundling the McpAgent reference (wrangler deploy --dry-run)');
    const d = await dryRun(src, bundleDir);
    mcpAgentUpload = { totalKiB: d.totalKiB, gzipKiB: d.gzipKiB };
    const toml = readFileSync(src, 'utf8');
    const main = toml.match(/^\s*main\s*=\s*"([^"]+)"/m)?.[1];
    const bundled = join(bundleDir, basename(main));
    if (!main || !existsSync(bundled)) throw new Error(`no ${basename(main ?? '?')} in the McpAgent bundle:\n${d.output}`);
    mkdirSync(join(dir, 'mcp-agent'));
    cpSync(bundled, join(dir, 'mcp-agent', basename(main)));
    writeFileSync(join(dir, 'mcp-agent', 'wrangler.toml'), toml.replace(/^(\s*main\s*=\s*)"[^"]+"/m, `$1"${basename(main)}"`));
    configs['mcp-agent'] = join(dir, 'mcp-agent', 'wrangler.toml');
  }
  return { configs, mcpAgentUpload };
}

async function answers(url, headers = {}) {
  try {
    await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts one `wrangler dev` with every target's config (after bench/primary, the primary Worker, see below), with
 * bench/direct-sockets.cjs preloaded, and returns how to reach each target:
 * { url, headers } per target id, the way used, and the sockets found.
 */
async function startAll(configs, dir) {
  const names = Object.fromEntries(Object.entries(configs).map(([id, config]) => [id, workerName(config)]));
  for (const [id, name] of Object.entries(names)) if (!name) throw new Error(`no name in the config of ${id}`);
  const port = await freePort();
  const socketsFile = join(dir, 'sockets.json');
  // wrangler attaches its DevTools inspector to one Worker (whichever bundle finished last; bench/direct-sockets.cjs
  // pins it to the first config, the primary), and no reference has one: so the primary is bench/primary, never
  // measured, and every target runs as a secondary Worker with its settings in its config. Ours is the primary only
  // where it must be, its settings then given as `--var`s: through the front proxy or the entry socket (whose
  // default route, which the sign-in takes, is the primary), and without a snapshot (BENCH_NO_SNAPSHOT=1).
  const oursFirst = via !== 'direct' || (has('ours') && configs.ours === join(ROOT, 'wrangler.toml'));
  const ordered = targets.map((t) => t.id).sort((a, b) => (a === 'ours' ? -1 : b === 'ours' ? 1 : 0));
  const primary = oursFirst ? [] : [join(ROOT, 'bench', 'primary', 'wrangler.toml')];
  const args = ['--require', PRELOAD, WRANGLER, 'dev', ...primary.flatMap((c) => ['--config', c]), ...ordered.flatMap((id) => ['--config', configs[id]]),
    '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(await freePort()), '--persist-to', join(dir, 'state'),
    '--show-interactive-dev-session=false', '--log-level', 'warn'];
  if (has('ours') && oursFirst && ordered[0] === 'ours') {
    for (const [name, value] of Object.entries(oursVars())) args.push('--var', `${name}:${value}`);
  }
  log(`starting wrangler dev with ${ordered.map((id) => names[id]).join(', ')} (load average ${load().join(' ')})`);
  const child = devProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...wranglerEnv(),
      BENCH_DIRECT_SOCKETS: Object.values(names).join(','),
      BENCH_DIRECT_SOCKETS_FILE: socketsFile,
      // The inspector stays on the primary Worker (wrangler would attach it to whichever bundle finished last).
      BENCH_INSPECTED: primary.length ? workerName(primary[0]) : names[ordered[0]],
      // A registry of our own: other `wrangler dev` sessions on this machine (tests) use the same Worker names.
      CLOUDFLARE_DEV_REGISTRY_PATH: join(dir, 'registry'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const front = `http://127.0.0.1:${port}`;
  const readSockets = () => { try { return JSON.parse(readFileSync(socketsFile, 'utf8')); } catch { return null; } };
  const complete = (s) => s?.sockets && Object.values(names).every((n) => s.sockets[n]);
  const deadline = Date.now() + 120_000;
  let frontSince = null;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${output}`);
    const s = readSockets();
    if (frontSince === null && (await answers(`${front}/`))) frontSince = Date.now();
    // Ready when the front answers (all Workers are up) and the sockets are known, or 10 s later without them.
    if (frontSince !== null && (complete(s) || s?.error || via !== 'direct' || Date.now() - frontSince > 10_000)) break;
    if (Date.now() > deadline) {
      try { process.kill(-child.pid, 'SIGKILL'); } catch {}
      throw new Error(`wrangler dev did not answer on ${front} within 120 s:\n${output}`);
    }
    await sleep(250);
  }
  const found = readSockets();
  let used = via;
  if (via === 'direct' && !complete(found)) {
    used = 'entry';
    log(`WARNING: no direct socket for every Worker (${found?.error ?? 'the preload wrote none'}); measuring at workerd's entry socket instead`);
    if (!oursFirst && has('ours')) {
      try { process.kill(-child.pid, 'SIGKILL'); } catch {}
      throw new Error('no direct sockets, and ours is not the primary Worker the entry socket reaches by default (the sign-in goes there): run again with BENCH_VIA=entry');
    }
  }
  if (used === 'entry' && !found?.entry) {
    try { process.kill(-child.pid, 'SIGKILL'); } catch {}
    throw new Error(`workerd's sockets are unknown (${found?.error ?? 'bench/direct-sockets.cjs wrote nothing'}): this wrangler or Miniflare is not what it expects`);
  }
  const endpoints = {};
  for (const [id, name] of Object.entries(names)) {
    if (used === 'direct') endpoints[id] = { name, url: new URL('/mcp', found.sockets[name]).href, headers: {} };
    else if (used === 'entry') endpoints[id] = { name, url: new URL('/mcp', found.entry).href, headers: { [ROUTE_HEADER]: name } };
    else endpoints[id] = { name, url: `${front}/mcp`, headers: {} };
  }
  for (const [id, e] of Object.entries(endpoints)) {
    if (!(await answers(e.url.replace(/\/mcp$/, '/'), e.headers))) throw new Error(`${id} (${e.name}) does not answer on ${e.url}:\n${output}`);
    log(`${id}: ${e.name} at ${e.url}${Object.keys(e.headers).length ? ` with ${ROUTE_HEADER}: ${e.name}` : ''}`);
  }
  async function stop() {
    if (child.exitCode !== null) return;
    try { process.kill(-child.pid, 'SIGTERM'); } catch {}
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} }, 5000);
    await exited;
    clearTimeout(timer);
  }
  return { endpoints, via: used, front, entry: found?.entry ?? null, sockets: found?.sockets ?? null, logs: () => output, stop };
}

const load = () => loadavg().map((x) => Number(x.toFixed(2)));

/**
 * Measures every scenario on every target. Within a scenario the targets take turns, in BENCH_ROUNDS rounds of
 * BENCH_SECONDS / rounds each (the order reversed every other round), so that a disturbance from other processes
 * falls on all of them rather than on one; each target warms up before its first round.
 */
async function measureAll(dev) {
  const results = Object.fromEntries(targets.map((t) => [t.id, {}]));
  const roundSeconds = settings.seconds / settings.rounds;
  for (const scenario of measuredScenarios) {
    const measured = targets.filter((t) => measuredIn(t, scenario));
    const runs = Object.fromEntries(measured.map((t) => [t.id, []]));
    const warmups = {};
    for (let round = 0; round < settings.rounds; round++) {
      for (const target of round % 2 ? [...measured].reverse() : measured) {
        const e = dev.endpoints[target.id];
        const client = await createClient(settings.concurrency, { ...e.headers, ...(target.id.startsWith('ours') ? oursAuth(scenario) : {}) });
        clientName = client.name;
        try {
          if (round === 0 && settings.warmup > 0) {
            const warm = warmups[target.id] = await runScenario(client, e.url, scenario, { concurrency: settings.concurrency, seconds: settings.warmupSeconds, maxIterations: settings.warmup }, target);
            if (warm.errors) log(`${target.id} ${scenario.id}: ${warm.errors} errors during warm-up; first: ${JSON.stringify(warm.firstError)}`);
          }
          const before = cpuSample(devProcess?.pid);
          const r = await runScenario(client, e.url, scenario, { concurrency: settings.concurrency, seconds: roundSeconds, maxIterations: settings.maxIterations }, target);
          const after = cpuSample(devProcess?.pid);
          r.cpu = cpuUsage(before, after);
          r.workerdTicks = workerdTicks(before, after);
          if (r.firstError) log(`${target.id} ${scenario.id}: first error: ${JSON.stringify(r.firstError, null, 2)}`);
          runs[target.id].push(r);
        } finally {
          await client.close();
        }
      }
    }
    for (const target of measured) {
      const rounds = runs[target.id];
      const r = mergeRuns(rounds);
      const weighted = (k) => {
        const parts = rounds.filter((x) => x.cpu);
        const time = parts.reduce((a, x) => a + x.elapsedSeconds, 0);
        return parts.length && time > 0 ? Number((parts.reduce((a, x) => a + x.cpu[k] * x.elapsedSeconds, 0) / time).toFixed(1)) : null;
      };
      r.cpu = rounds.some((x) => x.cpu) ? { busyPercent: weighted('busyPercent'), oursPercent: weighted('oursPercent'), othersPercent: weighted('othersPercent') } : null;
      r.rounds = rounds.map((x) => ({ rate: x.rate, p50: x.p50, p99: x.p99, errors: x.errors, elapsedSeconds: x.elapsedSeconds, othersCpuPercent: x.cpu?.othersPercent ?? null }));
      // workerd's CPU time per iteration, all rounds together (bench/cpu.mjs).
      r.workerdMicros = rounds.every((x) => x.workerdTicks != null)
        ? workerdMicros(rounds.reduce((a, x) => a + x.workerdTicks, 0), r.iterations)
        : null;
      r.warmupErrors = warmups[target.id]?.errors ?? 0;
      r.warmupFirstError = warmups[target.id]?.firstError ?? null;
      const cpu = r.cpu ? `; CPU busy ${r.cpu.busyPercent}%: bench ${r.cpu.oursPercent}%, other processes ${r.cpu.othersPercent}%` : '';
      const own = r.workerdMicros != null ? `, workerd ${r.workerdMicros} µs CPU per iteration` : '';
      log(`${target.id} ${scenario.id}: ${r.rate} ${scenario.unit}, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.errors} errors (${r.iterations} iterations in ${r.elapsedSeconds} s, rounds ${r.rounds.map((x) => x.rate).join(' / ')}${own}${cpu})`);
      results[target.id][scenario.id] = r;
    }
  }
  return results;
}

/** Upload size of ours as `wrangler deploy --dry-run` reports it, plus our own gzip of the files it would upload. */
async function measureUpload(config) {
  const outdir = mkdtempSync(join(tmpdir(), 'mcp-bench-upload-'));
  try {
    const { output, totalKiB, gzipKiB: wranglerGzip } = await dryRun(config, outdir);
    const files = [];
    for (const name of readdirSync(outdir, { recursive: true })) {
      const path = join(outdir, name);
      if (!statSync(path).isFile() || name.endsWith('.map') || name === 'README.md') continue;
      const data = readFileSync(path);
      files.push({ name, bytes: data.length, gzipBytes: gzipSync(data, { level: 9 }).length });
    }
    const sum = (k) => files.reduce((a, f) => a + f[k], 0);
    const ownGzip = Number((sum('gzipBytes') / 1024).toFixed(2));
    const gzipKiB = wranglerGzip ?? ownGzip;
    return {
      wranglerTotalKiB: totalKiB,
      wranglerGzipKiB: wranglerGzip,
      files,
      filesTotalKiB: Number((sum('bytes') / 1024).toFixed(2)),
      filesGzipKiB: ownGzip,
      gzipKiB,
      limitKiB: UPLOAD_LIMIT_KIB,
      pass: gzipKiB <= UPLOAD_LIMIT_KIB,
      ...(wranglerGzip !== null ? {} : { note: `wrangler printed no "Total Upload" line; gzipKiB is our own gzip of the output files:\n${output}` }),
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const fmt = (x, digits = 1) => (x === null || x === undefined ? '–' : Number(x).toFixed(digits));
const ratio = (a, b) => (a == null || !b ? null : a / b);
const pctText = (r) => (r === null ? '–' : `${(100 * r).toFixed(1)}%`);
const timesText = (r) => (r === null ? '–' : `${r.toFixed(2)}×`);

/** The goals of the issue, each a ratio of ours to a reference in one scenario, measured in the same run. */
/**
 * Ours runs as a deployment with credentials would: an API key (every scenario), and GitHub sign-in against a
 * local fake GitHub, whose access token the signed-in scenario sends instead.
 */
const BENCH_KEY = `bench-key-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
let signedInToken = null;
let fakeGitHub = null;
let petsApi = null;

/**
 * The OpenAPI scenario's backend: a plain Node server on loopback answering `GET /pets/<id>` with
 * `{"id", "name"}` when the API key is right. Ours serves bench/openapi/pets.json (seeded into its OPENAPI KV
 * namespace) with this base URL and key; the baseline's copy gets the same as vars and calls it directly.
 */
async function startPetsApi() {
  const key = `pets-${Math.random().toString(36).slice(2)}`;
  const server = createServer((req, res) => {
    const id = Number(/^\/pets\/(\d+)$/.exec(req.url)?.[1]);
    const [status, body] = req.headers.api_key !== key ? [401, { message: 'bad key' }] : id ? [200, { id, name: `pet-${id}` }] : [404, { message: 'no pet' }];
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    key,
    vars: { OPENAPI_APIS: 'bench', OPENAPI_BENCH_BASE_URL: url, OPENAPI_BENCH_CREDENTIALS: JSON.stringify({ api_key: key }) },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Seeds `openapi:bench` into the local KV state `wrangler dev --persist-to` will read, for ours. */
async function seedPetsIndex(config, persistTo) {
  const args = [WRANGLER, 'kv', 'key', 'put', '--binding', 'OPENAPI', 'openapi:bench', '--path', join(ROOT, 'bench', 'openapi', 'pets.json'),
    '--local', '--persist-to', persistTo, '--config', config];
  const { error, output } = await run(process.execPath, args, { cwd: ROOT, env: wranglerEnv() });
  if (error) throw new Error(`seeding the OpenAPI index failed (${error.message}):\n${output}`);
}
function oursAuth(scenario) {
  const token = scenario.auth === 'signed-in' ? signedInToken : BENCH_KEY;
  return { authorization: `Bearer ${token}` };
}

const GOALS = [
  { id: 'tools_call_vs_one_hop', scenario: 'tools_call', reference: 'one-hop', min: 0.95, text: 'stateful tools/call ≥ 95 % of the one-hop reference' },
  { id: 'tools_call_vs_mcp_agent', scenario: 'tools_call', reference: 'mcp-agent', min: 4, text: 'stateful tools/call ≥ 4× McpAgent' },
  { id: 'new_sessions_vs_mcp_agent', scenario: 'new_sessions', reference: 'mcp-agent', min: 15, text: 'new sessions ≥ 15× McpAgent' },
  { id: 'signed_in_vs_key', scenario: 'tools_call_signed_in', reference: 'ours', referenceScenario: 'tools_call', min: 0.8, text: 'tools/call with a GitHub sign-in token ≥ 80 % of the rate with an API key' },
  { id: 'stateless_tools_call_vs_baseline', scenario: 'stateless_tools_call', reference: 'baseline', min: 0.85, text: 'stateless tools/call ≥ 85 % of the bare baseline' },
  { id: 'server_discover_vs_baseline', scenario: 'server_discover', reference: 'baseline', min: 0.85, text: 'server/discover ≥ 85 % of the bare baseline' },
  { id: 'production_layer_on_vs_off', scenario: 'tools_call_production', target: 'ours-production', reference: 'ours', min: 0.9, text: 'tools/call with rate limiting, metrics and audit log on ≥ 90 % of the rate with them off' },
  { id: 'openapi_tools_call_vs_baseline', scenario: 'openapi_tools_call', reference: 'baseline', min: 0.7, text: 'tools/call of an OpenAPI operation ≥ 70 % of a bare Worker calling the same backend' },
];

function evaluate(results) {
  const ratios = SCENARIOS.map((s) => {
    const o = results.ours?.[s.id]?.rate;
    const of = (id) => ratio(o, results[id]?.[s.id]?.rate);
    const compared = results['ours-compare']?.[s.id];
    const micros = results.ours?.[s.id]?.workerdMicros;
    return {
      id: s.id, scenario: s.title, unit: s.unit, oursOfBaseline: of('baseline'), oursOfOneHop: of('one-hop'), oursOfMcpAgent: of('mcp-agent'),
      // BENCH_COMPARE_BUILD: the compared build's rate and workerd CPU per iteration, each over ours's.
      ...(compared ? { compareOfOurs: ratio(compared.rate, o), compareMicrosOfOurs: ratio(compared.workerdMicros, micros) } : {}),
    };
  });
  const goals = GOALS.map((g) => {
    const value = ratio(results?.[g.target ?? 'ours']?.[g.scenario]?.rate, results?.[g.reference]?.[g.referenceScenario ?? g.scenario]?.rate);
    return { ...g, value, met: value === null ? null : value >= g.min };
  });
  return { ratios, goals };
}

function textTable(header, body) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

const goalValue = (g) => (g.value === null ? '–' : g.min >= 2 ? timesText(g.value) : pctText(g.value));
const goalVerdict = (g) => (g.met === null ? 'n/a' : g.met ? 'met' : 'missed');

function report(results, { ratios, goals }, upload, mcpAgentUpload, caption) {
  const rowsText = [];
  for (const s of SCENARIOS) {
    for (const t of targets) {
      if (!measuredIn(t, s)) continue;
      const r = results[t.id]?.[s.id];
      rowsText.push([`${s.title} [${s.unit}]`, t.title, fmt(r?.rate), fmt(r?.p50, 2), fmt(r?.p99, 2), r ? r.errors + r.warmupErrors : '–', r?.cpu ? `${fmt(r.cpu.othersPercent, 0)}%` : '–']);
    }
  }
  const main = textTable(['scenario', 'target', 'rate', 'p50 ms', 'p99 ms', 'errors', 'other CPU'], rowsText);
  const ratioText = has('ours')
    ? textTable(['scenario', 'ours/baseline', 'ours/one-hop', 'ours/McpAgent'],
      ratios.map((r) => [r.scenario, pctText(r.oursOfBaseline), pctText(r.oursOfOneHop), timesText(r.oursOfMcpAgent)]))
    : '';
  const compareText = has('ours-compare')
    ? textTable(['scenario', 'compared/ours rate', 'compared/ours workerd CPU'],
      ratios.filter((r) => r.compareOfOurs !== undefined).map((r) => [r.scenario, pctText(r.compareOfOurs), pctText(r.compareMicrosOfOurs)]))
    : '';
  const goalsText = goals.map((g) => `  ${g.text}: ${goalValue(g)} — ${g.met === null ? 'n/a' : g.met ? 'MET' : 'MISSED'}`).join('\n');
  const uploadText = upload
    ? upload.error
      ? `upload size: not measured: ${upload.error.split('\n')[0]}`
      : `upload size of ours (gzip): ${fmt(upload.gzipKiB, 2)} KiB${upload.wranglerGzipKiB !== null ? ' (wrangler)' : ' (own gzip)'}, ` +
        `own gzip -9 of the files: ${fmt(upload.filesGzipKiB, 2)} KiB, uncompressed ${fmt(upload.wranglerTotalKiB ?? upload.filesTotalKiB, 2)} KiB` +
        ` — ${upload.pass ? 'MET' : 'MISSED'} (≤ ${upload.limitKiB} KiB)`
    : 'upload size: not measured';
  const agentUploadText = mcpAgentUpload?.gzipKiB ? `\nupload size of the McpAgent reference (gzip, for comparison): ${fmt(mcpAgentUpload.gzipKiB, 2)} KiB` : '';

  const others = Object.values(results).flatMap((per) => Object.values(per).map((r) => r.cpu?.othersPercent)).filter((x) => x != null);
  const worst = others.length ? Math.max(...others) : null;
  const worstText = worst === null ? '' : ` Other processes used up to ${fmt(worst, 0)} % of the CPUs during a measurement${worst > NOISY_PERCENT ? ' (a disturbed run)' : ''}.`;
  const shown = ['ours', 'baseline', 'one-hop', 'mcp-agent'].filter(has).map((id) => ALL_TARGETS.find((t) => t.id === id));
  const md = [
    `| Scenario | ${shown.map((t) => t.title[0].toUpperCase() + t.title.slice(1)).join(' | ')} |${has('ours') ? ' Ours / baseline | Ours / one-hop | Ours / McpAgent |' : ''}`,
    `|---|${shown.map(() => '---:').join('|')}|${has('ours') ? '---:|---:|---:|' : ''}`,
    ...SCENARIOS.map((s, i) => {
      const cells = shown.map((t) => {
        // The production-layer row: ours with the layer on, and the rate with it off beside it.
        const on = t.id === 'ours' ? results['ours-production']?.[s.id] : undefined;
        const r = on ?? results[t.id]?.[s.id];
        const off = on ? results.ours?.[s.id] : undefined;
        const offText = off ? `<br>off: ${fmt(off.rate)} ${s.unit} (on ${pctText(on.rate / off.rate)})` : '';
        return r ? `${fmt(r.rate)} ${s.unit}<br>p50 ${fmt(r.p50, 1)} / p99 ${fmt(r.p99, 1)} ms${offText}` : '–';
      });
      const rr = ratios[i];
      return `| ${s.title} | ${cells.join(' | ')} |${has('ours') ? ` ${pctText(rr.oursOfBaseline)} | ${pctText(rr.oursOfOneHop)} | ${timesText(rr.oursOfMcpAgent)} |` : ''}`;
    }),
    '',
    '| Target (same run) | Measured | Result |',
    '|---|---:|---|',
    ...goals.map((g) => `| ${g.text} | ${goalValue(g)} | ${goalVerdict(g)} |`),
    `| upload ≤ ${UPLOAD_LIMIT_KIB} KiB gzip | ${upload && !upload.error ? `${fmt(upload.gzipKiB, 2)} KiB` : '–'} | ${upload && !upload.error ? (upload.pass ? 'met' : 'missed') : 'n/a'} |`,
    '',
    `_${caption}${worstText}_`,
  ].join('\n');
  const noise = worst === null
    ? ''
    : worst > NOISY_PERCENT
      ? `\n\nWARNING: other processes used up to ${fmt(worst)}% of the CPUs during a measurement: this run is disturbed, rerun it on a quiet machine.`
      : `\n\nOther processes used at most ${fmt(worst)}% of the CPUs during the measurements.`;
  const text = [main, ratioText, compareText, has('ours') ? `Targets:\n${goalsText}` : '', `${uploadText}${agentUploadText}${noise}`].filter(Boolean).join('\n\n');
  return { text, md, disturbed: worst !== null && worst > NOISY_PERCENT, worstOthersPercent: worst };
}

const versionOf = (pkg) => {
  try { return JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version; } catch { return null; }
};

/** `BENCH_SCENARIOS=openapi_import`: only the import step, no Worker; writes bench/results/openapi-import.json. */
async function importOnly() {
  let result;
  try {
    result = await measureOpenApiImport(ROOT, log);
  } catch (err) {
    result = { error: err.message };
    log(err.message);
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'openapi-import.json'), `${JSON.stringify({ date: new Date().toISOString(), openapiImport: result }, null, 2)}\n`);
  console.log(`\n${openApiImportText(result)}\nresults: bench/results/openapi-import.json`);
  return result.error ? 2 : 0;
}

/** Ours's settings: development mode, its audit log off, the bench's API key, fake GitHub, the OpenAPI backend, BENCH_VARS. */
function oursVars() {
  return { MCP_DEV_MODE: 'true', MCP_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'off', MCP_API_KEYS: `bench:${BENCH_KEY}`, ...fakeGitHub?.vars, ...petsApi?.vars, ...BENCH_VARS };
}

/**
 * `toml` with `vars` in its [vars] table (`--var` reaches only wrangler's primary Worker, which no measured target
 * is: see `startAll`). A setting the config has already is replaced, not defined twice (TOML refuses that).
 */
function withVars(toml, vars) {
  if (!/^\[vars\]\s*$/m.test(toml)) throw new Error('the config has no [vars] table to put the settings in');
  return toml
    .split('\n').filter((line) => !Object.hasOwn(vars, line.split('=')[0].trim())).join('\n')
    .replace(/^\[vars\]\s*$/m, ['[vars]', ...Object.entries(vars).map(([k, v]) => `${k} = ${JSON.stringify(v)}`)].join('\n'));
}

/** Ours's config with its settings (`oursVars`), next to it. */
function settingsCopy(config) {
  const path = join(dirname(config), 'wrangler.bench.toml');
  writeFileSync(path, withVars(readFileSync(config, 'utf8'), oursVars()));
  return path;
}

/**
 * A config for the compared build (BENCH_COMPARE_BUILD): ours's config under its own name, its `main` the other
 * build copied next to it, with ours's settings.
 */
function compareCopy(config) {
  const out = join(dirname(config), 'compare');
  mkdirSync(join(out, 'build'), { recursive: true });
  for (const f of ['index.js', 'index_bg.wasm']) cpSync(join(COMPARE_BUILD, f), join(out, 'build', f));
  const toml = withVars(readFileSync(config, 'utf8'), oursVars())
    .replace(/^(\s*name\s*=\s*)"([^"]+)"/m, '$1"$2-compare"')
    .replace(/^(\s*main\s*=\s*)"build\//m, '$1"compare/build/');
  if (!toml.includes('compare/build/')) throw new Error(`could not turn ${config} into the compared build's config`);
  const path = join(dirname(config), 'wrangler.compare.toml');
  writeFileSync(path, toml);
  return path;
}

async function main() {
  if (!measuredScenarios.length && measureImport) return importOnly();
  const startedAt = new Date();
  let results = null;
  let upload = null;
  let mcpAgentUpload = null;
  let openapiImport = null;
  let crashed = false;
  let dev = null;
  let ours = null;
  const loadAverages = { start: load() };
  workDir = mkdtempSync(join(tmpdir(), 'mcp-bench-'));

  try {
    if (!has('ours')) process.env.MCP_SKIP_BUILD = '1';
    else {
      log('building the worker (scripts/build.sh)');
      buildOnce();
      ours = snapshotOurs(workDir);
    }
    const refs = await snapshotReferences(workDir);
    mcpAgentUpload = refs.mcpAgentUpload;
    const configs = { ...refs.configs, ...(ours ? { ours: ours.config } : {}) };
    if (has('ours')) fakeGitHub = await startFakeGitHub();
    if (has('ours-production')) configs['ours-production'] = productionCopy(ours.config);
    if (measuredScenarios.some((s) => s.id === 'openapi_tools_call')) {
      petsApi = await startPetsApi();
      if (has('ours')) await seedPetsIndex(ours.config, join(workDir, 'state'));
      if (configs.baseline) {
        writeFileSync(configs.baseline, `${readFileSync(configs.baseline, 'utf8')}\n[vars]\nBENCH_API_URL = "${petsApi.url}"\nBENCH_API_KEY = "${petsApi.key}"\n`);
      }
    }
    if (has('ours-compare')) {
      if (!ours.snapshot) throw new Error('BENCH_COMPARE_BUILD needs the snapshot of ours (not BENCH_NO_SNAPSHOT=1)');
      configs['ours-compare'] = compareCopy(ours.config);
    }
    if (ours?.snapshot) configs.ours = settingsCopy(ours.config);
    dev = await startAll(configs, workDir);
    if (has('ours')) {
      // Signs in the way an MCP client does (discovery, registration, consent, GitHub, token), once.
      const signedIn = await signIn(new URL(dev.endpoints.ours.url).origin);
      signedInToken = signedIn.tokens.access_token;
      log('ours: signed in through the fake GitHub');
    }
    loadAverages.measuring = load();
    try {
      results = await measureAll(dev);
    } finally {
      await fakeGitHub?.close();
      await petsApi?.close();
      const errors = results ? Object.values(results).some((per) => Object.values(per).some((r) => r.errors || r.warmupErrors)) : true;
      if (errors) log(`last lines of wrangler dev's output:\n${dev.logs().split('\n').slice(-40).join('\n')}`);
      await dev.stop();
    }
    if (measureImport) {
      try {
        openapiImport = await measureOpenApiImport(ROOT, log);
      } catch (err) {
        crashed = true;
        openapiImport = { error: err.message };
        log(err.message);
      }
    }
    if (has('ours') && process.env.BENCH_SKIP_UPLOAD !== '1') {
      log('measuring the upload size (wrangler deploy --dry-run)');
      try {
        upload = await measureUpload(ours.config);
      } catch (err) {
        crashed = true;
        upload = { error: err.message };
        log(err.message);
      }
    }
  } finally {
    cleanup();
  }

  const evaluation = evaluate(results);
  const wranglerVersion = versionOf('wrangler');
  const versions = { wrangler: wranglerVersion, miniflare: versionOf('miniflare'), agents: versionOf('agents'), mcpSdk: versionOf('@modelcontextprotocol/sdk') };
  const viaText = { direct: "each Worker's own workerd socket", entry: "workerd's entry socket (Miniflare's entry Worker, MF-Route-Override)", proxy: "wrangler's front proxy" }[dev.via];
  const caption = `\`npm run bench\`, ${startedAt.toISOString().slice(0, 10)}: all targets in one wrangler dev ${wranglerVersion} (local workerd), measured at ${viaText}, ` +
    `on ${cpus().length} CPUs shared with the load generator; ${settings.concurrency} concurrent requests over keep-alive, ${settings.seconds} s per scenario and target in ${settings.rounds} round(s), targets taking turns, after ` +
    `up to ${settings.warmup} warm-up iterations. Baseline: fixed JSON-RPC answers (bench/baseline); one-hop reference: the same behind one SQLite Durable Object per session (bench/do-floor); ` +
    `McpAgent: agents ${versions.agents} with MCP SDK ${versions.mcpSdk}, one echo tool (bench/mcp-agent).`;
  const { text, md, disturbed, worstOthersPercent } = report(results, evaluation, upload, mcpAgentUpload, caption);
  const errorsOf = (r) => (r ? r.errors + r.warmupErrors : 0);
  const errors = Object.values(results).reduce((a, per) => a + Object.values(per).reduce((b, r) => b + errorsOf(r), 0), 0);
  const out = {
    date: startedAt.toISOString(),
    durationSeconds: Number(((Date.now() - startedAt) / 1000).toFixed(1)),
    settings: { ...settings, targets: targets.map((t) => t.id), via: dev.via, client: clientName, protocolVersion: PROTOCOL_VERSION },
    environment: {
      node: process.version,
      ...versions,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? null,
      loadAverages,
      snapshot: ours?.snapshot ?? null,
      endpoints: dev.endpoints,
      note: 'one wrangler dev (local workerd) for all targets; it and the load generator share this machine',
    },
    results,
    ratios: evaluation.ratios,
    goals: evaluation.goals,
    upload,
    mcpAgentUpload,
    openapiImport,
    errors,
    disturbed,
    worstOthersCpuPercent: worstOthersPercent,
    markdown: md,
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'latest.json'), `${JSON.stringify(out, null, 2)}\n`);

  console.log(`\nMCP worker benchmark — ${targets.map((t) => t.title).join(', ')} in one wrangler dev, measured at ${viaText}; ` +
    `concurrency ${settings.concurrency}, ${settings.seconds} s per scenario and target in ${settings.rounds} round(s), client ${clientName}, ${cpus().length} CPUs shared by workerd and the load generator\n`);
  console.log(text);
  if (openapiImport) console.log(`\n${openApiImportText(openapiImport)}`);
  console.log(`\nMarkdown (for the README):\n\n${md}\n`);
  console.log(`results: bench/results/latest.json`);
  if (errors) console.log(`\n${errors} correctness error(s), warm-ups included: see the first error of each scenario above.`);
  return crashed ? 2 : errors ? 1 : 0;
}

main().then(
  (code) => { process.exitCode = code; },
  async (err) => {
    console.error('[bench] crashed:', err?.stack ?? err);
    cleanup();
    process.exitCode = 2;
    // The local servers would keep the process alive after a crash before the measurements.
    await Promise.allSettled([fakeGitHub?.close(), petsApi?.close()]);
  },
);
