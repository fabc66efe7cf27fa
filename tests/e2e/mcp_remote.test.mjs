// mcp-remote (the stdio <-> remote bridge Claude Desktop and other stdio-only clients use) against the worker, in
// both of its transports: `--transport sse-only` against the legacy 2024-11-05 HTTP+SSE endpoint (`GET /sse` +
// `POST /messages?sessionId=`), and its default (http-first) against Streamable HTTP at `/mcp`. Each mode runs a
// whole session through the bridge's stdin/stdout: initialize, tools, search/fetch, resources, prompts and log
// notifications. The bridge talks to the worker through a small recording reverse proxy, so the tests can check
// from the wire which transport it really used (and that it never fell back to the other one).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { brotliDecompressSync, constants as zlibConstants, gunzipSync, inflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { startWorker, ROOT } from './support/worker.mjs';
import { loadDocuments, searchBounds, words, sleep } from './support/mcp.mjs';

// The package's `mcp-remote` bin, run with this same Node (22); never through npx.
const MCP_REMOTE_DIR = join(ROOT, 'node_modules', 'mcp-remote');
const MCP_REMOTE = join(MCP_REMOTE_DIR, JSON.parse(readFileSync(join(MCP_REMOTE_DIR, 'package.json'), 'utf8')).bin['mcp-remote']);
const DOCS = loadDocuments();
const T = { timeout: 20_000 };
/** Time limit for one JSON-RPC exchange through the bridge. */
const REPLY_TIMEOUT_MS = 15_000;
/** What `test_tool_with_logging` (MCP_FIXTURES=conformance) logs, in order. */
const FIXTURE_LOGS = ['Tool execution started', 'Tool processing data', 'Tool execution completed'];
/** mcp-remote logs these when it is about to start an OAuth flow; the worker has no auth here, so that is a failure. */
const AUTH_FLOW_RE = /Authentication required|Trying .* to open the browser|Please authorize|Browser opened/;

/** The document whose rarest title word occurs in the fewest documents, and that word (the `search` query). */
function pickSearchTarget() {
  let best;
  for (const doc of DOCS) {
    for (const w of words(doc.title)) {
      if (w.length < 5) continue;
      const { allowed } = searchBounds(DOCS, w);
      if (!best || allowed.size < best.allowed) best = { doc, query: w, allowed: allowed.size };
    }
  }
  if (!best) throw new Error('no document title in data/documents.json has a word of 5+ letters');
  return best;
}

/** A (possibly truncated) response body as text, undoing its Content-Encoding. */
function decodeBody(encoding, buf) {
  const flush = { finishFlush: zlibConstants.Z_SYNC_FLUSH };
  try {
    if (encoding === 'gzip') return gunzipSync(buf, flush).toString('utf8');
    if (encoding === 'deflate') return inflateSync(buf, flush).toString('utf8');
    if (encoding === 'br') return brotliDecompressSync(buf, { finishFlush: zlibConstants.BROTLI_OPERATION_FLUSH }).toString('utf8');
  } catch (e) {
    return `<undecodable ${encoding} body: ${e.message}>`;
  }
  return buf.toString('utf8');
}

/**
 * A reverse proxy in front of the worker that records every request (method, URL, session header, status, content
 * type and the first bytes of the answer). Responses are streamed through unbuffered, so SSE works.
 */
async function startRecorder(targetPort) {
  const log = [];
  const server = createServer((req, res) => {
    const entry = {
      method: req.method, url: req.url, path: req.url.split('?')[0], session: req.headers['mcp-session-id'],
      status: undefined, contentType: undefined, encoding: undefined, responseSession: undefined, raw: [], rawLength: 0,
      error: undefined,
      /** The first bytes of the answer's body as text, decompressed (workerd gzips small bodies on request). */
      get head() { return decodeBody(this.encoding, Buffer.concat(this.raw)); },
    };
    log.push(entry);
    const headers = { ...req.headers };
    for (const h of ['connection', 'keep-alive', 'transfer-encoding']) delete headers[h];
    const upstream = httpRequest({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers, agent: false }, (up) => {
      entry.status = up.statusCode;
      entry.contentType = up.headers['content-type'] ?? '';
      entry.encoding = up.headers['content-encoding'];
      entry.responseSession = up.headers['mcp-session-id'];
      const out = { ...up.headers };
      for (const h of ['connection', 'keep-alive', 'transfer-encoding']) delete out[h];
      res.writeHead(up.statusCode, out);
      res.flushHeaders();
      up.on('data', (chunk) => {
        if (entry.rawLength < 8192) { entry.raw.push(chunk); entry.rawLength += chunk.length; }
      });
      up.pipe(res);
    });
    upstream.on('error', (e) => {
      entry.error = String(e);
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    log,
    describe: () => log.map((e) => `${e.method} ${e.url} -> ${e.status ?? e.error ?? 'pending'}`).join('\n'),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/**
 * Starts mcp-remote as a child process with a private HOME and config dir, no display and a PATH holding only
 * Node, so it touches nothing global and has no way to open a browser. Newline-delimited JSON-RPC goes to its
 * stdin; every JSON line of its stdout is kept, in order, in `messages`.
 */
async function startBridge(serverUrl, extraArgs) {
  const home = mkdtempSync(join(tmpdir(), 'mcp-remote-home-'));
  const child = spawn(process.execPath, [MCP_REMOTE, serverUrl, ...extraArgs], {
    cwd: home,
    env: {
      PATH: dirname(process.execPath),
      HOME: home,
      MCP_REMOTE_CONFIG_DIR: join(home, 'mcp-auth'),
      TMPDIR: tmpdir(),
      BROWSER: 'false',
      NO_COLOR: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const bridge = {
    child, home, messages: [], garbage: [], stderr: '', sent: 0, exit: undefined, authFlow: false,
    waiters: new Set(),
  };
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    bridge.exit = { code, signal };
    for (const w of bridge.waiters) w.fail(new Error(`mcp-remote exited (${code ?? signal})\n${bridge.tail()}`));
    resolve();
  }));
  bridge.tail = () => `--- mcp-remote stderr (tail) ---\n${bridge.stderr.slice(-4000)}`;
  child.stdin.on('error', () => {});
  child.stderr.on('data', (d) => {
    bridge.stderr += d;
    if (!bridge.authFlow && AUTH_FLOW_RE.test(bridge.stderr)) {
      // The worker answered with 401 somewhere: stop the bridge before it can start a browser sign-in.
      bridge.authFlow = true;
      child.kill('SIGKILL');
    }
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.trim()) return;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      bridge.garbage.push(line);
      return;
    }
    bridge.messages.push(msg);
    for (const w of bridge.waiters) w.check();
  });

  /** Resolves to the index of the first message at or after `from` matching `pred`. */
  bridge.waitFor = (pred, from, what, timeoutMs = REPLY_TIMEOUT_MS) => new Promise((resolve, reject) => {
    const w = {
      check() {
        for (let i = from; i < bridge.messages.length; i++) {
          if (pred(bridge.messages[i])) { done(); resolve(i); return; }
        }
      },
      fail(err) { done(); reject(err); },
    };
    const timer = setTimeout(() => w.fail(new Error(`no ${what} from mcp-remote within ${timeoutMs} ms; stdout so far:\n`
      + `${bridge.messages.slice(from).map((m) => JSON.stringify(m)).join('\n')}\n${bridge.tail()}`)), timeoutMs);
    function done() { clearTimeout(timer); bridge.waiters.delete(w); }
    bridge.waiters.add(w);
    if (bridge.exit) w.fail(new Error(`mcp-remote has exited (${bridge.exit.code ?? bridge.exit.signal})\n${bridge.tail()}`));
    else w.check();
  });
  bridge.write = (msg) => {
    if (bridge.exit) throw new Error(`mcp-remote has exited (${bridge.exit.code ?? bridge.exit.signal})\n${bridge.tail()}`);
    bridge.sent++;
    child.stdin.write(`${JSON.stringify(msg)}\n`);
  };
  let nextId = 1;
  /** Sends a request; resolves to {message, index, start}: the response, its index in `messages`, and where
   *  `messages` stood when the request was written (so `messages.slice(start, index)` came before the response). */
  bridge.request = async (method, params) => {
    const id = nextId++;
    const start = bridge.messages.length;
    bridge.write({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
    const index = await bridge.waitFor((m) => m.id === id && ('result' in m || 'error' in m), start, `response to ${method} (id ${id})`);
    return { message: bridge.messages[index], index, start };
  };
  /** Like `request`, but requires a result (not an error) and returns it. */
  bridge.result = async (method, params) => {
    const { message } = await bridge.request(method, params);
    assert.ok(message.result, `${method} failed: ${JSON.stringify(message)}\n${bridge.tail()}`);
    return message.result;
  };
  bridge.stop = async () => {
    if (bridge.exit === undefined) {
      child.stdin.end();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(home, { recursive: true, force: true });
  };

  // Ready once it says the proxy is up (the 0.15.1 wording); fail fast if it exits or starts an OAuth flow.
  const deadline = Date.now() + 30_000;
  while (!/Proxy established successfully/.test(bridge.stderr)) {
    if (bridge.authFlow) throw new Error(`mcp-remote started an OAuth flow; the worker must not ask for auth\n${bridge.tail()}`);
    if (bridge.exit) throw new Error(`mcp-remote exited during start-up (${bridge.exit.code ?? bridge.exit.signal})\n${bridge.tail()}`);
    if (Date.now() > deadline) {
      await bridge.stop();
      throw new Error(`mcp-remote did not establish the proxy within 30 s\n${bridge.tail()}`);
    }
    await sleep(50);
  }
  return bridge;
}

const MODES = [
  {
    name: '--transport sse-only against /sse (legacy 2024-11-05 HTTP+SSE)',
    path: '/sse',
    args: ['--transport', 'sse-only'],
    // The revision this transport belongs to, as a legacy client would send it.
    protocolVersion: '2024-11-05',
    transportClass: 'SSEClientTransport',
  },
  {
    name: 'default transport (http-first) against /mcp (Streamable HTTP)',
    path: '/mcp',
    args: [],
    protocolVersion: '2025-06-18',
    transportClass: 'StreamableHTTPClientTransport',
  },
];

describe('mcp-remote 0.15.1 bridge (stdio <-> remote) against the worker (MCP_FIXTURES=conformance)', { timeout: 300_000 }, () => {
  let worker;
  before(async () => {
    worker = await startWorker({ vars: { MCP_FIXTURES: 'conformance' } });
  }, { timeout: 150_000 });
  after(async () => { await worker?.stop(); }, { timeout: 30_000 });

  for (const mode of MODES) {
    describe(mode.name, { timeout: 120_000 }, () => {
      let recorder;
      let bridge;
      let initialized = false;
      const target = pickSearchTarget();

      before(async () => {
        recorder = await startRecorder(worker.port);
        bridge = await startBridge(`${recorder.url}${mode.path}`, mode.args);
      }, { timeout: 45_000 });
      after(async () => {
        await bridge?.stop();
        await recorder?.close();
      }, { timeout: 15_000 });

      /** Fails the later tests at once (rather than on a time-out) when the session never opened. */
      function requireSession() {
        assert.ok(initialized, 'the session was not initialized (see the initialize test)');
      }

      it(`initialize (${mode.protocolVersion}) returns serverInfo mcp-worker; notifications/initialized; ping`, T, async () => {
        const { message } = await bridge.request('initialize', {
          protocolVersion: mode.protocolVersion,
          capabilities: {},
          clientInfo: { name: 'e2e-mcp-remote', version: '1.0.0' },
        });
        assert.ok(message.result, `initialize failed: ${JSON.stringify(message)}\n${bridge.tail()}`);
        const r = message.result;
        assert.equal(r.serverInfo?.name, 'mcp-worker', JSON.stringify(r));
        assert.equal(r.protocolVersion, mode.protocolVersion, 'the server accepts the version the client asked for');
        assert.ok(r.capabilities?.tools, 'tools capability');
        assert.ok(r.capabilities?.logging, 'logging capability');
        assert.ok(r.capabilities?.resources, 'resources capability');
        assert.ok(r.capabilities?.prompts, 'prompts capability');
        bridge.write({ jsonrpc: '2.0', method: 'notifications/initialized' });
        assert.deepEqual(await bridge.result('ping'), {});
        initialized = true;
      });

      it('tools/list through the bridge lists search, fetch, echo and the fixtures', T, async () => {
        requireSession();
        const names = [];
        let cursor;
        for (let page = 0; page < 20; page++) {
          const result = await bridge.result('tools/list', cursor ? { cursor } : {});
          assert.ok(Array.isArray(result.tools), JSON.stringify(result));
          names.push(...result.tools.map((t) => t.name));
          cursor = result.nextCursor;
          if (!cursor) break;
        }
        assert.equal(cursor, undefined, 'tools/list pages end');
        for (const name of ['search', 'fetch', 'echo', 'test_simple_text', 'test_tool_with_logging']) {
          assert.ok(names.includes(name), `${name} missing from ${names.join(', ')}`);
        }
        assert.equal(new Set(names).size, names.length, `no tool is listed twice: ${names.join(', ')}`);
      });

      it('tools/call echo returns the message exactly (unicode, quotes, newline)', T, async () => {
        requireSession();
        const text = 'héllo "bridge"\nline 2 ✓ {json} \\ end';
        const result = await bridge.result('tools/call', { name: 'echo', arguments: { message: text } });
        assert.notEqual(result.isError, true, JSON.stringify(result));
        assert.deepEqual(result.content, [{ type: 'text', text }]);
      });

      it(`tools/call search for a title word finds the document, and fetch returns it`, T, async () => {
        requireSession();
        const { doc, query } = target;
        const result = await bridge.result('tools/call', { name: 'search', arguments: { query } });
        assert.notEqual(result.isError, true, JSON.stringify(result));
        assert.equal(result.content?.[0]?.type, 'text', JSON.stringify(result));
        const output = JSON.parse(result.content[0].text);
        if (result.structuredContent !== undefined) assert.deepEqual(result.structuredContent, output);
        const ids = output.results.map((hit) => hit.id);
        assert.ok(ids.includes(doc.id), `search ${JSON.stringify(query)} should find ${doc.id}, got ${JSON.stringify(ids)}`);
        const { required, allowed } = searchBounds(DOCS, query);
        for (const id of ids) assert.ok(allowed.has(id), `search ${JSON.stringify(query)} returned unrelated ${id}`);
        for (const id of required) assert.ok(ids.includes(id), `search ${JSON.stringify(query)} missed ${id}`);
        const hit = output.results.find((h) => h.id === doc.id);
        assert.equal(hit.title, doc.title);
        assert.equal(hit.url, doc.url);

        const fetched = await bridge.result('tools/call', { name: 'fetch', arguments: { id: doc.id } });
        assert.notEqual(fetched.isError, true, JSON.stringify(fetched));
        const body = JSON.parse(fetched.content[0].text);
        assert.equal(body.id, doc.id);
        assert.equal(body.title, doc.title);
        assert.equal(body.text, doc.text);
      });

      it('resources/read docs://<id> returns the document text', T, async () => {
        requireSession();
        const { doc } = target;
        const uri = `docs://${doc.id}`;
        const result = await bridge.result('resources/read', { uri });
        assert.equal(result.contents?.length, 1, JSON.stringify(result));
        assert.equal(result.contents[0].uri, uri);
        assert.equal(result.contents[0].mimeType, 'text/plain');
        assert.equal(result.contents[0].text, doc.text);
      });

      it('prompts/list and prompts/get answer_from_docs', T, async () => {
        requireSession();
        const list = await bridge.result('prompts/list', {});
        const prompt = list.prompts.find((p) => p.name === 'answer_from_docs');
        assert.ok(prompt, JSON.stringify(list));
        assert.deepEqual(prompt.arguments?.map((a) => [a.name, a.required]), [['question', true]]);
        const question = 'How long does an idle session live?';
        const result = await bridge.result('prompts/get', { name: 'answer_from_docs', arguments: { question } });
        assert.equal(result.messages?.length, 1, JSON.stringify(result));
        assert.equal(result.messages[0].role, 'user');
        assert.equal(result.messages[0].content.type, 'text');
        assert.ok(result.messages[0].content.text.includes(question), result.messages[0].content.text);
        const missing = await bridge.request('prompts/get', { name: 'answer_from_docs', arguments: {} });
        assert.equal(missing.message.error?.code, -32602, `missing required argument: ${JSON.stringify(missing.message)}`);
      });

      it('logging/setLevel info: the 3 notifications/message of test_tool_with_logging arrive before its result', T, async () => {
        requireSession();
        assert.deepEqual(await bridge.result('logging/setLevel', { level: 'info' }), {});
        const { message, index, start } = await bridge.request('tools/call', { name: 'test_tool_with_logging', arguments: {} });
        assert.ok(message.result, JSON.stringify(message));
        assert.notEqual(message.result.isError, true, JSON.stringify(message));
        const before = bridge.messages.slice(start, index);
        const logs = before.filter((m) => m.method === 'notifications/message');
        assert.deepEqual(logs.map((m) => m.params?.data), FIXTURE_LOGS,
          `stdout between the call and its result:\n${before.map((m) => JSON.stringify(m)).join('\n')}`);
        for (const m of logs) {
          assert.equal(m.params.level, 'info');
          assert.equal(m.id, undefined, 'a notification has no id');
        }
        // Nothing of it trails the result.
        await sleep(300);
        assert.deepEqual(bridge.messages.slice(index + 1).filter((m) => m.method === 'notifications/message'), []);

        // At level error the same call logs nothing.
        assert.deepEqual(await bridge.result('logging/setLevel', { level: 'error' }), {});
        const quiet = await bridge.request('tools/call', { name: 'test_tool_with_logging', arguments: {} });
        assert.ok(quiet.message.result, JSON.stringify(quiet.message));
        await sleep(300);
        assert.deepEqual(bridge.messages.slice(quiet.start).filter((m) => m.method === 'notifications/message'), [],
          'info messages are filtered out at level error');
      });

      it(`the bridge really used ${mode.transportClass} on the wire, and stdout carried only JSON-RPC`, T, async () => {
        requireSession();
        assert.deepEqual(bridge.garbage, [], 'every stdout line is a JSON-RPC message');
        assert.equal(bridge.authFlow, false, 'no OAuth flow was started');
        const log = recorder.log;
        const wire = recorder.describe();
        assert.ok(log.every((e) => e.error === undefined), `the proxy reached the worker every time:\n${wire}`);
        if (mode.transportClass === 'SSEClientTransport') {
          // Legacy transport: a GET /sse stream announcing /messages?sessionId=<32 hex>; every message is a POST
          // there answered 202 with the replies on the stream, and /mcp is never touched.
          assert.deepEqual(log.filter((e) => e.path === '/mcp'), [], `no request to /mcp:\n${wire}`);
          const streams = log.filter((e) => e.method === 'GET' && e.path === '/sse' && e.status === 200);
          assert.ok(streams.length >= 1, `GET /sse opened a stream:\n${wire}`);
          const endpoints = new Set();
          for (const s of streams) {
            assert.match(s.contentType, /^text\/event-stream/);
            const m = /^event: endpoint\r?\ndata: (\/messages\?sessionId=([A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}))\r?\n/.exec(s.head);
            assert.ok(m, `the first event of GET /sse is the endpoint: ${JSON.stringify(s.head.slice(0, 200))}`);
            endpoints.add(m[1]);
          }
          const posts = log.filter((e) => e.method === 'POST' && e.path === '/messages');
          assert.ok(posts.length >= bridge.sent, `each of the ${bridge.sent} messages was a POST /messages:\n${wire}`);
          assert.equal(new Set(posts.map((p) => p.url)).size, 1, `all POSTs went to one session:\n${wire}`);
          assert.ok(endpoints.has(posts[0].url), `POSTs go to an announced endpoint (${[...endpoints]}):\n${wire}`);
          for (const p of posts) {
            assert.equal(p.status, 202, `${p.method} ${p.url}`);
            assert.doesNotMatch(p.head, /jsonrpc/, 'a legacy POST carries no reply: replies go out on the stream');
          }
        } else {
          // Streamable HTTP: POSTs to /mcp in a session the worker issued; never the legacy endpoints.
          assert.deepEqual(log.filter((e) => e.path === '/sse' || e.path === '/messages'), [],
            `no fallback to the legacy transport:\n${wire}`);
          const issued = new Set(log.filter((e) => e.path === '/mcp' && e.responseSession).map((e) => e.responseSession));
          assert.ok(issued.size >= 1, `initialize on /mcp issued a session:\n${wire}`);
          const inSession = log.filter((e) => e.method === 'POST' && e.path === '/mcp' && e.session);
          assert.ok(inSession.length >= bridge.sent - 1, `each message after initialize was a POST /mcp in a session:\n${wire}`);
          for (const p of inSession) {
            assert.ok(issued.has(p.session), `POST in a session the worker issued: ${p.session}`);
            assert.ok([200, 202].includes(p.status), `POST /mcp answered ${p.status}:\n${wire}`);
          }
        }
        assert.match(bridge.stderr, new RegExp(`Connected to remote server using ${mode.transportClass}`));
      });
    });
  }
});
