// Server-to-client traffic during a tool call, with the official TypeScript SDK client: sampling and elicitation
// round trips (the request goes out on the call's SSE stream, the answer comes back as its own POST), progress
// and log notifications, the time-out when a client never answers, and a stream interrupted mid-call that is
// resumed with GET + Last-Event-ID without losing or duplicating a message.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema, ElicitRequestSchema, LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { startWorker } from './support/worker.mjs';
import { openSession, post, request, parseSse, ACCEPT_BOTH } from './support/mcp.mjs';

const T = { timeout: 30_000 };

async function sdkClient(url, capabilities) {
  const client = new Client({ name: 'e2e-server-to-client', version: '1.0.0' }, { capabilities });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)), { timeout: 15_000 });
  return client;
}

/** Reads SSE events from a fetch response body until `stop(events)` is true or the stream ends. */
async function readEvents(res, stop = () => false, timeoutMs = 10_000) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const { value, done } = await Promise.race([
        reader.read(),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms: ${text}`)), deadline - Date.now())),
      ]);
      if (done) break;
      text += decoder.decode(value, { stream: true });
      const complete = text.slice(0, text.lastIndexOf('\n\n') + 2);
      if (stop(parseSse(complete).filter((e) => e.data))) break;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return parseSse(text.slice(0, text.lastIndexOf('\n\n') + 2));
}

/** Reads a streaming body: `until(marker)` until the text read holds `marker`, `rest()` to its end. */
function streamReader(res) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const r = {
    text: '',
    async until(marker) {
      while (!r.text.includes(marker)) {
        const { value, done } = await reader.read();
        assert.ok(!done, `the stream ended before ${marker}: ${r.text}`);
        r.text += decoder.decode(value, { stream: true });
      }
    },
    async rest() {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        r.text += decoder.decode(value, { stream: true });
      }
    },
  };
  return r;
}

describe('server-to-client requests and notifications (MCP_FIXTURES=conformance)', { timeout: 300_000 }, () => {
  let worker;
  let url;
  before(async () => {
    worker = await startWorker({ vars: { MCP_FIXTURES: 'conformance', MCP_CLIENT_REQUEST_TIMEOUT_SECONDS: '2' } });
    url = worker.url;
  }, { timeout: 150_000 });
  after(async () => { await worker?.stop(); }, { timeout: 30_000 });

  it('sampling: the tool sends sampling/createMessage and returns what the client answered', T, async () => {
    const client = await sdkClient(url, { sampling: {} });
    const seen = [];
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      seen.push(req.params);
      return { role: 'assistant', content: { type: 'text', text: `model says: ${req.params.messages[0].content.text.length}` }, model: 'e2e', stopReason: 'endTurn' };
    });
    const result = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'What is 2+2?' } });
    assert.equal(seen.length, 1);
    assert.equal(seen[0].messages[0].content.text, 'What is 2+2?');
    assert.equal(seen[0].maxTokens, 100);
    assert.equal(result.isError, undefined);
    assert.match(result.content[0].text, /model says: 12/);
    await client.close();
  });

  it('elicitation: accept and decline both reach the tool', T, async () => {
    const client = await sdkClient(url, { elicitation: {} });
    const answers = [
      { action: 'accept', content: { username: 'ada', email: 'ada@example.com' } },
      { action: 'decline' },
    ];
    const seen = [];
    client.setRequestHandler(ElicitRequestSchema, async (req) => { seen.push(req.params); return answers[seen.length - 1]; });
    const accepted = await client.callTool({ name: 'test_elicitation', arguments: { message: 'Who are you?' } });
    assert.equal(seen[0].message, 'Who are you?');
    assert.deepEqual(seen[0].requestedSchema.required, ['username', 'email']);
    assert.match(accepted.content[0].text, /"action":"accept"/);
    assert.match(accepted.content[0].text, /ada@example\.com/);
    const declined = await client.callTool({ name: 'test_elicitation', arguments: { message: 'Again?' } });
    assert.match(declined.content[0].text, /"action":"decline"/);
    await client.close();
  });

  it('a client without the capability gets a tool error, not a request', T, async () => {
    const client = await sdkClient(url, {});
    const result = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'x' } });
    assert.equal(result.isError, true);
    assert.match(result.content[0].text, /does not support sampling/);
    await client.close();
  });

  it('a client that never answers: the tool fails with a time-out error after MCP_CLIENT_REQUEST_TIMEOUT_SECONDS', T, async () => {
    const s = await openSession(url, { capabilities: { elicitation: {} } });
    const started = Date.now();
    const res = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: ACCEPT_BOTH, 'mcp-session-id': s.session, 'mcp-protocol-version': s.version },
      body: JSON.stringify(request('tools/call', { name: 'test_elicitation', arguments: { message: 'hello?' } }, 'never')),
    });
    assert.match(res.headers.get('content-type'), /text\/event-stream/);
    const events = await readEvents(res, (evs) => evs.some((e) => JSON.parse(e.data).id === 'never'));
    const messages = events.filter((e) => e.data).map((e) => JSON.parse(e.data));
    assert.equal(messages[0].method, 'elicitation/create', 'the request went out on the stream');
    const final = messages.find((m) => m.id === 'never');
    assert.equal(final.result.isError, true);
    assert.match(final.result.content[0].text, /did not answer within 2 s/);
    assert.ok(Date.now() - started >= 1900, 'it waited for the time-out');
  });

  it('notifications/cancelled stops a call waiting for the client: its stream ends without a response', T, async () => {
    const s = await openSession(url, { capabilities: { elicitation: {} } });
    const headers = { 'Content-Type': 'application/json', Accept: ACCEPT_BOTH, 'mcp-session-id': s.session, 'mcp-protocol-version': s.version };
    const started = Date.now();
    const res = await fetch(`${url}/mcp`, {
      method: 'POST', headers,
      body: JSON.stringify(request('tools/call', { name: 'test_elicitation', arguments: { message: 'cancel me' } }, 'c1')),
    });
    const stream = streamReader(res);
    await stream.until('elicitation/create');
    const elicitation = parseSse(stream.text.slice(0, stream.text.lastIndexOf('\n\n') + 2)).filter((e) => e.data).map((e) => JSON.parse(e.data)).find((m) => m.method === 'elicitation/create');
    const cancel = await fetch(`${url}/mcp`, {
      method: 'POST', headers,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'c1', reason: 'user stopped it' } }),
    });
    assert.equal(cancel.status, 202);
    await stream.rest();
    const text = stream.text;
    assert.ok(Date.now() - started < 1900, 'the stream ended before the 2 s client time-out');
    const messages = parseSse(text).filter((e) => e.data).map((e) => JSON.parse(e.data));
    assert.equal(messages.filter((m) => m.id === 'c1').length, 0, `no response for the cancelled request: ${text}`);
    // A late answer to the dropped elicitation is accepted and ignored.
    const late = await fetch(`${url}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: elicitation.id, result: { action: 'cancel' } }) });
    assert.equal(late.status, 202);
    const ping = await fetch(`${url}/mcp`, { method: 'POST', headers, body: JSON.stringify(request('ping', {}, 'p')) });
    assert.equal(ping.status, 200, 'the session goes on');
  });

  it('a cancelled request in a 2025-03-26 batch leaves the others answered; its id cannot be reused while in flight', T, async () => {
    const s = await openSession(url, { protocolVersion: '2025-03-26', capabilities: { elicitation: {} } });
    const headers = { 'Content-Type': 'application/json', Accept: ACCEPT_BOTH, 'mcp-session-id': s.session, 'mcp-protocol-version': s.version };
    const res = await fetch(`${url}/mcp`, {
      method: 'POST', headers,
      body: JSON.stringify([
        request('tools/call', { name: 'test_elicitation', arguments: { message: 'cancel me' } }, 'b1'),
        request('tools/call', { name: 'echo', arguments: { message: 'still here' } }, 'b2'),
      ]),
    });
    assert.equal(res.status, 200);
    const stream = streamReader(res);
    await stream.until('elicitation/create');
    // The same id again while b1 runs: refused, and b1 is untouched.
    const reused = await post(url, request('ping', {}, 'b1'), { session: s.session, protocolVersion: s.version });
    assert.equal(reused.status, 200, reused.text);
    assert.equal(reused.json.error?.code, -32600, reused.text);
    const cancel = await post(url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'b1' } },
      { session: s.session, protocolVersion: s.version });
    assert.equal(cancel.status, 202);
    await stream.rest();
    const text = stream.text;
    const messages = parseSse(text).filter((e) => e.data).map((e) => JSON.parse(e.data)).flat();
    assert.equal(messages.filter((m) => m.id === 'b1').length, 0, `no response for the cancelled request: ${text}`);
    const b2 = messages.find((m) => m.id === 'b2');
    assert.equal(b2?.result?.content?.[0]?.text, 'still here', text);
  });

  it('progress and log notifications arrive before the result, on the call\'s stream', T, async () => {
    const client = await sdkClient(url, {});
    const logs = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { logs.push(n.params); });
    await client.setLoggingLevel('info');
    const progress = [];
    await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, { onprogress: (p) => progress.push(p) });
    assert.deepEqual(progress.map((p) => p.progress), [0, 50, 100]);
    assert.ok(progress.every((p) => p.total === 100));
    await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
    assert.deepEqual(logs.map((l) => l.data), ['Tool execution started', 'Tool processing data', 'Tool execution completed']);
    await client.setLoggingLevel('error');
    logs.length = 0;
    await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
    assert.deepEqual(logs, [], 'info messages are filtered out at level error');
    await client.close();
  });

  it('resources/subscribe: a change to a subscribed resource sends notifications/resources/updated, once unsubscribed none', T, async () => {
    const client = await sdkClient(url, {});
    const updates = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updates.push(n.params.uri); });
    const uri = 'test://watched-resource';
    const before = (await client.readResource({ uri })).contents[0].text;
    await client.subscribeResource({ uri });
    const changed = await client.callTool({ name: 'test_update_watched_resource', arguments: {} });
    const deadline = Date.now() + 5000;
    while (updates.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(updates, [uri]);
    const after = (await client.readResource({ uri })).contents[0].text;
    assert.notEqual(after, before, 'the resource really changed');
    assert.match(changed.content[0].text, /revision \d+/);
    await client.unsubscribeResource({ uri });
    await client.callTool({ name: 'test_update_watched_resource', arguments: {} });
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(updates, [uri], 'no update after unsubscribing');
    await client.close();
  });

  it('a stream interrupted mid-call is resumed with Last-Event-ID without losing or duplicating a message', T, async () => {
    const s = await openSession(url);
    const headers = { 'Content-Type': 'application/json', Accept: ACCEPT_BOTH, 'mcp-session-id': s.session, 'mcp-protocol-version': s.version };
    const controller = new AbortController();
    const res = await fetch(`${url}/mcp`, {
      method: 'POST', headers, signal: controller.signal,
      body: JSON.stringify({ jsonrpc: '2.0', id: 'p1', method: 'tools/call', params: { name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: 'tok' } } }),
    });
    // Read until the first progress notification, then drop the connection.
    const first = await readEvents(res, (evs) => evs.some((e) => JSON.parse(e.data).method === 'notifications/progress'));
    controller.abort();
    const before = first.filter((e) => e.data);
    assert.equal(before.length, 1, JSON.stringify(first));
    const lastId = before[0].id;
    assert.match(lastId, /^[0-9a-f]{16}-1$/);

    const resumed = await fetch(`${url}/mcp`, { headers: { ...headers, Accept: 'text/event-stream', 'Last-Event-ID': lastId } });
    assert.equal(resumed.status, 200);
    const after = (await readEvents(resumed, (evs) => evs.some((e) => JSON.parse(e.data).id === 'p1'))).filter((e) => e.data);
    const all = [...before, ...after].map((e) => ({ id: e.id, msg: JSON.parse(e.data) }));
    assert.deepEqual(all.filter((e) => e.msg.method).map((e) => e.msg.params.progress), [0, 50, 100], 'every progress step once, in order');
    assert.equal(all.filter((e) => e.msg.id === 'p1').length, 1, 'one result');
    const ids = all.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, `no event twice: ${ids}`);
    assert.deepEqual(ids.map((id) => Number(id.split('-')[1])), [1, 2, 3, 4]);

    // Resuming again from the middle replays only what came after.
    const again = await fetch(`${url}/mcp`, { headers: { ...headers, Accept: 'text/event-stream', 'Last-Event-ID': ids[2] } });
    const tail = (await readEvents(again)).filter((e) => e.data);
    assert.deepEqual(tail.map((e) => e.id), [ids[3]]);
  });

  it('an unknown Last-Event-ID gets a fresh stream (200, not 404: the session lives), a malformed one a 400', T, async () => {
    const s = await openSession(url);
    const headers = { Accept: 'text/event-stream', 'mcp-session-id': s.session, 'mcp-protocol-version': s.version };
    const controller = new AbortController();
    const unknown = await fetch(`${url}/mcp`, { headers: { ...headers, 'Last-Event-ID': 'ffffffffffffffff-3' }, signal: controller.signal });
    assert.equal(unknown.status, 200);
    assert.match(unknown.headers.get('content-type'), /^text\/event-stream/);
    controller.abort();
    assert.equal((await fetch(`${url}/mcp`, { headers: { ...headers, 'Last-Event-ID': 'garbage' } })).status, 400);
  });
});
