// The deployer's own document collection: `documents.json` in the DOCUMENTS KV namespace replaces the bundled
// one for `search`, `fetch` and the docs:// resources; an invalid collection is reported as a tool error.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorker, ROOT } from './support/worker.mjs';
import { openSession, call, loadDocuments } from './support/mcp.mjs';

const T = { timeout: 30_000 };
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

/** Writes `documents.json` into the local KV state that `wrangler dev --persist-to dir` reads. */
function putDocuments(persistTo, text) {
  const file = join(persistTo, 'upload.json');
  writeFileSync(file, text);
  execFileSync(process.execPath, [WRANGLER, 'kv', 'key', 'put', '--binding', 'DOCUMENTS', 'documents.json',
    '--path', file, '--local', '--persist-to', persistTo], {
    cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', MCP_SKIP_BUILD: '1' }, stdio: 'pipe', timeout: 60_000,
  });
}

const custom = [
  { id: 'zebra-handbook', title: 'The zebra handbook', url: 'https://docs.example.com/zebra', text: 'Zebras have stripes and live in herds.', metadata: { owner: 'zoo' } },
  { id: 'okapi-notes', title: 'Okapi notes', url: 'https://docs.example.com/okapi', text: 'The okapi is related to the giraffe.' },
];

/** A suite against a worker whose DOCUMENTS namespace holds `collection` as documents.json. */
function withCollection(title, collection, body) {
  describe(title, { timeout: 300_000 }, () => {
    const persistTo = mkdtempSync(join(tmpdir(), 'mcp-e2e-docs-'));
    const ctx = { worker: null };
    before(async () => {
      putDocuments(persistTo, collection);
      ctx.worker = await startWorker({ persistTo });
    }, { timeout: 180_000 });
    after(async () => {
      await ctx.worker?.stop();
      rmSync(persistTo, { recursive: true, force: true });
    }, { timeout: 30_000 });
    body(ctx);
  });
}

withCollection('documents from the DOCUMENTS KV namespace', JSON.stringify(custom), (ctx) => {
  it('search, fetch and resources serve the KV collection instead of the bundled one', T, async () => {
    const { worker } = ctx;
    const s = await openSession(worker.url);
    const { message: found } = await call(worker.url, s, 'tools/call', { name: 'search', arguments: { query: 'zebra stripes' } });
    assert.deepEqual(found.result.structuredContent.results[0], { id: 'zebra-handbook', title: custom[0].title, url: custom[0].url });
    const bundledTitle = loadDocuments()[0].title;
    const { message: old } = await call(worker.url, s, 'tools/call', { name: 'search', arguments: { query: bundledTitle } });
    assert.ok(old.result.structuredContent.results.every((r) => custom.some((c) => c.id === r.id)), JSON.stringify(old.result));
    const { message: fetched } = await call(worker.url, s, 'tools/call', { name: 'fetch', arguments: { id: 'okapi-notes' } });
    assert.deepEqual(JSON.parse(fetched.result.content[0].text), custom[1]);
    const { message: list } = await call(worker.url, s, 'resources/list', {});
    assert.deepEqual(list.result.resources.map((r) => r.uri).sort(), ['docs://okapi-notes', 'docs://zebra-handbook']);
  });
});

withCollection('an invalid collection in KV', JSON.stringify([custom[0], custom[0]]), (ctx) => {
  it('makes search an error result naming the problem, and resources/list an internal error', T, async () => {
    const { worker } = ctx;
    const s = await openSession(worker.url);
    const { answer, message } = await call(worker.url, s, 'tools/call', { name: 'search', arguments: { query: 'zebra' } });
    assert.equal(answer.status, 200);
    assert.equal(message.result.isError, true);
    assert.match(message.result.content[0].text, /zebra-handbook.*twice/);
    const { message: list } = await call(worker.url, s, 'resources/list', {});
    assert.equal(list.error.code, -32603);
    assert.match(list.error.message, /documents\.json/);
  });
});
