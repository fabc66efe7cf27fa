// Configurable limits and their errors: JSON nesting depth (MCP_MAX_JSON_DEPTH), refused before parsing by the
// Worker and by the session object alike; tool-call time (MCP_TOOL_TIMEOUT_SECONDS), a tool error when a call
// runs past it (here a tool waiting for an elicitation answer that never comes); open streams per session
// (MCP_MAX_STREAMS_PER_SESSION), 429 past it while a GET replacing the standalone stream and a POST carrying an
// answer still work; streams kept for resumption (MCP_MAX_STORED_STREAMS), the oldest finished ones dropped, a
// resume of one of them getting a fresh stream. (Sessions per caller and per-tool rate limits:
// caller_limits.test.mjs.)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './support/worker.mjs';
import { openSession, post, request, initializeRequest, parseSse, ACCEPT_BOTH } from './support/mcp.mjs';

const T = { timeout: 60_000 };

/** A tools/call whose arguments nest `depth` levels below the top of the message. */
function nested(depth) {
  let value = 'x';
  for (let i = 0; i < depth; i++) value = [value];
  return request('tools/call', { name: 'echo', arguments: { message: 'deep', extra: value } });
}

describe('limits (MCP_MAX_JSON_DEPTH=8, MCP_TOOL_TIMEOUT_SECONDS=1)', { timeout: 300_000 }, () => {
  let worker;
  before(async () => {
    worker = await startWorker({
      vars: { MCP_FIXTURES: 'conformance', MCP_MAX_JSON_DEPTH: '8', MCP_TOOL_TIMEOUT_SECONDS: '1' },
    });
  }, { timeout: 150_000 });
  after(async () => { await worker?.stop(); }, { timeout: 30_000 });

  it('a body nested deeper than the limit is 400 -32600 naming the setting, in the Worker and in a session', T, async () => {
    const deep = initializeRequest();
    deep.params.capabilities = { experimental: { a: { b: { c: { d: { e: { f: { g: {} } } } } } } } };
    const refused = await post(worker.url, deep);
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.messages[0]?.error?.code, -32600);
    assert.match(refused.messages[0].error.message, /MCP_MAX_JSON_DEPTH/);

    const s = await openSession(worker.url);
    const ok = await post(worker.url, nested(3), { session: s.session, protocolVersion: s.version });
    assert.equal(ok.status, 200, ok.text);
    const tooDeep = await post(worker.url, nested(12), { session: s.session, protocolVersion: s.version });
    assert.equal(tooDeep.status, 400, tooDeep.text);
    assert.equal(tooDeep.messages[0]?.error?.code, -32600);
    assert.match(tooDeep.messages[0].error.message, /nested deeper than 8 levels/);
  });

  it('a tool call past MCP_TOOL_TIMEOUT_SECONDS is stopped with a tool error saying so', T, async () => {
    const s = await openSession(worker.url, { capabilities: { elicitation: {} } });
    const started = Date.now();
    // The elicitation request goes out on the stream; nobody answers it.
    const answer = await post(worker.url, request('tools/call', { name: 'test_elicitation', arguments: { message: 'never answered' } }),
      { session: s.session, protocolVersion: s.version });
    const elapsed = Date.now() - started;
    const result = answer.messages.find((m) => m.result)?.result;
    assert.ok(result, answer.text);
    assert.equal(result.isError, true, JSON.stringify(result));
    assert.match(result.content[0].text, /did not finish within 1 s \(MCP_TOOL_TIMEOUT_SECONDS\)/);
    assert.ok(elapsed >= 900, `stopped after ${elapsed} ms, not before the limit`);
    assert.ok(answer.messages.some((m) => m.method === 'elicitation/create'), 'the tool was really waiting for the client');
  });
});

/** Reads an SSE body until `stop(text)` is true or it ends (`ended`), failing after `timeoutMs`. */
function streamReader(res) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const r = {
    text: '',
    ended: false,
    async until(stop, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!stop(r.text) && !r.ended) {
        const { value, done } = await Promise.race([
          reader.read(),
          new Promise((_, reject) => setTimeout(() => reject(new Error(`nothing more within ${timeoutMs} ms: ${r.text}`)), deadline - Date.now())),
        ]);
        if (done) r.ended = true;
        else r.text += decoder.decode(value, { stream: true });
      }
    },
    events: () => parseSse(r.text.slice(0, r.text.lastIndexOf('\n\n') + 2)),
    cancel: () => reader.cancel().catch(() => {}),
  };
  return r;
}

describe('stream limits (MCP_MAX_STREAMS_PER_SESSION=2, MCP_MAX_STORED_STREAMS=2, MCP_RESPONSE_MODE=sse)', { timeout: 300_000 }, () => {
  let worker;
  before(async () => {
    worker = await startWorker({
      vars: { MCP_FIXTURES: 'conformance', MCP_RESPONSE_MODE: 'sse', MCP_MAX_STREAMS_PER_SESSION: '2', MCP_MAX_STORED_STREAMS: '2' },
    });
  }, { timeout: 150_000 });
  after(async () => { await worker?.stop(); }, { timeout: 30_000 });

  it('past the open streams a request is 429 naming the setting; a new GET replaces the standalone stream; an answer is never refused', T, async () => {
    const s = await openSession(worker.url, { capabilities: { elicitation: {} } });
    const h = { 'mcp-session-id': s.session, 'mcp-protocol-version': s.version };
    const inSession = { session: s.session, protocolVersion: s.version };
    const first = await fetch(`${worker.url}/mcp`, { headers: { ...h, accept: 'text/event-stream' } });
    assert.equal(first.status, 200);
    const standalone = streamReader(first);
    // The second stream: a tool call waiting for the client's answer.
    const call = await fetch(`${worker.url}/mcp`, {
      method: 'POST',
      headers: { ...h, accept: ACCEPT_BOTH, 'content-type': 'application/json' },
      body: JSON.stringify(request('tools/call', { name: 'test_elicitation', arguments: { message: 'who?' } }, 'held')),
    });
    assert.equal(call.status, 200);
    const held = streamReader(call);
    await held.until((text) => text.includes('elicitation/create'));
    const elicitation = held.events().map((e) => e.data && JSON.parse(e.data)).find((m) => m?.method === 'elicitation/create');

    const refused = await post(worker.url, request('tools/list', {}), inSession);
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(refused.messages[0]?.error?.code, -32000);
    assert.match(refused.messages[0].error.message, /^Too Many Requests: this session has 2 streams open.*MCP_MAX_STREAMS_PER_SESSION=2/);
    assert.equal(typeof refused.messages[0].id, 'number', 'the body answers the request');

    // A new GET replaces the standalone stream (the client may not know its old one is gone): the old one ends.
    const second = await fetch(`${worker.url}/mcp`, { headers: { ...h, accept: 'text/event-stream' } });
    assert.equal(second.status, 200);
    await standalone.until(() => false);
    assert.ok(standalone.ended, 'the replaced standalone stream ended');

    // The client's answer is a POST without requests: never refused, and the waiting call completes.
    const answered = await post(worker.url, { jsonrpc: '2.0', id: elicitation.id, result: { action: 'accept', content: { username: 'u', email: 'u@example.com' } } }, inSession);
    assert.equal(answered.status, 202, answered.text);
    await held.until(() => false);
    const result = held.events().map((e) => e.data && JSON.parse(e.data)).find((m) => m?.id === 'held');
    assert.ok(result?.result, held.text);
    // Its place is free again.
    const ok = await post(worker.url, request('tools/list', {}), inSession);
    assert.equal(ok.status, 200, ok.text);
    await second.body.cancel();
  });

  it('only MCP_MAX_STORED_STREAMS streams are kept: resuming an older one gets a fresh stream, a kept one replays', T, async () => {
    const s = await openSession(worker.url);
    const inSession = { session: s.session, protocolVersion: s.version };
    const streams = [];
    for (let i = 0; i < 3; i++) {
      const answer = await post(worker.url, request('tools/call', { name: 'echo', arguments: { message: `kept-${i}` } }, `e${i}`), inSession);
      assert.equal(answer.status, 200, answer.text);
      assert.match(answer.contentType, /text\/event-stream/);
      const primed = answer.events.find((e) => e.id?.endsWith('-0'));
      assert.ok(primed, answer.text);
      streams.push(primed.id.slice(0, -2));
    }
    const resume = (stream) => fetch(`${worker.url}/mcp`, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': s.session, 'mcp-protocol-version': s.version, 'last-event-id': `${stream}-0` },
    });
    // The newest replays its answer.
    const kept = await resume(streams[2]);
    assert.equal(kept.status, 200);
    const replay = streamReader(kept);
    await replay.until((text) => text.includes('kept-2'));
    await replay.cancel();
    // The oldest is gone: a fresh stream (200, never 404 inside a live session), with nothing of the old one.
    const gone = await resume(streams[0]);
    assert.equal(gone.status, 200);
    const fresh = streamReader(gone);
    await fresh.until(() => fresh.events().length > 0);
    await fresh.cancel();
    const [event] = fresh.events();
    assert.ok(!event.id.startsWith(streams[0]), `a new stream, not ${streams[0]}: ${fresh.text}`);
    assert.doesNotMatch(fresh.text, /kept-0/);
  });
});
