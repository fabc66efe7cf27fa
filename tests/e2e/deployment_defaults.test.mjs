// Security by default, as a deployment sees it: without credentials the worker refuses traffic that does not
// come to a loopback host (Cloudflare routes deployed traffic by its public hostname), and says how to fix it;
// MCP_ALLOW_ANONYMOUS opts in to open access; a malformed setting is reported, never silently defaulted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { startWorker } from './support/worker.mjs';
import { initializeRequest, post, ACCEPT_BOTH, SESSION_ID_RE } from './support/mcp.mjs';

const T = { timeout: 30_000 };

/** POSTs JSON with an explicit Host header (fetch does not let us set one). */
function postWithHost(url, host, body, extraHeaders = {}) {
  const { port } = new URL(url);
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1', port, path: '/mcp', method: 'POST',
      headers: { Host: host, Accept: ACCEPT_BOTH, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), ...extraHeaders },
      timeout: 15_000,
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text, json: JSON.parse(text || 'null') }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.end(data);
  });
}

describe('a deployment without credentials', { timeout: 300_000 }, () => {
  let worker;
  before(async () => { worker = await startWorker(); }, { timeout: 150_000 });
  after(async () => { await worker?.stop(); }, { timeout: 30_000 });

  it('refuses a public hostname with 503 and explains how to configure keys', T, async () => {
    const a = await postWithHost(worker.url, 'mcp.example.workers.dev', initializeRequest());
    assert.equal(a.status, 503, a.text);
    assert.equal(a.json.error.code, -32000);
    assert.match(a.json.error.message, /MCP_API_KEYS/);
    assert.match(a.json.error.message, /MCP_ALLOW_ANONYMOUS/);
    assert.equal(a.headers['mcp-session-id'], undefined);
  });

  it('serves localhost (wrangler dev) without credentials', T, async () => {
    const a = await postWithHost(worker.url, `localhost:${worker.port}`, initializeRequest());
    assert.equal(a.status, 200, a.text);
    assert.match(a.headers['mcp-session-id'], SESSION_ID_RE);
  });
});

describe('MCP_ALLOW_ANONYMOUS=true and a malformed setting', { timeout: 300_000 }, () => {
  let open;
  let broken;
  before(async () => {
    open = await startWorker({ vars: { MCP_ALLOW_ANONYMOUS: 'true' } });
    broken = await startWorker({ vars: { MCP_SESSION_TTL_SECONDS: 'soon' } });
  }, { timeout: 240_000 });
  after(async () => { await open?.stop(); await broken?.stop(); }, { timeout: 30_000 });

  it('MCP_ALLOW_ANONYMOUS=true serves a public hostname without credentials', T, async () => {
    const a = await postWithHost(open.url, 'mcp.example.workers.dev', initializeRequest());
    assert.equal(a.status, 200, a.text);
    assert.equal(a.json.result.protocolVersion, '2025-11-25');
  });

  it('a malformed setting is a 503 naming it', T, async () => {
    const a = await post(broken.url, initializeRequest());
    assert.equal(a.status, 503, a.text);
    assert.match(a.json.error.message, /MCP_SESSION_TTL_SECONDS/);
  });
});
