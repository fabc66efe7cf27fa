// The stateless revision 2026-07-28 on /mcp, beside the session revisions, on one worker (MCP_FIXTURES=conformance,
// two API keys so callers differ): the TypeScript SDK v2 client pinned to the revision and in 'auto' mode (search,
// fetch, input-required round trips answered by its own handlers), the sealed requestState refused when edited,
// replayed by another caller, on another tool or as another method, a thousand stateless calls that create no
// Durable Object and write no storage (with the detector shown to see a session's object), the wire's answers to
// a half-modern request, a modern initialize and a modern notification, and the v1 SDK client still opening a
// session on the same endpoint.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startWorker } from './support/worker.mjs';
import {
  post, request, notification, openSession, call, closeSession, loadDocuments, searchBounds, readAnswer,
} from './support/mcp.mjs';
import { connectSdk, closeQuietly, RPC } from './support/sdk.mjs';

const T = { timeout: 60_000 };
const MODERN = '2026-07-28';
const META = {
  version: 'io.modelcontextprotocol/protocolVersion',
  capabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
};
const KEY_ALICE = `alice-${randomBytes(16).toString('hex')}`;
const KEY_BOB = `bob-${randomBytes(16).toString('hex')}`;
const ALICE = { authorization: `Bearer ${KEY_ALICE}` };
const BOB = { authorization: `Bearer ${KEY_BOB}` };
const DOCS = loadDocuments();

/** The `_meta` every modern request carries. */
function modernMeta(capabilities = {}) {
  return {
    [META.version]: MODERN,
    [META.capabilities]: capabilities,
    [META.clientInfo]: { name: 'e2e-raw-stateless', version: '1.0.0' },
  };
}

/**
 * POSTs one modern request without a session: the `_meta` claim in the body, and the headers the revision
 * requires (MCP-Protocol-Version, Mcp-Method, Mcp-Name for the methods that name something).
 */
function modern(url, method, params = {}, { capabilities = {}, headers = {} } = {}) {
  const body = request(method, { ...params, _meta: modernMeta(capabilities) });
  const h = { 'mcp-protocol-version': MODERN, 'mcp-method': method };
  const name = method === 'resources/read' ? params.uri : params.name;
  if (name !== undefined) h['mcp-name'] = name;
  return post(url, body, { headers: { ...h, ...headers } }).then((answer) => ({ answer, body }));
}

/** The one JSON-RPC message a JSON answer carries, after checking it answers `body`'s id. */
function messageOf({ answer, body }) {
  assert.match(answer.contentType, /^application\/json/, `${answer.status} ${answer.contentType}: ${answer.text}`);
  assert.equal(answer.messages.length, 1, answer.text);
  const [message] = answer.messages;
  assert.equal(message.id, body.id, `answers the request's id: ${answer.text}`);
  return message;
}

/** Text of a tool result's single text item. */
function onlyText(result) {
  const texts = (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text);
  assert.equal(texts.length, 1, JSON.stringify(result));
  return texts[0];
}

/**
 * A v2 SDK client (`@modelcontextprotocol/client`) connected to `${url}/mcp` with an API key, recording every HTTP
 * exchange: its headers, the JSON-RPC method of its body, and the session id the answer carried.
 * @param {string} url
 * @param {{mode: 'auto'|{pin: string}, headers?: Record<string,string>, capabilities?: object}} opts
 */
async function connectV2(url, { mode, headers = ALICE, capabilities = {} }) {
  const exchanges = [];
  const recordingFetch = async (input, init) => {
    const res = await fetch(input, init);
    const sent = new Headers(init?.headers);
    let body;
    try {
      body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    } catch {}
    exchanges.push({
      httpMethod: init?.method ?? 'GET',
      status: res.status,
      method: body?.method,
      body,
      mcpMethod: sent.get('mcp-method'),
      mcpName: sent.get('mcp-name'),
      protocolVersion: sent.get('mcp-protocol-version'),
      sessionId: sent.get('mcp-session-id'),
      answeredSession: res.headers.get('mcp-session-id'),
    });
    return res;
  };
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    fetch: recordingFetch,
    requestInit: { headers },
    reconnectionOptions: { maxReconnectionDelay: 1000, initialReconnectionDelay: 500, reconnectionDelayGrowFactor: 1, maxRetries: 0 },
  });
  const client = new Client(
    { name: 'e2e-v2-client', version: '1.0.0' },
    { versionNegotiation: { mode, probe: { timeoutMs: 10_000 } }, capabilities },
  );
  const errors = [];
  client.onerror = (e) => errors.push(e);
  return { client, transport, exchanges, errors, connect: () => client.connect(transport, RPC) };
}

/** Asserts that a v2 client speaks the stateless revision: no initialize, no session, the modern headers. */
function assertStatelessWire(v2) {
  assert.equal(v2.client.getProtocolEra(), 'modern', `era ${v2.client.getProtocolEra()}, version ${v2.client.getNegotiatedProtocolVersion()}`);
  assert.equal(v2.client.getNegotiatedProtocolVersion(), MODERN);
  assert.equal(v2.transport.sessionId, undefined, 'no Mcp-Session-Id on the stateless wire');
  const posts = v2.exchanges.filter((x) => x.httpMethod === 'POST');
  assert.ok(posts.length > 0);
  assert.deepEqual(posts.filter((x) => x.method === 'initialize' || x.method === 'notifications/initialized'), [],
    'the client never fell back to initialize');
  assert.deepEqual(v2.exchanges.filter((x) => x.httpMethod !== 'POST').map((x) => x.httpMethod), [], 'no GET or DELETE');
  for (const x of posts) {
    assert.equal(x.protocolVersion, MODERN, `${x.method}: MCP-Protocol-Version`);
    assert.equal(x.sessionId, null, `${x.method}: no session id sent`);
    assert.equal(x.answeredSession, null, `${x.method}: no session id answered`);
    assert.equal(x.body?.params?._meta?.[META.version], MODERN, `${x.method}: the _meta claim`);
  }
}

/** search → fetch through a connected v2 client; asserts both against data/documents.json. */
async function searchThenFetch(client) {
  const query = 'Durable Object';
  const { required, allowed } = searchBounds(DOCS, query);
  assert.ok(required.size > 0, `some document matches "${query}"`);
  const found = await client.callTool({ name: 'search', arguments: { query } }, RPC);
  assert.notEqual(found.isError, true, JSON.stringify(found));
  assert.deepEqual(JSON.parse(onlyText(found)), found.structuredContent, 'structuredContent equals the text JSON');
  const ids = found.structuredContent.results.map((r) => r.id);
  for (const id of required) assert.ok(ids.includes(id), `search "${query}" finds ${id}; got ${ids}`);
  for (const id of ids) assert.ok(allowed.has(id), `search "${query}" returned unrelated ${id}`);

  const id = ids.find((i) => required.has(i));
  const doc = DOCS.find((d) => d.id === id);
  const fetched = await client.callTool({ name: 'fetch', arguments: { id } }, RPC);
  assert.notEqual(fetched.isError, true, JSON.stringify(fetched));
  const expected = { id: doc.id, title: doc.title, text: doc.text, url: doc.url };
  if (doc.metadata !== undefined) expected.metadata = doc.metadata;
  assert.deepEqual(JSON.parse(onlyText(fetched)), expected, `fetch ${id} returns the document`);
  assert.deepEqual(fetched.structuredContent, expected);
}

/**
 * What wrangler dev keeps under its state directory (`--persist-to`): every file under v3/ (Durable Objects in
 * v3/do/<script>-<class>/<object id>.sqlite, KV, cache, ...) with its size and, except SQLite's shared-memory
 * index (which readers write too), a digest of its contents. Traces (v3/observability) change with every request
 * and are left out.
 */
function storageSnapshot(persistTo) {
  const root = join(persistTo, 'v3');
  const files = new Map();
  const gone = (e) => { if (e?.code !== 'ENOENT') throw e; };
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      return gone(e);
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const rel = relative(root, path);
      if (rel === 'observability') continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        try {
          const size = statSync(path).size;
          const digest = path.endsWith('-shm') ? undefined : createHash('sha256').update(readFileSync(path)).digest('hex');
          files.set(rel, { size, digest });
        } catch (e) {
          gone(e); // removed while we looked (a journal): absent from the snapshot
        }
      }
    }
  };
  walk(root);
  return files;
}

/** What changed between two snapshots: files added, files whose size or contents changed, files removed. */
function storageChanges(before, after) {
  const added = [...after.keys()].filter((f) => !before.has(f));
  const removed = [...before.keys()].filter((f) => !after.has(f));
  const changed = [...after.keys()].filter((f) => before.has(f)
    && (before.get(f).size !== after.get(f).size || before.get(f).digest !== after.get(f).digest));
  return { added, changed, removed };
}

/** The part of a snapshot that holds Durable Objects. */
const objectsOnly = (snapshot) => new Map([...snapshot].filter(([f]) => f.startsWith('do/')));

/** SQLite files of McpSession objects (one per session that reached its object). */
const sessionObjects = (snapshot) => [...snapshot.keys()].filter((f) => /^do\/[^/]*-McpSession\/[0-9a-f]{64}\.sqlite$/.test(f));

describe(`stateless revision ${MODERN} beside sessions (MCP_FIXTURES=conformance, MCP_API_KEYS=alice:…,bob:…)`, { timeout: 600_000 }, () => {
  let worker;
  let url;
  let initialStorage;

  before(async () => {
    worker = await startWorker({ vars: { MCP_FIXTURES: 'conformance', MCP_API_KEYS: `alice:${KEY_ALICE},bob:${KEY_BOB}` } });
    url = worker.url;
    initialStorage = storageSnapshot(worker.persistTo);
  }, { timeout: 150_000 });
  after(async () => { await worker?.stop(); }, { timeout: 30_000 });

  describe('v2 SDK client pinned to 2026-07-28', () => {
    it('lists tools, then search → fetch returns the document', T, async () => {
      const v2 = await connectV2(url, { mode: { pin: MODERN } });
      try {
        await v2.connect();
        assert.equal(v2.exchanges[0].method, 'server/discover', 'connect probes server/discover');
        assert.ok(v2.client.getDiscoverResult()?.supportedVersions.includes(MODERN));
        const { tools } = await v2.client.listTools(undefined, { ...RPC, cacheMode: 'refresh' });
        const names = tools.map((t) => t.name);
        for (const name of ['search', 'fetch', 'echo', 'test_input_required_result_elicitation', 'test_input_required_result_multi_round']) {
          assert.ok(names.includes(name), `${name} listed: ${names.join(', ')}`);
        }
        assert.ok(v2.exchanges.some((x) => x.method === 'tools/list'), 'tools/list went to the wire');
        await searchThenFetch(v2.client);
        const calls = v2.exchanges.filter((x) => x.method === 'tools/call');
        assert.deepEqual(calls.map((x) => [x.status, x.mcpMethod, x.mcpName]), [[200, 'tools/call', 'search'], [200, 'tools/call', 'fetch']]);
        assertStatelessWire(v2);
        assert.deepEqual(v2.errors, []);
      } finally {
        await closeQuietly(v2.client);
      }
    });

    it('an elicitation asked by a tool is answered by the client\'s handler: "Hello, <name>!"', T, async () => {
      const v2 = await connectV2(url, { mode: { pin: MODERN }, capabilities: { elicitation: { form: {} } } });
      const name = `Ada-${randomBytes(4).toString('hex')}`;
      const asked = [];
      v2.client.setRequestHandler('elicitation/create', async (req) => {
        asked.push(req.params);
        return { action: 'accept', content: { name } };
      });
      try {
        await v2.connect();
        const result = await v2.client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} }, RPC);
        assert.notEqual(result.isError, true, JSON.stringify(result));
        assert.equal(onlyText(result), `Hello, ${name}!`);
        assert.equal(asked.length, 1, `the handler was called once: ${JSON.stringify(asked)}`);
        assert.equal(asked[0].message, 'What is your name?');
        assert.deepEqual(asked[0].requestedSchema.required, ['name']);

        // Two POSTs: the first answered input_required, the retry carried the answer and the sealed state.
        const calls = v2.exchanges.filter((x) => x.method === 'tools/call');
        assert.equal(calls.length, 2, JSON.stringify(calls.map((x) => x.body)));
        assert.equal(calls[0].body.params.requestState, undefined);
        assert.equal(typeof calls[1].body.params.requestState, 'string');
        assert.deepEqual(calls[1].body.params.inputResponses, { user_name: { action: 'accept', content: { name } } });
        assert.notEqual(calls[1].body.id, calls[0].body.id, 'the retry is a new request');
        assert.ok(calls[1].body.params._meta[META.capabilities].elicitation, 'the retry declares elicitation');
        assertStatelessWire(v2);
      } finally {
        await closeQuietly(v2.client);
      }
    });

    it('a two-round tool completes with both answers', T, async () => {
      const v2 = await connectV2(url, { mode: { pin: MODERN }, capabilities: { elicitation: { form: {} } } });
      const asked = [];
      v2.client.setRequestHandler('elicitation/create', async (req) => {
        asked.push(req.params);
        const [field] = Object.keys(req.params.requestedSchema.properties);
        return { action: 'accept', content: { [field]: field === 'name' ? 'Grace' : 'teal' } };
      });
      try {
        await v2.connect();
        const result = await v2.client.callTool({ name: 'test_input_required_result_multi_round', arguments: {} }, RPC);
        assert.notEqual(result.isError, true, JSON.stringify(result));
        assert.equal(onlyText(result), 'Multi-round complete for Grace who likes teal');
        assert.deepEqual(asked.map((p) => Object.keys(p.requestedSchema.properties)), [['name'], ['color']]);
        assert.equal(asked[1].message, 'Grace, your favourite colour?', 'the second question knows the first answer');
        const calls = v2.exchanges.filter((x) => x.method === 'tools/call');
        assert.equal(calls.length, 3, 'three rounds');
        assert.deepEqual(calls.map((x) => Object.keys(x.body.params.inputResponses ?? {})), [[], ['step1'], ['step2']],
          'each retry carries only the new answer; the earlier one travels in requestState');
        assert.notEqual(calls[1].body.params.requestState, calls[2].body.params.requestState, 'a new state each round');
        assertStatelessWire(v2);
      } finally {
        await closeQuietly(v2.client);
      }
    });
  });

  it('a listen stream (v2 SDK client) hears a tool-list change another client makes, and only the kinds it asked for', T, async () => {
    const listener = await connectV2(url, { mode: { pin: MODERN } });
    const trigger = await connectV2(url, { mode: { pin: MODERN }, headers: BOB });
    try {
      await listener.connect();
      await trigger.connect();
      const heard = [];
      let toolsChanged;
      const changed = new Promise((resolve) => { toolsChanged = resolve; });
      listener.client.setNotificationHandler('notifications/tools/list_changed', (n) => { heard.push(n); toolsChanged(n); });
      listener.client.setNotificationHandler('notifications/prompts/list_changed', (n) => { heard.push(n); });
      const sub = await listener.client.listen({ toolsListChanged: true }, { timeout: 15_000 });
      assert.deepEqual(sub.honoredFilter, { toolsListChanged: true });
      // A prompt change is not asked for; a tool change is. The prompt change goes first, so hearing the tool
      // change proves the prompt change was filtered out rather than still on its way.
      for (const name of ['test_trigger_prompt_change', 'test_trigger_tool_change']) {
        const result = await trigger.client.callTool({ name, arguments: {} }, RPC);
        assert.equal(onlyText(result), 'Mutation triggered');
      }
      const notification = await changed;
      const listenPost = listener.exchanges.find((x) => x.method === 'subscriptions/listen');
      assert.equal(notification.params?._meta?.[META.subscriptionId], listenPost.body.id, 'tagged with the listen id');
      assert.deepEqual(heard.map((n) => n.method), ['notifications/tools/list_changed']);
      await sub.close();
      assert.equal(await sub.closed, 'local');
      assert.deepEqual(listener.errors, []);
    } finally {
      await closeQuietly(listener.client);
      await closeQuietly(trigger.client);
    }
  });

  it('v2 SDK client in auto mode settles on the modern era; search → fetch works', T, async () => {
    const v2 = await connectV2(url, { mode: 'auto' });
    try {
      await v2.connect();
      assert.equal(v2.client.getProtocolEra(), 'modern', 'auto did not fall back to initialize');
      assert.equal(v2.exchanges[0].method, 'server/discover');
      assert.equal(v2.exchanges[0].status, 200);
      assert.deepEqual(v2.client.getServerVersion(), v2.client.getDiscoverResult()._meta?.[META.serverInfo]);
      assert.equal(v2.client.getServerVersion()?.name, 'mcp-worker');
      await searchThenFetch(v2.client);
      assertStatelessWire(v2);
    } finally {
      await closeQuietly(v2.client);
    }
  });

  describe('requestState on the wire', () => {
    const TOOL = 'test_input_required_result_request_state';
    const ELICIT = { elicitation: {} };
    const CONFIRM = { confirm: { action: 'accept', content: { ok: true } } };
    let first;

    /** A first round, as alice: an input_required result with a state. */
    async function firstRound(url, name = TOOL) {
      const message = messageOf(await modern(url, 'tools/call', { name, arguments: {} }, { capabilities: ELICIT, headers: ALICE }));
      assert.equal(message.result?.resultType, 'input_required', JSON.stringify(message));
      assert.deepEqual(Object.keys(message.result.inputRequests), ['confirm']);
      assert.equal(message.result.inputRequests.confirm.method, 'elicitation/create');
      assert.equal(typeof message.result.requestState, 'string');
      return message.result;
    }

    /** Asserts a refused state: HTTP 200, a JSON-RPC -32602 error about requestState, no result (no new question). */
    function assertRefused(sent, what) {
      assert.equal(sent.answer.status, 200, `${what}: ${sent.answer.text}`);
      const message = messageOf(sent);
      assert.equal(message.error?.code, -32602, `${what}: ${sent.answer.text}`);
      assert.match(message.error.message, /requestState/, what);
      assert.equal(message.result, undefined, `${what}: not a new input request`);
    }

    before(async () => { first = await firstRound(url); });

    it('the state from a first round completes the request for the same caller (control)', T, async () => {
      const sent = await modern(url, 'tools/call',
        { name: TOOL, arguments: {}, inputResponses: CONFIRM, requestState: first.requestState },
        { capabilities: ELICIT, headers: ALICE });
      assert.equal(sent.answer.status, 200, sent.answer.text);
      const message = messageOf(sent);
      assert.equal(message.result?.resultType, 'complete', sent.answer.text);
      assert.equal(onlyText(message.result), 'state-ok: confirmed=true');
    });

    it('a tampered state ("-TAMPERED" appended) is a -32602 error, not a new question', T, async () => {
      assertRefused(await modern(url, 'tools/call',
        { name: TOOL, arguments: {}, inputResponses: CONFIRM, requestState: `${first.requestState}-TAMPERED` },
        { capabilities: ELICIT, headers: ALICE }), 'tampered');
    });

    it('alice\'s state replayed by bob is refused', T, async () => {
      assertRefused(await modern(url, 'tools/call',
        { name: TOOL, arguments: {}, inputResponses: CONFIRM, requestState: first.requestState },
        { capabilities: ELICIT, headers: BOB }), 'bob replays alice\'s state');
    });

    it('a state replayed on another tool (same arguments) is refused', T, async () => {
      const other = 'test_input_required_result_tampered_state';
      // Without the state the other tool asks its question: the refusal below is the state's doing.
      await firstRound(url, other);
      assertRefused(await modern(url, 'tools/call',
        { name: other, arguments: {}, inputResponses: CONFIRM, requestState: first.requestState },
        { capabilities: ELICIT, headers: ALICE }), 'state of another tool');
    });

    it('a tools/call state replayed as prompts/get is refused', T, async () => {
      const prompt = 'test_input_required_result_prompt';
      const fresh = messageOf(await modern(url, 'prompts/get', { name: prompt }, { capabilities: ELICIT, headers: ALICE }));
      assert.equal(fresh.result?.resultType, 'input_required', `the prompt asks without a state: ${JSON.stringify(fresh)}`);
      const answers = { user_context: { action: 'accept', content: { context: 'x' } } };
      assertRefused(await modern(url, 'prompts/get',
        { name: prompt, inputResponses: answers, requestState: first.requestState },
        { capabilities: ELICIT, headers: ALICE }), 'prompts/get with a tools/call state');
      // The same method and params as the state's, with only the method changed.
      assertRefused(await modern(url, 'prompts/get',
        { name: TOOL, arguments: {}, inputResponses: CONFIRM, requestState: first.requestState },
        { capabilities: ELICIT, headers: ALICE }), 'prompts/get with the tool\'s own params');
    });
  });

  it('a thousand stateless calls create no Durable Object and write no storage; a session\'s object is seen', { timeout: 300_000 }, async () => {
    const sofar = storageSnapshot(worker.persistTo);
    assert.deepEqual(sessionObjects(sofar), [], 'no stateless request of this file so far created a session object');
    // The listen test opened a stream on the listen hub, the one Durable Object of the stateless lane (outside
    // the path of ordinary calls); no other object may have been touched.
    const notHub = (snapshot) => new Map([...objectsOnly(snapshot)].filter(([f]) => !f.startsWith('do/mcp-worker-rs-ListenHub/')));
    assert.deepEqual(storageChanges(notHub(initialStorage), notHub(sofar)), { added: [], changed: [], removed: [] },
      'no stateless request of this file so far touched Durable Object storage, the listen hub aside');

    // The first read of the DOCUMENTS KV namespace makes miniflare create its (empty) database: a read, done
    // before the baseline so that only writes can show.
    const warm = messageOf(await modern(url, 'tools/call', { name: 'search', arguments: { query: 'session' } }, { headers: ALICE }));
    assert.equal(warm.result?.resultType, 'complete', JSON.stringify(warm));
    const before = storageSnapshot(worker.persistTo);

    const TOTAL = 1000;
    const CONCURRENCY = 10;
    const wrong = [];
    let next = 0;
    const runner = async () => {
      while (next < TOTAL) {
        const i = next++;
        const message = `stateless #${i} ${randomBytes(4).toString('hex')}`;
        const sent = await modern(url, 'tools/call', { name: 'echo', arguments: { message } }, { headers: i % 2 ? BOB : ALICE });
        const m = sent.answer.messages[0];
        const ok = sent.answer.status === 200 && sent.answer.messages.length === 1 && m.id === sent.body.id
          && m.result?.resultType === 'complete' && m.result.content?.[0]?.text === message && m.result.isError !== true;
        if (!ok) wrong.push(`#${i}: ${sent.answer.status} ${sent.answer.text}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, runner));
    assert.equal(next, TOTAL);
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${TOTAL} answers were wrong`);

    const afterCalls = storageSnapshot(worker.persistTo);
    assert.deepEqual(storageChanges(before, afterCalls), { added: [], changed: [], removed: [] },
      `${TOTAL} stateless calls wrote nothing`);

    // The detector works: a session, opened the session way and used once, creates its object.
    const s = await openSession(url, { headers: ALICE });
    const { answer, message } = await call(url, s, 'tools/call', { name: 'echo', arguments: { message: 'stateful' } }, { headers: ALICE });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(message.result.content[0].text, 'stateful');
    const afterSession = storageSnapshot(worker.persistTo);
    const { added } = storageChanges(afterCalls, afterSession);
    assert.equal(sessionObjects(afterSession).length, 1, `one session object: ${added.join(', ')}`);
    assert.ok(added.includes(sessionObjects(afterSession)[0]), `the detector sees the new object: ${added.join(', ')}`);
    await closeSession(url, s.session, ALICE);
  });

  describe('the two eras on one endpoint', () => {
    it('a body with invalid UTF-8 means the same whichever side reads it: each bad byte becomes U+FFFD', T, async () => {
      // `entry.mjs` reads a small body of declared length as text; the Worker reads a larger one (with text()) and
      // a chunked one (bytes, decoded the same way). All three echo `a\uFFFDb`; none is a -32700.
      const sent = (message) => request('tools/call', { name: 'echo', arguments: { message }, _meta: modernMeta() });
      const headers = {
        ...ALICE, accept: 'application/json, text/event-stream', 'content-type': 'application/json',
        'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'echo',
      };
      const withBadByte = (body) => {
        const [before, after] = JSON.stringify(body).split('a@b');
        return Buffer.concat([Buffer.from(`${before}a`), Buffer.from([0xff]), Buffer.from(`b${after}`)]);
      };
      const small = sent('a@b');
      const large = { ...sent('a@b'), pad: 'x'.repeat(70 * 1024) };
      const chunked = sent('a@b');
      const bodies = [
        ['declared length ≤ 64 KiB (read by entry.mjs)', small, withBadByte(small)],
        ['declared length > 64 KiB (read by the Worker)', large, withBadByte(large)],
        ['chunked (read by the Worker piece by piece)', chunked, new ReadableStream({
          start(controller) {
            const bytes = withBadByte(chunked);
            controller.enqueue(bytes.subarray(0, 40));
            controller.enqueue(bytes.subarray(40));
            controller.close();
          },
        })],
      ];
      for (const [what, body, bytes] of bodies) {
        const res = await fetch(`${url}/mcp`, { method: 'POST', headers, body: bytes, duplex: 'half', signal: AbortSignal.timeout(30_000) });
        const answer = await readAnswer(res);
        assert.equal(answer.status, 200, `${what}: ${answer.text}`);
        const message = messageOf({ answer, body });
        assert.equal(message.result?.content?.[0]?.text, 'a\uFFFDb', `${what}: ${answer.text}`);
      }
    });

    it('MCP-Protocol-Version 2026-07-28 without the _meta context → 400 -32602 naming the missing keys', T, async () => {
      const headers = { ...ALICE, 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' };
      for (const [what, params, missing] of [
        ['no params', undefined, [META.version, META.capabilities]],
        ['params without _meta', {}, [META.version, META.capabilities]],
        ['_meta with clientInfo only', { _meta: { [META.clientInfo]: { name: 'x', version: '1' } } }, [META.version, META.capabilities]],
      ]) {
        const body = request('tools/list', params);
        const answer = await post(url, body, { headers });
        assert.equal(answer.status, 400, `${what}: ${answer.text}`);
        const message = messageOf({ answer, body });
        assert.equal(message.error?.code, -32602, `${what}: ${answer.text}`);
        for (const key of missing) assert.ok(message.error.message.includes(key), `${what}: names ${key}: ${message.error.message}`);
        assert.equal(answer.headers.get('mcp-session-id'), null);
      }
      // A claim without the capabilities: only the missing key is named.
      const body = request('tools/list', { _meta: { [META.version]: MODERN } });
      const answer = await post(url, body, { headers });
      assert.equal(answer.status, 400, answer.text);
      const message = messageOf({ answer, body });
      assert.equal(message.error?.code, -32602, answer.text);
      assert.ok(message.error.message.includes(META.capabilities), message.error.message);
      assert.ok(!message.error.message.includes(META.version), `names only what is missing: ${message.error.message}`);
    });

    it('initialize with a modern _meta → 404 -32601 and no session', T, async () => {
      const sent = await modern(url, 'initialize', {
        protocolVersion: MODERN, capabilities: {}, clientInfo: { name: 'e2e', version: '1' },
      }, { headers: ALICE });
      assert.equal(sent.answer.status, 404, sent.answer.text);
      const message = messageOf(sent);
      assert.equal(message.error?.code, -32601, sent.answer.text);
      assert.equal(sent.answer.headers.get('mcp-session-id'), null);
    });

    it('a modern notification (notifications/cancelled with _meta) without a session → 202', T, async () => {
      // As the v2 client sends it: the claim and MCP-Protocol-Version, no Mcp-Method, no session.
      const answer = await post(url, notification('notifications/cancelled', {
        requestId: 'listen:0', reason: 'closed', _meta: modernMeta(),
      }), { headers: { ...ALICE, 'mcp-protocol-version': MODERN } });
      assert.equal(answer.status, 202, answer.text);
      assert.equal(answer.text, '');
      assert.equal(answer.headers.get('mcp-session-id'), null);
    });

    it('-32021 stays a 400 JSON answer when the request asked for progress (nothing was streamed first)', T, async () => {
      const sent = await modern(url, 'tools/call', { name: 'test_missing_capability', arguments: {} },
        { headers: ALICE });
      assert.equal(sent.answer.status, 400, sent.answer.text);
      const body = request('tools/call', { name: 'test_missing_capability', arguments: {}, _meta: { ...modernMeta(), progressToken: 'p-1' } });
      const answer = await post(url, body, { headers: { ...ALICE, 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'test_missing_capability' } });
      assert.equal(answer.status, 400, answer.text);
      assert.match(answer.contentType, /^application\/json/);
      assert.equal(answer.messages[0]?.error?.code, -32021);
      assert.deepEqual(answer.messages[0].error.data.requiredCapabilities, { sampling: {} });
    });

    it('the stateless revision with a session id (or on GET/DELETE) → 400 saying it has no sessions', T, async () => {
      for (const method of ['POST', 'GET', 'DELETE']) {
        const res = await fetch(`${url}/mcp`, {
          method,
          headers: { ...ALICE, accept: 'application/json, text/event-stream', 'content-type': 'application/json',
            'mcp-protocol-version': MODERN, 'mcp-session-id': 'abc' },
          body: method === 'POST' ? JSON.stringify(request('tools/list', {})) : undefined,
        });
        const text = await res.text();
        assert.equal(res.status, 400, `${method}: ${text}`);
        assert.match(text, /has no sessions/, method);
      }
    });

    it('a listen request whose id is over 256 bytes → 400 -32602 (the id travels to the listen hub)', T, async () => {
      const body = request('subscriptions/listen', { notifications: { toolsListChanged: true }, _meta: modernMeta() }, 'x'.repeat(300));
      const answer = await post(url, body, { headers: { ...ALICE, 'mcp-protocol-version': MODERN, 'mcp-method': 'subscriptions/listen' } });
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.messages[0]?.error?.code, -32602);
      assert.equal(answer.messages[0].id, 'x'.repeat(300));
    });

    it('a batch of modern requests → 400 -32600 saying the revision has no batches', T, async () => {
      const batch = [1, 2].map(() => request('tools/call', { name: 'echo', arguments: { message: 'x' }, _meta: modernMeta() }));
      const answer = await post(url, batch, { headers: { ...ALICE, 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call' } });
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.messages[0]?.error?.code, -32600, answer.text);
      assert.match(answer.messages[0].error.message, /no batches/, answer.text);
    });

    it('the same tool asks a session client with a real elicitation request (v1 SDK client)', T, async () => {
      const sdk = await connectSdk(url, { requestInit: { headers: ALICE }, capabilities: { elicitation: {} } });
      try {
        const asked = [];
        sdk.client.setRequestHandler(ElicitRequestSchema, async (req) => {
          asked.push(req.params);
          return { action: 'accept', content: { name: 'Sessionist' } };
        });
        const result = await sdk.client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} }, undefined, RPC);
        assert.equal(onlyText(result), 'Hello, Sessionist!');
        assert.equal(asked.length, 1, 'one elicitation/create on the session stream');
      } finally {
        await sdk.transport.terminateSession().catch(() => {});
        await closeQuietly(sdk.client);
      }
    });

    it('the v1 SDK client still opens a session on the same worker and calls echo', T, async () => {
      const sdk = await connectSdk(url, { requestInit: { headers: ALICE } });
      try {
        assert.match(sdk.transport.sessionId ?? '', /\S/, 'a session id');
        assert.equal(sdk.transport.protocolVersion, '2025-11-25');
        const result = await sdk.client.callTool({ name: 'echo', arguments: { message: 'still here' } }, undefined, RPC);
        assert.notEqual(result.isError, true, JSON.stringify(result));
        assert.equal(onlyText(result), 'still here');
        assert.deepEqual(sdk.errors, []);
      } finally {
        await sdk.transport.terminateSession().catch(() => {});
        await closeQuietly(sdk.client);
      }
    });
  });
});
