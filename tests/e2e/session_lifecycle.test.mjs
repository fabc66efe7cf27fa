// Session lifecycle: sessions live in Durable Object storage (they survive a `wrangler dev` restart with the same
// --persist-to directory), end with DELETE, expire after MCP_SESSION_TTL_SECONDS of idleness, and are independent.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { startWorker } from './support/worker.mjs';
import {
  openSession, call, post, send, request, notification, readAnswer, closeSession, sleep, SESSION_ID_RE,
} from './support/mcp.mjs';

const T = { timeout: 30_000 };

async function ping(url, s) {
  const { answer, message } = await call(url, s, 'ping');
  return { status: answer.status, message, text: answer.text };
}

async function echo(url, s, text) {
  const { answer, message } = await call(url, s, 'tools/call', { name: 'echo', arguments: { message: text } });
  assert.equal(answer.status, 200, answer.text);
  return message.result.content[0].text;
}

/** Sends a two-ping batch; returns the answer. */
function batch(url, s) {
  return post(url, [request('ping', undefined, 'bp-1'), request('ping', undefined, 'bp-2')],
    { session: s.session, protocolVersion: s.version });
}

describe('session lifecycle', { timeout: 600_000 }, () => {
  describe('persisted sessions, DELETE and independence', () => {
    let worker;
    let s25; // 2025-11-25 session
    let s03; // 2025-03-26 session

    before(async () => {
      worker = await startWorker();
    }, { timeout: 150_000 });

    after(async () => {
      await worker?.stop();
    }, { timeout: 30_000 });

    it('a session keeps working after wrangler dev restarts with the same --persist-to', { timeout: 240_000 }, async () => {
      s25 = await openSession(worker.url, { protocolVersion: '2025-11-25' });
      s03 = await openSession(worker.url, { protocolVersion: '2025-03-26' });
      assert.match(s25.session, SESSION_ID_RE);
      assert.equal(s03.version, '2025-03-26');
      assert.equal(await echo(worker.url, s25, 'before restart'), 'before restart');
      const { message: lvl } = await call(worker.url, s25, 'logging/setLevel', { level: 'debug' });
      assert.deepEqual(lvl.result, {});

      worker = await worker.restart();

      const p = await ping(worker.url, s25);
      assert.equal(p.status, 200, `the session is known after the restart: ${p.text}`);
      assert.deepEqual(p.message.result, {});
      assert.equal(await echo(worker.url, s25, 'after restart'), 'after restart');
      assert.equal((await ping(worker.url, s03)).status, 200);

      // The negotiated version is part of the stored session: batches stay allowed only in the 2025-03-26 one.
      const b03 = await batch(worker.url, s03);
      assert.equal(b03.status, 200, b03.text);
      assert.ok(Array.isArray(b03.json) && b03.json.length === 2, b03.text);
      const b25 = await batch(worker.url, s25);
      assert.equal(b25.status, 400, b25.text);
      assert.equal(b25.json?.error?.code, -32600, b25.text);

      const unknown = await post(worker.url, request('ping'), { session: 'f'.repeat(32), protocolVersion: '2025-11-25' });
      assert.equal(unknown.status, 404);
    });

    it('DELETE ends a session: 204, then 404 for POST, GET and DELETE', T, async () => {
      const s = await openSession(worker.url);
      assert.equal((await ping(worker.url, s)).status, 200);
      const del = await send(worker.url, 'DELETE', { session: s.session, headers: { 'mcp-protocol-version': s.version } });
      await del.arrayBuffer();
      assert.equal(del.status, 204);
      const p = await ping(worker.url, s);
      assert.equal(p.status, 404, p.text);
      const g = await send(worker.url, 'GET', { session: s.session, accept: 'text/event-stream' });
      assert.equal((await readAnswer(g)).status, 404);
      const again = await send(worker.url, 'DELETE', { session: s.session });
      await again.arrayBuffer();
      assert.equal(again.status, 404);
    });

    it('two sessions are independent', T, async () => {
      const a = await openSession(worker.url, { protocolVersion: '2025-03-26' });
      const b = await openSession(worker.url, { protocolVersion: '2025-11-25' });
      assert.notEqual(a.session, b.session);
      assert.match(a.session, SESSION_ID_RE);
      assert.match(b.session, SESSION_ID_RE);

      const la = await call(worker.url, a, 'logging/setLevel', { level: 'debug' });
      assert.deepEqual(la.message.result, {});
      const lb = await call(worker.url, b, 'logging/setLevel', { level: 'emergency' });
      assert.deepEqual(lb.message.result, {});
      assert.equal(await echo(worker.url, a, 'from a'), 'from a');
      assert.equal(await echo(worker.url, b, 'from b'), 'from b');

      // Each session keeps its own negotiated version.
      assert.equal((await batch(worker.url, a)).status, 200);
      assert.equal((await batch(worker.url, b)).status, 400);

      // Ending one session leaves the other intact.
      const del = await send(worker.url, 'DELETE', { session: a.session });
      await del.arrayBuffer();
      assert.equal(del.status, 204);
      assert.equal((await ping(worker.url, a)).status, 404);
      const pb = await ping(worker.url, b);
      assert.equal(pb.status, 200, pb.text);
      assert.deepEqual(pb.message.result, {});
      await closeSession(worker.url, b.session);
      await closeSession(worker.url, s25?.session);
      await closeSession(worker.url, s03?.session);
    });
  });

  describe('MCP_SESSION_TTL_SECONDS=3', () => {
    let worker;

    before(async () => {
      worker = await startWorker({ vars: { MCP_SESSION_TTL_SECONDS: '3' } });
    }, { timeout: 150_000 });

    after(async () => {
      await worker?.stop();
    }, { timeout: 30_000 });

    it('an idle session expires: 404 (-32001) after 8 s without requests', { timeout: 60_000 }, async () => {
      const s = await openSession(worker.url);
      assert.equal((await ping(worker.url, s)).status, 200);
      await sleep(8_000);
      const gone = await ping(worker.url, s);
      assert.equal(gone.status, 404, `idle for 8 s with a 3 s TTL: ${gone.text}`);
      assert.equal(JSON.parse(gone.text).error?.code, -32001, gone.text);
      const g = await send(worker.url, 'GET', { session: s.session, accept: 'text/event-stream' });
      assert.equal((await readAnswer(g)).status, 404);
    });

    it('the alarm deletes an idle session\'s storage, with no request to prompt it', { timeout: 60_000 }, async () => {
      const dir = join(worker.persistTo, 'v3', 'do');
      const files = () => (existsSync(dir) ? readdirSync(dir).filter((d) => d.endsWith('-McpSession'))
        .flatMap((d) => readdirSync(join(dir, d)).filter((f) => f.endsWith('.sqlite')).map((f) => join(dir, d, f))) : []);
      const before = new Set(files());
      const s = await openSession(worker.url);
      assert.equal((await ping(worker.url, s)).status, 200);
      const created = files().filter((f) => !before.has(f));
      assert.equal(created.length, 1, 'the first request created the session\'s object');
      const rows = () => {
        if (!existsSync(created[0])) return 0;
        const db = new DatabaseSync(created[0], { readOnly: true });
        try {
          return db.prepare('SELECT count(*) AS n FROM _cf_KV').get().n;
        } catch {
          return 0; // no table: nothing stored
        } finally {
          db.close();
        }
      };
      assert.ok(rows() > 0, 'the session is stored');
      // Watch the object's storage, sending nothing: only the alarm can empty it.
      const deadline = Date.now() + 30_000;
      while (rows() > 0) {
        assert.ok(Date.now() < deadline, 'the alarm deleted the storage within 30 s of a 3 s idle time');
        await sleep(200);
      }
      const gone = await ping(worker.url, s);
      assert.equal(gone.status, 404, gone.text);
    });

    it('a session opened and never used goes stale after the idle time: 404 (-32001)', { timeout: 60_000 }, async () => {
      const s = await openSession(worker.url);
      await sleep(4_000);
      const gone = await ping(worker.url, s);
      assert.equal(gone.status, 404, `opened 4 s ago with a 3 s TTL, never used: ${gone.text}`);
      assert.equal(JSON.parse(gone.text).error?.code, -32001, gone.text);
      const late = await post(worker.url, notification('notifications/initialized'), { session: s.session, protocolVersion: s.version });
      assert.equal(late.status, 404, `a late notifications/initialized: ${late.text}`);
    });

    it('a session in use does not expire; it expires once left idle', { timeout: 60_000 }, async () => {
      const s = await openSession(worker.url);
      // A request every second for 8 s, well past the 3 s TTL.
      const started = Date.now();
      while (Date.now() - started < 8_000) {
        const p = await ping(worker.url, s);
        assert.equal(p.status, 200, `still in use ${Date.now() - started} ms after initialize: ${p.text}`);
        await sleep(1_000);
      }
      await sleep(8_000);
      const later = await ping(worker.url, s);
      assert.equal(later.status, 404, `idle for 8 s after its last request: ${later.text}`);
    });
  });
});
