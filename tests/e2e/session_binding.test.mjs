// Sessions are bound to their caller and their ids cannot be forged. With two API keys, key B cannot POST to,
// GET, resume or DELETE a session opened with key A (nor feed A's legacy /sse session): to B such a session does
// not exist (404). An edited id, an invented id and a correctly signed id claiming a creation time in the future
// are 404 and create no Durable Object. Bodies are limited while they are read, and a 500 says nothing internal.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startWorker } from './support/worker.mjs';
import {
  openSession, call, post, send, readAnswer, request, initializeRequest, closeSession, parseSse, LATEST_VERSION,
} from './support/mcp.mjs';

const T = { timeout: 60_000 };
const SECRET = 'session-binding-test-secret-0123456789abcdef';
const A = { authorization: 'Bearer key-a-0001' };
const B = { authorization: 'Bearer key-b-0002' };

/** SQLite files of McpSession objects under wrangler dev's state directory. */
function objectFiles(persistTo) {
  const root = join(persistTo, 'v3', 'do');
  try {
    return readdirSync(root).filter((d) => d.endsWith('-McpSession'))
      .flatMap((d) => readdirSync(join(root, d)).filter((f) => f.endsWith('.sqlite')));
  } catch {
    return [];
  }
}

const b64 = (buf) => Buffer.from(buf).toString('base64url');
/** HMAC-SHA256 of length-prefixed parts under the session-id key, as src/keys.rs computes it. */
function sign(...parts) {
  const key = createHmac('sha256', SECRET).update('mcp-worker/v1/session-id').digest();
  const mac = createHmac('sha256', key);
  for (const part of parts) {
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(BigInt(Buffer.byteLength(part)));
    mac.update(len).update(part);
  }
  return mac.digest().subarray(0, 16);
}
/** The tag a deferred id carries for its owner (src/session/id.rs). */
const ownerTag = (identity) => b64(sign('owner', identity));
/** Signs a session id as the worker does (src/session/id.rs), with the test's known secret. */
function signedId(openingArray) {
  const nonce = b64(randomBytes(16));
  const opening = b64(JSON.stringify(openingArray));
  return `${nonce}.${opening}.${b64(sign(nonce, opening))}`;
}

const assertGone = (answer, what) => {
  assert.equal(answer.status, 404, `${what}: ${answer.status} ${answer.text}`);
  assert.equal(answer.json?.error?.code, -32001, `${what}: ${answer.text}`);
};

describe('sessions bound to their caller (MCP_API_KEYS=alice:…,bob:…)', { timeout: 300_000 }, () => {
  let worker;
  let url;
  before(async () => {
    // `direct`: the chunked upload below goes straight to workerd; through wrangler's front proxy (another workerd
    // relaying the body) it stalled once on a loaded machine, which says nothing about the Worker.
    worker = await startWorker({ direct: true, vars: { MCP_API_KEYS: 'alice:key-a-0001,bob:key-b-0002', MCP_SERVER_SECRET: SECRET, MCP_RESPONSE_MODE: 'sse' } });
    url = worker.url;
  }, { timeout: 150_000 });
  after(async () => { await worker?.stop(); }, { timeout: 30_000 });

  for (const [label, clientInfo] of [
    ['a deferred session (owner in its signed id)', undefined],
    ['a session with a plain id (owner checked by its object)', { name: 'big'.repeat(200), version: '1' }],
  ]) {
    it(`${label}: key B cannot POST, GET, resume or DELETE it; key A still can`, T, async () => {
      let s;
      if (clientInfo) {
        const init = initializeRequest();
        init.params.clientInfo = clientInfo;
        const answer = await post(url, init, { headers: A });
        assert.equal(answer.status, 200, answer.text);
        s = { session: answer.headers.get('mcp-session-id'), version: LATEST_VERSION };
        assert.doesNotMatch(s.session, /\..*\./, 'a plain id (two parts)');
      } else {
        s = await openSession(url, { headers: A });
      }
      const first = await call(url, s, 'tools/call', { name: 'echo', arguments: { message: 'mine' } }, { headers: A });
      assert.equal(first.answer.status, 200, first.answer.text);
      const eventId = first.answer.events.find((e) => e.id)?.id;
      assert.ok(eventId, `an SSE event id to resume from: ${first.answer.text}`);

      const stolen = request('ping');
      const byB = await post(url, stolen, { session: s.session, protocolVersion: s.version, headers: B });
      assertGone(byB, 'POST with key B');
      assert.equal(byB.json.id, stolen.id, 'the error answers the request\'s id');
      assertGone(await readAnswer(await send(url, 'GET', { session: s.session, accept: 'text/event-stream', headers: B })), 'GET with key B');
      assertGone(await readAnswer(await send(url, 'GET', { session: s.session, accept: 'text/event-stream', headers: { ...B, 'last-event-id': eventId } })), 'resume with key B');
      assertGone(await readAnswer(await send(url, 'DELETE', { session: s.session, headers: B })), 'DELETE with key B');

      const again = await call(url, s, 'ping', undefined, { headers: A });
      assert.equal(again.answer.status, 200, `A's session survived B's attempts: ${again.answer.text}`);
      await closeSession(url, s.session, A);
    });
  }

  it('a legacy /sse session of key A cannot be fed with key B', T, async () => {
    const controller = new AbortController();
    const stream = await fetch(`${url}/sse`, { headers: { accept: 'text/event-stream', ...A }, signal: controller.signal });
    assert.equal(stream.status, 200);
    const reader = stream.body.getReader();
    let head = '';
    while (!head.includes('\n\n')) head += new TextDecoder().decode((await reader.read()).value);
    const endpoint = parseSse(head)[0].data;
    const postMessage = (headers) => fetch(`${url}${endpoint}`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(request('ping')),
    });
    const byB = await postMessage(B);
    assert.equal(byB.status, 404, await byB.text());
    const byA = await postMessage(A);
    assert.equal(byA.status, 202, await byA.text());
    controller.abort();
  });

  it('edited, invented and future-dated ids are 404 and create no object', T, async () => {
    const before = objectFiles(worker.persistTo).length;
    const s = await openSession(url, { headers: A });
    const [nonce, opening, tag] = s.session.split('.');
    const decoded = JSON.parse(Buffer.from(opening, 'base64url'));
    assert.notEqual(decoded[4], 'key:alice', 'the id does not show who opened it');
    assert.equal(decoded[4], ownerTag('key:alice'));
    const edited = `${nonce}.${b64(JSON.stringify([...decoded.slice(0, 4), ownerTag('key:bob')]))}.${tag}`;
    const invented = `${b64(randomBytes(16))}.${opening}.${b64(randomBytes(16))}`;
    const now = Date.now();
    const future = signedId(['2025-11-25', now + 3_600_000, {}, { name: 'x', version: '1' }, ownerTag('key:alice')]);
    const valid = signedId(['2025-11-25', now, {}, { name: 'x', version: '1' }, ownerTag('key:alice')]);
    for (const [what, id, headers] of [['edited owner', edited, B], ['edited owner (as alice)', edited, A],
      ['invented', invented, A], ['future creation time', future, A]]) {
      const answer = await post(url, request('ping'), { session: id, protocolVersion: LATEST_VERSION, headers });
      assertGone(answer, what);
    }
    assert.equal(objectFiles(worker.persistTo).length, before, 'no object was created');
    // The test signs ids correctly: the same opening dated now is a working session.
    const ok = await post(url, request('ping'), { session: valid, protocolVersion: LATEST_VERSION, headers: A });
    assert.equal(ok.status, 200, ok.text);
  });

  it('a chunked body over the limit gets 413 while the upload is still open (nothing waits for 20 MB)', T, async () => {
    const { port } = new URL(worker.directUrl);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const limit = 4 * 1024 * 1024; // MCP_MAX_BODY_BYTES's default
    const outcome = await new Promise((resolve, reject) => {
      let sent = 0;
      const req = httpRequest({
        host: '127.0.0.1', port, path: '/mcp', method: 'POST',
        headers: { ...A, accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      }, (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => {
          resolve({ status: res.statusCode, text, sent });
          req.destroy();
        });
      });
      req.on('error', () => {});
      setTimeout(() => reject(new Error(`no answer while ${sent} bytes of a 20 MB upload were sent and the rest held back`)), 20_000).unref();
      // Send a little more than the limit, then hold the rest of the 20 MB back: only a server that answers
      // before reading the whole body can answer now.
      const pump = () => {
        while (sent < limit + 8 * chunk.length) {
          sent += chunk.length;
          if (!req.write(chunk)) return req.once('drain', pump);
        }
      };
      pump();
    });
    assert.equal(outcome.status, 413, outcome.text);
    assert.equal(JSON.parse(outcome.text).error.code, -32000);
    assert.ok(outcome.sent < 20 * 1024 * 1024, `answered after ${outcome.sent} bytes`);
  });
});

describe('a 500 says nothing internal', { timeout: 300_000 }, () => {
  let worker;
  let dir;
  before(async () => {
    // The worker without its session binding: the first request inside a session fails on our side.
    dir = mkdtempSync(join(tmpdir(), 'mcp-broken-'));
    const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')
      .replace(/^main = .*$/m, `main = "${join(ROOT, 'build', 'index.js')}"`)
      .replace(/^\[build\][\s\S]*?(?=^\[)/m, '')
      .replace('name = "MCP_SESSION"', 'name = "MCP_SESSION_ELSEWHERE"');
    writeFileSync(join(dir, 'wrangler.toml'), toml);
    worker = await startWorker({ config: join(dir, 'wrangler.toml') });
  }, { timeout: 150_000 });
  after(async () => {
    await worker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, { timeout: 30_000 });

  it('a forced internal error answers 500 with a fixed message, the request id and a reference', T, async () => {
    const s = await openSession(worker.url);
    const req = request('tools/call', { name: 'echo', arguments: { message: 'x' } });
    const answer = await post(worker.url, req, { session: s.session, protocolVersion: s.version });
    assert.equal(answer.status, 500, answer.text);
    assert.equal(answer.json.error.code, -32603);
    assert.equal(answer.json.id, req.id);
    const reference = answer.json.error.data?.reference;
    assert.match(reference ?? '', /^[0-9a-f]{16}$/, answer.text);
    assert.doesNotMatch(answer.text, /binding|MCP_SESSION|Durable|TypeError|undefined|\.rs/i);
    await closeSession(worker.url, s.session);
  });
});
