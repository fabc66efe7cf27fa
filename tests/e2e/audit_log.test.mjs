// The audit log: one JSON line per HTTP request (Worker) and per tool call (the Worker for the stateless lane, the
// session object for sessions), with the caller's identity and never a key; MCP_LOG_LEVEL=off writes none.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { startWorker } from './support/worker.mjs';
import { openSession, post, request } from './support/mcp.mjs';

const T = { timeout: 60_000 };
const KEY = `k-${randomBytes(16).toString('hex')}`;
const AUTH = { authorization: `Bearer ${KEY}` };
const MODERN = '2026-07-28';

/** Our JSON lines among wrangler's output (ours are the lines that are JSON objects). */
function auditLines(worker) {
  return worker.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

/** Waits until `predicate` holds for the audit lines (they reach the output asynchronously). */
async function linesWhere(worker, predicate) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = auditLines(worker);
    if (predicate(lines)) return lines;
    if (Date.now() > deadline) return lines;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('audit log', { timeout: 300_000 }, () => {
  let logged;
  let quiet;
  before(async () => {
    [logged, quiet] = await Promise.all([
      startWorker({ vars: { MCP_API_KEYS: `ops:${KEY}`, MCP_FIXTURES: 'conformance' } }),
      startWorker({ vars: { MCP_API_KEYS: `ops:${KEY}`, MCP_LOG_LEVEL: 'off' } }),
    ]);
  }, { timeout: 240_000 });
  after(async () => { await Promise.all([logged?.stop(), quiet?.stop()]); }, { timeout: 30_000 });

  it('one line per request and per tool call, with the caller and the outcome, parsing as JSON, holding no key', T, async () => {
    const s = await openSession(logged.url, { headers: AUTH });
    const send = (params) => post(logged.url, request('tools/call', params), { session: s.session, protocolVersion: s.version, headers: AUTH });
    await send({ name: 'echo', arguments: { message: 'audited' } });
    await send({ name: 'test_error_handling', arguments: {} });
    await send({ name: 'no_such_tool', arguments: {} });
    const stateless = await post(logged.url, request('tools/call', {
      name: 'echo', arguments: { message: 'modern' },
      _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} },
    }), { headers: { ...AUTH, 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'echo' } });
    assert.equal(stateless.status, 200, stateless.text);
    const refused = await post(logged.url, request('tools/list', {}), { headers: { authorization: 'Bearer wrong' } });
    assert.equal(refused.status, 401);

    const lines = await linesWhere(logged, (ls) => ls.filter((l) => l.event === 'tool_call').length >= 4
      && ls.some((l) => l.event === 'request' && l.status === 401));
    const tools = lines.filter((l) => l.event === 'tool_call').map((l) => [l.tool, l.outcome, l.protocol_version, l.caller]);
    assert.deepEqual(tools, [
      ['echo', 'ok', '2025-11-25', 'key:ops'],
      ['test_error_handling', 'tool_error', '2025-11-25', 'key:ops'],
      ['no_such_tool', 'refused', '2025-11-25', 'key:ops'],
      ['echo', 'ok', MODERN, 'key:ops'],
    ]);
    for (const l of lines.filter((x) => x.event === 'tool_call')) assert.equal(typeof l.duration_ms, 'number');
    const requests = lines.filter((l) => l.event === 'request' && l.path === '/mcp');
    assert.ok(requests.length >= 6, JSON.stringify(requests));
    for (const l of requests) {
      assert.match(l.request_id, /\S/);
      assert.equal(l.method, 'POST');
      assert.equal(typeof l.status, 'number');
    }
    assert.ok(requests.some((l) => l.status === 200 && l.caller === 'key:ops' && l.protocol_version === '2025-11-25'));
    assert.ok(requests.some((l) => l.mcp_method === 'tools/call' && l.protocol_version === MODERN));
    assert.ok(requests.some((l) => l.status === 401 && l.caller === undefined));
    assert.ok(!logged.logs().includes(KEY), 'the key appears nowhere in the output');
    assert.ok(!logged.logs().includes('audited'), 'no argument or result text in the log');
  });

  it('MCP_LOG_LEVEL=off writes no audit line', T, async () => {
    const s = await openSession(quiet.url, { headers: AUTH });
    await post(quiet.url, request('tools/call', { name: 'echo', arguments: { message: 'x' } }), { session: s.session, protocolVersion: s.version, headers: AUTH });
    // The control: the other worker's lines for the same requests arrived, so these would have too.
    await linesWhere(logged, (ls) => ls.length > 0);
    assert.deepEqual(auditLines(quiet), []);
  });

  it('a client that drops its upload mid-body is a 400 in the log, not an internal error', T, async () => {
    const s = await openSession(logged.url, { headers: AUTH });
    const { hostname, port } = new URL(logged.url);
    const partial = '{"jsonrpc":"2.0","id":"cut","method":"ping"';
    // Declares 1000 bytes, sends a few, and goes: the session object's read of the body fails.
    await new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write([
          'POST /mcp HTTP/1.1', `Host: ${hostname}:${port}`, `Authorization: Bearer ${KEY}`,
          'Content-Type: application/json', 'Accept: application/json, text/event-stream',
          `Mcp-Session-Id: ${s.session}`, `MCP-Protocol-Version: ${s.version}`, 'Content-Length: 1000', '', partial,
        ].join('\r\n'), () => setTimeout(() => socket.destroy(), 200));
      });
      socket.on('close', resolve);
      socket.on('error', reject);
    });
    const lines = await linesWhere(logged, (ls) => ls.some((l) => l.event === 'request' && l.path === '/mcp' && l.status === 400));
    assert.ok(lines.some((l) => l.event === 'request' && l.path === '/mcp' && l.status === 400), 'the request is logged as a 400');
    assert.doesNotMatch(logged.logs(), /internal error \[[0-9a-f]+\]: .*(body|Network connection lost)/);
  });
});
