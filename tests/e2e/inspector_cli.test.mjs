// The MCP Inspector's CLI mode (`mcp-inspector --cli <url>/mcp --transport http --method ...`) against the worker.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorker, ROOT } from './support/worker.mjs';
import { loadDocuments, LATEST_VERSION } from './support/mcp.mjs';

// The package's `mcp-inspector` bin (clients/launcher), run with this same Node (22).
const INSPECTOR = join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector', 'clients', 'launcher', 'build', 'index.js');
const DOCS = loadDocuments();
const T = { timeout: 90_000 };

describe('MCP Inspector CLI', { timeout: 600_000 }, () => {
  let worker;
  let home;

  /** Runs the Inspector CLI against the worker; resolves to {code, stdout, stderr}. */
  function inspector(args) {
    return new Promise((resolve) => {
      execFile(process.execPath, [INSPECTOR, '--cli', `${worker.url}/mcp`, '--transport', 'http', ...args], {
        cwd: ROOT,
        timeout: 60_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        // A private HOME and catalog so the Inspector neither reads nor writes the user's ~/.mcp-inspector.
        env: { ...process.env, HOME: home, MCP_CATALOG_PATH: join(home, 'mcp.json'), NO_COLOR: '1' },
      }, (error, stdout, stderr) => {
        resolve({ code: error ? (error.code ?? error.signal) : 0, stdout, stderr, killed: error?.killed });
      });
    });
  }

  /** Runs the CLI, requires exit code 0 and JSON on stdout; returns the parsed stdout. */
  async function inspectorJson(args) {
    const r = await inspector(args);
    assert.equal(r.code, 0, `mcp-inspector ${args.join(' ')} exited ${r.code}${r.killed ? ' (killed on timeout)' : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    try {
      return JSON.parse(r.stdout);
    } catch {
      assert.fail(`stdout is not JSON: ${r.stdout}\nstderr: ${r.stderr}`);
    }
  }

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'mcp-e2e-inspector-home-'));
    worker = await startWorker();
  }, { timeout: 150_000 });

  after(async () => {
    await worker?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  }, { timeout: 30_000 });

  it('--method tools/list prints the three tools', T, async () => {
    const out = await inspectorJson(['--method', 'tools/list']);
    assert.deepEqual(out.tools.map((t) => t.name).sort(), ['echo', 'fetch', 'search', 'whoami']);
    const search = out.tools.find((t) => t.name === 'search');
    assert.equal(search.inputSchema.type, 'object');
    assert.equal(search.annotations?.readOnlyHint, true);

    const json = await inspectorJson(['--method', 'tools/list', '--format', 'json']);
    assert.deepEqual(json.result.tools.map((t) => t.name).sort(), ['echo', 'fetch', 'search', 'whoami']);
  });

  it('--method tools/call --tool-name echo --tool-arg message=hello prints hello', T, async () => {
    const r = await inspector(['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=hello']);
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stdout, /hello/);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.content, [{ type: 'text', text: 'hello' }]);
    assert.notEqual(out.isError, true);
  });

  it('initialize negotiates the latest version and shows the capabilities', T, async () => {
    const { result } = await inspectorJson(['--method', 'initialize', '--format', 'json']);
    assert.equal(result.protocolVersion, LATEST_VERSION);
    for (const c of ['tools', 'resources', 'prompts', 'logging']) assert.equal(typeof result.capabilities?.[c], 'object', c);
    assert.equal(typeof result.serverInfo?.name, 'string');
  });

  it('tools/call fetch returns the document from data/documents.json', T, async () => {
    const doc = DOCS.find((d) => d.id === 'durable-object-sessions') ?? DOCS[0];
    const { result } = await inspectorJson(['--method', 'tools/call', '--tool-name', 'fetch', '--tool-arg', `id=${doc.id}`, '--format', 'json']);
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.equal(result.content.length, 1);
    assert.deepEqual(JSON.parse(result.content[0].text), doc);
    assert.deepEqual(result.structuredContent, doc);
  });

  it('tools/call search finds the Durable Object document', T, async () => {
    const { result } = await inspectorJson(['--method', 'tools/call', '--tool-name', 'search', '--tool-arg', 'query=Durable Object', '--format', 'json']);
    const ids = result.structuredContent.results.map((r) => r.id);
    assert.ok(ids.includes('durable-object-sessions'), `ids: ${ids}`);
    assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent);
  });

  it('resources/list and resources/read', T, async () => {
    const list = await inspectorJson(['--method', 'resources/list', '--format', 'json']);
    assert.deepEqual(list.result.resources.map((r) => r.uri).sort(), DOCS.map((d) => `docs://${d.id}`).sort());
    const doc = DOCS.at(-1);
    const read = await inspectorJson(['--method', 'resources/read', '--uri', `docs://${doc.id}`, '--format', 'json']);
    assert.equal(read.result.contents[0].text, doc.text);
  });

  it('prompts/get summarize_document', T, async () => {
    const { result } = await inspectorJson(['--method', 'prompts/get', '--prompt-name', 'summarize_document', '--prompt-args', 'id=settings', '--format', 'json']);
    assert.ok(result.messages.length >= 1);
    assert.equal(result.messages[0].role, 'user');
    assert.ok(result.messages.some((m) => m.content?.text?.includes('settings')), JSON.stringify(result.messages));
  });

  it('logging/setLevel', T, async () => {
    const { result } = await inspectorJson(['--method', 'logging/setLevel', '--log-level', 'debug', '--format', 'json']);
    assert.deepEqual(result, {});
  });
});
