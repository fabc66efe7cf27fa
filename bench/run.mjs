// Benchmark: the Rust MCP worker against a bare baseline worker, both under `wrangler dev` on loopback.
//
//   npm run bench                      # build, baseline, ours, upload size; writes bench/results/latest.json
//   BENCH_ONLY=baseline npm run bench  # only the baseline (no build)
//
// Settings (environment):
//   BENCH_CONCURRENCY   concurrent requests (closed loop, one keep-alive connection each)   default 16
//   BENCH_SECONDS       measured duration of each scenario                                   default 10
//   BENCH_MAX_REQUESTS  cap on iterations per measured scenario                              default 200000
//   BENCH_WARMUP        warm-up iterations per scenario before measuring (not reported)      default 300
//   BENCH_ONLY          baseline | ours | both                                               default both
//   BENCH_SKIP_UPLOAD   1 = do not measure the upload size (wrangler deploy --dry-run)
//   BENCH_NO_SNAPSHOT   1 = run ours from the repository's wrangler.toml and build/ (see snapshotWorker)
//
// Exit status: 0 = ran (targets missed or not), 1 = correctness errors, 2 = crash (a worker or step failed).
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, buildOnce, startWorker } from '../tests/e2e/support/worker.mjs';
import { cpuSample, cpuUsage } from './cpu.mjs';
import { SCENARIOS, createClient, runScenario } from './loadgen.mjs';

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
  seconds: numEnv('BENCH_SECONDS', 10),
  maxIterations: Math.floor(numEnv('BENCH_MAX_REQUESTS', 200_000, 1)),
  warmup: Math.floor(numEnv('BENCH_WARMUP', 300, 0)),
};
const only = (process.env.BENCH_ONLY ?? 'both').toLowerCase();
if (!['baseline', 'ours', 'both'].includes(only)) exitWith(`BENCH_ONLY must be baseline, ours or both, got ${only}`);
const NOISY_PERCENT = 10; // other processes' share of the CPUs above which a run is flagged as disturbed
const TARGETS = { tools_call: 45, new_sessions: 40 }; // ours/baseline throughput, percent
const UPLOAD_LIMIT_KIB = 350;
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

let clientName = null;
const log = (...args) => console.error('[bench]', ...args);

// Workers are started detached (their own process group); stop them if we are interrupted.
const running = new Set();
let snapshotDir = null;
async function stopAll() {
  await Promise.allSettled([...running].map((w) => w.stop()));
  running.clear();
  if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log(`${sig}: stopping workers`);
    stopAll().finally(() => process.exit(130));
  });
}

/**
 * Copies build/ and wrangler.toml (without its [build] table) to a temporary directory, so that `wrangler dev` and
 * `wrangler deploy --dry-run` use exactly the build made at the start of the run: with the repository's config,
 * `wrangler dev` reloads the worker (answering 503 "Your worker restarted mid-request") whenever src/ changes or
 * something rebuilds build/ during the run. Returns the config path, or null to use the repository's config.
 */
function snapshotWorker() {
  if (process.env.BENCH_NO_SNAPSHOT === '1') return null;
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  const main = toml.match(/^\s*main\s*=\s*"([^"]+)"/m)?.[1];
  if (!main || !main.startsWith('build/') || /^\s*\[(assets|site)\]|^\s*(base_dir|tsconfig|rules)\s*=/m.test(toml)) {
    log('wrangler.toml refers to files outside build/: using it as it is (no snapshot)');
    return null;
  }
  const dir = (snapshotDir = mkdtempSync(join(tmpdir(), 'mcp-bench-ours-')));
  cpSync(join(ROOT, 'build'), join(dir, 'build'), { recursive: true, filter: (src) => !src.split(sep).includes('.tmp') });
  const lines = [];
  let inBuild = false;
  for (const line of toml.split('\n')) {
    if (/^\s*\[/.test(line)) inBuild = /^\s*\[build\]\s*(#.*)?$/.test(line);
    if (!inBuild) lines.push(line);
  }
  writeFileSync(join(dir, 'wrangler.toml'), lines.join('\n'));
  return join(dir, 'wrangler.toml');
}

const load = () => loadavg().map((x) => Number(x.toFixed(2)));

async function benchTarget(label, startOptions) {
  log(`${label}: starting wrangler dev (load average ${load().join(' ')})`);
  const worker = await startWorker(startOptions);
  running.add(worker);
  const client = await createClient(settings.concurrency);
  clientName = client.name;
  const url = `${worker.url}/mcp`;
  const scenarios = {};
  try {
    for (const scenario of SCENARIOS) {
      let warm = null;
      if (settings.warmup > 0) {
        const w = warm = await runScenario(client, url, scenario, { concurrency: settings.concurrency, seconds: 120, maxIterations: settings.warmup });
        if (w.errors) log(`${label} ${scenario.id}: ${w.errors} errors during warm-up; first: ${JSON.stringify(w.firstError)}`);
      }
      const before = cpuSample();
      const r = await runScenario(client, url, scenario, { concurrency: settings.concurrency, seconds: settings.seconds, maxIterations: settings.maxIterations });
      r.cpu = cpuUsage(before, cpuSample());
      r.warmupErrors = warm?.errors ?? 0;
      r.warmupFirstError = warm?.firstError ?? null;
      const cpu = r.cpu ? `; CPU busy ${r.cpu.busyPercent}%: bench ${r.cpu.oursPercent}%, other processes ${r.cpu.othersPercent}%` : '';
      log(`${label} ${scenario.id}: ${r.rate} ${scenario.unit}, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.errors} errors (${r.iterations} iterations in ${r.elapsedSeconds} s${cpu})`);
      if (r.firstError) log(`${label} ${scenario.id}: first error: ${JSON.stringify(r.firstError, null, 2)}`);
      scenarios[scenario.id] = r;
    }
  } finally {
    await client.close();
    const anyErrors = Object.values(scenarios).some((r) => r.errors);
    if (anyErrors) log(`${label}: last lines of wrangler dev's output:\n${worker.logs().split('\n').slice(-40).join('\n')}`);
    await worker.stop();
    running.delete(worker);
  }
  return scenarios;
}

function run(cmd, args, options) {
  return new Promise((resolve) => {
    execFile(cmd, args, { ...options, maxBuffer: 64 << 20 }, (error, stdout, stderr) => resolve({ error, output: `${stdout}${stderr}` }));
  });
}

/** Upload size as `wrangler deploy --dry-run` reports it, plus our own gzip of the files it would upload. */
async function measureUpload(config) {
  const outdir = mkdtempSync(join(tmpdir(), 'mcp-bench-upload-'));
  try {
    const args = [WRANGLER, 'deploy', '--dry-run', '--outdir', outdir, ...(config ? ['--config', config] : [])];
    const { error, output } = await run(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, MCP_SKIP_BUILD: '1', WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1' },
    });
    if (error) throw new Error(`wrangler deploy --dry-run failed (${error.message}):\n${output}`);
    const m = output.match(/Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/);
    const files = [];
    for (const name of readdirSync(outdir, { recursive: true })) {
      const path = join(outdir, name);
      if (!statSync(path).isFile() || name.endsWith('.map') || name === 'README.md') continue;
      const data = readFileSync(path);
      files.push({ name, bytes: data.length, gzipBytes: gzipSync(data, { level: 9 }).length });
    }
    const sum = (k) => files.reduce((a, f) => a + f[k], 0);
    const wranglerGzip = m ? Number(m[2]) : null;
    const ownGzip = Number((sum('gzipBytes') / 1024).toFixed(2));
    const gzipKiB = wranglerGzip ?? ownGzip;
    return {
      wranglerTotalKiB: m ? Number(m[1]) : null,
      wranglerGzipKiB: wranglerGzip,
      files,
      filesTotalKiB: Number((sum('bytes') / 1024).toFixed(2)),
      filesGzipKiB: ownGzip,
      gzipKiB,
      limitKiB: UPLOAD_LIMIT_KIB,
      pass: gzipKiB <= UPLOAD_LIMIT_KIB,
      ...(m ? {} : { note: `wrangler printed no "Total Upload" line; gzipKiB is our own gzip of the output files:\n${output}` }),
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const fmt = (x, digits = 1) => (x === null || x === undefined ? '–' : Number(x).toFixed(digits));
const pct = (a, b) => (a == null || !b ? null : (100 * a) / b);

function rows(results) {
  return SCENARIOS.map((s) => {
    const o = results.ours?.[s.id];
    const b = results.baseline?.[s.id];
    const ratio = pct(o?.rate, b?.rate);
    const target = TARGETS[s.id];
    return {
      id: s.id,
      scenario: s.title,
      unit: s.unit,
      ours: o ?? null,
      baseline: b ?? null,
      ratioPercent: ratio === null ? null : Number(ratio.toFixed(1)),
      targetPercent: target ?? null,
      pass: target === undefined || ratio === null ? null : ratio >= target,
    };
  });
}

function textTable(header, body) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function tables(table, upload, caption) {
  const verdict = (r) => (r.pass === null ? (r.targetPercent ? 'n/a' : '') : `${r.pass ? 'PASS' : 'FAIL'} (≥ ${r.targetPercent}%)`);
  const header = ['scenario', 'ours rate', 'baseline rate', 'ours/baseline', 'ours p50/p99 ms', 'baseline p50/p99 ms', 'errors ours/base', 'other CPU ours/base', 'target'];
  const body = table.map((r) => [
    `${r.scenario} [${r.unit}]`,
    fmt(r.ours?.rate),
    fmt(r.baseline?.rate),
    r.ratioPercent === null ? '–' : `${fmt(r.ratioPercent)}%`,
    `${fmt(r.ours?.p50, 2)} / ${fmt(r.ours?.p99, 2)}`,
    `${fmt(r.baseline?.p50, 2)} / ${fmt(r.baseline?.p99, 2)}`,
    `${r.ours?.errors ?? '–'} / ${r.baseline?.errors ?? '–'}`,
    `${r.ours?.cpu ? `${fmt(r.ours.cpu.othersPercent, 0)}%` : '–'} / ${r.baseline?.cpu ? `${fmt(r.baseline.cpu.othersPercent, 0)}%` : '–'}`,
    verdict(r),
  ]);
  const uploadText = upload
    ? upload.error
      ? `upload size: not measured: ${upload.error.split('\n')[0]}`
      : `upload size (gzip): ${fmt(upload.gzipKiB, 2)} KiB${upload.wranglerGzipKiB !== null ? ' (wrangler)' : ' (own gzip)'}, ` +
        `own gzip -9 of the files: ${fmt(upload.filesGzipKiB, 2)} KiB, uncompressed ${fmt(upload.wranglerTotalKiB ?? upload.filesTotalKiB, 2)} KiB` +
        ` — ${upload.pass ? 'PASS' : 'FAIL'} (≤ ${upload.limitKiB} KiB)`
    : 'upload size: not measured';
  const md = [
    `| Scenario | Ours | Baseline | Ours / baseline | Ours p50 / p99 (ms) | Baseline p50 / p99 (ms) | Target |`,
    `|---|---:|---:|---:|---:|---:|---|`,
    ...table.map((r) => `| ${r.scenario} | ${fmt(r.ours?.rate)} ${r.unit} | ${fmt(r.baseline?.rate)} ${r.unit} | ${r.ratioPercent === null ? '–' : `${fmt(r.ratioPercent)}%`} | ${fmt(r.ours?.p50, 2)} / ${fmt(r.ours?.p99, 2)} | ${fmt(r.baseline?.p50, 2)} / ${fmt(r.baseline?.p99, 2)} | ${r.targetPercent ? `≥ ${r.targetPercent}%: ${r.pass === null ? 'n/a' : r.pass ? 'met' : 'missed'}` : '–'} |`),
    `| Upload size (gzip) | ${upload && !upload.error ? `${fmt(upload.gzipKiB, 2)} KiB` : '–'} | | | | | ≤ ${UPLOAD_LIMIT_KIB} KiB: ${upload && !upload.error ? (upload.pass ? 'met' : 'missed') : 'n/a'} |`,
    '',
    `_${caption}_`,
  ].join('\n');
  const others = table.flatMap((r) => [r.ours?.cpu?.othersPercent, r.baseline?.cpu?.othersPercent]).filter((x) => x != null);
  const worst = others.length ? Math.max(...others) : null;
  const noise = worst === null
    ? ''
    : worst > NOISY_PERCENT
      ? `\n\nWARNING: other processes used up to ${fmt(worst)}% of the CPUs during a measurement: this run is disturbed, rerun it on a quiet machine.`
      : `\n\nOther processes used at most ${fmt(worst)}% of the CPUs during the measurements.`;
  return { text: `${textTable(header, body)}\n\n${uploadText}${noise}`, md, disturbed: worst !== null && worst > NOISY_PERCENT, worstOthersPercent: worst };
}

/** The reference row: one Durable Object per session (bench/do-floor) against the baseline and ours. */
function doFloorTable(results) {
  if (!results.doFloor || !results.baseline) return null;
  const pct = (a, b) => (a && b ? `${((100 * a.rate) / b.rate).toFixed(1)}%` : '–');
  const lines = SCENARIOS.map((s) => {
    const f = results.doFloor[s.id];
    return { scenario: s.name ?? s.title ?? s.label ?? s.id, unit: s.unit, rate: f?.rate, ofBaseline: pct(f, results.baseline[s.id]), oursOfFloor: pct(results.ours?.[s.id], f) };
  });
  const text = ['Reference: one SQLite Durable Object per session, fixed answers (bench/do-floor)',
    ...lines.map((l) => `  ${l.scenario}: ${l.rate} ${l.unit} = ${l.ofBaseline} of the baseline; ours = ${l.oursOfFloor} of it`)].join('\n');
  const md = ['| Reference: one Durable Object per session (JS, fixed answers) | Rate | Of the baseline | Ours / reference |',
    '|---|---:|---:|---:|',
    ...lines.map((l) => `| ${l.scenario} | ${l.rate} ${l.unit} | ${l.ofBaseline} | ${l.oursOfFloor} |`)].join('\n');
  return { text, md };
}

async function main() {
  const startedAt = new Date();
  const results = { baseline: null, doFloor: null, ours: null };
  let upload = null;
  let crashed = false;
  let oursConfig = null;
  const loadAverages = { start: load() };

  try {
    if (only === 'baseline') process.env.MCP_SKIP_BUILD = '1';
    else {
      log('building the worker (scripts/build.sh)');
      buildOnce();
      oursConfig = snapshotWorker();
    }
    if (only !== 'ours') {
      loadAverages.baseline = load();
      results.baseline = await benchTarget('baseline', { config: join(ROOT, 'bench', 'baseline', 'wrangler.toml') });
    }
    if (only === 'both' && process.env.BENCH_DO_FLOOR !== '0') {
      loadAverages.doFloor = load();
      results.doFloor = await benchTarget('do-floor', { config: join(ROOT, 'bench', 'do-floor', 'wrangler.toml') });
    }
    if (only !== 'baseline') {
      loadAverages.ours = load();
      results.ours = await benchTarget('ours', oursConfig ? { config: oursConfig } : {});
    }
    if (only !== 'baseline' && process.env.BENCH_SKIP_UPLOAD !== '1') {
      log('measuring the upload size (wrangler deploy --dry-run)');
      try {
        upload = await measureUpload(oursConfig);
      } catch (err) {
        crashed = true;
        upload = { error: err.message };
        log(err.message);
      }
    }
  } finally {
    if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
  }

  const table = rows(results);
  const wranglerVersion = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'wrangler', 'package.json'), 'utf8')).version;
  const caption = `\`npm run bench\`, ${startedAt.toISOString().slice(0, 10)}: wrangler dev ${wranglerVersion} (local workerd) on ${cpus().length} CPUs ` +
    `shared with the load generator, ${settings.concurrency} concurrent requests over keep-alive, ${settings.seconds} s per scenario after ` +
    `${settings.warmup} warm-up iterations. Baseline: a JavaScript Worker answering fixed JSON-RPC results (bench/baseline).`;
  const { text, md: mainMd, disturbed, worstOthersPercent } = tables(table, upload, caption);
  const floor = doFloorTable(results);
  const md = floor ? `${mainMd}\n\n${floor.md}` : mainMd;
  const errorsOf = (r) => (r ? r.errors + r.warmupErrors : 0);
  const errors = table.reduce((a, r) => a + errorsOf(r.ours) + errorsOf(r.baseline), 0);
  const out = {
    date: startedAt.toISOString(),
    durationSeconds: Number(((Date.now() - startedAt) / 1000).toFixed(1)),
    settings: { ...settings, only, client: clientName, protocolVersion: '2025-11-25' },
    environment: {
      node: process.version,
      wrangler: wranglerVersion,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? null,
      loadAverages,
      snapshot: oursConfig !== null,
      note: 'wrangler dev (local workerd) and the load generator share this machine',
    },
    targets: { toolsCallPercentOfBaseline: TARGETS.tools_call, newSessionsPercentOfBaseline: TARGETS.new_sessions, uploadGzipKiB: UPLOAD_LIMIT_KIB },
    scenarios: table,
    doFloor: results.doFloor,
    upload,
    errors,
    disturbed,
    worstOthersCpuPercent: worstOthersPercent,
    markdown: md,
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'latest.json'), `${JSON.stringify(out, null, 2)}\n`);

  console.log(`\nMCP worker benchmark — concurrency ${settings.concurrency}, ${settings.seconds} s per scenario, ` +
    `${settings.warmup} warm-up iterations, client ${clientName}, ${cpus().length} CPUs shared by workerd and the load generator\n`);
  console.log(text);
  if (floor) console.log(`\n${floor.text}`);
  console.log(`\nMarkdown (for the README):\n\n${md}\n`);
  console.log(`results: bench/results/latest.json`);
  if (errors) console.log(`\n${errors} correctness error(s), warm-ups included: see the first error of each scenario above.`);
  return crashed ? 2 : errors ? 1 : 0;
}

main().then(
  (code) => { process.exitCode = code; },
  async (err) => {
    console.error('[bench] crashed:', err?.stack ?? err);
    await stopAll();
    process.exitCode = 2;
  },
);
