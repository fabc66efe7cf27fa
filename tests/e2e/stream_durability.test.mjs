// Streams that outlive their connection: keepalive comments on idle streams (MCP_KEEPALIVE_SECONDS), streams
// replayed from Durable Object storage after wrangler dev restarts (the object's memory is gone by then), the
// standalone GET stream resumed by the official SDK client across a restart, resumes whose events are gone,
// and sessions at 2025-03-26, which must never see an event with empty data (priming events are 2025-11-25).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startWorker } from './support/worker.mjs';
import { openSession, parseSse, ACCEPT_BOTH } from './support/mcp.mjs';
import { RPC, closeQuietly } from './support/sdk.mjs';

const WATCHED = 'test://watched-resource';

/** Reads a streaming body for `ms` milliseconds (or until it ends); returns the raw text. */
async function readFor(res, ms) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const stop = Date.now() + ms;
  try {
    while (Date.now() < stop) {
      const next = await Promise.race([reader.read(), new Promise((r) => setTimeout(() => r({ timeout: true }), stop - Date.now()))]);
      if (next.timeout || next.done) break;
      text += decoder.decode(next.value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text;
}

/**
 * Reads SSE events (all of them, empty data included) until `stop(events)` holds or the body ends; fails after
 * `timeoutMs`. Leaves the body open when `keepOpen`.
 */
async function readUntil(res, stop, { timeoutMs = 15_000, keepOpen = false } = {}) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(text)}`)), timeoutMs); });
  try {
    for (;;) {
      const { value, done } = await Promise.race([reader.read(), timeout]);
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (stop(parseSse(text.slice(0, text.lastIndexOf('\n\n') + 2)))) break;
    }
  } finally {
    clearTimeout(timer);
    if (!keepOpen) await reader.cancel().catch(() => {});
  }
  return parseSse(text.slice(0, text.lastIndexOf('\n\n') + 2));
}

const isEmpty = (e) => e.data === undefined || e.data === '';

/** Key and value sizes of the stored keys starting with `prefix`, read from the Durable Objects' SQLite files. */
function storedSizes(persistTo, prefix) {
  const files = readdirSync(persistTo, { recursive: true }).filter((f) => String(f).endsWith('.sqlite'));
  const rows = [];
  for (const file of files) {
    const db = new DatabaseSync(join(persistTo, String(file)), { readOnly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_cf_KV'").all();
      if (tables.length) rows.push(...db.prepare('SELECT key, length(value) AS bytes FROM _cf_KV WHERE key >= ? AND key < ?').all(prefix, `${prefix}\uffff`));
    } finally {
      db.close();
    }
  }
  return rows;
}

function rpc(id, method, params) {
  return JSON.stringify({ jsonrpc: '2.0', id, method, params });
}

/** Headers of raw requests in session `s`. */
function sessionHeaders(s) {
  return { 'Content-Type': 'application/json', Accept: ACCEPT_BOTH, 'mcp-session-id': s.session, 'mcp-protocol-version': s.version };
}

/** An SDK client whose GET stream reconnects for real; `pin` makes its initialize ask for that revision. */
async function sdkClient(url, { pin, maxRetries = 60 } = {}) {
  const gets = [];
  const waiters = [];
  const recordingFetch = async (input, init) => {
    const res = await fetch(input, init);
    const method = init?.method ?? 'GET';
    const headers = new Headers(init?.headers);
    const exchange = { method, status: res.status, contentType: res.headers.get('content-type'), lastEventId: headers.get('last-event-id') };
    if (method === 'GET') gets.push(exchange);
    for (const w of waiters.splice(0)) w();
    return res;
  };
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    fetch: recordingFetch,
    reconnectionOptions: { initialReconnectionDelay: 500, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1, maxRetries },
  });
  if (pin) {
    const send = transport.send.bind(transport);
    transport.send = (message, options) => send(
      message.method === 'initialize' ? { ...message, params: { ...message.params, protocolVersion: pin } } : message,
      options,
    );
  }
  const client = new Client({ name: 'e2e-durability-client', version: '1.0.0' });
  const updates = [];
  const updateWaiters = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    updates.push(n.params.uri);
    for (const w of updateWaiters.splice(0)) w();
  });
  await client.connect(transport, RPC);
  /** Resolves once a GET matching `pred` got an answer. */
  const getAnswered = async (pred) => {
    while (!gets.some(pred)) await new Promise((r) => waiters.push(r));
    return gets.find(pred);
  };
  /** Resolves once `n` resource updates arrived. */
  const updatesReach = async (n) => {
    while (updates.length < n) await new Promise((r) => updateWaiters.push(r));
  };
  return { client, transport, gets, updates, getAnswered, updatesReach };
}

/** Rejects after `ms`, with `what` in the message. */
function within(ms, what, promise) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(timer));
}

describe('stream durability', { timeout: 600_000 }, () => {
  // Without the audit log: the object's streams go to the runtime untouched (see src/worker/mod.rs, `respond`).
  const vars = { MCP_FIXTURES: 'conformance', MCP_KEEPALIVE_SECONDS: '1', MCP_RESPONSE_MODE: 'sse', MCP_LOG_LEVEL: 'off' };
  let worker;
  before(async () => { worker = await startWorker({ vars }); }, { timeout: 150_000 });
  after(async () => { await worker?.stop(); }, { timeout: 30_000 });

  it('idle GET and /sse streams carry ": keepalive" comments', { timeout: 30_000 }, async () => {
    const s = await openSession(worker.url);
    const get = await fetch(`${worker.url}/mcp`, { headers: { Accept: 'text/event-stream', 'mcp-session-id': s.session, 'mcp-protocol-version': s.version } });
    const text = await readFor(get, 2600);
    assert.ok((text.match(/^: keepalive$/gm) ?? []).length >= 2, JSON.stringify(text));
    const legacy = await fetch(`${worker.url}/sse`, { headers: { Accept: 'text/event-stream' } });
    const legacyText = await readFor(legacy, 2600);
    assert.match(legacyText, /^event: endpoint$/m);
    assert.ok((legacyText.match(/^: keepalive$/gm) ?? []).length >= 2, JSON.stringify(legacyText));
  });

  it('a 2025-03-26 session never gets an event with empty data: POST, GET and resumed streams', { timeout: 60_000 }, async () => {
    const s = await openSession(worker.url, { protocolVersion: '2025-03-26' });
    assert.equal(s.version, '2025-03-26');
    const headers = sessionHeaders(s);
    const call = (id, name, extra = {}) => fetch(`${worker.url}/mcp`, {
      method: 'POST', headers, body: rpc(id, 'tools/call', { name, arguments: {}, ...extra }),
    });
    // A POST stream (MCP_RESPONSE_MODE=sse) with notifications before its answer.
    const progress = parseSse(await (await call('p', 'test_tool_with_progress', { _meta: { progressToken: 1 } })).text());
    assert.equal(progress.length, 4, JSON.stringify(progress));
    assert.ok(progress.every((e) => !isEmpty(e) && /^[0-9a-f]{16}-\d+$/.test(e.id)), JSON.stringify(progress));
    // test_reconnection closes its stream early only for 2025-11-25 sessions: here the answer comes on it.
    const reconnection = parseSse(await (await call('c', 'test_reconnection')).text());
    assert.ok(reconnection.every((e) => !isEmpty(e)), JSON.stringify(reconnection));
    assert.equal(JSON.parse(reconnection.at(-1).data).id, 'c');
    // A resumed POST stream.
    const resumed = parseSse(await (await fetch(`${worker.url}/mcp`, { headers: { ...headers, 'Last-Event-ID': progress[0].id } })).text());
    assert.deepEqual(resumed.map((e) => e.id), progress.slice(1).map((e) => e.id));
    assert.ok(resumed.every((e) => !isEmpty(e)));
    // The GET stream, and a resume whose events are gone (a fresh GET stream): a session notification reaches
    // each, with nothing empty before it.
    const subscribed = await fetch(`${worker.url}/mcp`, { method: 'POST', headers, body: rpc('s', 'resources/subscribe', { uri: WATCHED }) });
    assert.equal(subscribed.status, 200, await subscribed.text());
    for (const extra of [{}, { 'Last-Event-ID': 'ffffffffffffffff-9' }]) {
      const get = await fetch(`${worker.url}/mcp`, { headers: { ...headers, Accept: 'text/event-stream', ...extra } });
      assert.equal(get.status, 200);
      const reading = readUntil(get, (evs) => evs.some((e) => !isEmpty(e)));
      await (await call('u', 'test_update_watched_resource')).text();
      const events = await reading;
      assert.ok(events.every((e) => !isEmpty(e)), JSON.stringify(events));
      assert.equal(JSON.parse(events[0].data).method, 'notifications/resources/updated');
      assert.match(events[0].id, /^[0-9a-f]{16}-1$/, 'numbered, so it can be resumed');
    }
  });

  it('the SDK client pinned to 2025-03-26 completes tool calls in SSE response mode', { timeout: 60_000 }, async () => {
    const sdk = await sdkClient(worker.url, { pin: '2025-03-26', maxRetries: 0 });
    try {
      assert.equal(sdk.transport.protocolVersion, '2025-03-26');
      const simple = await sdk.client.callTool({ name: 'test_simple_text', arguments: {} }, undefined, RPC);
      assert.match(simple.content[0].text, /simple text response/);
      const progress = [];
      const withProgress = await sdk.client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, { ...RPC, onprogress: (p) => progress.push(p.progress) });
      assert.equal(withProgress.isError, undefined);
      assert.deepEqual(progress, [0, 50, 100]);
      const reconnection = await sdk.client.callTool({ name: 'test_reconnection', arguments: {} }, undefined, RPC);
      assert.match(reconnection.content[0].text, /Reconnection test completed/);
    } finally {
      await closeQuietly(sdk.client);
    }
  });

  it('a Last-Event-ID of 10 KB is refused with 400', { timeout: 30_000 }, async () => {
    const s = await openSession(worker.url);
    const res = await fetch(`${worker.url}/mcp`, { headers: { ...sessionHeaders(s), Accept: 'text/event-stream', 'Last-Event-ID': `${'a'.repeat(10_240)}-1` } });
    assert.equal(res.status, 400, await res.text());
  });

  it('finished streams, one holding a 3 MB result, are replayed from storage after a restart, from any event id', { timeout: 240_000 }, async () => {
    const s = await openSession(worker.url);
    const headers = sessionHeaders(s);
    const res = await fetch(`${worker.url}/mcp`, {
      method: 'POST', headers,
      body: rpc('r1', 'tools/call', { name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: 7 } }),
    });
    const original = parseSse(await res.text()).filter((e) => e.data);
    assert.equal(original.length, 4, JSON.stringify(original));
    const size = 3_000_000;
    const large = await fetch(`${worker.url}/mcp`, { method: 'POST', headers, body: rpc('big', 'tools/call', { name: 'test_large_result', arguments: { size } }) });
    const largeEvents = parseSse(await large.text());
    const largeAnswer = largeEvents.filter((e) => e.data);
    assert.equal(largeAnswer.length, 1);
    const text = JSON.parse(largeAnswer[0].data).result.content[0].text;
    assert.equal(text.length, size);
    // Wait until the object has written both streams' events (it stores them after sending), then restart
    // wrangler dev: memory is gone.
    const streamOf = (events) => events.find((e) => e.id)?.id.split('-')[0];
    const bytesStored = (stream) => storedSizes(worker.persistTo, `ev:${stream}:`).reduce((n, p) => n + p.bytes, 0);
    const deadline = Date.now() + 30_000;
    while (storedSizes(worker.persistTo, `ev:${streamOf(original)}:`).length < original.length || bytesStored(streamOf(largeEvents)) < size) {
      assert.ok(Date.now() < deadline, 'the events were stored within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    worker = await worker.restart();
    // Stored in parts, each within a Durable Object value's 2 MB (wrangler dev itself does not enforce it).
    const parts = storedSizes(worker.persistTo, `ev:${largeEvents[0].id.split('-')[0]}:`);
    assert.ok(parts.length >= 6, JSON.stringify(parts));
    assert.ok(parts.every((p) => p.key.length + p.bytes < 2_000_000), JSON.stringify(parts));

    const replay = await fetch(`${worker.url}/mcp`, { headers: { ...headers, Accept: 'text/event-stream', 'Last-Event-ID': original[0].id } });
    assert.equal(replay.status, 200);
    const replayed = parseSse(await replay.text()).filter((e) => e.data);
    assert.deepEqual(replayed.map((e) => e.id), original.slice(1).map((e) => e.id));
    assert.deepEqual(replayed.map((e) => JSON.parse(e.data)), original.slice(1).map((e) => JSON.parse(e.data)));
    assert.equal(JSON.parse(replayed.at(-1).data).id, 'r1');

    const largeReplay = await fetch(`${worker.url}/mcp`, { headers: { ...headers, Accept: 'text/event-stream', 'Last-Event-ID': largeEvents[0].id } });
    assert.equal(largeReplay.status, 200);
    const again = parseSse(await largeReplay.text()).filter((e) => e.data);
    assert.equal(again.length, 1, 'the whole answer, once');
    assert.equal(again[0].id, largeAnswer[0].id);
    const message = JSON.parse(again[0].data);
    assert.equal(message.id, 'big');
    assert.equal(message.result.content[0].text, text, 'every byte, in order');
  });

  it('stored events are bounded: the oldest streams are dropped (a resume then gets a fresh stream, not 404), recent ones kept', { timeout: 120_000 }, async () => {
    const s = await openSession(worker.url);
    const headers = sessionHeaders(s);
    const firstIds = [];
    // 101 SSE streams (MCP_RESPONSE_MODE=sse): one more than the object keeps.
    for (let i = 0; i < 101; i++) {
      const res = await fetch(`${worker.url}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'ping' }) });
      const events = parseSse(await res.text());
      firstIds.push(events[0].id);
    }
    const resume = (id) => fetch(`${worker.url}/mcp`, { headers: { ...headers, Accept: 'text/event-stream', 'Last-Event-ID': id } });
    const oldest = await resume(firstIds[0]);
    assert.equal(oldest.status, 200, 'a live session never answers 404 to a resume');
    assert.match(oldest.headers.get('content-type'), /^text\/event-stream/);
    const fresh = await readUntil(oldest, (evs) => evs.length > 0);
    assert.equal(fresh.length, 1, JSON.stringify(fresh));
    assert.ok(isEmpty(fresh[0]), 'a fresh stream: only its priming event');
    assert.notEqual(fresh[0].id.split('-')[0], firstIds[0].split('-')[0], 'another stream');
    assert.equal(fresh[0].id.split('-')[1], '0');
    const newest = await resume(firstIds[100]);
    assert.equal(newest.status, 200);
    const replayed = parseSse(await newest.text()).filter((e) => e.data);
    assert.equal(JSON.parse(replayed[0].data).id, 100);
  });

  it('the SDK client (reconnection on) keeps getting notifications on its GET stream across a restart', { timeout: 240_000 }, async () => {
    const sdk = await sdkClient(worker.url);
    try {
      const first = await within(15_000, 'the GET stream', sdk.getAnswered((g) => g.status === 200));
      assert.equal(first.lastEventId, null);
      await sdk.client.subscribeResource({ uri: WATCHED }, RPC);
      await sdk.client.callTool({ name: 'test_update_watched_resource', arguments: {} }, undefined, RPC);
      await within(15_000, 'the first update', sdk.updatesReach(1));
      const before = sdk.gets.length;

      worker = await worker.restart({ samePort: true });
      // The SDK notices the cut, and resumes its GET stream with Last-Event-ID once the worker is back.
      const resumed = await within(120_000, 'the resumed GET stream', sdk.getAnswered((g) => sdk.gets.indexOf(g) >= before && g.status === 200));
      assert.match(resumed.lastEventId ?? '', /^[0-9a-f]{16}-1$/, 'resumed after the first update, which came on the GET stream');
      await sdk.client.callTool({ name: 'test_update_watched_resource', arguments: {} }, undefined, RPC);
      await within(15_000, 'the update after the restart', sdk.updatesReach(2));
      assert.deepEqual(sdk.updates, [WATCHED, WATCHED]);
    } finally {
      await closeQuietly(sdk.client);
    }
  });
});
