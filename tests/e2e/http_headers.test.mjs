// Response headers every client sees: security headers on every kind of answer (the Worker's own, the session
// object's JSON and SSE, errors), and CORS for browser clients: preflights from an allowed origin (listed in
// MCP_ALLOWED_ORIGINS, or localhost in development mode) and from a refused one.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './support/worker.mjs';
import { initializeRequest, notification, post, request, LATEST_VERSION, ACCEPT_BOTH } from './support/mcp.mjs';

const T = { timeout: 60_000 };
const ALLOWED = 'https://inspector.example.com';

function assertSecurityHeaders(headers, what) {
  assert.equal(headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(headers.get('x-frame-options'), 'DENY', what);
  assert.equal(headers.get('referrer-policy'), 'no-referrer', what);
  assert.match(headers.get('strict-transport-security') ?? '', /max-age=\d+/, what);
}

describe(`response headers (MCP_ALLOWED_ORIGINS=${ALLOWED})`, { timeout: 300_000 }, () => {
  let worker;
  before(async () => { worker = await startWorker({ vars: { MCP_ALLOWED_ORIGINS: ALLOWED } }); }, { timeout: 150_000 });
  after(async () => { await worker?.stop(); }, { timeout: 30_000 });

  it('security headers on the Worker\'s answers, the session object\'s JSON and SSE, and errors', T, async () => {
    const init = await post(worker.url, initializeRequest());
    assertSecurityHeaders(init.headers, 'initialize (answered by the Worker)');
    const session = init.headers.get('mcp-session-id');
    await post(worker.url, notification('notifications/initialized'), { session, protocolVersion: LATEST_VERSION });
    const call = await post(worker.url, request('tools/call', { name: 'echo', arguments: { message: 'h' } }),
      { session, protocolVersion: LATEST_VERSION });
    assert.equal(call.messages[0]?.result?.content?.[0]?.text, 'h');
    assertSecurityHeaders(call.headers, 'tools/call (answered by the session object)');
    const controller = new AbortController();
    const stream = await fetch(`${worker.url}/mcp`, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': LATEST_VERSION },
      signal: controller.signal,
    });
    assert.equal(stream.status, 200);
    assertSecurityHeaders(stream.headers, 'the standalone SSE stream');
    controller.abort();
    const missing = await post(worker.url, request('tools/list', {}), { session: 'nope', protocolVersion: LATEST_VERSION });
    assert.equal(missing.status, 404);
    assertSecurityHeaders(missing.headers, 'a 404');
    const health = await fetch(`${worker.url}/health`);
    assertSecurityHeaders(health.headers, '/health');
  });

  for (const origin of [ALLOWED, `http://localhost:6274`]) {
    it(`a preflight from ${origin} is answered with what the browser needs`, T, async () => {
      const res = await fetch(`${worker.url}/mcp`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, mcp-session-id, authorization' },
      });
      assert.equal(res.status, 204);
      assert.equal(res.headers.get('access-control-allow-origin'), origin);
      assert.match(res.headers.get('access-control-allow-methods'), /POST/);
      for (const h of ['Mcp-Session-Id', 'Authorization', 'MCP-Protocol-Version', 'Mcp-Method']) {
        assert.match(res.headers.get('access-control-allow-headers'), new RegExp(h, 'i'));
      }
      // And the actual request: Mcp-Session-Id is readable by the page.
      const init = await post(worker.url, initializeRequest(), { headers: { origin } });
      assert.equal(init.status, 200);
      assert.equal(init.headers.get('access-control-allow-origin'), origin);
      assert.match(init.headers.get('access-control-expose-headers'), /Mcp-Session-Id/);
    });
  }

  it('a preflight from a refused origin gets 403 and no CORS headers', T, async () => {
    const res = await fetch(`${worker.url}/mcp`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const answer = await fetch(`${worker.url}/mcp`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', accept: ACCEPT_BOTH, 'content-type': 'application/json' },
      body: JSON.stringify(initializeRequest()),
    });
    assert.equal(answer.status, 403);
    assert.equal(answer.headers.get('mcp-session-id'), null);
  });
});
