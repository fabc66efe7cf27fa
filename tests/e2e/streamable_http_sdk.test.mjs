// The official TypeScript SDK client against the worker, once per response mode (JSON and SSE): initialize,
// every tool, resources, resource templates, prompts, logging, ping and session termination.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { startWorker } from './support/worker.mjs';
import {
  loadDocuments, searchBounds, openSession, call, post, request, closeSession,
  SESSION_ID_RE, LATEST_VERSION, JSON_SCHEMA_2020_12,
} from './support/mcp.mjs';
import { connectSdk, closeQuietly, RPC } from './support/sdk.mjs';

const DOCS = loadDocuments();
const T = { timeout: 30_000 };

/** Runs `fn` and returns the McpError it must throw. */
async function mcpError(fn) {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof McpError, `expected an McpError, got ${e?.stack ?? e}`);
    return e;
  }
  assert.fail('expected the request to fail with a JSON-RPC error');
}

/**
 * Transport errors the SDK reported, minus one SDK 1.32.2 quirk: after an SSE response stream that carried an
 * event id ends with a JSON-RPC *error* response, the SDK still tries to resume the stream (it only counts result
 * responses as "received"), and with maxRetries 0 reports "Maximum reconnection attempts (0) exceeded".
 */
function unexpectedErrors(errors) {
  return errors.filter((e) => !/Maximum reconnection attempts \(0\) exceeded/.test(String(e?.message)));
}

function onlyText(result) {
  assert.ok(Array.isArray(result.content), 'content is an array');
  assert.equal(result.content.length, 1, `exactly one content item: ${JSON.stringify(result.content)}`);
  assert.equal(result.content[0].type, 'text');
  assert.equal(typeof result.content[0].text, 'string');
  return result.content[0].text;
}

for (const mode of ['json', 'sse']) {
  describe(`SDK client over Streamable HTTP, MCP_RESPONSE_MODE=${mode}`, { timeout: 240_000 }, () => {
    let worker;
    let sdk;

    before(async () => {
      // In SSE mode without the audit log: the Worker then passes the session object's answers (streams
      // included) to the runtime untouched, the path a deployment without audit, metrics or CORS takes.
      const quiet = mode === 'sse' ? { MCP_LOG_LEVEL: 'off' } : {};
      worker = await startWorker({ vars: { MCP_RESPONSE_MODE: mode, ...quiet } });
      sdk = await connectSdk(worker.url);
    }, { timeout: 150_000 });

    after(async () => {
      await closeQuietly(sdk?.client);
      await worker?.stop();
    }, { timeout: 30_000 });

    it('the worker answers GET / with 200', T, async () => {
      const res = await fetch(`${worker.url}/`, { signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      assert.equal(res.status, 200);
    });

    it(`raw POSTs are answered with the ${mode === 'json' ? 'application/json' : 'text/event-stream'} content type`, T, async () => {
      const sess = await openSession(worker.url);
      try {
        const init = sess.answer;
        const { answer } = await call(worker.url, sess, 'tools/list', {});
        for (const a of [init, answer]) {
          if (mode === 'json') {
            assert.match(a.contentType, /^application\/json/i, `content type in json mode: ${a.contentType}`);
            assert.equal(a.events, undefined);
            assert.equal(a.messages.length, 1);
          } else {
            assert.match(a.contentType, /^text\/event-stream/i, `content type in sse mode: ${a.contentType}`);
            const withData = a.events.filter((e) => e.data !== undefined && e.data.trim() !== '');
            assert.ok(withData.length >= 1, `an event carries the response: ${a.text}`);
            for (const ev of withData) {
              assert.equal(ev.event, 'message', `event type of ${JSON.stringify(ev)}`);
              // Events inside a session carry ids to resume from; the answer to initialize is a whole,
              // one-event stream from a session that has no object yet, so there is nothing to resume.
              if (a !== init) assert.ok(ev.id !== undefined && ev.id !== '', `event has an id: ${JSON.stringify(ev)}`);
            }
            if (a === init) assert.equal(withData.length, 1, `initialize is answered by one event: ${a.text}`);
            const ids = a.events.map((e) => e.id).filter((x) => x !== undefined && x !== '');
            assert.equal(new Set(ids).size, ids.length, `event ids are unique: ${ids}`);
          }
        }
        const toolsMsg = answer.messages.find((m) => m.result);
        assert.deepEqual(toolsMsg.result.tools.map((t) => t.name).sort(), ['echo', 'fetch', 'search', 'whoami']);
      } finally {
        await closeSession(worker.url, sess.session);
      }
    });

    if (mode === 'json') {
      it('the default MCP_MAX_BODY_BYTES is 4 MiB: a 4,000,000-byte message passes, a body over 4 MiB → 413', T, async () => {
        const sess = await openSession(worker.url);
        try {
          const message = 'm'.repeat(4_000_000);
          const ok = await call(worker.url, sess, 'tools/call', { name: 'echo', arguments: { message } });
          assert.equal(ok.answer.status, 200, ok.answer.text.slice(0, 300));
          assert.equal(ok.message.result.content[0].text, message);
          const tooBig = await post(worker.url, request('tools/call', { name: 'echo', arguments: { message: 'm'.repeat(4 * 1024 * 1024) } }),
            { session: sess.session, protocolVersion: sess.version });
          assert.equal(tooBig.status, 413, tooBig.text.slice(0, 300));
          assert.equal(typeof tooBig.json?.error?.code, 'number', tooBig.text.slice(0, 300));
        } finally {
          await closeSession(worker.url, sess.session);
        }
      });
    }

    it('connects: session id, negotiated version, server info and capabilities', T, async () => {
      const { client, transport, exchanges, errors } = sdk;
      assert.match(transport.sessionId ?? '', SESSION_ID_RE);
      assert.equal(transport.protocolVersion, LATEST_VERSION);
      const info = client.getServerVersion();
      assert.equal(typeof info?.name, 'string');
      assert.ok(info.name.length > 0, 'server name is not empty');
      assert.equal(typeof info.version, 'string');
      assert.ok(info.version.length > 0, 'server version is not empty');
      const caps = client.getServerCapabilities();
      for (const c of ['tools', 'resources', 'prompts', 'logging']) {
        assert.equal(typeof caps?.[c], 'object', `capability ${c} in ${JSON.stringify(caps)}`);
      }
      const initPost = exchanges.find((x) => x.method === 'POST');
      assert.equal(initPost.status, 200);
      assert.equal(initPost.sessionId, transport.sessionId);
      const expected = mode === 'json' ? /^application\/json/i : /^text\/event-stream/i;
      assert.match(initPost.contentType ?? '', expected);
      assert.deepEqual(unexpectedErrors(errors), []);
    });

    it('tools/list (raw JSON-RPC) describes search, fetch and echo with schemas and annotations', T, async () => {
      const sess = await openSession(worker.url);
      let result;
      try {
        const { message } = await call(worker.url, sess, 'tools/list', {});
        result = message.result;
      } finally {
        await closeSession(worker.url, sess.session);
      }
      assert.equal(result.nextCursor, undefined, 'default page size holds every tool');
      const byName = Object.fromEntries(result.tools.map((t) => [t.name, t]));
      assert.deepEqual(Object.keys(byName).sort(), ['echo', 'fetch', 'search', 'whoami']);
      const argOf = { search: 'query', fetch: 'id', echo: 'message' };
      for (const [name, arg] of Object.entries(argOf)) {
        const schema = byName[name].inputSchema;
        assert.equal(schema.type, 'object', `${name} input schema type`);
        assert.equal(schema.$schema, JSON_SCHEMA_2020_12, `${name} input schema $schema`);
        assert.equal(schema.properties?.[arg]?.type, 'string', `${name}.${arg} is a string`);
        assert.ok(schema.required?.includes(arg), `${name} requires ${arg}`);
        assert.equal(typeof byName[name].description, 'string', `${name} has a description`);
      }
      assert.equal(byName.search.annotations?.readOnlyHint, true);
      assert.equal(byName.fetch.annotations?.readOnlyHint, true);
      assert.equal(typeof byName.search.outputSchema, 'object', 'search has an outputSchema');
      assert.equal(byName.search.outputSchema.type, 'object');
    });

    it('the SDK client accepts the tools/list result (its Tool schema validates every tool)', T, async () => {
      const { tools, nextCursor } = await sdk.client.listTools({}, RPC);
      assert.equal(nextCursor, undefined);
      assert.deepEqual(tools.map((t) => t.name).sort(), ['echo', 'fetch', 'search', 'whoami']);
    });

    it('search returns the matching documents as text JSON and structuredContent', T, async () => {
      for (const query of ['Durable Object', 'mcp-remote', 'ChatGPT connectors']) {
        const result = await sdk.client.callTool({ name: 'search', arguments: { query } }, undefined, RPC);
        assert.notEqual(result.isError, true, `search ${query}: ${JSON.stringify(result)}`);
        const parsed = JSON.parse(onlyText(result));
        assert.deepEqual(result.structuredContent, parsed, 'structuredContent equals the text JSON');
        assert.ok(Array.isArray(parsed.results), 'results is an array');
        const ids = parsed.results.map((r) => r.id);
        assert.equal(new Set(ids).size, ids.length, `no duplicate results: ${ids}`);
        const { required, allowed } = searchBounds(DOCS, query);
        assert.ok(required.size > 0, `test data: some document contains all of "${query}"`);
        for (const id of required) assert.ok(ids.includes(id), `search "${query}" finds ${id}; got ${ids}`);
        for (const r of parsed.results) {
          assert.ok(allowed.has(r.id), `search "${query}" returned unrelated ${r.id}`);
          const doc = DOCS.find((d) => d.id === r.id);
          assert.deepEqual({ id: r.id, title: r.title, url: r.url }, { id: doc.id, title: doc.title, url: doc.url });
        }
      }
      const r = await sdk.client.callTool({ name: 'search', arguments: { query: 'Durable Object' } }, undefined, RPC);
      assert.ok(r.structuredContent.results.some((x) => x.id === 'durable-object-sessions'));
    });

    it('search for words no document holds returns no results', T, async () => {
      const query = 'xylophonequasar zebracorn';
      assert.equal(searchBounds(DOCS, query).allowed.size, 0, 'test data: no document holds these words');
      const result = await sdk.client.callTool({ name: 'search', arguments: { query } }, undefined, RPC);
      assert.notEqual(result.isError, true);
      assert.deepEqual(JSON.parse(onlyText(result)), { results: [] });
      assert.deepEqual(result.structuredContent, { results: [] });
    });

    it('fetch returns every document exactly as in data/documents.json', T, async () => {
      for (const doc of DOCS) {
        const result = await sdk.client.callTool({ name: 'fetch', arguments: { id: doc.id } }, undefined, RPC);
        assert.notEqual(result.isError, true, `fetch ${doc.id}: ${JSON.stringify(result)}`);
        const parsed = JSON.parse(onlyText(result));
        const expected = { id: doc.id, title: doc.title, text: doc.text, url: doc.url };
        if (doc.metadata !== undefined) expected.metadata = doc.metadata;
        assert.deepEqual(parsed, expected);
        assert.deepEqual(result.structuredContent, parsed, 'structuredContent equals the text JSON');
      }
    });

    it('fetch of an unknown id is a tool error', T, async () => {
      const result = await sdk.client.callTool({ name: 'fetch', arguments: { id: 'no-such-document-xyz' } }, undefined, RPC);
      assert.equal(result.isError, true, JSON.stringify(result));
      assert.ok(result.content.length >= 1 && result.content[0].type === 'text');
    });

    it('echo returns the message verbatim', T, async () => {
      for (const message of ['hello', 'Grüße, 世界 — "quoted" \\ back\nslash 🚀']) {
        const result = await sdk.client.callTool({ name: 'echo', arguments: { message } }, undefined, RPC);
        assert.notEqual(result.isError, true, JSON.stringify(result));
        assert.equal(onlyText(result), message);
      }
    });

    it('invalid tool arguments give isError results, an unknown tool gives -32602', T, async () => {
      const bad = [
        ['search', {}],
        ['search', { query: 42 }],
        ['fetch', {}],
        ['fetch', { id: ['durable-object-sessions'] }],
        ['echo', { message: { text: 'hi' } }],
      ];
      for (const [name, args] of bad) {
        const result = await sdk.client.callTool({ name, arguments: args }, undefined, RPC);
        assert.equal(result.isError, true, `${name} ${JSON.stringify(args)} → ${JSON.stringify(result)}`);
      }
      const e = await mcpError(() => sdk.client.callTool({ name: 'no_such_tool', arguments: {} }, undefined, RPC));
      assert.equal(e.code, -32602);
    });

    it('resources/list lists every document as docs://<id>', T, async () => {
      const resources = [];
      let cursor;
      for (let page = 0; page < 20; page++) {
        const res = await sdk.client.listResources(cursor ? { cursor } : {}, RPC);
        resources.push(...res.resources);
        cursor = res.nextCursor;
        if (!cursor) break;
      }
      assert.equal(cursor, undefined, 'pagination ends');
      assert.equal(resources.length, DOCS.length);
      for (const doc of DOCS) {
        const r = resources.find((x) => x.uri === `docs://${doc.id}`);
        assert.ok(r, `docs://${doc.id} is listed`);
        assert.equal(r.name, doc.id);
        assert.equal(r.title, doc.title);
        assert.equal(r.mimeType, 'text/plain');
      }
    });

    it('resources/templates/list has docs://{id}', T, async () => {
      const { resourceTemplates } = await sdk.client.listResourceTemplates({}, RPC);
      const t = resourceTemplates.find((x) => x.uriTemplate === 'docs://{id}');
      assert.ok(t, `docs://{id} in ${JSON.stringify(resourceTemplates)}`);
      assert.equal(typeof t.name, 'string');
    });

    it('resources/read returns each document text, unknown uri gives -32002', T, async () => {
      for (const doc of DOCS) {
        const { contents } = await sdk.client.readResource({ uri: `docs://${doc.id}` }, RPC);
        assert.equal(contents.length, 1);
        assert.equal(contents[0].uri, `docs://${doc.id}`);
        assert.equal(contents[0].text, doc.text);
      }
      for (const uri of ['docs://no-such-document-xyz', 'file:///etc/passwd', 'docs://']) {
        const e = await mcpError(() => sdk.client.readResource({ uri }, RPC));
        assert.equal(e.code, -32002, uri);
      }
    });

    it('prompts/list and prompts/get', T, async () => {
      const { prompts } = await sdk.client.listPrompts({}, RPC);
      const byName = Object.fromEntries(prompts.map((p) => [p.name, p]));
      assert.ok(byName.answer_from_docs, `answer_from_docs in ${JSON.stringify(prompts)}`);
      assert.ok(byName.summarize_document, `summarize_document in ${JSON.stringify(prompts)}`);
      assert.deepEqual(byName.answer_from_docs.arguments.map((a) => [a.name, a.required]), [['question', true]]);
      assert.deepEqual(byName.summarize_document.arguments.map((a) => [a.name, a.required]), [['id', true]]);

      const question = 'How do sessions survive restarts?';
      const a = await sdk.client.getPrompt({ name: 'answer_from_docs', arguments: { question } }, RPC);
      assert.ok(a.messages.length >= 1);
      for (const m of a.messages) assert.equal(m.role, 'user');
      assert.equal(a.messages[0].content.type, 'text');
      assert.ok(a.messages.some((m) => m.content.text?.includes(question)), JSON.stringify(a.messages));

      const s = await sdk.client.getPrompt({ name: 'summarize_document', arguments: { id: 'durable-object-sessions' } }, RPC);
      assert.ok(s.messages.length >= 1);
      for (const m of s.messages) assert.equal(m.role, 'user');
      assert.ok(s.messages.some((m) => m.content.type === 'text' && m.content.text.includes('durable-object-sessions')),
        JSON.stringify(s.messages));

      for (const [name, args] of [['answer_from_docs', {}], ['summarize_document', {}], ['no_such_prompt', { id: 'x' }]]) {
        const e = await mcpError(() => sdk.client.getPrompt({ name, arguments: args }, RPC));
        assert.equal(e.code, -32602, `${name} ${JSON.stringify(args)}`);
      }
    });

    it('logging/setLevel and ping return empty results', T, async () => {
      assert.deepEqual(await sdk.client.setLoggingLevel('debug', RPC), {});
      assert.deepEqual(await sdk.client.ping(RPC), {});
      assert.deepEqual(unexpectedErrors(sdk.errors), [], 'no transport or protocol errors so far');
    });

    it('the SDK GET stream was accepted', T, async () => {
      const gets = sdk.exchanges.filter((x) => x.method === 'GET');
      assert.ok(gets.length >= 1, 'the SDK opened the GET stream after initialized');
      assert.equal(gets[0].status, 200);
      assert.match(gets[0].contentType ?? '', /^text\/event-stream/i);
    });

    it('terminateSession ends the session (DELETE 204, then 404)', T, async () => {
      const { transport, exchanges, client } = sdk;
      const id = transport.sessionId;
      await transport.terminateSession();
      const del = exchanges.filter((x) => x.method === 'DELETE').at(-1);
      assert.equal(del?.status, 204);
      assert.equal(transport.sessionId, undefined);
      await closeQuietly(client);
      const gone = await post(worker.url, request('ping'), { session: id, protocolVersion: LATEST_VERSION });
      assert.equal(gone.status, 404);
    });
  });
}
