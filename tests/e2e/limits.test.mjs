// Configurable limits and their errors: JSON nesting depth (MCP_MAX_JSON_DEPTH), refused before parsing by the
// Worker and by the session object alike, and tool-call time (MCP_TOOL_TIMEOUT_SECONDS), a tool error when a call
// runs past it (here a tool waiting for an elicitation answer that never comes).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './support/worker.mjs';
import { openSession, post, request, initializeRequest } from './support/mcp.mjs';

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
