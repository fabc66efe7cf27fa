// Real specs through the whole path: `openapi-import` (the native importer, built by `cargo test` earlier in the
// suite) turns the Petstore examples of @readme/oas-examples (OpenAPI 3.0, 3.1 and Swagger 2.0) and GitHub's spec
// (@octokit/openapi) into indexes, seeded into the OPENAPI KV namespace; a worker serves them; the official SDK
// client lists and calls the tools. What each call must send is worked out here from the spec itself (its
// parameters, styles, request bodies and security), independently of the importer and the Worker, and the fake
// backend's record of each request must match it exactly: method, path, query, headers, cookies and body.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorker, freePort, ROOT } from './support/worker.mjs';
import { openSession, call } from './support/mcp.mjs';
import { startFakeGitHub } from './support/fake_github.mjs';
import { signIn, bearer, discover } from './support/oauth_flow.mjs';
import { connectSdk, closeQuietly, RPC } from './support/sdk.mjs';

const T = { timeout: 120_000 };
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const EXAMPLES = join(ROOT, 'node_modules', '@readme', 'oas-examples');
const PETSTORES = { p30: '3.0/json/petstore.json', p31: '3.1/json/petstore.json', p20: '2.0/json/petstore.json' };
const GITHUB_SPEC = join(ROOT, 'node_modules', '@octokit', 'openapi', 'generated', 'api.github.com.json');
const KEY = `tester-${randomBytes(16).toString('hex')}`;
const CREDENTIALS = { api_key: `ak-${randomBytes(8).toString('hex')}`, petstore_auth: `pt-${randomBytes(8).toString('hex')}` };
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Runs the importer on `spec`; returns the index file. */
function importSpec(spec, name, dir) {
  const out = join(dir, `${name}.json`);
  execFileSync('cargo', ['run', '--quiet', '--locked', '--bin', 'openapi-import', '--', spec, '--name', name, '--out', out], {
    cwd: ROOT, stdio: 'pipe', timeout: 600_000,
  });
  return out;
}

/** Writes `openapi:<name>` into the local KV state that `wrangler dev --persist-to dir` reads. */
function putIndex(persistTo, name, file) {
  execFileSync(process.execPath, [WRANGLER, 'kv', 'key', 'put', '--binding', 'OPENAPI', `openapi:${name}`,
    '--path', file, '--local', '--persist-to', persistTo], {
    cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', MCP_SKIP_BUILD: '1' }, stdio: 'pipe', timeout: 120_000,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The spec's side: operations in a form common to OpenAPI 3.x and Swagger 2.0, and sample values for schemas.

/** Follows internal `$ref`s (`#/a/b`) of `spec`. */
function deref(spec, value) {
  let v = value;
  for (let i = 0; v && typeof v === 'object' && typeof v.$ref === 'string' && i < 20; i++) {
    v = v.$ref.slice(2).split('/').reduce((o, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
  }
  return v;
}

/**
 * Every operation of `spec`: {method, path, operationId, params: [{name, in, schema, explode, join}], body:
 * {media, schema} | null, security}. Swagger 2.0's body and formData parameters become a body, its
 * collectionFormat a style.
 */
function operationsOf(spec) {
  const v2 = Boolean(spec.swagger);
  const ops = [];
  for (const [path, rawItem] of Object.entries(spec.paths)) {
    const item = deref(spec, rawItem);
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const all = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p) => deref(spec, p));
      const params = [];
      let body = null;
      const form = [];
      for (const p of all) {
        if (v2 && p.in === 'body') {
          body = { media: 'application/json', schema: deref(spec, p.schema) };
        } else if (v2 && p.in === 'formData') {
          form.push(p);
        } else {
          const schema = v2 ? p : deref(spec, p.schema ?? {});
          const format = v2 ? (p.collectionFormat ?? 'csv') : null;
          const explode = v2 ? format === 'multi' : (p.explode ?? (p.style ?? (p.in === 'query' || p.in === 'cookie' ? 'form' : 'simple')) === 'form');
          const join = { csv: ',', ssv: ' ', tsv: '\t', pipes: '|' }[format] ?? ',';
          params.push({ name: p.name, in: p.in, schema, required: Boolean(p.required), explode, join });
        }
      }
      if (form.length) {
        const multipart = form.some((p) => p.type === 'file') || (op.consumes ?? spec.consumes ?? []).includes('multipart/form-data');
        const properties = Object.fromEntries(form.map((p) => [p.name, p.type === 'file' ? { type: 'string', format: 'binary' } : p]));
        body = { media: multipart ? 'multipart/form-data' : 'application/x-www-form-urlencoded', schema: { type: 'object', properties } };
      }
      if (!v2 && op.requestBody) {
        const rb = deref(spec, op.requestBody);
        const types = Object.keys(rb.content ?? {});
        const media = types.find((t) => /json/.test(t)) ?? types.find((t) => t === 'application/x-www-form-urlencoded')
          ?? types.find((t) => t === 'multipart/form-data') ?? types[0];
        body = { media, schema: deref(spec, rb.content[media].schema ?? {}) };
      }
      const okResponse = Object.entries(op.responses ?? {}).find(([code]) => /^2/.test(code))?.[1];
      const responseContent = okResponse && deref(spec, okResponse)?.[v2 ? 'schema' : 'content'];
      const responseSchema = v2 ? responseContent && deref(spec, responseContent)
        : responseContent && Object.entries(responseContent).find(([t]) => /json/.test(t))?.[1]?.schema;
      ops.push({ method: method.toUpperCase(), path, operationId: op.operationId, params, body, security: op.security ?? spec.security ?? [], responseSchema: responseSchema && deref(spec, responseSchema) });
    }
  }
  return ops;
}

/** A value `schema` accepts, different for each name; strings hold a space and a slash, to be encoded. */
function sample(spec, rawSchema, name, depth = 0) {
  const schema = deref(spec, rawSchema) ?? {};
  if (schema.enum) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s) => sample(spec, s, name, depth)));
  switch (type ?? (schema.properties ? 'object' : schema.items ? 'array' : 'string')) {
    case 'integer': return 7;
    case 'number': return 2.5;
    case 'boolean': return true;
    case 'array': return depth > 3 ? [] : [sample(spec, schema.items, `${name}0`, depth + 1), sample(spec, schema.items, `${name}1`, depth + 1)]
      .filter((x, i, all) => i === 0 || JSON.stringify(x) !== JSON.stringify(all[0]));
    case 'object':
      if (depth > 3) return {};
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, s]) => [k, sample(spec, s, k, depth + 1)]));
    default:
      if (schema.format === 'date-time') return '2026-11-22T10:00:00Z';
      if (schema.format === 'binary' || schema.type === 'file') return `bytes of ${name}`;
      return `v ${name}/x`;
  }
}

/** The argument name the tool gives a spec parameter or body property: `name`, or `name__<where>` on collisions. */
function argName(properties, name, where) {
  if (properties[`${name}__${where}`]) return `${name}__${where}`;
  assert.ok(properties[name], `an argument for ${where} ${name} in ${Object.keys(properties)}`);
  return name;
}

/**
 * The arguments of a call of `op` (a value for every parameter and body property) and the request it must become:
 * {args, expect: {method, path, query: [[k, v]], headers: {k: v}, cookies: {k: v}, body}}.
 */
function plan(spec, op, tool, basePath, credentials) {
  const properties = tool.inputSchema.properties ?? {};
  const args = {};
  const query = [];
  const headers = {};
  const cookies = {};
  let path = `${basePath}${op.path}`;
  for (const p of op.params) {
    const value = sample(spec, p.schema, p.name);
    args[argName(properties, p.name, p.in)] = value;
    const text = (v) => String(v);
    if (p.in === 'path') path = path.replace(`{${p.name}}`, encodeURIComponent(text(value)));
    else if (p.in === 'query') {
      if (Array.isArray(value) && p.explode) for (const v of value) query.push([p.name, text(v)]);
      else query.push([p.name, Array.isArray(value) ? value.map(text).join(p.join) : text(value)]);
    } else if (p.in === 'header') headers[p.name.toLowerCase()] = Array.isArray(value) ? value.join(',') : text(value);
    else if (p.in === 'cookie') cookies[p.name] = text(value);
  }
  let body;
  if (op.body) {
    const schema = op.body.schema;
    const props = schema.type === 'object' || schema.properties ? Object.keys(schema.properties ?? {}) : [];
    if (props.length) {
      body = {};
      for (const k of props) {
        const value = sample(spec, schema.properties[k], k);
        args[argName(properties, k, 'body')] = value;
        body[k] = value;
      }
    } else {
      body = sample(spec, schema, 'body');
      args[argName(properties, 'body', 'body')] = body;
    }
  }
  // The first alternative of the security requirement whose schemes all have a credential.
  const schemes = spec.components?.securitySchemes ?? spec.securityDefinitions ?? {};
  const alternative = op.security.find((alt) => Object.keys(alt).every((s) => credentials[s] !== undefined)) ?? {};
  for (const name of Object.keys(alternative)) {
    const scheme = schemes[name];
    if (scheme.type === 'apiKey' && scheme.in === 'header') headers[scheme.name.toLowerCase()] = credentials[name];
    else if (scheme.type === 'apiKey' && scheme.in === 'query') query.push([scheme.name, credentials[name]]);
    else if (scheme.type === 'apiKey' && scheme.in === 'cookie') cookies[scheme.name] = credentials[name];
    else headers.authorization = `Bearer ${credentials[name]}`;
  }
  return { args, expect: { method: op.method, path, query, headers, cookies, media: op.body?.media, body } };
}

// ---------------------------------------------------------------------------------------------------------------
// The backend: records each request exactly and answers what the test queued for it.

async function startBackend() {
  const requests = [];
  let next = { status: 200, body: {} };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      const text = JSON.stringify(next.body);
      res.writeHead(next.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    answerNext(answer) { next = answer; },
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}

/** The parts of a multipart/form-data body, by name. */
function multipartParts(contentType, body) {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  assert.ok(boundary, `a boundary in ${contentType}`);
  const parts = {};
  for (const chunk of body.toString('latin1').split(`--${boundary}`).slice(1, -1)) {
    const [head, ...rest] = chunk.replace(/^\r\n/, '').split('\r\n\r\n');
    const name = /name="([^"]+)"/.exec(head)?.[1];
    parts[name] = rest.join('\r\n\r\n').replace(/\r\n$/, '');
  }
  return parts;
}

/** Headers any HTTP client adds (and Workers' `CF-Worker`, the calling zone), beside the ones an operation asks for. */
const TRANSPORT_HEADERS = new Set(['host', 'cf-worker', 'user-agent', 'accept', 'accept-encoding', 'content-length', 'content-type', 'connection', 'transfer-encoding', 'cookie']);

/** Asserts that `seen` (what the backend recorded) is exactly the request `expect` describes. */
function assertRequest(seen, expect, what) {
  const url = new URL(seen.url, 'http://backend');
  assert.equal(seen.method, expect.method, what);
  assert.equal(url.pathname, expect.path, `${what}: path`);
  const sort = (pairs) => pairs.map(([k, v]) => `${k}=${v}`).sort();
  assert.deepEqual(sort([...url.searchParams]), sort(expect.query), `${what}: query ${url.search}`);
  for (const [k, v] of Object.entries(expect.headers)) assert.equal(seen.headers[k], v, `${what}: header ${k}`);
  const extra = Object.keys(seen.headers).filter((k) => !TRANSPORT_HEADERS.has(k) && !(k in expect.headers));
  assert.deepEqual(extra, [], `${what}: no other headers (the MCP client's are never forwarded)`);
  const cookies = Object.fromEntries((seen.headers.cookie ?? '').split(/;\s*/).filter(Boolean).map((c) => c.split('=')));
  assert.deepEqual(cookies, expect.cookies, `${what}: cookies`);
  for (const v of Object.values(seen.headers)) assert.ok(!String(v).includes(KEY), `${what}: the client's key is not forwarded`);
  if (expect.body === undefined) {
    assert.equal(seen.body.length, 0, `${what}: no body`);
    return;
  }
  const type = seen.headers['content-type'] ?? '';
  assert.ok(type.startsWith(expect.media), `${what}: Content-Type ${type}, expected ${expect.media}`);
  if (expect.media === 'application/x-www-form-urlencoded') {
    const text = (v) => (typeof v === 'object' ? JSON.stringify(v) : String(v));
    const want = Object.entries(expect.body).map(([k, v]) => [k, text(v)]);
    assert.deepEqual(sort([...new URLSearchParams(seen.body.toString('utf8'))]), sort(want), `${what}: form body`);
  } else if (expect.media === 'multipart/form-data') {
    const want = Object.fromEntries(Object.entries(expect.body).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]));
    assert.deepEqual(multipartParts(type, seen.body), want, `${what}: multipart body`);
  } else if (/json/.test(expect.media)) {
    assert.deepEqual(JSON.parse(seen.body.toString('utf8')), expect.body, `${what}: JSON body`);
  } else {
    assert.equal(seen.body.toString('utf8'), String(expect.body), `${what}: body`);
  }
}

const VALID_NAME = /^[A-Za-z0-9_-]{1,64}$/;

describe('Petstore 3.0, 3.1 and Swagger 2.0 imported and called through an MCP client', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-e2e-specs-'));
  const persistTo = join(dir, 'state');
  const specs = {};
  let backend;
  let worker;
  let sdk;
  let tools;

  before(async () => {
    backend = await startBackend();
    const vars = { MCP_API_KEYS: `tester:${KEY}`, OPENAPI_APIS: Object.keys(PETSTORES).join(',') };
    for (const [name, file] of Object.entries(PETSTORES)) {
      specs[name] = JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8'));
      putIndex(persistTo, name, importSpec(join(EXAMPLES, file), name, dir));
      const upper = name.toUpperCase();
      Object.assign(vars, {
        [`OPENAPI_${upper}_BASE_URL`]: `${backend.url}/${name}/api`,
        [`OPENAPI_${upper}_CREDENTIALS`]: JSON.stringify(CREDENTIALS),
        [`OPENAPI_${upper}_TOOL_PREFIX`]: `${name}_`,
      });
    }
    worker = await startWorker({ persistTo, vars });
    sdk = await connectSdk(worker.url, { requestInit: { headers: { authorization: `Bearer ${KEY}` } } });
    // Sixty tools: more than a page (MCP_PAGE_SIZE), so every page is read.
    tools = [];
    let cursor;
    do {
      const page = await sdk.client.listTools(cursor ? { cursor } : undefined, RPC);
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
  }, { timeout: 900_000 });

  after(async () => {
    await closeQuietly(sdk?.client);
    await worker?.stop();
    await backend?.close();
    rmSync(dir, { recursive: true, force: true });
  }, { timeout: 30_000 });

  for (const [api, file] of Object.entries(PETSTORES)) {
    it(`${file}: every operation is a tool with a valid, unique name and an object schema of its arguments`, T, () => {
      const ops = operationsOf(specs[api]);
      assert.equal(ops.length, 20, 'the Petstore has 20 operations');
      const mine = tools.filter((t) => t.name.startsWith(`${api}_`));
      assert.deepEqual(mine.map((t) => t.name).sort(), ops.map((o) => `${api}_${o.operationId}`).sort());
      assert.equal(new Set(tools.map((t) => t.name)).size, tools.length, 'names are unique');
      for (const t of mine) {
        assert.match(t.name, VALID_NAME);
        assert.equal(t.inputSchema.type, 'object', t.name);
        for (const r of t.inputSchema.required ?? []) assert.ok(t.inputSchema.properties?.[r], `${t.name}: required ${r} is a property`);
        const op = ops.find((o) => `${api}_${o.operationId}` === t.name);
        assert.equal(t.annotations?.readOnlyHint ?? false, op.method === 'GET', `${t.name}: readOnlyHint`);
        assert.equal(t.annotations?.destructiveHint ?? false, op.method === 'DELETE', `${t.name}: destructiveHint`);
      }
    });

    it(`${file}: each operation called sends exactly the request its spec describes, and its answer comes back`, T, async () => {
      const spec = specs[api];
      for (const op of operationsOf(spec)) {
        const name = `${api}_${op.operationId}`;
        const tool = tools.find((t) => t.name === name);
        const { args, expect } = plan(spec, op, tool, `/${api}/api`, CREDENTIALS);
        const answer = op.responseSchema ? sample(spec, op.responseSchema, 'answer') : { done: name };
        backend.answerNext({ status: 200, body: answer });
        const mark = backend.requests.length;
        const result = await sdk.client.callTool({ name, arguments: args }, undefined, RPC);
        const seen = backend.requests.slice(mark);
        assert.equal(seen.length, 1, `${name}: one request (${JSON.stringify(result)})`);
        assertRequest(seen[0], expect, name);
        assert.notEqual(result.isError, true, `${name}: ${JSON.stringify(result)}`);
        const wrapped = Array.isArray(answer) || typeof answer !== 'object' ? { result: answer } : answer;
        assert.deepEqual(result.structuredContent, wrapped, `${name}: the answer as structured content`);
      }
    });
  }

  it('an answer of the backend that is an HTTP error is a tool error with the status', T, async () => {
    backend.answerNext({ status: 404, body: { message: 'Pet not found' } });
    const result = await sdk.client.callTool({ name: 'p30_getPetById', arguments: { petId: 404 } }, undefined, RPC);
    assert.equal(result.isError, true);
    assert.match(result.content[0].text, /404/);
    assert.match(result.content[0].text, /Pet not found/);
  });
});

describe('GitHub\'s spec imported whole; its large-API tools call GitHub as the signed-in user', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-e2e-github-spec-'));
  const persistTo = join(dir, 'state');
  const secret = `openapi-gh-e2e-server-secret-${randomBytes(16).toString('hex')}`;
  const robotKey = `robot-${randomBytes(16).toString('hex')}`;
  let fake;
  let worker;
  let tokens;
  let index;

  before(async () => {
    fake = await startFakeGitHub();
    const file = importSpec(GITHUB_SPEC, 'gh', dir);
    index = JSON.parse(readFileSync(file, 'utf8'));
    assert.ok(statSync(file).size < 8 * 1024 * 1024, 'the index of GitHub\'s 13 MB spec is a few MB');
    putIndex(persistTo, 'gh', file);
    const port = await freePort();
    fake.callbackUrl = `http://127.0.0.1:${port}/callback`;
    worker = await startWorker({
      port,
      persistTo,
      vars: {
        ...fake.vars, MCP_SERVER_SECRET: secret, MCP_API_KEYS: `robot:${robotKey}`,
        OPENAPI_APIS: 'gh', OPENAPI_GH_BASE_URL: fake.apiUrl, OPENAPI_GH_AUTH: 'github_user',
      },
    });
    fake.approveNextAs('octocat');
    ({ tokens } = await signIn(worker.url, { discovery: await discover(`${worker.url}/mcp`), redirectUri: 'http://127.0.0.1:45873/callback' }));
  }, { timeout: 900_000 });

  after(async () => {
    await worker?.stop();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  }, { timeout: 30_000 });

  async function tool(headers, name, args) {
    const s = await openSession(worker.url, { headers });
    const { answer, message } = await call(worker.url, s, 'tools/call', { name, arguments: args }, { headers });
    assert.equal(answer.status, 200, answer.text);
    return message.result;
  }

  it('imports all 1,223 operations with valid, unique names; served as three tools (search, describe, invoke)', T, async () => {
    const names = index.operations.map((o) => o.name);
    assert.ok(names.length >= 1200, `${names.length} operations`);
    assert.equal(new Set(names).size, names.length, 'unique');
    for (const n of names) assert.match(n, /^[A-Za-z0-9_-]{1,56}$/);
    const s = await openSession(worker.url, { headers: bearer(tokens.access_token) });
    const { message } = await call(worker.url, s, 'tools/list', {}, { headers: bearer(tokens.access_token) });
    const gh = message.result.tools.map((t) => t.name).filter((n) => n.startsWith('gh_'));
    assert.deepEqual(gh.sort(), ['gh_describe_operation', 'gh_invoke_operation', 'gh_search_operations']);
  });

  it('finds and invokes GET /user and GET /repos/{owner}/{repo} with the user\'s GitHub token, never ours', T, async () => {
    const headers = bearer(tokens.access_token);
    const byPath = (method, path) => index.operations.find((o) => o.method === method && o.path === path).name;
    const found = await tool(headers, 'gh_search_operations', { query: 'get the authenticated user' });
    const getUser = byPath('get', '/user');
    assert.ok(found.structuredContent.operations.slice(0, 3).some((o) => o.name === getUser), JSON.stringify(found.structuredContent));
    const described = await tool(headers, 'gh_describe_operation', { name: byPath('get', '/repos/{owner}/{repo}') });
    assert.match(JSON.stringify(described.structuredContent), /owner/);
    fake.clearRequests();
    const me = await tool(headers, 'gh_invoke_operation', { name: getUser, arguments: {} });
    assert.notEqual(me.isError, true, JSON.stringify(me));
    assert.equal(me.structuredContent.login, 'octocat');
    const repo = await tool(headers, 'gh_invoke_operation', { name: byPath('get', '/repos/{owner}/{repo}'), arguments: { owner: 'octocat', repo: 'hello world' } });
    assert.equal(repo.isError, true, 'the fake GitHub has no repositories');
    assert.match(repo.content[0].text, /404/);
    const [user] = fake.requestsTo('/user');
    const [repoRequest] = fake.requestsTo('/repos/octocat/hello%20world');
    for (const r of [user, repoRequest]) {
      assert.ok(r, fake.describe());
      assert.equal(r.authorization?.known, true, 'a token the fake GitHub issued');
      assert.ok(r.userAgent);
    }
    assert.ok(fake.received(fake.issuedTokens().at(-1)), 'GitHub saw the user\'s GitHub token');
    assert.ok(!fake.received(tokens.access_token), 'GitHub never saw our access token');
  });

  it('asks an API-key caller to sign in with GitHub, and sends nothing', T, async () => {
    fake.clearRequests();
    const result = await tool(bearer(robotKey), 'gh_invoke_operation', { name: index.operations.find((o) => o.method === 'get' && o.path === '/user').name });
    assert.equal(result.isError, true);
    assert.match(result.content[0].text, /sign in with GitHub/);
    assert.equal(fake.requestsTo((r) => r.server === 'api').length, 0, fake.describe());
  });
});
