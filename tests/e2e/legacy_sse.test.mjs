// The 2024-11-05 HTTP+SSE transport: GET /sse opens a session whose stream names the POST endpoint; POSTs to
// /messages?sessionId= are answered 202 and their replies go out on the stream. Driven by the official SDK's
// SSEClientTransport, the Inspector CLI with --transport sse, and raw HTTP for every error.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { LoggingMessageNotificationSchema, CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startWorker, ROOT } from './support/worker.mjs';
import { loadDocuments, parseSse } from './support/mcp.mjs';

const T = { timeout: 30_000 };
const docs = loadDocuments();

/** Opens GET /sse raw; resolves once the endpoint event arrived. */
async function openRaw(url, path = '/sse') {
  const controller = new AbortController();
  const res = await fetch(`${url}${path}`, { headers: { Accept: 'text/event-stream' }, signal: controller.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const events = [];
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        const cut = text.lastIndexOf('\n\n');
        if (cut >= 0) {
          events.push(...parseSse(text.slice(0, cut + 2)));
          text = text.slice(cut + 2);
        }
      }
    } catch {}
  })();
  const waitFor = async (pred, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const found = events.find(pred);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no matching event within ${ms} ms: ${JSON.stringify(events)}`);
  };
  const endpoint = await waitFor((e) => e.event === 'endpoint');
  return { endpoint: endpoint.data, events, waitFor, close: () => { controller.abort(); return pump; } };
}

function postMessage(url, endpoint, body, contentType = 'application/json') {
  return fetch(new URL(endpoint, url), { method: 'POST', headers: { 'Content-Type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

const messageOf = (id) => (e) => e.event === 'message' && JSON.parse(e.data).id === id;

describe('legacy HTTP+SSE transport', { timeout: 300_000 }, () => {
  let worker;
  let url;
  before(async () => {
    worker = await startWorker({ vars: { MCP_FIXTURES: 'conformance' } });
    url = worker.url;
  }, { timeout: 150_000 });
  after(async () => { await worker?.stop(); }, { timeout: 30_000 });

  it('the SDK SSEClientTransport runs a full session: every tool, resources, prompts, a notification, sampling', T, async () => {
    const client = new Client({ name: 'e2e-legacy', version: '1.0.0' }, { capabilities: { sampling: {} } });
    await client.connect(new SSEClientTransport(new URL(`${url}/sse`)), { timeout: 15_000 });
    assert.equal(client.getServerVersion().name, 'mcp-worker');
    const { tools } = await client.listTools();
    for (const name of ['search', 'fetch', 'echo']) assert.ok(tools.some((t) => t.name === name), name);
    assert.equal((await client.callTool({ name: 'echo', arguments: { message: 'über' } })).content[0].text, 'über');
    const doc = docs[2];
    const found = await client.callTool({ name: 'search', arguments: { query: doc.title } });
    assert.ok(found.structuredContent.results.some((r) => r.id === doc.id), JSON.stringify(found));
    const fetched = await client.callTool({ name: 'fetch', arguments: { id: doc.id } });
    assert.deepEqual(JSON.parse(fetched.content[0].text), doc);
    const read = await client.readResource({ uri: `docs://${doc.id}` });
    assert.equal(read.contents[0].text, doc.text);
    const prompt = await client.getPrompt({ name: 'answer_from_docs', arguments: { question: 'What is it?' } });
    assert.match(prompt.messages[0].content.text, /What is it\?/);

    const logs = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { logs.push(n.params.data); });
    await client.setLoggingLevel('info');
    await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
    assert.deepEqual(logs, ['Tool execution started', 'Tool processing data', 'Tool execution completed']);

    client.setRequestHandler(CreateMessageRequestSchema, async () => ({ role: 'assistant', content: { type: 'text', text: 'from the legacy client' }, model: 'm' }));
    const sampled = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'hi' } });
    assert.match(sampled.content[0].text, /from the legacy client/);
    await client.close();
  });

  it('raw: endpoint event, 202 for each POST, replies as message events, batches, notifications', T, async () => {
    const s = await openRaw(url);
    assert.match(s.endpoint, /^\/messages\?sessionId=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/);
    const init = await postMessage(url, s.endpoint, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    assert.equal(init.status, 202);
    const initialized = JSON.parse((await s.waitFor(messageOf(1))).data);
    assert.equal(initialized.result.protocolVersion, '2024-11-05');
    assert.equal((await postMessage(url, s.endpoint, { jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);
    const batch = await postMessage(url, s.endpoint, [{ jsonrpc: '2.0', id: 'a', method: 'ping' }, { jsonrpc: '2.0', id: 'b', method: 'tools/list' }]);
    assert.equal(batch.status, 202);
    const arrayEvent = await s.waitFor((e) => e.event === 'message' && Array.isArray(JSON.parse(e.data)));
    assert.deepEqual(JSON.parse(arrayEvent.data).map((m) => m.id), ['a', 'b']);
    const unknown = await postMessage(url, s.endpoint, { jsonrpc: '2.0', id: 9, method: 'nope/nope' });
    assert.equal(unknown.status, 202);
    assert.equal(JSON.parse((await s.waitFor(messageOf(9))).data).error.code, -32601);
    await s.close();
  });

  it('raw errors: missing or malformed sessionId 400, unknown 404, bad JSON 400, wrong content type 400, wrong methods 405', T, async () => {
    const s = await openRaw(url);
    const sid = s.endpoint.split('=')[1];
    const cases = [
      [await fetch(`${url}/messages`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }), 400, /sessionId query parameter is required/],
      [await fetch(`${url}/messages?sessionId=`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }), 400, /malformed sessionId/],
      [await fetch(`${url}/messages?sessionId=${'0'.repeat(32)}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' }), 404, /Session not found/],
      [await postMessage(url, s.endpoint, '{not json'), 400, /Parse error/],
      [await postMessage(url, s.endpoint, '{"jsonrpc":"2.0","id":1,"method":"ping"}', 'text/plain'), 400, /Content-Type must be application\/json/],
      [await fetch(`${url}/messages?sessionId=${sid}`), 405, /Method Not Allowed/],
      [await fetch(`${url}/sse`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }), 405, /Method Not Allowed/],
    ];
    for (const [res, status, message] of cases) {
      const body = await res.text();
      assert.equal(res.status, status, body);
      assert.match(JSON.parse(body).error.message, message);
    }
    assert.match((await fetch(`${url}/sse`, { method: 'PUT' })).headers.get('allow') ?? '', /GET/);
    await s.close();
  });

  it('a legacy session cannot be used on /mcp, nor an /mcp session on /messages', T, async () => {
    const s = await openRaw(url);
    const sid = s.endpoint.split('=')[1];
    const res = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'mcp-session-id': sid },
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    assert.equal(res.status, 404);
    await s.close();
  });

  it('a POST whose session lost its stream is refused with 404, not lost (stream gone after a restart)', { timeout: 240_000 }, async () => {
    const s = await openRaw(url);
    assert.equal((await postMessage(url, s.endpoint, { jsonrpc: '2.0', id: 1, method: 'ping' })).status, 202);
    await s.waitFor(messageOf(1));
    await s.close();
    worker = await worker.restart();
    const stale = await postMessage(worker.url, s.endpoint, { jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.equal(stale.status, 404, await stale.clone().text());
    assert.match((await stale.json()).error.message, /Session not found/);
    url = worker.url;
  });

  it('the Inspector CLI lists and calls tools with --transport sse', { timeout: 120_000 }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'mcp-e2e-inspector-'));
    const cli = join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector', 'clients', 'launcher', 'build', 'index.js');
    const run = (args) => new Promise((resolve, reject) => {
      execFile(process.execPath, [cli, '--cli', `${url}/sse`, '--transport', 'sse', ...args], { cwd: ROOT, env: { ...process.env, HOME: home, MCP_CATALOG_PATH: join(home, 'mcp.json'), NO_COLOR: '1' }, timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stdout}\n${stderr}`)); else resolve(stdout);
      });
    });
    try {
      const listed = JSON.parse(await run(['--method', 'tools/list']));
      assert.ok(listed.tools.some((t) => t.name === 'echo'));
      const called = JSON.parse(await run(['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=over sse']));
      assert.equal(called.content[0].text, 'over sse');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('legacy transport on configured paths', { timeout: 300_000 }, () => {
  let worker;
  before(async () => {
    worker = await startWorker({ vars: { MCP_SSE_PATH: '/legacy/events', MCP_MESSAGES_PATH: '/legacy/post' } });
  }, { timeout: 150_000 });
  after(async () => { await worker?.stop(); }, { timeout: 30_000 });

  it('MCP_SSE_PATH and MCP_MESSAGES_PATH move both endpoints', T, async () => {
    assert.equal((await fetch(`${worker.url}/sse`, { headers: { Accept: 'text/event-stream' } })).status, 404);
    const s = await openRaw(worker.url, '/legacy/events');
    assert.match(s.endpoint, /^\/legacy\/post\?sessionId=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/);
    assert.equal((await postMessage(worker.url, s.endpoint, { jsonrpc: '2.0', id: 5, method: 'ping' })).status, 202);
    assert.deepEqual(JSON.parse((await s.waitFor(messageOf(5))).data).result, {});
    await s.close();
  });
});
