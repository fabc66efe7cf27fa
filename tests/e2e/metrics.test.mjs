// /metrics: Prometheus text behind MCP_METRICS_TOKEN (404 without the setting, 401 without the token), numbers
// that move exactly as requests are made — through the Worker, several session objects and the stateless lane,
// each isolate's batch sent off the request's path to the MetricsHub shards — and an exposition that parses.
// Reads poll /metrics until the expected numbers arrive (a batch leaves within about 100 ms), then assert them
// exactly: an overshoot fails as much as a shortfall.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorker, ROOT } from './support/worker.mjs';
import { call, openSession, post, request, send } from './support/mcp.mjs';

const T = { timeout: 60_000 };
const TOKEN = 'metrics-token-0123456789';
const KEYS = { alice: 'k-alice-metrics-01', bob: 'k-bob-metrics-002', carol: 'k-carol-metrics-03' };
const as = (who) => ({ authorization: `Bearer ${KEYS[who]}` });
const MODERN = '2026-07-28';
const MCP_LIMIT = 100;

/** A copy of wrangler.toml whose OAuth rate limit a test can reach: 2 per 10 s per IP (the binding's). */
function smallLimits(dir) {
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')
    .replace(/^main = .*$/m, `main = "${join(ROOT, 'build', 'index.js')}"`)
    .replace(/^\[build\][\s\S]*?(?=^\[)/m, '')
    .replace(/(name = "OAUTH_RATE_LIMITER"[\s\S]*?simple = )\{[^}]*\}/, '$1{ limit = 2, period = 10 }');
  assert.match(toml, /limit = 2, period = 10/);
  const path = join(dir, 'wrangler.toml');
  writeFileSync(path, toml);
  return path;
}

// ---- the text format ----------------------------------------------------------------------------------------

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;

/** Label text → [[name, value], …], or throws on anything that is not `a="x",b="y"`. */
function parseLabels(text) {
  const labels = [];
  let rest = text;
  while (rest.length) {
    const m = LABEL.exec(rest);
    if (!m) throw new Error(`bad labels: {${text}}`);
    labels.push([m[1], m[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')]);
    rest = rest.slice(m[0].length);
  }
  return labels;
}

/**
 * Parses an exposition, checking every line: `# HELP`, `# TYPE` (once per family, before its samples), or a
 * sample with a number. Returns the samples by series key (as written) and the families' types.
 */
function parseExposition(text) {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a line feed');
  const samples = new Map();
  const types = new Map();
  const helped = new Set();
  for (const line of text.slice(0, -1).split('\n')) {
    let m;
    if ((m = /^# HELP (\S+) (.+)$/.exec(line))) {
      assert.ok(!helped.has(m[1]), `HELP twice for ${m[1]}`);
      helped.add(m[1]);
    } else if ((m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      assert.ok(!types.has(m[1]), `TYPE twice for ${m[1]}`);
      types.set(m[1], m[2]);
    } else if ((m = SAMPLE.exec(line))) {
      const [, name, labels, value] = m;
      if (labels !== undefined) parseLabels(labels);
      assert.ok(value === '+Inf' || value === '-Inf' || value === 'NaN' || !Number.isNaN(Number(value)), `bad value: ${line}`);
      const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(types.has(family), `a sample before its TYPE: ${line}`);
      assert.ok(!samples.has(`${name}{${labels ?? ''}}`), `a series twice: ${line}`);
      samples.set(`${name}{${labels ?? ''}}`, Number(value));
    } else {
      assert.fail(`not a valid exposition line: ${JSON.stringify(line)}`);
    }
  }
  return { samples, types };
}

/** Every histogram's buckets are cumulative, ordered by `le`, and end with `+Inf` = `_count`. */
function checkHistograms({ samples, types }) {
  let checked = 0;
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map();
    for (const [key, value] of samples) {
      const m = new RegExp(`^${family}_bucket\\{(.*)\\}$`).exec(key);
      if (!m) continue;
      const labels = parseLabels(m[1]);
      const le = labels.find(([k]) => k === 'le')?.[1];
      assert.ok(le !== undefined, `a bucket without le: ${key}`);
      const rest = labels.filter(([k]) => k !== 'le').map(([k, v]) => `${k}="${v}"`).join(',');
      if (!series.has(rest)) series.set(rest, []);
      series.get(rest).push([le === '+Inf' ? Infinity : Number(le), value]);
    }
    for (const [rest, buckets] of series) {
      for (let i = 1; i < buckets.length; i++) {
        assert.ok(buckets[i][0] > buckets[i - 1][0], `${family}{${rest}}: le out of order`);
        assert.ok(buckets[i][1] >= buckets[i - 1][1], `${family}{${rest}}: buckets not cumulative`);
      }
      const last = buckets.at(-1);
      assert.equal(last[0], Infinity, `${family}{${rest}}: the last bucket is +Inf`);
      assert.equal(samples.get(`${family}_count{${rest}}`), last[1], `${family}{${rest}}: +Inf = count`);
      assert.ok(samples.has(`${family}_sum{${rest}}`), `${family}{${rest}}: a sum`);
      checked++;
    }
  }
  return checked;
}

// ---- reading ------------------------------------------------------------------------------------------------

describe('/metrics', { timeout: 400_000 }, () => {
  let worker;
  let closed;
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-metrics-'));
    [worker, closed] = await Promise.all([
      startWorker({
        config: smallLimits(dir),
        vars: {
          MCP_API_KEYS: Object.entries(KEYS).map(([k, v]) => `${k}:${v}`).join(','),
          MCP_METRICS_TOKEN: TOKEN,
          MCP_FIXTURES: 'conformance',
          MCP_TOOL_TIMEOUT_SECONDS: '1',
          MCP_RATE_LIMIT: `${MCP_LIMIT}/10`,
          OAUTH_RATE_LIMIT: '2/10',
          // Sign-in on (OAuth tokens and endpoints exist); nothing here reaches GitHub.
          GITHUB_CLIENT_ID: 'Iv1.metrics', GITHUB_CLIENT_SECRET: 'metrics-secret',
          GITHUB_BASE_URL: 'http://127.0.0.1:9', GITHUB_API_URL: 'http://127.0.0.1:9',
        },
      }),
      // No MCP_METRICS_TOKEN, development mode: /metrics still does not exist.
      startWorker({}),
    ]);
  }, { timeout: 240_000 });
  after(async () => {
    await Promise.all([worker?.stop(), closed?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }, { timeout: 30_000 });

  const scrape = async () => {
    const res = await fetch(`${worker.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return parseExposition(text).samples;
  };
  const value = (samples, key) => samples.get(key) ?? 0;

  /**
   * Polls until every `expected` key reads its value (before + delta), up to 10 s; then asserts them all
   * exactly, and returns the last read.
   */
  async function expectDeltas(before, deltas) {
    const want = Object.entries(deltas).map(([key, d]) => [key, value(before, key) + d]);
    const deadline = Date.now() + 10_000;
    let now;
    for (;;) {
      now = await scrape();
      if (want.every(([key, v]) => value(now, key) === v) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Whatever is still on its way has had time to arrive: read once more, so an overshoot shows.
    await new Promise((r) => setTimeout(r, 300));
    now = await scrape();
    for (const [key, v] of want) assert.equal(value(now, key), v, `${key}: before ${value(before, key)}`);
    return now;
  }

  it('is not served without MCP_METRICS_TOKEN; with it, only to the token', T, async () => {
    for (const headers of [{}, { authorization: `Bearer ${TOKEN}` }]) {
      const res = await fetch(`${closed.url}/metrics`, { headers });
      assert.equal(res.status, 404, await res.text());
    }
    const missing = await fetch(`${worker.url}/metrics`);
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get('www-authenticate'), /^Bearer realm="metrics"/);
    assert.doesNotMatch(await missing.text(), /mcp_http_requests_total/);
    for (const wrong of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${KEYS.alice}`, `Basic ${TOKEN}`]) {
      const res = await fetch(`${worker.url}/metrics`, { headers: { authorization: wrong } });
      assert.equal(res.status, 401, wrong);
      await res.arrayBuffer();
    }
    const ok = await fetch(`${worker.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(ok.headers.get('cache-control'), 'no-store');
    assert.match(await ok.text(), /^# HELP mcp_http_requests_total /);
    const post = await fetch(`${worker.url}/metrics`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(post.status, 405);
    await post.arrayBuffer();
  });

  it('HTTP requests by route, method and status, MCP requests by method and revision, and auth successes move exactly', T, async () => {
    const before = await scrape();
    const s = await openSession(worker.url, { headers: as('alice') });
    for (let i = 0; i < 3; i++) assert.equal((await call(worker.url, s, 'tools/list', {}, { headers: as('alice') })).answer.status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await call(worker.url, s, 'ping', {}, { headers: as('alice') })).answer.status, 200);
    const unknown = await call(worker.url, s, 'no/such/method', {}, { headers: as('alice') });
    assert.equal(unknown.message.error.code, -32601);
    // A client's path never becomes a label.
    for (const path of ['/nope', '/mcp/../secret', `/${'x'.repeat(300)}`]) {
      const res = await fetch(`${worker.url}${path}`, { headers: as('alice') });
      assert.equal(res.status, 404);
      await res.arrayBuffer();
    }
    const after = await expectDeltas(before, {
      'mcp_http_requests_total{path="/mcp",method="POST",status="200"}': 7,
      'mcp_http_requests_total{path="/mcp",method="POST",status="202"}': 1,
      'mcp_http_requests_total{path="other",method="GET",status="404"}': 3,
      'mcp_http_request_duration_seconds_count{path="/mcp"}': 8,
      'mcp_requests_total{method="initialize",revision="2025-11-25"}': 1,
      'mcp_requests_total{method="tools/list",revision="2025-11-25"}': 3,
      'mcp_requests_total{method="ping",revision="2025-11-25"}': 2,
      'mcp_requests_total{method="other",revision="2025-11-25"}': 1,
      'mcp_auth_successes_total{method="api_key"}': 8,
    });
    assert.ok(![...after.keys()].some((k) => k.includes('/nope') || k.includes('secret') || k.includes('xxxx')), 'no raw path as a label');
  });

  it('tool calls by tool and outcome match after requests spread over several sessions, their objects and the stateless lane', T, async () => {
    const before = await scrape();
    const sessions = [];
    for (let i = 0; i < 4; i++) sessions.push(await openSession(worker.url, { headers: as('bob') }));
    await Promise.all(sessions.map(async (s, i) => {
      for (let n = 0; n < 2; n++) {
        const { message } = await call(worker.url, s, 'tools/call', { name: 'echo', arguments: { message: `s${i}.${n}` } }, { headers: as('bob') });
        assert.equal(message.result.isError, undefined, JSON.stringify(message));
      }
    }));
    for (let n = 0; n < 2; n++) {
      const stateless = await post(worker.url, request('tools/call', {
        name: 'echo', arguments: { message: 'modern' },
        _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} },
      }), { headers: { ...as('bob'), 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'echo' } });
      assert.equal(stateless.status, 200, stateless.text);
    }
    const during = await expectDeltas(before, {
      'mcp_tool_calls_total{tool="echo",outcome="ok"}': 10,
      'mcp_tool_call_duration_seconds_count{tool="echo"}': 10,
      'mcp_requests_total{method="tools/call",revision="2025-11-25"}': 8,
      'mcp_requests_total{method="tools/call",revision="2026-07-28"}': 2,
      'mcp_requests_total{method="initialize",revision="2025-11-25"}': 4,
      // Each session's object holds state from its first request on.
      'mcp_active_sessions{}': 4,
    });
    for (const s of sessions) {
      const res = await send(worker.url, 'DELETE', { session: s.session, headers: { ...as('bob'), 'mcp-protocol-version': s.version } });
      assert.equal(res.status, 204);
    }
    await expectDeltas(during, {
      'mcp_active_sessions{}': -4,
      'mcp_http_requests_total{path="/mcp",method="DELETE",status="204"}': 4,
    });
  });

  it('tool outcomes: a tool error, a refused (unknown, labelled other) call, a time-out', T, async () => {
    const before = await scrape();
    const s = await openSession(worker.url, { headers: as('alice'), capabilities: { elicitation: {} } });
    const failing = await call(worker.url, s, 'tools/call', { name: 'test_error_handling', arguments: {} }, { headers: as('alice') });
    assert.equal(failing.message.result.isError, true);
    const unknown = await call(worker.url, s, 'tools/call', { name: 'no_such_tool_0xdeadbeef', arguments: {} }, { headers: as('alice') });
    assert.equal(unknown.message.error.code, -32602);
    // Waits for an elicitation answer that never comes: stopped after MCP_TOOL_TIMEOUT_SECONDS=1, on a stream.
    const slow = await call(worker.url, s, 'tools/call', { name: 'test_elicitation', arguments: { message: 'never answered' } }, { headers: as('alice') });
    assert.equal(slow.message.result.isError, true, JSON.stringify(slow.message));
    const after = await expectDeltas(before, {
      'mcp_tool_calls_total{tool="test_error_handling",outcome="tool_error"}': 1,
      'mcp_tool_calls_total{tool="other",outcome="refused"}': 1,
      'mcp_tool_calls_total{tool="test_elicitation",outcome="timeout"}': 1,
      'mcp_tool_call_duration_seconds_count{tool="test_elicitation"}': 1,
    });
    assert.ok(![...after.keys()].some((k) => k.includes('deadbeef')), 'an unknown tool name is not a label');
    // The time-out took at least a second: the sum moved by that much.
    const sum = 'mcp_tool_call_duration_seconds_sum{tool="test_elicitation"}';
    assert.ok(value(after, sum) - value(before, sum) >= 0.9, `${value(after, sum)} - ${value(before, sum)}`);
  });

  it('auth failures by reason', T, async () => {
    const before = await scrape();
    const attempt = async (headers) => {
      const answer = await post(worker.url, request('tools/list', {}), { headers });
      assert.equal(answer.status, 401, answer.text);
    };
    await attempt({});
    await attempt({ authorization: 'Bearer not-a-key-at-all' });
    await attempt({ authorization: 'Bearer mcp_at.forged.token' });
    await expectDeltas(before, {
      'mcp_auth_failures_total{reason="missing"}': 1,
      'mcp_auth_failures_total{reason="invalid"}': 2,
      'mcp_http_requests_total{path="/mcp",method="POST",status="401"}': 3,
      'mcp_auth_successes_total{method="api_key"}': 0,
    });
  });

  it('rate-limit denials by policy', T, async () => {
    const before = await scrape();
    // carol's requests until the first 429 (a window holds MCP_LIMIT; a window boundary may need a second one).
    let mcpSent = 0;
    for (;;) {
      const res = await send(worker.url, 'GET', { headers: as('carol') });
      await res.arrayBuffer();
      mcpSent++;
      if (res.status === 429) break;
      assert.ok(mcpSent <= 3 * MCP_LIMIT, 'no 429 from the MCP rate limit');
    }
    let oauthSent = 0;
    for (;;) {
      const res = await fetch(`${worker.url}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'cf-connecting-ip': '203.0.113.9' },
        body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:5555/cb'], client_name: 'metrics test' }),
      });
      await res.arrayBuffer();
      oauthSent++;
      if (res.status === 429) break;
      assert.ok(oauthSent <= 10, 'no 429 from the OAuth rate limit');
    }
    await expectDeltas(before, {
      'mcp_rate_limited_total{policy="mcp"}': 1,
      'mcp_rate_limited_total{policy="oauth"}': 1,
      'mcp_http_requests_total{path="/mcp",method="GET",status="429"}': 1,
      'mcp_http_requests_total{path="/register",method="POST",status="429"}': 1,
      'mcp_auth_successes_total{method="api_key"}': mcpSent,
    });
  });

  it('open streams: a standalone GET stream counts while open and stops counting when its session ends', T, async () => {
    const before = await scrape();
    const s = await openSession(worker.url, { headers: as('alice') });
    await call(worker.url, s, 'ping', {}, { headers: as('alice') });
    const stream = await send(worker.url, 'GET', { session: s.session, accept: 'text/event-stream', headers: { ...as('alice'), 'mcp-protocol-version': s.version } });
    assert.equal(stream.status, 200);
    const opened = await expectDeltas(before, { 'mcp_open_streams{kind="get"}': 1, 'mcp_active_sessions{}': 1 });
    const res = await send(worker.url, 'DELETE', { session: s.session, headers: { ...as('alice'), 'mcp-protocol-version': s.version } });
    assert.equal(res.status, 204);
    await stream.body?.cancel().catch(() => {});
    await expectDeltas(opened, { 'mcp_open_streams{kind="get"}': -1, 'mcp_active_sessions{}': -1 });
  });

  it('the whole exposition parses: HELP and TYPE for every family, cumulative buckets ending in +Inf = count', T, async () => {
    const res = await fetch(`${worker.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const parsed = parseExposition(await res.text());
    for (const [family, type] of [
      ['mcp_http_requests_total', 'counter'], ['mcp_http_request_duration_seconds', 'histogram'],
      ['mcp_requests_total', 'counter'], ['mcp_tool_calls_total', 'counter'],
      ['mcp_tool_call_duration_seconds', 'histogram'], ['mcp_auth_successes_total', 'counter'],
      ['mcp_auth_failures_total', 'counter'], ['mcp_rate_limited_total', 'counter'],
      ['mcp_active_sessions', 'gauge'], ['mcp_open_streams', 'gauge'],
    ]) assert.equal(parsed.types.get(family), type, family);
    assert.ok(checkHistograms(parsed) >= 3, 'histograms of several routes and tools were checked');
    assert.throws(() => parseExposition('mcp_x{a="b} 1\n'));
    assert.throws(() => parseExposition('# TYPE mcp_x counter\nmcp_x one\n'));
  });
});
