// A small closed-loop load generator for the MCP endpoint: a fixed number of workers, each sending one request at
// a time over keep-alive connections, for a bounded time and a bounded number of iterations. Every response is
// checked; a wrong status or body counts as an error and the first error of a run is kept with its details.
import { performance } from 'node:perf_hooks';

export const PROTOCOL_VERSION = '2025-11-25';
const ACCEPT = 'application/json, text/event-stream';
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The HTTP client: undici's `request` with an Agent of `connections` keep-alive connections when undici can be
 * loaded (it is the engine of Node's own fetch, with less per-request overhead), else Node's global fetch (also
 * keep-alive by default). `extraHeaders` go with every request (the benchmark uses them only to pick a Worker
 * behind a shared socket, when it cannot reach the Worker's own one: see run.mjs).
 */
export async function createClient(connections, extraHeaders = {}) {
  try {
    const { Agent, request } = await import('undici');
    const dispatcher = new Agent({
      connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    return {
      name: 'undici.request',
      async post(url, headers, body) {
        const res = await request(url, { method: 'POST', headers: { ...headers, ...extraHeaders }, body, dispatcher });
        return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
      },
      close: () => dispatcher.close(),
    };
  } catch {
    return {
      name: 'fetch',
      async post(url, headers, body) {
        const res = await fetch(url, { method: 'POST', headers: { ...headers, ...extraHeaders }, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        return { status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() };
      },
      close: async () => {},
    };
  }
}

/** Error carrying what the first failing response looked like. */
class CheckError extends Error {
  constructor(message, details) {
    super(message);
    this.details = details;
  }
}

function header(res, name) {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function describe(res, request) {
  return {
    request,
    status: res.status,
    contentType: header(res, 'content-type') ?? null,
    mcpSessionId: header(res, 'mcp-session-id') ?? null,
    body: res.text.length > 600 ? `${res.text.slice(0, 600)}… (${res.text.length} chars)` : res.text,
  };
}

/** The JSON-RPC response with `id` from a JSON body or from an SSE stream's `data:` lines. */
function jsonRpcResponse(res, id) {
  const type = header(res, 'content-type') ?? '';
  if (type.includes('text/event-stream')) {
    for (const event of res.text.split(/\r?\n\r?\n/)) {
      const data = event.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (!data) continue;
      let msg;
      try { msg = JSON.parse(data); } catch { continue; }
      if (msg && msg.id === id) return msg;
    }
    return undefined;
  }
  try { return JSON.parse(res.text); } catch { return undefined; }
}

/** POSTs one JSON-RPC message; a transport failure becomes a CheckError. */
async function send(client, url, headers, message, request) {
  try {
    return await client.post(url, headers, JSON.stringify(message));
  } catch (err) {
    throw new CheckError(`request failed: ${err.code ?? ''} ${err.message}`.trim(), { request, error: String(err) });
  }
}

/** POSTs a JSON-RPC request and returns its `result`, or throws a CheckError. */
async function call(client, url, headers, message, check) {
  const request = { method: message.method, id: message.id ?? null };
  const res = await send(client, url, headers, message, request);
  if (res.status !== 200) throw new CheckError(`HTTP ${res.status}, expected 200`, describe(res, request));
  const msg = jsonRpcResponse(res, message.id);
  if (!msg || msg.jsonrpc !== '2.0' || msg.id !== message.id) throw new CheckError('no JSON-RPC response with the request id', describe(res, request));
  if (msg.error || msg.result === undefined) throw new CheckError('JSON-RPC error instead of a result', describe(res, request));
  const problem = check(msg.result, res);
  if (problem) throw new CheckError(problem, describe(res, request));
  return { result: msg.result, res };
}

/** POSTs a JSON-RPC notification, expecting 202. */
async function notify(client, url, headers, message) {
  const request = { method: message.method, id: null };
  const res = await send(client, url, headers, message, request);
  if (res.status !== 202) throw new CheckError(`HTTP ${res.status}, expected 202`, describe(res, request));
}

/** The tools `tools/list` must name unless the target says otherwise (ours, and the references that mimic it). */
export const DEFAULT_TOOLS = ['search', 'fetch', 'echo'];

const baseHeaders = { accept: ACCEPT, 'content-type': 'application/json' };

function initializeMessage(id) {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
  };
}

/** initialize + notifications/initialized; returns the headers for the session's later requests. */
async function openSession(client, url) {
  const { res } = await call(client, url, baseHeaders, initializeMessage(1), (result, r) => {
    if (!header(r, 'mcp-session-id')) return 'no Mcp-Session-Id response header';
    if (result.protocolVersion !== PROTOCOL_VERSION) return `protocolVersion ${JSON.stringify(result.protocolVersion)}, expected ${PROTOCOL_VERSION}`;
    return null;
  });
  const headers = { ...baseHeaders, 'mcp-session-id': header(res, 'mcp-session-id'), 'mcp-protocol-version': PROTOCOL_VERSION };
  await notify(client, url, headers, { jsonrpc: '2.0', method: 'notifications/initialized' });
  return headers;
}

export const STATELESS_VERSION = '2026-07-28';
const STATELESS_META = {
  'io.modelcontextprotocol/protocolVersion': STATELESS_VERSION,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
};

/** The headers of a stateless request: its revision, method and (for tools/call) the name it calls. */
function statelessHeaders(method, name) {
  return { ...baseHeaders, 'mcp-protocol-version': STATELESS_VERSION, 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}) };
}

/**
 * The scenarios. `setup` runs once per run (not timed); `iteration(client, url, state, seq, target)` does one timed
 * unit of work; `seq` is unique within the run (request ids stay unique within a session). `target` describes the
 * server measured: `target.tools` are the tool names its `tools/list` must include. `targets`, when present, names
 * the only targets that speak the scenario's protocol (the stateless revision: ours and the baseline).
 */
/** One `tools/call` of `echo` in the scenario's session, checking the echoed message (ids 0 and 1 opened it). */
async function echoInSession(client, url, headers, seq) {
  const message = `bench-${seq}-${Math.random().toString(36).slice(2, 10)}`;
  await call(client, url, headers, { jsonrpc: '2.0', id: seq + 2, method: 'tools/call', params: { name: 'echo', arguments: { message } } }, (result) => {
    const text = result?.content?.[0]?.text;
    return text === message ? null : `content[0].text ${JSON.stringify(text)}, expected ${JSON.stringify(message)}`;
  });
}

export const SCENARIOS = [
  {
    id: 'tools_call',
    title: 'tools/call (echo), one session',
    unit: 'req/s',
    setup: (client, url) => openSession(client, url),
    iteration: echoInSession,
  },
  {
    // The same, on ours with its production layer off (ours) and on (ours-production: rate limiting per caller
    // with a limit never reached, metrics with their batches to the MetricsHub, the audit log at info): the cost
    // of the layer, both measured in the same run, taking turns.
    id: 'tools_call_production',
    title: 'tools/call (echo), one session, rate limits + metrics + audit log',
    unit: 'req/s',
    targets: ['ours', 'ours-production'],
    setup: (client, url) => openSession(client, url),
    iteration: echoInSession,
  },
  {
    // The same, authenticated with an access token from GitHub sign-in (the worker's own OAuth) instead of an API
    // key: a warm token costs no store round trip.
    id: 'tools_call_signed_in',
    title: 'tools/call (echo), one session, GitHub sign-in token',
    unit: 'req/s',
    targets: ['ours'],
    auth: 'signed-in',
    setup: (client, url) => openSession(client, url),
    iteration: echoInSession,
  },
  {
    id: 'tools_list',
    title: 'tools/list, one session',
    unit: 'req/s',
    setup: (client, url) => openSession(client, url),
    async iteration(client, url, headers, seq, target) {
      await call(client, url, headers, { jsonrpc: '2.0', id: seq + 2, method: 'tools/list', params: {} }, (result) => {
        if (!Array.isArray(result?.tools)) return 'result.tools is not an array';
        const names = new Set(result.tools.map((t) => t?.name));
        const missing = (target?.tools ?? DEFAULT_TOOLS).filter((name) => !names.has(name));
        return missing.length ? `result.tools lacks ${missing.join(', ')}` : null;
      });
    },
  },
  {
    id: 'new_sessions',
    title: 'new sessions (initialize + initialized)',
    unit: 'sessions/s',
    setup: async () => null,
    async iteration(client, url) {
      await openSession(client, url);
    },
  },
  {
    // The stateless revision: no session, every request declares its context; served in the Worker alone.
    id: 'stateless_tools_call',
    title: 'tools/call (echo), stateless 2026-07-28',
    unit: 'req/s',
    targets: ['ours', 'baseline'],
    setup: async () => statelessHeaders('tools/call', 'echo'),
    async iteration(client, url, headers, seq) {
      const message = `bench-${seq}-${Math.random().toString(36).slice(2, 10)}`;
      const params = { name: 'echo', arguments: { message }, _meta: STATELESS_META };
      await call(client, url, headers, { jsonrpc: '2.0', id: seq + 1, method: 'tools/call', params }, (result) => {
        const text = result?.content?.[0]?.text;
        if (result?.resultType !== 'complete') return `resultType ${JSON.stringify(result?.resultType)}, expected "complete"`;
        return text === message ? null : `content[0].text ${JSON.stringify(text)}, expected ${JSON.stringify(message)}`;
      });
    },
  },
  {
    id: 'server_discover',
    title: 'server/discover, stateless 2026-07-28',
    unit: 'req/s',
    targets: ['ours', 'baseline'],
    setup: async () => statelessHeaders('server/discover'),
    async iteration(client, url, headers, seq) {
      const message = { jsonrpc: '2.0', id: seq + 1, method: 'server/discover', params: { _meta: STATELESS_META } };
      await call(client, url, headers, message, (result) => {
        if (!result?.supportedVersions?.includes(STATELESS_VERSION)) return `supportedVersions ${JSON.stringify(result?.supportedVersions)} lacks ${STATELESS_VERSION}`;
        return result.capabilities?.tools ? null : 'capabilities.tools missing';
      });
    },
  },
  {
    // A REST API's operation served as a tool (OpenAPI; bench/openapi/pets.json) against a local backend, on the
    // stateless lane: the baseline makes the same backend call from a bare Worker.
    id: 'openapi_tools_call',
    title: 'tools/call of an OpenAPI operation, stateless 2026-07-28',
    unit: 'req/s',
    targets: ['ours', 'baseline'],
    setup: async () => statelessHeaders('tools/call', 'getPetById'),
    async iteration(client, url, headers, seq) {
      const petId = seq + 1;
      const params = { name: 'getPetById', arguments: { petId }, _meta: STATELESS_META };
      await call(client, url, headers, { jsonrpc: '2.0', id: seq + 1, method: 'tools/call', params }, (result) => {
        const pet = result?.structuredContent;
        if (result?.isError) return `isError: ${JSON.stringify(result.content)}`;
        return pet?.id === petId && pet?.name === `pet-${petId}` ? null : `structuredContent ${JSON.stringify(pet)}, expected pet ${petId}`;
      });
    },
  },
  {
    // Opening a session creates no Durable Object (src/session/id.rs); its first request does. This row shows
    // what a session costs once it is used.
    id: 'first_call',
    title: 'new session and its first tools/call',
    unit: 'sessions/s',
    setup: async () => null,
    async iteration(client, url, _state, seq) {
      const headers = await openSession(client, url);
      const message = `first-${seq}`;
      await call(client, url, headers, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message } } }, (result) => {
        const text = result?.content?.[0]?.text;
        return text === message ? null : `content[0].text ${JSON.stringify(text)}, expected ${JSON.stringify(message)}`;
      });
    },
  },
];

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const round = (x, digits = 2) => (x === null || x === undefined ? null : Number(x.toFixed(digits)));

/**
 * Runs one scenario: `concurrency` workers loop until `seconds` have passed or `maxIterations` have started.
 * Returns throughput (iterations/s and HTTP requests/s), latency percentiles of an iteration (ms), errors.
 */
export async function runScenario(client, url, scenario, { concurrency, seconds, maxIterations }, target = null) {
  let firstError = null;
  let errors = 0;
  let setupState;
  try {
    setupState = await scenario.setup(client, url);
  } catch (err) {
    return { iterations: 0, requests: 0, elapsedSeconds: 0, rate: 0, requestRate: 0, p50: null, p99: null, mean: null, errors: 1, firstError: { phase: 'setup', message: err.message, ...(err.details ?? {}) } };
  }
  const latencies = new Float64Array(maxIterations);
  let started = 0;
  let completed = 0;
  let requests = 0;
  const counting = { post: (...args) => { requests++; return client.post(...args); } };
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let lastDone = t0;
  async function worker() {
    while (performance.now() < deadline && started < maxIterations) {
      const slot = started++;
      const s = performance.now();
      try {
        await scenario.iteration(counting, url, setupState, slot, target);
      } catch (err) {
        errors++;
        if (!firstError) firstError = { message: err.message, ...(err.details ?? { error: String(err.stack ?? err) }) };
      }
      const e = performance.now();
      latencies[slot] = e - s;
      completed++;
      lastDone = e;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  const elapsed = (lastDone - t0) / 1000;
  const sorted = latencies.slice(0, completed).sort();
  return summary(sorted, completed, requests, elapsed, errors, firstError);
}

function summary(sorted, iterations, requests, elapsed, errors, firstError) {
  const mean = iterations ? sorted.reduce((a, b) => a + b, 0) / iterations : null;
  const result = {
    iterations,
    requests,
    elapsedSeconds: round(elapsed, 3),
    rate: elapsed > 0 ? round(iterations / elapsed, 1) : 0,
    requestRate: elapsed > 0 ? round(requests / elapsed, 1) : 0,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    mean: round(mean),
    errors,
    firstError,
  };
  // The latencies themselves, for mergeRuns; not enumerable, so they stay out of the JSON results.
  Object.defineProperty(result, 'latencies', { value: sorted, enumerable: false });
  return result;
}

/**
 * One result from several runs of the same scenario on the same target (the rounds of run.mjs): iterations,
 * requests and time add up, so the rate is the total over the total time; percentiles are of all iterations.
 */
export function mergeRuns(runs) {
  if (runs.length === 1) return runs[0];
  const total = runs.reduce((a, r) => a + (r.latencies?.length ?? 0), 0);
  const all = new Float64Array(total);
  let at = 0;
  for (const r of runs) if (r.latencies) { all.set(r.latencies, at); at += r.latencies.length; }
  all.sort();
  const sum = (k) => runs.reduce((a, r) => a + (r[k] ?? 0), 0);
  return summary(all, sum('iterations'), sum('requests'), sum('elapsedSeconds'), sum('errors'), runs.find((r) => r.firstError)?.firstError ?? null);
}
