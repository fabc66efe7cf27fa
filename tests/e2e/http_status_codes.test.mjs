// Raw HTTP against /mcp: every status code and JSON-RPC error of the transport contract.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startWorker } from './support/worker.mjs';
import {
  post, send, call, request, notification, initializeRequest, openSession, closeSession, readAnswer,
  SESSION_ID_RE, LATEST_VERSION, SUPPORTED_VERSIONS, ACCEPT_BOTH, REQUEST_TIMEOUT_MS,
} from './support/mcp.mjs';

// Below the 64 KiB a session-less POST is read ahead before routing, so that path is held to the limit too.
const MAX_BODY = 32_768;
const EXTRA_ORIGIN = 'https://app.example.com';
const T = { timeout: 30_000 };

/** Asserts `answer` is an HTTP error with a JSON-RPC error object body. Returns the error message object. */
function assertRpcError(answer, status, { code, id } = {}) {
  assert.equal(answer.status, status, `status (body: ${answer.text})`);
  assert.match(answer.contentType, /^application\/json/i, `error content type (body: ${answer.text})`);
  const m = answer.json;
  assert.ok(m && typeof m === 'object' && !Array.isArray(m), `a JSON-RPC error object: ${answer.text}`);
  assert.equal(m.jsonrpc, '2.0', answer.text);
  assert.ok('id' in m, `error has an id member: ${answer.text}`);
  assert.equal(typeof m.error?.code, 'number', answer.text);
  assert.equal(typeof m.error?.message, 'string', answer.text);
  if (code !== undefined) assert.equal(m.error.code, code, `error code (body: ${answer.text})`);
  if (id !== undefined) assert.equal(m.id, id, `error id (body: ${answer.text})`);
  return m;
}

const randomSession = () => randomBytes(16).toString('hex');

describe('HTTP status codes and JSON-RPC errors on /mcp', { timeout: 600_000 }, () => {
  let worker;
  let url;
  let sess; // a 2025-11-25 session shared by the tests that need one
  const opened = [];
  const open = async (opts) => {
    const s = await openSession(url, opts);
    opened.push(s.session);
    return s;
  };

  before(async () => {
    worker = await startWorker({
      vars: { MCP_MAX_BODY_BYTES: String(MAX_BODY), MCP_ALLOWED_ORIGINS: EXTRA_ORIGIN, MCP_PAGE_SIZE: '1' },
    });
    url = worker.url;
    sess = await open();
  }, { timeout: 150_000 });

  after(async () => {
    for (const s of opened) await closeSession(url, s);
    await worker?.stop();
  }, { timeout: 60_000 });

  it('GET / answers 200, HEAD / the same without a body, other methods 405 with Allow', T, async () => {
    const res = await send(url, 'GET', { path: '/' });
    const info = await res.json();
    assert.equal(res.status, 200);
    assert.equal(info.mcp.endpoint, '/mcp');
    const head = await send(url, 'HEAD', { path: '/' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const other = await send(url, method, { path: '/' });
      assert.equal(other.headers.get('allow'), 'GET, HEAD', method);
      assertRpcError(await readAnswer(other), 405);
    }
  });

  describe('initialize', () => {
    it('negotiates each supported version and falls back to the latest', T, async () => {
      for (const v of [...SUPPORTED_VERSIONS, '2099-01-01', '1999-01-01']) {
        const a = await post(url, initializeRequest(v));
        assert.equal(a.status, 200, `initialize ${v}: ${a.text}`);
        assert.match(a.contentType, /^application\/json/i);
        const sid = a.headers.get('mcp-session-id');
        assert.match(sid ?? '', SESSION_ID_RE, `Mcp-Session-Id for ${v}`);
        opened.push(sid);
        const expected = SUPPORTED_VERSIONS.includes(v) ? v : LATEST_VERSION;
        assert.equal(a.json.result.protocolVersion, expected, `negotiated for ${v}`);
        // The session works at that version (2024-11-05 clients send no MCP-Protocol-Version header).
        const s = { session: sid, version: expected };
        const ack = await post(url, notification('notifications/initialized'),
          { session: sid, protocolVersion: expected === '2024-11-05' ? undefined : expected });
        assert.equal(ack.status, 202, `initialized at ${expected}: ${ack.text}`);
        const p = await call(url, s, 'ping');
        assert.equal(p.answer.status, 200, `ping at ${expected}: ${p.answer.text}`);
        assert.deepEqual(p.message?.result, {});
      }
    });

    it('returns capabilities and server info, with a fresh session id each time', T, async () => {
      const a = await post(url, initializeRequest(LATEST_VERSION, 'init-1'));
      const b = await post(url, initializeRequest(LATEST_VERSION, 'init-2'));
      for (const x of [a, b]) opened.push(x.headers.get('mcp-session-id'));
      assert.equal(a.json.id, 'init-1');
      assert.equal(a.json.jsonrpc, '2.0');
      const r = a.json.result;
      for (const c of ['tools', 'resources', 'prompts', 'logging']) {
        assert.equal(typeof r.capabilities?.[c], 'object', `capability ${c}: ${a.text}`);
      }
      assert.equal(typeof r.serverInfo?.name, 'string');
      assert.equal(typeof r.serverInfo?.version, 'string');
      assert.notEqual(a.headers.get('mcp-session-id'), b.headers.get('mcp-session-id'));
    });

    it('initialize carrying an Mcp-Session-Id header → 400', T, async () => {
      const known = await post(url, initializeRequest(), { session: sess.session });
      assertRpcError(known, 400);
      const unknown = await post(url, initializeRequest(), { session: randomSession() });
      assertRpcError(unknown, 400);
    });
  });

  describe('POST content negotiation and body checks', () => {
    it('Accept without both application/json and text/event-stream → 406', T, async () => {
      for (const accept of ['application/json', 'text/event-stream', 'text/html', 'application/json, text/plain']) {
        const a = await post(url, initializeRequest(), { accept });
        assertRpcError(a, 406);
      }
      const inSession = await post(url, request('ping'), { session: sess.session, protocolVersion: sess.version, accept: 'application/json' });
      assertRpcError(inSession, 406);
    });

    it('Content-Type other than application/json → 415', T, async () => {
      for (const contentType of [null, 'text/plain', 'application/x-www-form-urlencoded']) {
        const a = await post(url, JSON.stringify(initializeRequest()), { contentType });
        assertRpcError(a, 415);
      }
      const withCharset = await post(url, initializeRequest(), { contentType: 'application/json; charset=utf-8' });
      assert.equal(withCharset.status, 200, `application/json with charset is accepted: ${withCharset.text}`);
      opened.push(withCharset.headers.get('mcp-session-id'));
    });

    it(`body over MCP_MAX_BODY_BYTES (${MAX_BODY}) → 413; just under → 200`, T, async () => {
      const echo = (n) => request('tools/call', { name: 'echo', arguments: { message: 'x'.repeat(n) } });
      const small = await call(url, sess, 'tools/call', { name: 'echo', arguments: { message: 'y'.repeat(MAX_BODY - 1000) } });
      assert.equal(small.answer.status, 200, small.answer.text.slice(0, 300));
      assert.equal(small.message.result.content[0].text.length, MAX_BODY - 1000);

      const big = await post(url, echo(MAX_BODY + 10), { session: sess.session, protocolVersion: sess.version });
      assertRpcError(big, 413);
      const huge = await post(url, echo(5 * 1024 * 1024), { session: sess.session, protocolVersion: sess.version });
      assertRpcError(huge, 413);
      const bigInit = await post(url, { ...initializeRequest(), padding: 'z'.repeat(MAX_BODY * 2) });
      assertRpcError(bigInit, 413);
      // Session-less POSTs of declared length under 64 KiB are read before routing: the limit still holds.
      const overInit = await post(url, { ...initializeRequest(), padding: 'z'.repeat(MAX_BODY + 10) });
      assertRpcError(overInit, 413);
      const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
      const stateless = (n) => post(url, request('tools/call', { name: 'echo', arguments: { message: 'w'.repeat(n) }, _meta: meta }),
        { protocolVersion: '2026-07-28', headers: { 'mcp-method': 'tools/call', 'mcp-name': 'echo' } });
      const under = await stateless(MAX_BODY - 1000);
      assert.equal(under.status, 200, under.text.slice(0, 300));
      assert.equal(under.messages[0].result.content[0].text.length, MAX_BODY - 1000);
      assertRpcError(await stateless(MAX_BODY + 10), 413);
    });

    it('a chunked body (no Content-Length) over the limit → 413', T, async () => {
      const chunk = new TextEncoder().encode(' '.repeat(16 * 1024));
      const prefix = new TextEncoder().encode(JSON.stringify(request('ping')).slice(0, -1) + ', "pad": "');
      let sent = 0;
      const body = new ReadableStream({
        pull(controller) {
          if (sent === 0) controller.enqueue(prefix);
          if (sent >= MAX_BODY * 3) {
            controller.enqueue(new TextEncoder().encode('"}'));
            controller.close();
            return;
          }
          controller.enqueue(chunk);
          sent += chunk.length;
        },
      });
      const res = await fetch(`${url}/mcp`, {
        method: 'POST',
        headers: { accept: ACCEPT_BOTH, 'content-type': 'application/json', 'mcp-session-id': sess.session, 'mcp-protocol-version': sess.version },
        body,
        duplex: 'half',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      assertRpcError(await readAnswer(res), 413);
    });

    it('invalid JSON → 400, -32700, id null', T, async () => {
      for (const body of ['{"jsonrpc":"2.0","id":1,"method":', 'not json at all', '{"jsonrpc":"2.0",}', '']) {
        const a = await post(url, body, { session: sess.session, protocolVersion: sess.version });
        assertRpcError(a, 400, { code: -32700, id: null });
      }
      const noSession = await post(url, '{"jsonrpc": "2.0", "id": 1, "method": "initialize", ');
      assertRpcError(noSession, 400, { code: -32700, id: null });
    });

    it('wrong JSON-RPC shapes → 400, -32600, id kept when readable', T, async () => {
      const cases = [
        [{ id: 11, method: 'ping' }, 11],
        [{ jsonrpc: '1.0', id: 12, method: 'ping' }, 12],
        [{ jsonrpc: 2, id: 13, method: 'ping' }, 13],
        [{ jsonrpc: '2.0', id: 14, method: 'ping', params: 'a string' }, 14],
        [{ jsonrpc: '2.0', id: 16, method: 42 }, 16],
        [{ jsonrpc: '2.0', id: 'str-17' }, 'str-17'],
        [{ jsonrpc: '2.0', id: { nested: 1 }, method: 'ping' }, null],
        [{ jsonrpc: '2.0', id: true, method: 'ping' }, null],
        ['a JSON string', null],
        [42, null],
        [null, null],
      ];
      for (const [body, id] of cases) {
        const a = await post(url, JSON.stringify(body), { session: sess.session, protocolVersion: sess.version });
        assertRpcError(a, 400, { code: -32600, id });
      }
    });
  });

  describe('sessions and headers', () => {
    it('non-initialize request without Mcp-Session-Id → 400, -32000', T, async () => {
      for (const msg of [request('ping', undefined, 21), request('tools/list', {}, 22)]) {
        const a = await post(url, msg, { protocolVersion: LATEST_VERSION });
        assertRpcError(a, 400, { code: -32000 });
      }
    });

    it('a malformed Mcp-Session-Id → 400, answering the request\'s id', T, async () => {
      for (const sid of ['sess ion', 'é'.repeat(8), 'x'.repeat(9000)]) {
        const a = await post(url, request('ping', undefined, 'bad-sid'), { session: sid, protocolVersion: LATEST_VERSION });
        assertRpcError(a, 400, { id: 'bad-sid' });
      }
    });

    it('a body nested deeper than MCP_MAX_JSON_DEPTH → 400, -32600, answering the request\'s id', T, async () => {
      // 100 levels: over the limit (64), within what the parser reads (128), so the id is known.
      const deep = `{"jsonrpc":"2.0","id":"deep","method":"tools/call","params":{"name":"echo","arguments":{"message":${'['.repeat(100)}${']'.repeat(100)}}}}`;
      const alone = await post(url, deep);
      assertRpcError(alone, 400, { code: -32600, id: 'deep' });
      const inSession = await post(url, deep, { session: sess.session, protocolVersion: sess.version });
      assertRpcError(inSession, 400, { code: -32600, id: 'deep' });
    });

    it('unknown Mcp-Session-Id → 404, -32001', T, async () => {
      for (const sid of [randomSession(), 'not-even-hex']) {
        const a = await post(url, request('ping', undefined, 23), { session: sid, protocolVersion: LATEST_VERSION });
        assertRpcError(a, 404, { code: -32001 });
      }
    });

    it('unsupported MCP-Protocol-Version header → 400, answering the request\'s id', T, async () => {
      for (const v of ['1999-01-01', 'garbage', '2026-07-28']) {
        const a = await post(url, request('ping', undefined, `v-${v}`), { session: sess.session, protocolVersion: v });
        assertRpcError(a, 400, { id: `v-${v}` });
      }
      const ok = await post(url, request('ping'), { session: sess.session, protocolVersion: sess.version });
      assert.equal(ok.status, 200, ok.text);
    });

    it('notifications and responses alone → 202 with an empty body', T, async () => {
      const bodies = [
        notification('notifications/initialized'),
        notification('notifications/cancelled', { requestId: 999, reason: 'test' }),
        { jsonrpc: '2.0', id: 'srv-1', result: {} },
        { jsonrpc: '2.0', id: 'srv-2', error: { code: -32601, message: 'nope' } },
      ];
      for (const body of bodies) {
        const a = await post(url, body, { session: sess.session, protocolVersion: sess.version });
        assert.equal(a.status, 202, `${JSON.stringify(body)} → ${a.status} ${a.text}`);
        assert.equal(a.text, '');
      }
    });

    it('ping → {}, unknown method → 200 with -32601', T, async () => {
      const p = await call(url, sess, 'ping');
      assert.equal(p.answer.status, 200);
      assert.deepEqual(p.message, { jsonrpc: '2.0', id: p.message.id, result: {} });
      const u = await post(url, request('no/such/method', {}, 'unk-1'), { session: sess.session, protocolVersion: sess.version });
      assert.equal(u.status, 200, u.text);
      assert.equal(u.json.id, 'unk-1');
      assert.equal(u.json.error?.code, -32601, u.text);
      assert.equal(u.json.result, undefined);
    });

    it('Origin not allowed → 403; localhost, 127.0.0.1 and MCP_ALLOWED_ORIGINS are allowed', T, async () => {
      for (const origin of ['https://evil.example.com', 'http://localhost.evil.com', `${EXTRA_ORIGIN}.evil.com`, 'null']) {
        const a = await post(url, initializeRequest(), { headers: { origin } });
        assertRpcError(a, 403);
        const b = await post(url, request('ping'), { session: sess.session, protocolVersion: sess.version, headers: { origin } });
        assertRpcError(b, 403);
      }
      for (const origin of ['http://localhost:6274', 'http://127.0.0.1:5173', 'http://localhost', EXTRA_ORIGIN]) {
        const a = await post(url, initializeRequest(), { headers: { origin } });
        assert.equal(a.status, 200, `${origin}: ${a.text}`);
        opened.push(a.headers.get('mcp-session-id'));
      }
    });

    it('tools/list paginates with MCP_PAGE_SIZE=1; an invalid cursor → -32602', T, async () => {
      const names = [];
      let cursor;
      let pages = 0;
      do {
        const { answer, message } = await call(url, sess, 'tools/list', cursor ? { cursor } : {});
        assert.equal(answer.status, 200, answer.text);
        assert.equal(message.result.tools.length, 1, answer.text);
        names.push(message.result.tools[0].name);
        cursor = message.result.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      assert.equal(pages, 4);
      assert.deepEqual(names.sort(), ['echo', 'fetch', 'search', 'whoami']);
      const bad = await call(url, sess, 'tools/list', { cursor: 'definitely-not-a-cursor' });
      assert.equal(bad.answer.status, 200, bad.answer.text);
      assert.equal(bad.message.error?.code, -32602, bad.answer.text);
    });
  });

  describe('batches', () => {
    it('2025-03-26 session: a batch gets an array of responses; notifications-only batch → 202', T, async () => {
      const s = await open({ protocolVersion: '2025-03-26' });
      assert.equal(s.version, '2025-03-26');
      const batch = [
        request('ping', undefined, 'b-1'),
        notification('notifications/cancelled', { requestId: 'x', reason: 'test' }),
        request('tools/call', { name: 'echo', arguments: { message: 'batched' } }, 'b-2'),
      ];
      const a = await post(url, batch, { session: s.session, protocolVersion: s.version });
      assert.equal(a.status, 200, a.text);
      assert.ok(Array.isArray(a.json), `an array: ${a.text}`);
      assert.equal(a.json.length, 2, a.text);
      const byId = Object.fromEntries(a.json.map((m) => [m.id, m]));
      assert.deepEqual(byId['b-1'].result, {});
      assert.equal(byId['b-2'].result.content[0].text, 'batched');

      const n = await post(url, [notification('notifications/cancelled', { requestId: 'y' })], { session: s.session, protocolVersion: s.version });
      assert.equal(n.status, 202, n.text);
      assert.equal(n.text, '');
    });

    it('2025-03-26 session: a batch of 100 is answered; one of 101 → 400, -32600', T, async () => {
      const s = await open({ protocolVersion: '2025-03-26' });
      const batchOf = (n, tag) => Array.from({ length: n }, (_, i) =>
        request('tools/call', { name: 'echo', arguments: { message: `${tag}-${i}` } }, `${tag}-${i}`));
      const full = await post(url, batchOf(100, 'full'), { session: s.session, protocolVersion: s.version });
      assert.equal(full.status, 200, full.text);
      assert.equal(full.json.length, 100, full.text.slice(0, 300));
      assert.ok(full.json.every((m) => m.result.content[0].text === m.id), full.text.slice(0, 300));
      // The cap bounds the answer: 4 MiB of calls in one body could otherwise ask for hundreds of megabytes.
      const over = await post(url, batchOf(101, 'over'), { session: s.session, protocolVersion: s.version });
      const error = assertRpcError(over, 400, { code: -32600 });
      assert.match(error.error.message, /at most 100 messages, this one holds 101/);
    });

    it('initialize inside a batch → -32600', T, async () => {
      // A 2025-03-26 client batching its very first message: initialize may not be batched.
      const a = await post(url, [initializeRequest('2025-03-26', 'bi-1'), request('ping', undefined, 'bi-2')]);
      assert.ok([200, 400].includes(a.status), `${a.status} ${a.text}`);
      const codes = a.messages.map((m) => m.error?.code);
      assert.ok(codes.includes(-32600), `a -32600 error in ${a.text}`);
      const init = a.messages.find((m) => m.id === 'bi-1');
      if (init) assert.equal(init.error?.code, -32600, a.text);
      assert.ok(!a.messages.some((m) => m.result?.protocolVersion), `initialize was not executed: ${a.text}`);
      assert.equal(a.headers.get('mcp-session-id'), null, 'no session was created');
      const alone = await post(url, [initializeRequest('2025-03-26', 'bi-3')]);
      assert.ok(alone.messages.some((m) => m.error?.code === -32600), `${alone.status} ${alone.text}`);
      assert.equal(alone.headers.get('mcp-session-id'), null, 'no session was created');
    });

    for (const version of ['2025-06-18', '2025-11-25']) {
      it(`${version} session: a batch → 400, -32600`, T, async () => {
        const s = await open({ protocolVersion: version });
        assert.equal(s.version, version);
        const a = await post(url, [request('ping', undefined, 'x-1'), request('ping', undefined, 'x-2')],
          { session: s.session, protocolVersion: s.version });
        assertRpcError(a, 400, { code: -32600 });
      });
    }
  });

  describe('GET, DELETE and other methods', () => {
    it('GET stream: 200 text/event-stream; a second GET replaces the first, which ends', T, async () => {
      const s = await open();
      const first = new AbortController();
      const timer = setTimeout(() => first.abort(), 20_000);
      try {
        const res = await fetch(`${url}/mcp`, {
          headers: { accept: 'text/event-stream', 'mcp-session-id': s.session, 'mcp-protocol-version': s.version },
          signal: first.signal,
        });
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/i);
        const second = new AbortController();
        const replacement = await fetch(`${url}/mcp`, {
          headers: { accept: 'text/event-stream', 'mcp-session-id': s.session, 'mcp-protocol-version': s.version },
          signal: second.signal,
        });
        assert.equal(replacement.status, 200);
        // The first stream ends (its body completes) once the second one is open.
        const text = await res.text();
        assert.match(text, /^id: [0-9a-f]{16}-0\nretry: \d+\ndata: \n\n/, 'the first stream carried only its priming event');
        second.abort();
        // The open stream does not block ordinary requests in the same session.
        const p = await call(url, s, 'ping');
        assert.equal(p.answer.status, 200);
      } finally {
        clearTimeout(timer);
        first.abort();
      }
    });

    it('GET without text/event-stream in Accept → 406', T, async () => {
      const res = await send(url, 'GET', { session: sess.session, accept: 'application/json', headers: { 'mcp-protocol-version': sess.version } });
      assertRpcError(await readAnswer(res), 406);
    });

    it('GET without a session → 400, unknown session → 404', T, async () => {
      const none = await send(url, 'GET', { accept: 'text/event-stream' });
      assertRpcError(await readAnswer(none), 400);
      const unknown = await send(url, 'GET', { accept: 'text/event-stream', session: randomSession() });
      assertRpcError(await readAnswer(unknown), 404);
    });

    it('DELETE → 204, then POST, GET and DELETE with that session → 404', T, async () => {
      const s = await open();
      const del = await send(url, 'DELETE', { session: s.session, headers: { 'mcp-protocol-version': s.version } });
      await del.arrayBuffer();
      assert.equal(del.status, 204);
      const p = await post(url, request('ping'), { session: s.session, protocolVersion: s.version });
      assertRpcError(p, 404, { code: -32001 });
      const g = await send(url, 'GET', { session: s.session, accept: 'text/event-stream' });
      assertRpcError(await readAnswer(g), 404);
      const d = await send(url, 'DELETE', { session: s.session });
      await d.arrayBuffer();
      assert.equal(d.status, 404);
      const noSession = await send(url, 'DELETE', {});
      await noSession.arrayBuffer();
      assert.equal(noSession.status, 400);
    });

    it('PUT and PATCH → 405 with an Allow header', T, async () => {
      for (const method of ['PUT', 'PATCH']) {
        const res = await fetch(`${url}/mcp`, {
          method,
          headers: { 'content-type': 'application/json', accept: ACCEPT_BOTH, 'mcp-session-id': sess.session },
          body: JSON.stringify(request('ping')),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        await res.arrayBuffer();
        assert.equal(res.status, 405, method);
        const allow = (res.headers.get('allow') ?? '').toUpperCase();
        for (const m of ['GET', 'POST', 'DELETE']) assert.ok(allow.includes(m), `Allow lists ${m}: "${allow}"`);
        assert.ok(!allow.includes(method), `Allow does not list ${method}: "${allow}"`);
      }
    });
  });

  describe('CORS', () => {
    const listHas = (value, name) => (value ?? '').toLowerCase().split(',').map((x) => x.trim()).includes(name.toLowerCase());

    for (const origin of ['http://localhost:6274', EXTRA_ORIGIN]) {
      it(`preflight OPTIONS /mcp from ${origin} → 204 with the MCP headers allowed and exposed`, T, async () => {
        const res = await send(url, 'OPTIONS', {
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type,mcp-session-id,mcp-protocol-version,last-event-id',
          },
        });
        await res.arrayBuffer();
        assert.equal(res.status, 204);
        const h = res.headers;
        assert.ok([origin, '*'].includes(h.get('access-control-allow-origin')), `ACAO: ${h.get('access-control-allow-origin')}`);
        for (const m of ['POST', 'GET', 'DELETE']) {
          assert.ok(listHas(h.get('access-control-allow-methods'), m), `Allow-Methods has ${m}: ${h.get('access-control-allow-methods')}`);
        }
        for (const name of ['mcp-protocol-version', 'mcp-session-id', 'content-type']) {
          assert.ok(listHas(h.get('access-control-allow-headers'), name), `Allow-Headers has ${name}: ${h.get('access-control-allow-headers')}`);
        }
        assert.ok(listHas(h.get('access-control-expose-headers'), 'mcp-session-id'), `Expose-Headers: ${h.get('access-control-expose-headers')}`);
      });
    }

    it('an actual POST from an allowed origin carries Access-Control-Allow-Origin and exposes Mcp-Session-Id', T, async () => {
      const origin = 'http://localhost:6274';
      const a = await post(url, initializeRequest(), { headers: { origin } });
      assert.equal(a.status, 200, a.text);
      opened.push(a.headers.get('mcp-session-id'));
      assert.ok([origin, '*'].includes(a.headers.get('access-control-allow-origin')), `ACAO: ${a.headers.get('access-control-allow-origin')}`);
      assert.ok(listHas(a.headers.get('access-control-expose-headers'), 'mcp-session-id'), `Expose-Headers: ${a.headers.get('access-control-expose-headers')}`);
    });
  });
});
