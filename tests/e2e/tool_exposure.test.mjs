// Tool exposure: the deployment's bounds (MCP_TOOLS_EXCLUDE here) and a connection's narrowing through its URL
// (`?tools=`, `?exclude=`, `?readonly`), on the session lane, the stateless lane and the legacy transport. A hidden
// tool is absent from tools/list and refused on tools/call as if it did not exist; a URL never widens the set.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { startWorker } from './support/worker.mjs';
import { initializeRequest, notification, post, request, LATEST_VERSION } from './support/mcp.mjs';

const T = { timeout: 60_000 };
const MODERN = '2026-07-28';
const META = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** Opens a session at `path` (its query kept for every request of the session, as clients do). */
async function sessionAt(url, path) {
  const init = await post(url, initializeRequest(), { path });
  assert.equal(init.status, 200, init.text);
  const session = init.headers.get('mcp-session-id');
  const ack = await post(url, notification('notifications/initialized'), { path, session, protocolVersion: LATEST_VERSION });
  assert.equal(ack.status, 202, ack.text);
  const send = async (method, params) => {
    const answer = await post(url, request(method, params), { path, session, protocolVersion: LATEST_VERSION });
    return answer.messages[0];
  };
  return { send };
}

/** The same through the stateless lane. */
function statelessAt(url, path) {
  return {
    async send(method, params) {
      const headers = { 'mcp-protocol-version': MODERN, 'mcp-method': method };
      if (params?.name) headers['mcp-name'] = params.name;
      const answer = await post(url, request(method, { ...params, _meta: META }), { path, headers });
      return answer.messages[0];
    },
  };
}

async function toolNames(conn) {
  const message = await conn.send('tools/list', {});
  assert.ok(message.result, JSON.stringify(message));
  return message.result.tools.map((t) => t.name);
}

async function assertRefused(conn, name) {
  const message = await conn.send('tools/call', { name, arguments: {} });
  assert.equal(message.error?.code, -32602, `${name} must be unknown: ${JSON.stringify(message)}`);
  assert.match(message.error.message, new RegExp(`Unknown tool: ${name}`));
}

describe('tool exposure (MCP_FIXTURES=conformance, MCP_TOOLS_EXCLUDE=test_error_handling)', { timeout: 300_000 }, () => {
  let worker;
  let url;
  before(async () => {
    worker = await startWorker({ vars: { MCP_FIXTURES: 'conformance', MCP_TOOLS_EXCLUDE: 'test_error_handling' } });
    url = worker.url;
  }, { timeout: 150_000 });
  after(async () => { await worker?.stop(); }, { timeout: 30_000 });

  for (const [lane, open] of [['session', sessionAt], ['stateless', async (u, p) => statelessAt(u, p)]]) {
    describe(`${lane} lane`, () => {
      it('a tool the deployment excludes is absent and refused, and a URL cannot bring it back', T, async () => {
        for (const path of ['/mcp', '/mcp?tools=test_error_handling,test_simple_text']) {
          const conn = await open(url, path);
          const names = await toolNames(conn);
          assert.ok(!names.includes('test_error_handling'), `${path}: ${names}`);
          await assertRefused(conn, 'test_error_handling');
        }
      });

      it('?tools= narrows to the named tools', T, async () => {
        const conn = await open(url, '/mcp?tools=search,echo');
        assert.deepEqual((await toolNames(conn)).sort(), ['echo', 'search']);
        await assertRefused(conn, 'fetch');
        const echoed = await conn.send('tools/call', { name: 'echo', arguments: { message: 'still here' } });
        assert.equal(echoed.result?.content?.[0]?.text, 'still here', JSON.stringify(echoed));
      });

      it('?readonly hides every tool without readOnlyHint, and ?exclude= hides by name', T, async () => {
        const conn = await open(url, '/mcp?readonly&exclude=fetch');
        const listed = (await conn.send('tools/list', {})).result.tools;
        assert.ok(listed.length > 0);
        for (const tool of listed) assert.equal(tool.annotations?.readOnlyHint, true, tool.name);
        assert.ok(listed.some((t) => t.name === 'search'));
        assert.ok(!listed.some((t) => t.name === 'fetch'));
        await assertRefused(conn, 'test_simple_text');
        await assertRefused(conn, 'fetch');
        // Without the narrowing, the same tool is there.
        const open_ = await open(url, '/mcp');
        assert.ok((await toolNames(open_)).includes('test_simple_text'));
      });
    });
  }

  it('a malformed selection in the URL is a 400 naming it', T, async () => {
    const answer = await post(url, initializeRequest(), { path: '/mcp?tools=%3Cscript%3E' });
    assert.equal(answer.status, 400, answer.text);
    assert.match(answer.messages[0]?.error?.message ?? '', /tool selection/);
  });

  it('the legacy transport keeps the narrowing of its /sse URL (SDK SSEClientTransport)', T, async () => {
    const client = new Client({ name: 'e2e-exposure-legacy', version: '1.0.0' });
    await client.connect(new SSEClientTransport(new URL(`${url}/sse?tools=search,fetch`)));
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), ['fetch', 'search']);
      await assert.rejects(client.callTool({ name: 'echo', arguments: { message: 'x' } }), /Unknown tool: echo/);
    } finally {
      await client.close();
    }
  });
});
