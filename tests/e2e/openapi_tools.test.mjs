// REST APIs served as tools (OpenAPI): the operation index of tests/e2e/fixtures/openapi/zoo.json seeded into the
// OPENAPI KV namespace as three APIs (`zoo`: one tool per operation, with prompts; `big`: MAX_TOOLS=3, so search,
// describe and invoke; `clash`: zoo's tool names again, so left out) and one whose index is missing (`gone`), on
// one worker, against a fake API on loopback that records every request exactly. Through the official SDK client
// (session lane) and raw stateless requests (2026-07-28): names, schemas and hints; each call's method, path,
// query, headers, cookies and body; each credential kind in its place; client-credentials tokens cached and renewed
// on 401; the MCP client's token never forwarded; `../admin` kept in its segment; a redirect to another origin not
// followed; a long answer cut with a note; a slow one stopped; HTTP errors as tool errors; /health naming the
// missing index and the taken names. Real specs (Petstore, GitHub's) imported and called: openapi_specs.test.mjs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorker, ROOT } from './support/worker.mjs';
import { initializeRequest, notification, post, request, LATEST_VERSION } from './support/mcp.mjs';
import { connectSdk, closeQuietly, RPC } from './support/sdk.mjs';
import { startFakeApi } from './support/fake_api.mjs';

const T = { timeout: 60_000 };
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const FIXTURE = join(ROOT, 'tests', 'e2e', 'fixtures', 'openapi', 'zoo.json');
const INDEX = JSON.parse(readFileSync(FIXTURE, 'utf8'));
const KEY = `tester-${randomBytes(16).toString('hex')}`;
const OAUTH = { clientId: 'zoo-client', clientSecret: `cs-${randomBytes(8).toString('hex')}` };
const SECRETS = {
  apiKeyHeader: `hk-${randomBytes(8).toString('hex')}`,
  apiKeyQuery: 'qk-1',
  apiKeyCookie: 'ck-1',
  bearer: `bt-${randomBytes(8).toString('hex')}`,
  basic: 'alice:pa:ss',
};

/** Writes `openapi:<name>` (the index in `file`) into the local KV state that `wrangler dev --persist-to dir` reads. */
function putIndex(persistTo, name, file = FIXTURE) {
  execFileSync(process.execPath, [WRANGLER, 'kv', 'key', 'put', '--binding', 'OPENAPI', `openapi:${name}`,
    '--path', file, '--local', '--persist-to', persistTo], {
    cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', MCP_SKIP_BUILD: '1' }, stdio: 'pipe', timeout: 60_000,
  });
}

function textOf(result) {
  return result.content.map((c) => c.text).join('\n');
}

describe('REST APIs as tools (OPENAPI_APIS=zoo,big,gone,clash)', { timeout: 600_000 }, () => {
  const persistTo = mkdtempSync(join(tmpdir(), 'mcp-e2e-openapi-'));
  let worker;
  let fake;
  let sdk;

  before(async () => {
    fake = await startFakeApi(OAUTH);
    putIndex(persistTo, 'zoo');
    putIndex(persistTo, 'big');
    putIndex(persistTo, 'clash');
    worker = await startWorker({
      persistTo,
      vars: {
        MCP_API_KEYS: `tester:${KEY}`,
        OPENAPI_APIS: 'zoo,big,gone,clash',
        OPENAPI_ZOO_BASE_URL: `${fake.url}/v1`,
        OPENAPI_ZOO_CREDENTIALS: JSON.stringify({
          ...SECRETS,
          oauth: { client_id: OAUTH.clientId, client_secret: OAUTH.clientSecret, token_url: `${fake.url}/oauth/token` },
        }),
        OPENAPI_ZOO_TIMEOUT_SECONDS: '2',
        OPENAPI_ZOO_MAX_RESPONSE_BYTES: '4096',
        OPENAPI_ZOO_PROMPTS: 'true',
        OPENAPI_BIG_BASE_URL: `${fake.url}/v1`,
        OPENAPI_BIG_MAX_TOOLS: '3',
        OPENAPI_GONE_BASE_URL: `${fake.url}/gone`,
        // The same operations again, without a prefix: their names are zoo's.
        OPENAPI_CLASH_BASE_URL: `${fake.url}/clash`,
        // One call per caller in 10 minutes: the test of calls through big_invoke_operation.
        MCP_TOOL_RATE_LIMITS: 'headAnimal=1/600',
      },
    });
    sdk = await connectSdk(worker.url, { requestInit: { headers: { authorization: `Bearer ${KEY}` } } });
  }, { timeout: 240_000 });

  after(async () => {
    await closeQuietly(sdk?.client);
    await worker?.stop();
    await fake?.close();
    rmSync(persistTo, { recursive: true, force: true });
  }, { timeout: 30_000 });

  /** Calls a tool through the SDK client; returns the result and the requests the fake API got meanwhile. */
  async function callTool(name, args) {
    const mark = fake.requests.length;
    const result = await sdk.client.callTool({ name, arguments: args }, undefined, RPC);
    return { result, seen: fake.since(mark) };
  }

  it('lists one tool per operation of zoo, three for big, none for gone, with schemas and hints', T, async () => {
    const { tools } = await sdk.client.listTools(undefined, RPC);
    const names = tools.map((t) => t.name);
    for (const op of INDEX.operations) assert.ok(names.includes(op.name), op.name);
    for (const t of ['big_search_operations', 'big_describe_operation', 'big_invoke_operation']) assert.ok(names.includes(t), t);
    assert.ok(names.includes('search') && names.includes('echo'), 'the built-in tools stay');
    assert.equal(names.filter((n) => n.startsWith('gone')).length, 0);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    for (const op of INDEX.operations) {
      assert.deepEqual(byName[op.name].inputSchema, op.input_schema, op.name);
      assert.equal(byName[op.name].description, op.description);
    }
    const get = byName.getAnimal;
    assert.equal(get.title, 'Get an animal');
    assert.deepEqual(get.outputSchema, INDEX.operations[0].output_schema);
    assert.deepEqual(get.annotations, { title: 'Get an animal', readOnlyHint: true, idempotentHint: true, openWorldHint: true });
    assert.deepEqual(byName.deleteAnimal.annotations, { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true });
    assert.deepEqual(byName.setMotto.annotations, { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true });
    assert.deepEqual(byName.addAnimal.annotations, { title: 'Add an animal', readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true });
  });

  it('sends exactly the method, path, query, headers and cookies, keeps ../admin in its segment, and never the client token', T, async () => {
    const { result, seen } = await callTool('getAnimal', {
      kind: 'cat', id: '../admin', fields: ['name', 'age'], filter: { color: 'red' }, tags: ['a', 'b'],
      'X-Trace': 't-1', session: 's 1', Authorization: `Bearer ${KEY}`,
    });
    assert.equal(result.isError, undefined, textOf(result));
    assert.deepEqual(result.structuredContent, { id: '../admin', name: 'Rex' });
    assert.equal(seen.length, 1);
    const [req] = seen;
    assert.equal(req.method, 'GET');
    assert.equal(req.url, '/v1/animals/cat/..%2Fadmin?fields=name,age&filter[color]=red&tags=a|b');
    assert.equal(req.headers['x-trace'], 't-1');
    assert.equal(req.headers.cookie, 'session=s%201');
    assert.equal(req.headers['x-api-key'], SECRETS.apiKeyHeader);
    assert.equal(req.headers.authorization, undefined, 'an argument cannot set Authorization');
    assert.equal(req.body, '');
  });

  it('refuses a path parameter of exactly .. without sending anything', T, async () => {
    const { result, seen } = await callTool('getAnimal', { kind: 'cat', id: '..' });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /may not be/);
    assert.equal(seen.length, 0);
  });

  it('puts each credential kind in its place, with each body encoding', T, async () => {
    let { result, seen } = await callTool('addAnimal', { kind: 'dog', name: 'Rex', age: 3 });
    assert.equal(result.isError, undefined, textOf(result));
    assert.equal(seen[0].method, 'POST');
    assert.equal(seen[0].url, '/v1/animals/dog');
    assert.equal(seen[0].headers.authorization, `Bearer ${SECRETS.bearer}`);
    assert.equal(seen[0].headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(seen[0].body), { name: 'Rex', age: 3 });

    ({ result, seen } = await callTool('updateAnimalForm', { id: '7', name: 'Rex & co', tags: ['a', 'b'] }));
    assert.equal(seen[0].method, 'PATCH');
    assert.equal(seen[0].headers.authorization, `Basic ${Buffer.from(SECRETS.basic).toString('base64')}`);
    assert.equal(seen[0].headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(seen[0].body, 'name=Rex%20%26%20co&tags=a&tags=b');

    ({ result, seen } = await callTool('uploadNote', { id: '7', note: 'hello', meta: { a: 1 } }));
    assert.equal(seen[0].url, '/v1/animals/7/notes?api_key=qk-1');
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(seen[0].headers['content-type'])?.[1];
    assert.ok(boundary, seen[0].headers['content-type']);
    assert.equal(seen[0].body,
      `--${boundary}\r\nContent-Disposition: form-data; name="meta"\r\nContent-Type: application/json\r\n\r\n{"a":1}\r\n`
      + `--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--${boundary}--\r\n`);

    ({ result, seen } = await callTool('setMotto', { id: '7', body: 'Roar' }));
    assert.equal(seen[0].method, 'PUT');
    assert.equal(seen[0].headers.cookie, 'zoo_key=ck-1');
    assert.equal(seen[0].headers['content-type'], 'text/plain');
    assert.equal(seen[0].body, 'Roar');

    ({ result, seen } = await callTool('feedAnimal', { id: '7' }));
    assert.equal(seen[0].headers['x-api-key'], SECRETS.apiKeyHeader);
    assert.equal(seen[0].headers.authorization, `Bearer ${SECRETS.bearer}`);
  });

  it('gets a client-credentials token once, reuses it, and renews it when the API answers 401', T, async () => {
    const issued = fake.state.tokensIssued;
    let { result, seen } = await callTool('deleteAnimal', { id: '7', where: { a: [1] } });
    assert.equal(result.isError, undefined, textOf(result));
    assert.equal(fake.state.tokensIssued, issued + 1);
    const token = `cc-token-${issued + 1}`;
    assert.deepEqual(seen.map((r) => `${r.method} ${r.url}`), ['POST /oauth/token', 'DELETE /v1/animals/7?where=%7B%22a%22%3A%5B1%5D%7D']);
    assert.equal(seen[0].body, 'grant_type=client_credentials&scope=animals%3Awrite');
    assert.equal(seen[1].headers.authorization, `Bearer ${token}`);
    ({ seen } = await callTool('deleteAnimal', { id: '8' }));
    assert.equal(fake.state.tokensIssued, issued + 1, 'cached');
    assert.equal(seen.length, 1);
    assert.equal(seen[0].headers.authorization, `Bearer ${token}`);
    fake.state.refused.add(token);
    ({ result, seen } = await callTool('deleteAnimal', { id: '9' }));
    assert.equal(result.isError, undefined, textOf(result));
    assert.equal(fake.state.tokensIssued, issued + 2, 'renewed once');
    assert.deepEqual(seen.map((r) => [r.url, r.headers.authorization?.split(' ')[0]]),
      [['/v1/animals/9', 'Bearer'], ['/oauth/token', 'Basic'], ['/v1/animals/9', 'Bearer']]);
    assert.equal(seen[2].headers.authorization, `Bearer cc-token-${issued + 2}`);
  });

  it('does not follow a redirect to another origin, and sends it nothing', T, async () => {
    const { result, seen } = await callTool('getAnimal', { kind: 'cat', id: 'redirect' });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /HTTP 302/);
    assert.ok(textOf(result).includes(fake.elsewhere.url), textOf(result));
    assert.ok(!textOf(result).includes('steal'), 'only the origin is shown');
    assert.equal(seen.length, 1);
    assert.equal(fake.elsewhere.requests.length, 0);
  });

  it('cuts a long answer with a note, and stops a slow one with a tool error', T, async () => {
    let { result } = await callTool('feedAnimal', { id: 'big' });
    assert.equal(result.isError, undefined);
    assert.match(textOf(result), /\[truncated: the response is longer than 4096 bytes\]$/);
    assert.ok(textOf(result).length < 4096 + 100);
    const started = Date.now();
    ({ result } = await callTool('getAnimal', { kind: 'cat', id: 'slow' }));
    assert.equal(result.isError, true);
    assert.match(textOf(result), /no answer within 2 s/);
    assert.ok(Date.now() - started < 10_000);
  });

  it('turns HTTP errors into tool errors with the status and the body', T, async () => {
    let { result } = await callTool('getAnimal', { kind: 'cat', id: 'missing' });
    assert.equal(result.isError, true);
    assert.equal(textOf(result), 'HTTP 404: getAnimal failed.\n{"message":"no such animal"}');
    ({ result } = await callTool('getAnimal', { kind: 'cat', id: 'boom' }));
    assert.equal(result.isError, true);
    assert.equal(textOf(result), 'HTTP 500: getAnimal failed.\nthe zoo is on fire');
  });

  it('wraps a JSON array answer as {result}', T, async () => {
    const { result, seen } = await callTool('listAnimals', { limit: 2 });
    assert.equal(seen[0].url, '/v1/animals?limit=2');
    assert.deepEqual(result.structuredContent, { result: [{ id: '1', name: 'Rex' }, { id: '2', name: 'Tom' }] });
  });

  it('offers a large API as search, describe and invoke', T, async () => {
    let { result } = await callTool('big_search_operations', { query: 'list animals' });
    assert.deepEqual(result.structuredContent.operations[0], { name: 'listAnimals', method: 'GET', path: '/animals', summary: 'List animals' });
    assert.equal(result.structuredContent.total, INDEX.operations.length);
    ({ result } = await callTool('big_describe_operation', { name: 'getAnimal' }));
    assert.deepEqual(result.structuredContent.inputSchema, INDEX.operations[0].input_schema);
    assert.equal(result.structuredContent.path, '/animals/{kind}/{id}');
    let seen;
    ({ result, seen } = await callTool('big_invoke_operation', { name: 'listAnimals', arguments: { limit: 1 } }));
    assert.deepEqual(result.structuredContent.result[0], { id: '1', name: 'Rex' });
    assert.equal(seen[0].url, '/v1/animals?limit=1');
    ({ result, seen } = await callTool('big_invoke_operation', { name: 'getAnimal', arguments: { kind: 7 } }));
    assert.equal(result.isError, true);
    assert.equal(seen.length, 0);
  });

  it('counts a call through the large-API invoke tool against the operation\'s own rate limit', T, async () => {
    const auth = { authorization: `Bearer ${KEY}` };
    const init = await post(worker.url, initializeRequest(), { headers: auth });
    const opts = { session: init.headers.get('mcp-session-id'), protocolVersion: LATEST_VERSION, headers: auth };
    assert.equal((await post(worker.url, notification('notifications/initialized'), opts)).status, 202);
    const invoke = () => post(worker.url, request('tools/call', { name: 'big_invoke_operation', arguments: { name: 'headAnimal', arguments: { id: '1' } } }), opts);
    const first = await invoke();
    assert.equal(first.status, 200, first.text);
    assert.equal(first.messages[0].error, undefined, first.text);
    for (const again of [await invoke(), await post(worker.url, request('tools/call', { name: 'headAnimal', arguments: { id: '1' } }), opts)]) {
      assert.equal(again.status, 429, again.text);
      assert.match(again.messages[0].error.message, /tool headAnimal per 600 s \(MCP_TOOL_RATE_LIMITS\)/);
      assert.ok(Number(again.headers.get('retry-after')) >= 1);
    }
  });

  it('offers one prompt per operation of zoo', T, async () => {
    const { prompts } = await sdk.client.listPrompts(undefined, RPC);
    for (const op of INDEX.operations) assert.ok(prompts.some((p) => p.name === op.name), op.name);
    const got = await sdk.client.getPrompt({ name: 'getAnimal' }, RPC);
    assert.match(got.messages[0].content.text, /Call the tool getAnimal with these arguments/);
    assert.match(got.messages[0].content.text, /- kind \(string, required\): The kind of animal/);
  });

  it('serves the same tools on the stateless lane (2026-07-28)', T, async () => {
    const meta = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'e2e-raw-stateless', version: '1.0.0' },
    };
    const headers = (method, name) => ({
      authorization: `Bearer ${KEY}`, 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}),
    });
    const list = await post(worker.url, request('tools/list', { _meta: meta }), { headers: headers('tools/list') });
    assert.equal(list.status, 200, list.text);
    assert.ok(list.json.result.tools.some((t) => t.name === 'getAnimal'));
    const mark = fake.requests.length;
    const called = await post(worker.url, request('tools/call', { name: 'getAnimal', arguments: { kind: 'cat', id: '5' }, _meta: meta }),
      { headers: headers('tools/call', 'getAnimal') });
    assert.equal(called.status, 200, called.text);
    assert.deepEqual(called.json.result.structuredContent, { id: '5', name: 'Rex' });
    assert.equal(fake.since(mark)[0].url, '/v1/animals/cat/5');
  });

  it('applies a connection\'s exposure filter to the operations, and behind the large-API tools', T, async () => {
    const path = '/mcp?readonly&exclude=getAnimal';
    const auth = { authorization: `Bearer ${KEY}` };
    const init = await post(worker.url, initializeRequest(), { path, headers: auth });
    const session = init.headers.get('mcp-session-id');
    const opts = { path, session, protocolVersion: LATEST_VERSION, headers: auth };
    assert.equal((await post(worker.url, notification('notifications/initialized'), opts)).status, 202);
    const send = async (method, params) => (await post(worker.url, request(method, params), opts)).messages[0];
    const names = (await send('tools/list', {})).result.tools.map((t) => t.name);
    assert.ok(names.includes('listAnimals') && names.includes('headAnimal') && names.includes('big_search_operations'));
    for (const hidden of ['getAnimal', 'deleteAnimal', 'addAnimal', 'big_invoke_operation']) assert.ok(!names.includes(hidden), hidden);
    assert.equal((await send('tools/call', { name: 'deleteAnimal', arguments: { id: '1' } })).error.code, -32602);
    const found = (await send('tools/call', { name: 'big_search_operations', arguments: { query: 'animal', limit: 50 } })).result;
    assert.deepEqual(found.structuredContent.operations.map((o) => o.name).sort(), ['headAnimal', 'listAnimals']);
  });

  it('never forwarded the MCP client\'s token, and /health names the API whose index is missing', T, async () => {
    for (const req of [...fake.requests, ...fake.elsewhere.requests]) {
      assert.ok(!JSON.stringify(req).includes(KEY), `${req.method} ${req.url}`);
    }
    const answer = await fetch(`${worker.url}/health`);
    // Everything else is served: 200, degraded.
    assert.equal(answer.status, 200);
    const health = await answer.json();
    assert.equal(health.status, 'degraded');
    assert.equal(health.components.openapi.status, 'degraded');
    assert.match(health.components.openapi.error, /zoo: 9 operations as tools, with prompts/);
    assert.match(health.components.openapi.error, /big: 9 operations through 3 tools/);
    assert.match(health.components.openapi.error, /gone: openapi:gone is not in the OPENAPI KV namespace/);
    assert.match(health.components.openapi.error, /clash: the name getAnimal is taken already .*OPENAPI_CLASH_TOOL_PREFIX/);
    assert.ok(!fake.requests.some((r) => r.url.startsWith('/clash')), 'no call went to the API left out');
    const logged = worker.logs().split('\n').find((line) => line.includes('"event":"openapi"'));
    assert.ok(logged?.includes('"api":"gone"') && logged.includes('openapi:gone is not in the OPENAPI KV namespace'), logged);
  });
});
