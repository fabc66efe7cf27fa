// A CPU profile of the worker under load, to see where a request's time goes (`npm run bench` says how much,
// this says where): builds with function names, starts `wrangler dev` with an inspector port, drives one
// benchmark scenario, records V8's sampling profiler over the DevTools protocol, and prints the functions with
// the most time, self and inclusive. The profile is written to bench/results/profile.cpuprofile (Chrome DevTools
// opens it).
//
//   npm run bench:profile                          # tools/call, 6 s
//   BENCH_SCENARIO=tools_list npm run bench:profile
//
// The load goes through wrangler's front proxy (the profile is of the Worker's isolate, so that does not matter
// for where the time goes; rates printed here are not benchmark figures).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, freePort, startWorker } from '../tests/e2e/support/worker.mjs';
import { SCENARIOS, createClient, runScenario } from './loadgen.mjs';

const scenario = SCENARIOS.find((s) => s.id === (process.env.BENCH_SCENARIO ?? 'tools_call'));
if (!scenario) throw new Error(`BENCH_SCENARIO must be one of ${SCENARIOS.map((s) => s.id).join(', ')}`);
execFileSync('bash', [join(ROOT, 'scripts', 'build.sh')], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, MCP_KEEP_NAMES: '1' } });
process.env.MCP_SKIP_BUILD = '1';
const inspectorPort = await freePort();
// Like the benchmark, without the audit log unless BENCH_LOG_LEVEL says otherwise.
const worker = await startWorker({ inspectorPort, vars: { MCP_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'off' } });
try {
  const [target] = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  // wrangler's inspector proxy wants an Origin on the upgrade.
  const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: 'http://localhost' } });
  await new Promise((resolve, reject) => { ws.addEventListener('open', resolve); ws.addEventListener('error', reject); });
  let next = 1;
  const pending = new Map();
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  const send = (method, params = {}) => new Promise((resolve) => {
    const id = next++;
    pending.set(id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });
  const client = await createClient(16);
  const url = `${worker.url}/mcp`;
  await runScenario(client, url, scenario, { concurrency: 16, seconds: 3, maxIterations: 500 });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 100 });
  await send('Profiler.start');
  const run = await runScenario(client, url, scenario, { concurrency: 16, seconds: 6, maxIterations: 100_000 });
  const { result: { profile } } = await send('Profiler.stop');
  await client.close();
  ws.close();
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'profile.cpuprofile'), JSON.stringify(profile));

  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const inclusive = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i];
    total += dt;
    const name = (n) => n.callFrame.functionName || `(anonymous ${n.callFrame.url}:${n.callFrame.lineNumber})`;
    self.set(name(byId.get(id)), (self.get(name(byId.get(id))) ?? 0) + dt);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const n = name(byId.get(at));
      if (!seen.has(n)) inclusive.set(n, (inclusive.get(n) ?? 0) + dt);
      seen.add(n);
    }
  });
  const top = (map, count) => [...map].sort((a, b) => b[1] - a[1]).slice(0, count)
    .map(([n, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${n.slice(0, 150)}`).join('\n');
  console.log(`\n${scenario.title}: ${run.rate} ${scenario.unit} through the proxy while profiling, ${run.errors} errors\n`);
  console.log(`Self time:\n${top(self, 30)}\n\nInclusive time:\n${top(inclusive, 40)}\n`);
  console.log('profile: bench/results/profile.cpuprofile');
} finally {
  await worker.stop();
}
