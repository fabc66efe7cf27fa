// After a WebAssembly trap (a Rust panic: the fixture tool `test_trap`, MCP_FIXTURES=conformance), the request
// that trapped gets the fixed 500 of every internal error, with a reference whose line in the log holds the
// detail, and the Worker and the session objects go on answering: wasm-bindgen's glue replaces the instance, and
// the entry module (src/worker/entry.mjs) remakes each Durable Object's Rust half from its storage. The audit log
// is off, so the Worker passes a session object's answer on untouched (no call back into the instance that trapped).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './support/worker.mjs';
import { call, closeSession, openSession, post, request, send } from './support/mcp.mjs';

const T = { timeout: 60_000 };
const MODERN = '2026-07-28';
const FIXED = /^Internal error: the server could not answer this request; try again, and if it persists report the reference$/;

/** A stateless (2026-07-28) `tools/call` of `name`. */
function statelessCall(url, name, args, id) {
  const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
  return post(url, request('tools/call', { name, arguments: args, _meta: meta }, id), {
    headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': name },
  });
}

/** Asserts the fixed 500 of an internal error answering request `id`, and returns its reference. */
function assertFixed500(answer, id) {
  assert.equal(answer.status, 500, answer.text);
  assert.equal(answer.json?.id, id, `the id of the request that trapped: ${answer.text}`);
  assert.equal(answer.json?.error?.code, -32603, answer.text);
  assert.match(answer.json.error.message, FIXED);
  assert.doesNotMatch(answer.text, /RuntimeError|unreachable|panic|wasm|\.rs\b|test_trap/i);
  const reference = answer.json.error.data?.reference;
  assert.match(reference ?? '', /^[0-9a-f]{16}$/, answer.text);
  return reference;
}

/** `tools/call` of the fixture that panics, as request `id` of `session`. */
function callTrap(url, session, id) {
  return post(url, request('tools/call', { name: 'test_trap', arguments: {} }, id), {
    session: session.session,
    protocolVersion: session.version,
  });
}

/** Waits for the log line that names `reference` (output reaches us asynchronously). */
async function logLineOf(worker, reference) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const line = worker.logs().split('\n').find((l) => l.includes(`internal error [${reference}]`));
    if (line || Date.now() > deadline) return line;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('recovery after a trap (MCP_FIXTURES=conformance)', { timeout: 300_000 }, () => {
  let worker;
  before(async () => {
    worker = await startWorker({ vars: { MCP_FIXTURES: 'conformance', MCP_LOG_LEVEL: 'off' } });
  }, { timeout: 150_000 });
  after(async () => {
    await worker?.stop();
  }, { timeout: 30_000 });

  it('a trap in the Worker (stateless lane) answers the fixed 500, and the next request is answered', T, async () => {
    const trapped = await statelessCall(worker.url, 'test_trap', {}, 'trap-stateless');
    const reference = assertFixed500(trapped, 'trap-stateless');
    assert.ok(await logLineOf(worker, reference), 'the log names the reference');
    for (const message of ['after', 'again']) {
      const answer = await statelessCall(worker.url, 'echo', { message });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.json.result.content[0].text, message);
    }
  });

  it('a trap in a session object answers the fixed 500; that session and the others go on', T, async () => {
    const [trapping, other] = await Promise.all([openSession(worker.url), openSession(worker.url)]);
    const before = await call(worker.url, trapping, 'tools/call', { name: 'echo', arguments: { message: 'before' } });
    assert.equal(before.message?.result?.content[0].text, 'before', before.answer.text);

    const reference = assertFixed500(await callTrap(worker.url, trapping, 'trap-warm'), 'trap-warm');
    assert.ok(await logLineOf(worker, reference), 'the log names the reference');

    // The object that trapped is remade from its storage: the session, its caller and its revision are intact.
    for (const [session, message] of [[trapping, 'same session'], [other, 'other session'], [trapping, 'still']]) {
      const answer = await call(worker.url, session, 'tools/call', { name: 'echo', arguments: { message } });
      assert.equal(answer.answer.status, 200, answer.answer.text);
      assert.equal(answer.message?.result?.content[0].text, message);
    }
    const listed = await call(worker.url, trapping, 'tools/list', {});
    assert.ok(listed.message?.result?.tools.some((t) => t.name === 'echo'), listed.answer.text);
    await Promise.all([closeSession(worker.url, trapping.session), closeSession(worker.url, other.session)]);
  });

  it('a trap in work that waited first (a session object\'s first request reads its storage) still answers', T, async () => {
    // The object's first request waits for storage, so the tool runs in a task, not where the runtime called in:
    // the trap ends that task, and before the panic hook failed the pending answer, the client waited forever.
    const fresh = await openSession(worker.url);
    const reference = assertFixed500(await callTrap(worker.url, fresh, 7), 7);
    assert.ok(await logLineOf(worker, reference), 'the log names the reference');
    const answer = await call(worker.url, fresh, 'tools/call', { name: 'echo', arguments: { message: 'after' } });
    assert.equal(answer.message?.result?.content[0].text, 'after', answer.answer.text);
    await closeSession(worker.url, fresh.session);
  });

  it('a trap ends the streams the instance writes, so their clients reconnect (a legacy /sse stream)', T, async () => {
    // The tool traps in a task of the legacy session's object, after the POST was acknowledged: before, nothing
    // wrote to the session's stream again (not even a keepalive), and it stayed open for good.
    const res = await fetch(`${worker.url}/sse`, { headers: { accept: 'text/event-stream' } });
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('\n\n')) {
      const chunk = await reader.read();
      assert.ok(!chunk.done, `the endpoint event: ${text}`);
      text += decoder.decode(chunk.value);
    }
    const endpoint = new URL(text.match(/^data: (\S+)$/m)[1], worker.url);
    const postMessage = (message) => fetch(endpoint, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message),
    }).then((r) => r.arrayBuffer().then(() => r.status));
    assert.equal(await postMessage(request('initialize', {
      protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'trap-test', version: '1' },
    })), 202);
    assert.equal(await postMessage({ jsonrpc: '2.0', method: 'notifications/initialized' }), 202);
    // Acknowledged (202), or refused if the trap came first (500): either way the stream must end.
    assert.ok([202, 500].includes(await postMessage(request('tools/call', { name: 'test_trap', arguments: {} }))));
    const ended = await (async () => {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return 'closed';
      }
    })().catch(() => 'errored');
    assert.ok(['closed', 'errored'].includes(ended), ended);
  });
});
