// Streams that outlive their connection: keepalive comments on idle streams (MCP_KEEPALIVE_SECONDS), and a stream
// replayed from Durable Object storage after wrangler dev restarts (the object's memory is gone by then).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './support/worker.mjs';
import { openSession, parseSse, ACCEPT_BOTH } from './support/mcp.mjs';

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

describe('stream durability', { timeout: 300_000 }, () => {
  const vars = { MCP_FIXTURES: 'conformance', MCP_KEEPALIVE_SECONDS: '1', MCP_RESPONSE_MODE: 'sse' };
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

  it('a finished stream is replayed from storage after a restart, from any event id', { timeout: 240_000 }, async () => {
    const s = await openSession(worker.url);
    const headers = { 'Content-Type': 'application/json', Accept: ACCEPT_BOTH, 'mcp-session-id': s.session, 'mcp-protocol-version': s.version };
    const res = await fetch(`${worker.url}/mcp`, {
      method: 'POST', headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 'r1', method: 'tools/call', params: { name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: 7 } } }),
    });
    const original = parseSse(await res.text()).filter((e) => e.data);
    assert.equal(original.length, 4, JSON.stringify(original));
    // Give the object a moment to finish writing the events, then restart wrangler dev: memory is gone.
    await new Promise((r) => setTimeout(r, 500));
    worker = await worker.restart();

    const replay = await fetch(`${worker.url}/mcp`, { headers: { ...headers, Accept: 'text/event-stream', 'Last-Event-ID': original[0].id } });
    assert.equal(replay.status, 200);
    const replayed = parseSse(await replay.text()).filter((e) => e.data);
    assert.deepEqual(replayed.map((e) => e.id), original.slice(1).map((e) => e.id));
    assert.deepEqual(replayed.map((e) => JSON.parse(e.data)), original.slice(1).map((e) => JSON.parse(e.data)));
    assert.equal(JSON.parse(replayed.at(-1).data).id, 'r1');
  });

  it('stored events are bounded: the oldest streams are dropped (404 on resume), recent ones kept', { timeout: 120_000 }, async () => {
    const s = await openSession(worker.url);
    const headers = { 'Content-Type': 'application/json', Accept: ACCEPT_BOTH, 'mcp-session-id': s.session, 'mcp-protocol-version': s.version };
    const firstIds = [];
    // 101 SSE streams (MCP_RESPONSE_MODE=sse): one more than the object keeps.
    for (let i = 0; i < 101; i++) {
      const res = await fetch(`${worker.url}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'ping' }) });
      const events = parseSse(await res.text());
      firstIds.push(events[0].id);
    }
    const resume = (id) => fetch(`${worker.url}/mcp`, { headers: { ...headers, Accept: 'text/event-stream', 'Last-Event-ID': id } });
    const oldest = await resume(firstIds[0]);
    assert.equal(oldest.status, 404, await oldest.text());
    const newest = await resume(firstIds[100]);
    assert.equal(newest.status, 200);
    const replayed = parseSse(await newest.text()).filter((e) => e.data);
    assert.equal(JSON.parse(replayed[0].data).id, 100);
  });
});
