// Security by default, as a deployment sees it (development mode off, as after `wrangler deploy`): without
// credentials and the server secret the worker refuses traffic and says what to set, whatever `Host` the client
// sends (a tunnel or a LAN peer can send `Host: localhost`); MCP_ALLOW_ANONYMOUS opts in to open access; loopback
// browser origins are not trusted; a malformed setting is reported, never silently defaulted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, freePort, startWorker } from './support/worker.mjs';
import { initializeRequest, post, ACCEPT_BOTH, SESSION_ID_RE } from './support/mcp.mjs';

const T = { timeout: 30_000 };
const SECRET = 'e2e-server-secret-0123456789abcdef0123456789';

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

describe('a deployment without credentials or secret (development mode off)', { timeout: 300_000 }, () => {
  let worker;
  before(async () => { worker = await startWorker({ development: false }); }, { timeout: 150_000 });
  after(async () => { await worker?.stop(); }, { timeout: 30_000 });

  it('refuses a public hostname with 503 naming every setting to fix', T, async () => {
    const a = await postWithHost(worker.url, 'mcp.example.workers.dev', initializeRequest());
    assert.equal(a.status, 503, a.text);
    assert.equal(a.json.error.code, -32000);
    assert.match(a.json.error.message, /MCP_API_KEYS/);
    assert.match(a.json.error.message, /MCP_ALLOW_ANONYMOUS/);
    assert.match(a.json.error.message, /MCP_SERVER_SECRET/);
    assert.equal(a.headers['mcp-session-id'], undefined);
  });

  it('a spoofed Host: localhost is refused just the same', T, async () => {
    for (const host of [`localhost:${worker.port}`, '127.0.0.1', '[::1]:8787']) {
      const a = await postWithHost(worker.url, host, initializeRequest());
      assert.equal(a.status, 503, `${host}: ${a.text}`);
      assert.equal(a.headers['mcp-session-id'], undefined);
    }
  });
});

describe('MCP_ALLOW_ANONYMOUS=true, keys without a secret, and a malformed setting', { timeout: 300_000 }, () => {
  let open;
  let noSecret;
  let broken;
  before(async () => {
    [open, noSecret, broken] = await Promise.all([
      startWorker({ development: false, vars: { MCP_ALLOW_ANONYMOUS: 'true', MCP_SERVER_SECRET: SECRET } }),
      startWorker({ development: false, vars: { MCP_API_KEYS: 'ops:k-ops-1' } }),
      startWorker({ vars: { MCP_SESSION_TTL_SECONDS: 'soon' } }),
    ]);
  }, { timeout: 240_000 });
  after(async () => { await Promise.all([open?.stop(), noSecret?.stop(), broken?.stop()]); }, { timeout: 30_000 });

  it('MCP_ALLOW_ANONYMOUS=true with a secret serves a public hostname without credentials', T, async () => {
    const a = await postWithHost(open.url, 'mcp.example.workers.dev', initializeRequest());
    assert.equal(a.status, 200, a.text);
    assert.equal(a.json.result.protocolVersion, '2025-11-25');
    assert.match(a.headers['mcp-session-id'], SESSION_ID_RE);
  });

  it('loopback browser origins are not trusted outside development mode', T, async () => {
    const a = await postWithHost(open.url, 'mcp.example.workers.dev', initializeRequest(), { Origin: 'http://localhost:6274' });
    assert.equal(a.status, 403, a.text);
    assert.equal(a.headers['access-control-allow-origin'], undefined);
  });

  it('keys without MCP_SERVER_SECRET: 503 naming the secret (and not the key)', T, async () => {
    const a = await postWithHost(noSecret.url, 'mcp.example.workers.dev', initializeRequest(), { Authorization: 'Bearer k-ops-1' });
    assert.equal(a.status, 503, a.text);
    assert.match(a.json.error.message, /MCP_SERVER_SECRET/);
    assert.doesNotMatch(a.json.error.message, /MCP_API_KEYS|k-ops-1/);
  });

  it('a malformed setting is a 503 naming it', T, async () => {
    const a = await post(broken.url, initializeRequest());
    assert.equal(a.status, 503, a.text);
    assert.match(a.json.error.message, /MCP_SESSION_TTL_SECONDS/);
  });

  it('/health: 200 with every component when the deployment can serve', T, async () => {
    const res = await fetch(`${open.url}/health`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = await res.json();
    assert.equal(body.status, 'ok');
    assert.match(body.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(body.components.configuration, { status: 'ok' });
    assert.deepEqual(body.components.access, { status: 'ok', detail: 'anonymous (MCP_ALLOW_ANONYMOUS)' });
    assert.deepEqual(body.components.kv, { status: 'ok' });
    assert.deepEqual(body.components.durable_objects, { status: 'ok' });
    assert.deepEqual(body.components.rate_limiting, { status: 'off' });
    assert.equal((await fetch(`${open.url}/health`, { method: 'POST' })).status, 405);
  });

  it('/health: 503 naming a malformed setting, or the missing secret (never a key)', T, async () => {
    const res = await fetch(`${broken.url}/health`);
    assert.equal(res.status, 503);
    const body = await res.json();
    assert.equal(body.status, 'failing');
    assert.equal(body.components.configuration.status, 'failing');
    assert.match(body.components.configuration.error, /MCP_SESSION_TTL_SECONDS/);
    assert.deepEqual(body.components.kv, { status: 'ok' }, 'the probes still run');
    // An error line: wrangler prefixes it (and colours it) locally; the JSON is the rest of the line.
    const logged = broken.logs().replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((l) => l.includes('{"'))
      .map((l) => { try { return JSON.parse(l.slice(l.indexOf('{'))); } catch { return {}; } })
      .filter((l) => l.event === 'configuration');
    assert.ok(logged.some((l) => /MCP_SESSION_TTL_SECONDS/.test(l.error)), 'the broken setting is named in the log too');
    const noKey = await fetch(`${noSecret.url}/health`);
    assert.equal(noKey.status, 503);
    const text = await noKey.text();
    assert.match(JSON.parse(text).components.access.error, /MCP_SERVER_SECRET/);
    assert.doesNotMatch(text, /k-ops-1/);
  });
});

describe('`npm run dev -- --port N`', { timeout: 300_000 }, () => {
  let child;
  let port;
  let output = '';
  let state;
  before(async () => {
    port = await freePort();
    state = mkdtempSync(join(tmpdir(), 'mcp-npm-dev-'));
    const inspector = await freePort();
    child = spawn('npm', ['run', 'dev', '--', '--port', String(port), '--ip', '127.0.0.1', '--persist-to', state,
      '--inspector-port', String(inspector), '--show-interactive-dev-session=false'], {
      cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MCP_SKIP_BUILD: '1', CI: '1', NO_COLOR: '1', WRANGLER_SEND_METRICS: 'false' },
    });
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm run dev exited:\n${output}`);
      try {
        await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`npm run dev did not answer on port ${port}:\n${output}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }, { timeout: 150_000 });
  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.on('exit', r));
      try { process.kill(-child.pid, 'SIGTERM'); } catch {}
      const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} }, 5000);
      await exited;
      clearTimeout(timer);
    }
    if (state) rmSync(state, { recursive: true, force: true });
  }, { timeout: 30_000 });

  it('serves on the port given, in development mode (no credentials, localhost origins)', T, async () => {
    const a = await post(`http://127.0.0.1:${port}`, initializeRequest(), { headers: { origin: 'http://localhost:6274' } });
    assert.equal(a.status, 200, a.text);
    assert.match(a.headers.get('mcp-session-id') ?? '', SESSION_ID_RE);
    assert.equal(a.headers.get('access-control-allow-origin'), 'http://localhost:6274');
  });
});
