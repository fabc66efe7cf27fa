// Deferred sessions: `initialize` is answered by the Worker with an id that carries the session's opening, and
// the session's Durable Object is created by its first request that needs it (src/session/id.rs). These tests
// look at the Durable Object files wrangler dev keeps under --persist-to to see when an object comes to exist.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startWorker } from './support/worker.mjs';
import {
  openSession, call, post, send, readAnswer, request, notification, initializeRequest, closeSession,
  DEFERRED_ID_RE, PLAIN_ID_RE, LATEST_VERSION,
} from './support/mcp.mjs';

const T = { timeout: 60_000 };

/** The SQLite files of McpSession objects (one per object that touched storage). */
function objectFiles(persistTo) {
  const root = join(persistTo, 'v3', 'do');
  let dirs;
  try {
    dirs = readdirSync(root).filter((d) => d.endsWith('-McpSession'));
  } catch {
    return [];
  }
  return dirs.flatMap((d) => readdirSync(join(root, d)).filter((f) => /^[0-9a-f]{64}\.sqlite$/.test(f)));
}

async function ping(url, s) {
  const { answer, message } = await call(url, s, 'ping');
  return { status: answer.status, message, text: answer.text };
}

function batch(url, s) {
  return post(url, [request('ping', undefined, 'b-1'), request('ping', undefined, 'b-2')],
    { session: s.session, protocolVersion: s.version });
}

describe('deferred sessions', { timeout: 600_000 }, () => {
  let worker;
  const objects = () => objectFiles(worker.persistTo).length;

  before(async () => {
    worker = await startWorker();
  }, { timeout: 150_000 });

  after(async () => {
    await worker?.stop();
  }, { timeout: 30_000 });

  it('initialize and notifications/initialized create no object; the first request does', T, async () => {
    const before = objects();
    const sessions = [];
    for (let i = 0; i < 5; i++) sessions.push(await openSession(worker.url));
    for (const s of sessions) assert.match(s.session, DEFERRED_ID_RE);
    assert.equal(objects(), before, 'opening five sessions created no Durable Object');

    const p = await ping(worker.url, sessions[0]);
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.message.result, {});
    assert.equal(objects(), before + 1, 'the first request created the session\'s object');
    for (const s of sessions) await closeSession(worker.url, s.session);
  });

  it('a session opened before a restart and first used after it keeps its negotiated version', { timeout: 240_000 }, async () => {
    const s03 = await openSession(worker.url, { protocolVersion: '2025-03-26' });
    const s25 = await openSession(worker.url, { protocolVersion: LATEST_VERSION });
    worker = await worker.restart();

    // Batches exist in 2025-03-26 only: each session answers by the version it negotiated before the restart.
    const b03 = await batch(worker.url, s03);
    assert.equal(b03.status, 200, b03.text);
    assert.deepEqual(b03.json.map((m) => m.id), ['b-1', 'b-2']);
    const b25 = await batch(worker.url, s25);
    assert.equal(b25.status, 400, b25.text);
    assert.equal(b25.json?.error?.code, -32600, b25.text);
    assert.equal((await ping(worker.url, s25)).status, 200);
    await closeSession(worker.url, s03.session);
    await closeSession(worker.url, s25.session);
  });

  it('DELETE before any other request ends the session for good, also across a restart', { timeout: 240_000 }, async () => {
    const s = await openSession(worker.url);
    const del = await send(worker.url, 'DELETE', { session: s.session, headers: { 'mcp-protocol-version': s.version } });
    await del.arrayBuffer();
    assert.equal(del.status, 204);
    const p = await ping(worker.url, s);
    assert.equal(p.status, 404, p.text);
    assert.equal(JSON.parse(p.text).error?.code, -32001, p.text);

    worker = await worker.restart();
    assert.equal((await ping(worker.url, s)).status, 404, 'the id cannot open the session again after a restart');
    const g = await send(worker.url, 'GET', { session: s.session, accept: 'text/event-stream' });
    assert.equal((await readAnswer(g)).status, 404);
  });

  it('a well-shaped id whose opening does not decode is 404, and creates no object', T, async () => {
    const before = objects();
    const nonce = Buffer.alloc(16, 7).toString('base64url');
    for (const opening of [Buffer.from('not json').toString('base64url'), Buffer.from('[1,2]').toString('base64url')]) {
      const id = `${nonce}.${opening}`;
      const p = await post(worker.url, request('ping'), { session: id, protocolVersion: LATEST_VERSION });
      assert.equal(p.status, 404, `${id}: ${p.text}`);
      assert.equal(p.json?.error?.code, -32001, p.text);
      const n = await post(worker.url, notification('notifications/initialized'), { session: id, protocolVersion: LATEST_VERSION });
      assert.equal(n.status, 404, `notifications/initialized for ${id}: ${n.text}`);
    }
    assert.equal(objects(), before);
  });

  it('an opening too big for an id gets a plain id, and its object at once', T, async () => {
    const before = objects();
    const init = initializeRequest(LATEST_VERSION);
    init.params.clientInfo.name = `client-${'x'.repeat(600)}`;
    const a = await post(worker.url, init);
    assert.equal(a.status, 200, a.text);
    const session = a.headers.get('mcp-session-id');
    assert.match(session, PLAIN_ID_RE);
    assert.equal(objects(), before + 1, 'the object was created by initialize');
    const s = { session, version: LATEST_VERSION };
    const ack = await post(worker.url, notification('notifications/initialized'), { session, protocolVersion: LATEST_VERSION });
    assert.equal(ack.status, 202, ack.text);
    assert.equal((await ping(worker.url, s)).status, 200);
    await closeSession(worker.url, session);
  });
});
