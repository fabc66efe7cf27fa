// Limits counted per caller across isolates by the caller's Durable Object (CallerLedger):
// - sessions per caller (MCP_MAX_SESSIONS_PER_CALLER=3): the fourth initialize (or GET /sse) is 429 naming the
//   setting, with Retry-After; DELETE frees a place; another caller is counted on its own; sessions never used drop
//   out by their expiry (MCP_SESSION_TTL_SECONDS=15), so nothing leaks;
// - per-tool rate limits (MCP_TOOL_RATE_LIMITS=echo=2/10): the third echo of a caller within the window is 429 with
//   Retry-After and RateLimit headers and a JSON-RPC body, in the session lane and the stateless lane alike (one
//   count per caller), other tools and other callers are not affected, and echo works again after the window; a
//   batch whose calls do not all fit is refused whole and uses up none of them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './support/worker.mjs';
import { initializeRequest, openSession, post, request, send } from './support/mcp.mjs';
import { readSeries, awaitSeries } from './support/metrics.mjs';

const T = { timeout: 60_000 };
const TTL_S = 15;
const KEYS = { alice: 'k-alice-callers-01', bob: 'k-bob-callers-02', carol: 'k-carol-callers-03', dave: 'k-dave-callers-04', frank: 'k-frank-callers-05' };
const as = (who) => ({ authorization: `Bearer ${KEYS[who]}` });
const STATELESS = '2026-07-28';
const META = {
  'io.modelcontextprotocol/protocolVersion': STATELESS,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'e2e', version: '1' },
};

function initialize(who) {
  return post(worker.url, initializeRequest(), { headers: as(who) });
}

function echo(who, sess, message = 'hi') {
  return post(worker.url, request('tools/call', { name: 'echo', arguments: { message } }),
    { session: sess.session, protocolVersion: sess.version, headers: as(who) });
}

function statelessEcho(who, message = 'hi') {
  return post(worker.url, request('tools/call', { name: 'echo', arguments: { message }, _meta: META }), {
    protocolVersion: STATELESS,
    headers: { ...as(who), 'mcp-method': 'tools/call', 'mcp-name': 'echo' },
  });
}

/** Opens a legacy GET /sse session as `who`: its POST endpoint, and how to close the stream. */
async function legacyEndpoint(who) {
  const controller = new AbortController();
  const res = await fetch(`${worker.url}/sse`, { headers: { ...as(who), accept: 'text/event-stream' }, signal: controller.signal });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!/event: endpoint\ndata: [^\n]*\n/.test(text)) {
    const { value, done } = await reader.read();
    assert.ok(!done, `the stream ended before its endpoint event: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  const endpoint = text.match(/event: endpoint\ndata: ([^\n]*)\n/)[1];
  return { endpoint, close: () => controller.abort() };
}

/** Asserts a 429 whose JSON-RPC error names `setting`; returns its Retry-After in seconds. */
function assertRefused(answer, setting) {
  assert.equal(answer.status, 429, answer.text);
  assert.equal(answer.messages[0]?.error?.code, -32000, answer.text);
  assert.match(answer.messages[0].error.message, /^Too Many Requests: /);
  assert.ok(answer.messages[0].error.message.includes(setting), answer.messages[0].error.message);
  const retryAfter = Number(answer.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After ${answer.headers.get('retry-after')}`);
  return retryAfter;
}

let worker;
const METRICS_TOKEN = 'metrics-token-callers-0001';

/** `mcp_rate_limited_total{policy}` as /metrics reads now. */
function denials(policy) {
  return readSeries(worker.url, METRICS_TOKEN, `mcp_rate_limited_total{policy="${policy}"}`);
}

describe('limits per caller (MCP_MAX_SESSIONS_PER_CALLER=3, MCP_TOOL_RATE_LIMITS=echo=2/10)', { timeout: 300_000 }, () => {
  before(async () => {
    worker = await startWorker({
      vars: {
        MCP_API_KEYS: Object.entries(KEYS).map(([name, key]) => `${name}:${key}`).join(','),
        MCP_MAX_SESSIONS_PER_CALLER: '3',
        MCP_TOOL_RATE_LIMITS: 'echo=2/10',
        MCP_SESSION_TTL_SECONDS: String(TTL_S),
        MCP_METRICS_TOKEN: METRICS_TOKEN,
      },
    });
  }, { timeout: 150_000 });
  after(async () => { await worker?.stop(); }, { timeout: 30_000 });

  it('a caller past its sessions is refused until it deletes one; another caller is not affected', T, async () => {
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await openSession(worker.url, { headers: as('alice') }));
    const refused = await initialize('alice');
    const retryAfter = assertRefused(refused, 'MCP_MAX_SESSIONS_PER_CALLER=3');
    assert.ok(retryAfter <= TTL_S, `a place frees up when the first session expires, at the latest: ${retryAfter}`);
    assert.equal(refused.headers.get('mcp-session-id'), null, 'no session id for a refused initialize');
    assert.equal(typeof refused.messages[0].id, 'number', 'the body answers the initialize request');
    // The legacy transport opens sessions too, and is counted alike.
    const legacy = await send(worker.url, 'GET', { path: '/sse', accept: 'text/event-stream', headers: as('alice') });
    assert.equal(legacy.status, 429);
    assert.match((await legacy.json()).error.message, /MCP_MAX_SESSIONS_PER_CALLER/);
    // Bob is counted on his own.
    const bobs = await initialize('bob');
    assert.equal(bobs.status, 200, bobs.text);
    // DELETE frees a place (a deferred session never used is ended by its object too).
    const deleted = await send(worker.url, 'DELETE', { session: open[0].session, headers: { ...as('alice'), 'mcp-protocol-version': open[0].version } });
    assert.equal(deleted.status, 204);
    const again = await initialize('alice');
    assert.equal(again.status, 200, again.text);
    assert.equal((await initialize('alice')).status, 429, 'full again');
    // A session that was used (it has an object) frees its place when deleted as well.
    assert.equal((await echo('alice', open[1])).status, 200);
    const used = await send(worker.url, 'DELETE', { session: open[1].session, headers: { ...as('alice'), 'mcp-protocol-version': open[1].version } });
    assert.equal(used.status, 204);
    assert.equal((await initialize('alice')).status, 200);
  });

  it('/health says which per-caller limits count', T, async () => {
    const health = await (await fetch(`${worker.url}/health`)).json();
    assert.equal(health.components.rate_limiting.status, 'ok');
    assert.match(health.components.rate_limiting.detail, /per caller and tool: echo 2\/10 s/);
    assert.match(health.components.rate_limiting.detail, /3 sessions per caller/);
  });

  it('sessions never used drop out at their expiry: nothing leaks', T, async () => {
    for (let i = 0; i < 3; i++) await openSession(worker.url, { headers: as('dave') });
    const refused = await initialize('dave');
    assertRefused(refused, 'MCP_MAX_SESSIONS_PER_CALLER');
    const started = Date.now();
    // Polled rather than slept: the ledger lets dave in once his sessions have expired.
    let answer;
    do {
      await new Promise((r) => setTimeout(r, 500));
      answer = await initialize('dave');
    } while (answer.status === 429 && Date.now() - started < (TTL_S + 10) * 1000);
    assert.equal(answer.status, 200, `still refused ${Date.now() - started} ms later: ${answer.text}`);
  });

  it('a tool past its limit gets 429 with the headers in both lanes, other tools and callers do not, and it recovers after the window', T, async () => {
    const s = await openSession(worker.url, { headers: as('carol') });
    // Windows are aligned to multiples of 10 s of the clock: start the burst early in one, so that the checks
    // below all fall in the same window.
    if (Date.now() % 10_000 > 4_000) await new Promise((r) => setTimeout(r, 10_000 - (Date.now() % 10_000) + 100));
    const statuses = [];
    for (let i = 0; i < 2; i++) {
      const answer = await echo('carol', s, `m${i}`);
      statuses.push(answer.status);
      assert.equal(answer.messages[0]?.result?.content?.[0]?.text, `m${i}`, answer.text);
    }
    const denied = await echo('carol', s);
    statuses.push(denied.status);
    assert.equal(denied.status, 429, `statuses ${statuses}`);
    const retryAfter = assertRefused(denied, 'MCP_TOOL_RATE_LIMITS');
    assert.match(denied.messages[0].error.message, /at most 2 calls of tool echo per 10 s/);
    assert.ok(retryAfter <= 10, `Retry-After ${retryAfter}`);
    assert.equal(denied.headers.get('ratelimit-policy'), '"tool.echo";q=2;w=10');
    assert.equal(denied.headers.get('ratelimit'), `"tool.echo";r=0;t=${retryAfter}`);
    assert.equal(typeof denied.messages[0].id, 'number', 'the body answers the request id');
    // The same count in the stateless lane.
    const stateless = await statelessEcho('carol');
    assert.equal(stateless.status, 429, stateless.text);
    assert.equal(stateless.headers.get('ratelimit-policy'), '"tool.echo";q=2;w=10');
    // And in the legacy transport: its POST /messages is refused before the 202.
    const legacy = await legacyEndpoint('carol');
    try {
      const message = await fetch(new URL(legacy.endpoint, worker.url), {
        method: 'POST',
        headers: { ...as('carol'), 'content-type': 'application/json' },
        body: JSON.stringify(request('tools/call', { name: 'echo', arguments: { message: 'legacy' } })),
      });
      assert.equal(message.status, 429);
      assert.equal(message.headers.get('ratelimit-policy'), '"tool.echo";q=2;w=10');
      assert.match((await message.json()).error.message, /MCP_TOOL_RATE_LIMITS/);
    } finally {
      legacy.close();
    }
    // Other tools and other callers are not limited.
    const list = await post(worker.url, request('tools/list', {}), { session: s.session, protocolVersion: s.version, headers: as('carol') });
    assert.equal(list.status, 200);
    const bobs = await openSession(worker.url, { headers: as('bob') });
    assert.equal((await echo('bob', bobs)).status, 200);
    // After the window carol calls echo again.
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 500));
    const recovered = await statelessEcho('carol', 'back');
    assert.equal(recovered.status, 200, recovered.text);
    assert.equal(recovered.messages[0]?.result?.content?.[0]?.text, 'back');
  });

  it('the denials are counted in /metrics by policy', T, async () => {
    // Tools: one denial each in the session lane, the stateless lane and the legacy transport. Sessions: at least
    // alice's three and dave's first (his later polls add more). Metrics arrive in batches: polled.
    await awaitSeries(worker.url, METRICS_TOKEN, 'mcp_rate_limited_total{policy="tool"}', 3);
    assert.equal(await denials('tool'), 3);
    assert.ok((await denials('sessions')) >= 4, `sessions: ${await denials('sessions')}`);
  });

  it('a batch whose calls do not all fit is refused whole, and counts none of them', T, async () => {
    // After the denials test: this one adds a denial of its own.
    const s = await openSession(worker.url, { headers: as('frank'), protocolVersion: '2025-03-26' });
    if (Date.now() % 10_000 > 4_000) await new Promise((r) => setTimeout(r, 10_000 - (Date.now() % 10_000) + 100));
    const opts = { session: s.session, protocolVersion: s.version, headers: as('frank') };
    const batch = ['b1', 'b2', 'b3'].map((message) => request('tools/call', { name: 'echo', arguments: { message } }));
    const refused = await post(worker.url, batch, opts);
    assertRefused(refused, 'MCP_TOOL_RATE_LIMITS');
    // None of the three was counted: two calls still fit this window, the third does not.
    for (const message of ['after1', 'after2']) {
      const answer = await echo('frank', s, message);
      assert.equal(answer.messages[0]?.result?.content?.[0]?.text, message, answer.text);
    }
    assert.equal((await echo('frank', s)).status, 429);
  });
});

describe('per-caller counts are stored: they hold across a restart of the worker', { timeout: 300_000 }, () => {
  let w;
  const WINDOW_S = 3600;
  before(async () => {
    w = await startWorker({
      vars: {
        MCP_API_KEYS: `erin:${KEYS.alice}`,
        MCP_MAX_SESSIONS_PER_CALLER: '2',
        MCP_TOOL_RATE_LIMITS: `echo=2/${WINDOW_S}`,
      },
    });
  }, { timeout: 150_000 });
  after(async () => { await w?.stop(); }, { timeout: 30_000 });

  it('sessions and tool windows counted before a restart still count after it', { timeout: 180_000 }, async () => {
    const erin = { authorization: `Bearer ${KEYS.alice}` };
    const window = () => Math.floor(Date.now() / (WINDOW_S * 1000));
    const opened = [];
    for (let i = 0; i < 2; i++) opened.push(await openSession(w.url, { headers: erin }));
    const started = window();
    for (let i = 0; i < 2; i++) {
      const answer = await post(w.url, request('tools/call', { name: 'echo', arguments: { message: `e${i}` } }), { session: opened[0].session, protocolVersion: opened[0].version, headers: erin });
      assert.equal(answer.status, 200, answer.text);
    }
    w = await w.restart();
    const refused = await post(w.url, initializeRequest(), { headers: erin });
    assert.equal(refused.status, 429, refused.text);
    assert.match(refused.messages[0].error.message, /MCP_MAX_SESSIONS_PER_CALLER=2/);
    const third = await post(w.url, request('tools/call', { name: 'echo', arguments: { message: 'e2' } }), { session: opened[0].session, protocolVersion: opened[0].version, headers: erin });
    // The window is aligned to the hour: only if the restart crossed its end may the call pass.
    assert.equal(third.status, window() === started ? 429 : 200, third.text);
    // The stored sessions are released by DELETE after the restart too.
    const deleted = await send(w.url, 'DELETE', { session: opened[1].session, headers: { ...erin, 'mcp-protocol-version': opened[1].version } });
    assert.equal(deleted.status, 204);
    assert.equal((await post(w.url, initializeRequest(), { headers: erin })).status, 200);
  });
});
