// Static API keys (MCP_API_KEYS): /mcp requires `Authorization: Bearer <key>` with one of the configured keys.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './support/worker.mjs';
import {
  post, send, request, initializeRequest, openSession, call, readAnswer, closeSession, LATEST_VERSION,
} from './support/mcp.mjs';
import { connectSdk, closeQuietly, RPC } from './support/sdk.mjs';

const T = { timeout: 30_000 };
const KEY1 = { authorization: 'Bearer key1' };
const KEY2 = { authorization: 'Bearer key2' };

/** Asserts a 401 with a Bearer challenge and a JSON body. */
function assertUnauthorized(answer, what) {
  assert.equal(answer.status, 401, `${what}: ${answer.status} ${answer.text}`);
  const challenge = answer.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^Bearer(\s|$)/i, `${what}: WWW-Authenticate "${challenge}"`);
  assert.match(answer.contentType, /^application\/json/i, `${what}: content type`);
  assert.ok(answer.json && typeof answer.json === 'object', `${what}: a JSON body: ${answer.text}`);
  assert.ok(Object.keys(answer.json).length > 0, `${what}: the body explains: ${answer.text}`);
}

describe('MCP_API_KEYS=key1,key2', { timeout: 300_000 }, () => {
  let worker;
  let url;

  before(async () => {
    worker = await startWorker({ vars: { MCP_API_KEYS: 'key1,key2' } });
    url = worker.url;
  }, { timeout: 150_000 });

  after(async () => {
    await worker?.stop();
  }, { timeout: 30_000 });

  it('initialize without Authorization → 401 with a Bearer challenge and a JSON explanation', T, async () => {
    const a = await post(url, initializeRequest());
    assertUnauthorized(a, 'no Authorization');
    assert.equal(a.headers.get('mcp-session-id'), null, 'no session is created');
  });

  it('wrong keys and schemes → 401', T, async () => {
    const wrong = ['Bearer wrong', 'Bearer key1x', 'Bearer key', 'Bearer key1,key2', 'Bearer ', 'key1',
      `Basic ${Buffer.from('key1:').toString('base64')}`, 'Bearer  key3'];
    for (const authorization of wrong) {
      const a = await post(url, initializeRequest(), { headers: { authorization } });
      assertUnauthorized(a, `Authorization "${authorization}"`);
    }
  });

  it('each configured key works', T, async () => {
    for (const headers of [KEY1, KEY2]) {
      const s = await openSession(url, { headers });
      const { answer, message } = await call(url, s, 'tools/call', { name: 'echo', arguments: { message: 'authorized' } },
        { headers });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(message.result.content[0].text, 'authorized');
      await closeSession(url, s.session, headers);
    }
  });

  it('every request to /mcp needs the key, not only initialize', T, async () => {
    const s = await openSession(url, { headers: KEY1 });
    const noKey = await post(url, request('ping'), { session: s.session, protocolVersion: s.version });
    assertUnauthorized(noKey, 'ping in a session without a key');
    const badKey = await post(url, request('ping'), { session: s.session, protocolVersion: s.version, headers: { authorization: 'Bearer nope' } });
    assertUnauthorized(badKey, 'ping in a session with a wrong key');
    const get = await send(url, 'GET', { session: s.session, accept: 'text/event-stream' });
    assertUnauthorized(await readAnswer(get), 'GET stream without a key');
    const del = await send(url, 'DELETE', { session: s.session });
    assertUnauthorized(await readAnswer(del), 'DELETE without a key');
    // The unauthorized DELETE did not end the session.
    const ok = await post(url, request('ping'), { session: s.session, protocolVersion: s.version, headers: KEY1 });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json.result, {});
    await closeSession(url, s.session, KEY1);
  });

  it('an unknown session without a key gets 401, not 404', T, async () => {
    const a = await post(url, request('ping'), { session: 'a'.repeat(32), protocolVersion: LATEST_VERSION });
    assertUnauthorized(a, 'unknown session without a key');
    const b = await post(url, request('ping'), { session: 'a'.repeat(32), protocolVersion: LATEST_VERSION, headers: KEY1 });
    assert.equal(b.status, 404, b.text);
  });

  it('a CORS preflight needs no key', T, async () => {
    const res = await send(url, 'OPTIONS', {
      headers: {
        origin: 'http://localhost:6274',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,mcp-session-id,mcp-protocol-version',
      },
    });
    await res.arrayBuffer();
    assert.equal(res.status, 204);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    assert.ok(allowed.split(',').map((x) => x.trim()).includes('authorization'), `Allow-Headers has authorization: ${allowed}`);
  });

  it('the SDK client connects with requestInit headers and uses the tools', T, async () => {
    const sdk = await connectSdk(url, { requestInit: { headers: { Authorization: 'Bearer key1' } } });
    try {
      const r = await sdk.client.callTool({ name: 'echo', arguments: { message: 'hello with key' } }, undefined, RPC);
      assert.equal(r.content[0].text, 'hello with key');
      assert.deepEqual(await sdk.client.ping(RPC), {});
      const { tools } = await sdk.client.listTools({}, RPC);
      assert.deepEqual(tools.map((t) => t.name).sort(), ['echo', 'fetch', 'search', 'whoami']);
      await sdk.transport.terminateSession();
      assert.equal(sdk.exchanges.filter((x) => x.method === 'DELETE').at(-1)?.status, 204);
      assert.ok(sdk.exchanges.every((x) => x.status !== 401), JSON.stringify(sdk.exchanges));
    } finally {
      await closeQuietly(sdk.client);
    }
  });

  it('the SDK client without a key, or with a wrong one, cannot connect', T, async () => {
    for (const requestInit of [undefined, { headers: { Authorization: 'Bearer key3' } }]) {
      const sdk = await connectSdk(url, { requestInit, connect: false });
      try {
        await assert.rejects(sdk.client.connect(sdk.transport, RPC), (e) => {
          assert.match(String(e?.message ?? e), /401|unauthori[sz]ed/i);
          return true;
        });
        assert.equal(sdk.exchanges[0]?.status, 401);
      } finally {
        await closeQuietly(sdk.client);
      }
    }
  });
});
