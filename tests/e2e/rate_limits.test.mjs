// Rate limits: per caller on the MCP endpoints (MCP_RATE_LIMIT, counted by the caller's ledger object through
// leases) and per client IP on the OAuth endpoints (OAUTH_RATE_LIMIT, binding OAUTH_RATE_LIMITER). Small limits
// (3 and 2 per 10 s); a burst past each gets 429 with Retry-After and RateLimit headers, a JSON-RPC body on /mcp
// and an OAuth error body on /register, other callers are not affected, and the caller gets through after the
// window. On an open deployment (no credentials) callers are counted per client IP, in a window of an hour that
// a restart of the worker (a new isolate, its leases gone) does not reset.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorker, ROOT } from './support/worker.mjs';
import { initializeRequest, post, request } from './support/mcp.mjs';

const T = { timeout: 60_000 };
const WINDOW_S = 10;

function smallLimits(dir) {
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')
    .replace(/^main = .*$/m, `main = "${join(ROOT, 'build', 'index.js')}"`)
    .replace(/^\[build\][\s\S]*?(?=^\[)/m, '')
    .replace(/(name = "OAUTH_RATE_LIMITER"[\s\S]*?simple = )\{[^}]*\}/, `$1{ limit = 2, period = ${WINDOW_S} }`);
  assert.match(toml, /limit = 2, period = 10/);
  const path = join(dir, 'wrangler.toml');
  writeFileSync(path, toml);
  return path;
}

// The binding's windows are aligned to the wall clock (miniflare counts per floor(now / period)): a burst that
// straddles a boundary is split between two windows and may never reach the limit. Start each burst early in one.
async function atWindowStart() {
  const into = Date.now() % (WINDOW_S * 1000);
  if (into > 6_000) await new Promise((r) => setTimeout(r, WINDOW_S * 1000 - into + 100));
}

const KEYS = { alice: 'k-alice-rate-0001', bob: 'k-bob-rate-0002' };
const as = (who) => ({ authorization: `Bearer ${KEYS[who]}` });

describe('rate limits (3 per 10 s per caller on /mcp, 2 per 10 s per IP on OAuth)', { timeout: 300_000 }, () => {
  let worker;
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-rate-'));
    worker = await startWorker({
      config: smallLimits(dir),
      vars: {
        MCP_API_KEYS: `alice:${KEYS.alice},bob:${KEYS.bob}`,
        MCP_RATE_LIMIT: `3/${WINDOW_S}`,
        OAUTH_RATE_LIMIT: `2/${WINDOW_S}`,
        // Sign-in on (the OAuth endpoints exist); /register never reaches GitHub.
        GITHUB_CLIENT_ID: 'Iv1.rate', GITHUB_CLIENT_SECRET: 'rate-secret',
        GITHUB_BASE_URL: 'http://127.0.0.1:9', GITHUB_API_URL: 'http://127.0.0.1:9',
      },
    });
  }, { timeout: 150_000 });
  after(async () => {
    await worker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, { timeout: 30_000 });

  it('a caller past its limit gets 429 with the headers and a JSON-RPC body; another caller does not; the window ends', { timeout: 90_000 }, async () => {
    const list = (who) => post(worker.url, request('tools/list', {}), { headers: as(who) });
    // Requests of one window: the fourth of alice is refused.
    await atWindowStart();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await list('alice'));
    const statuses = answers.map((a) => a.status);
    const denied = answers.find((a) => a.status === 429);
    assert.ok(denied, `no 429 in ${statuses}`);
    // The caller's window is counted exactly: Retry-After is when it ends.
    const retryAfter = Number(denied.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= WINDOW_S, `Retry-After ${retryAfter}`);
    assert.equal(denied.headers.get('ratelimit-policy'), `"caller";q=3;w=${WINDOW_S}`);
    assert.equal(denied.headers.get('ratelimit'), `"caller";r=0;t=${retryAfter}`);
    assert.equal(denied.messages[0]?.error?.code, -32000);
    assert.match(denied.messages[0].error.message, /Too Many Requests/);
    // Bob is counted on his own.
    assert.notEqual((await list('bob')).status, 429);
    // After the window alice gets through again.
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000 + 1000));
    assert.notEqual((await list('alice')).status, 429);
  });

  it('the OAuth endpoints count by client IP and answer 429 with an OAuth error body', T, async () => {
    const register = (ip) => fetch(`${worker.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:5555/cb'], client_name: 'rate test' }),
    });
    await atWindowStart();
    const statuses = [];
    let denied;
    for (let i = 0; i < 3; i++) {
      const res = await register('203.0.113.7');
      statuses.push(res.status);
      if (res.status === 429) denied = { headers: res.headers, body: await res.json() };
      else await res.arrayBuffer();
    }
    assert.deepEqual(statuses, [201, 201, 429]);
    assert.equal(denied.body.error, 'temporarily_unavailable');
    // The binding does not say when its window ends: the whole window.
    assert.equal(denied.headers.get('retry-after'), String(WINDOW_S));
    assert.equal(denied.headers.get('cache-control'), 'no-store');
    const other = await register('198.51.100.4');
    assert.equal(other.status, 201, 'another IP is counted on its own');
    const health = await (await fetch(`${worker.url}/health`)).json();
    assert.equal(health.components.rate_limiting.status, 'ok');
    assert.match(health.components.rate_limiting.detail, /3\/10 s per caller/);
  });
});

describe('rate limits on an open deployment (no credentials: callers counted per client IP, 3 per hour)', { timeout: 300_000 }, () => {
  let worker;
  let dir;
  const HOUR_S = 3600;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-rate-open-'));
    worker = await startWorker({ config: smallLimits(dir), vars: { MCP_RATE_LIMIT: `3/${HOUR_S}` } });
  }, { timeout: 150_000 });
  after(async () => {
    await worker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, { timeout: 30_000 });

  it('one client past the limit is refused, also after a restart; a client at another IP is not', { timeout: 180_000 }, async () => {
    const initialize = (ip) => post(worker.url, initializeRequest(), { headers: { 'cf-connecting-ip': ip } });
    const hour = () => Math.floor(Date.now() / (HOUR_S * 1000));
    const started = hour();
    for (let i = 0; i < 2; i++) assert.equal((await initialize('203.0.113.21')).status, 200);
    // A new isolate holds no lease: it asks the client's ledger, which remembers the two.
    worker = await worker.restart();
    assert.equal((await initialize('203.0.113.21')).status, 200);
    const denied = await initialize('203.0.113.21');
    // The window is aligned to the hour: only if the test crossed its end may the call pass.
    if (hour() !== started) return;
    assert.equal(denied.status, 429, denied.text);
    const retryAfter = Number(denied.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= HOUR_S, `Retry-After ${retryAfter}`);
    assert.equal(denied.headers.get('ratelimit-policy'), `"caller";q=3;w=${HOUR_S}`);
    assert.match(denied.messages[0].error.message, /at most 3 requests per 3600 s; retry after \d+ s/);
    assert.equal((await initialize('203.0.113.21')).status, 429, 'refused again (from what the isolate learnt)');
    assert.notEqual((await initialize('198.51.100.22')).status, 429, 'another IP is counted on its own');
  });
});
