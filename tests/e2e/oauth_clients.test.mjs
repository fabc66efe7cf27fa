// Real clients signing in with GitHub (issue 9) against the worker, with the fake GitHub of
// support/fake_github.mjs: the TypeScript SDK's client with an OAuthClientProvider, mcp-remote (its $BROWSER hook
// runs support/oauth_browser.mjs, which approves the consent page), and the official conformance suite's
// `authorization` command (both scenarios); mcp-remote with a static key beside sign-in; and the consent page
// rendered by headless Chromium, where a client name full of HTML and script must show as text.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { startWorker, freePort, ROOT, recordSecrets } from './support/worker.mjs';
import { startFakeGitHub } from './support/fake_github.mjs';
import { sleep } from './support/mcp.mjs';
import { findChromium, renderInChromium } from './support/chromium.mjs';
import { RPC, closeQuietly } from './support/sdk.mjs';
import {
  discover, register, registerRaw, authorizeUrl, browse, pkcePair, randomState, redirectParams, findSecrets,
} from './support/oauth_flow.mjs';

const T = { timeout: 120_000 };
const SECRET = 'oauth-clients-e2e-server-secret-0123456789abcdef';
const API_KEY = 'key-bridge-0123456789abcdef0123';
const MCP_REMOTE_DIR = join(ROOT, 'node_modules', 'mcp-remote');
const MCP_REMOTE = join(MCP_REMOTE_DIR, JSON.parse(readFileSync(join(MCP_REMOTE_DIR, 'package.json'), 'utf8')).bin['mcp-remote']);
const CONFORMANCE = join(ROOT, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const BROWSER_SCRIPT = join(ROOT, 'tests', 'e2e', 'support', 'oauth_browser.mjs');
const INSPECTOR = join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector', 'clients', 'launcher', 'build', 'index.js');

/** whoami's structured answer for a signed-in GitHub user (src/toolset/whoami.rs). */
const OCTOCAT = { kind: 'user', id: 'github:1', login: 'octocat', name: 'The Octocat' };

/** Every token the clients obtained, for the log scan. */
const secrets = new Set([SECRET, API_KEY]);

/** The output of a tool result: structured content, or the text parsed as JSON. */
function toolOutput(result) {
  if (result?.structuredContent !== undefined) return result.structuredContent;
  const text = result?.content?.find((c) => c.type === 'text')?.text;
  try { return JSON.parse(text); } catch { return text; }
}

/**
 * An OAuthClientProvider kept in memory, as an application would implement it; `redirectToAuthorization` only
 * records the URL: the test plays the user's browser.
 */
class MemoryProvider {
  constructor(redirectUrl) {
    this._redirectUrl = redirectUrl;
    this.authorizationUrls = [];
    this.savedTokens = [];
  }
  get redirectUrl() { return this._redirectUrl; }
  get clientMetadata() {
    return {
      client_name: 'e2e SDK client', redirect_uris: [this._redirectUrl], grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'], token_endpoint_auth_method: 'none',
    };
  }
  state() { this.lastState = randomState(); return this.lastState; }
  clientInformation() { return this.client; }
  saveClientInformation(info) { this.client = info; }
  tokens() { return this.currentTokens; }
  saveTokens(tokens) {
    this.currentTokens = tokens;
    this.savedTokens.push(tokens);
    secrets.add(tokens.access_token);
    if (tokens.refresh_token) secrets.add(tokens.refresh_token);
  }
  redirectToAuthorization(url) { this.authorizationUrls.push(new URL(url)); }
  saveCodeVerifier(v) { this.verifier = v; secrets.add(v); }
  codeVerifier() { return this.verifier; }
  saveDiscoveryState(s) { this.discovery = s; }
  discoveryState() { return this.discovery; }
}

/** Runs a node script; resolves with its exit code and output; `onLine` sees each stdout line as it comes. */
function run(args, { timeoutMs, onLine = () => {}, env = process.env }) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    createInterface({ input: child.stdout }).on('line', (line) => { output += `${line}\n`; onLine(line); });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`timed out after ${timeoutMs} ms:\n${output}`)); }, timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); setTimeout(() => resolve({ code, output }), 50); });
  });
}

/**
 * mcp-remote as a stdio bridge, with a private HOME and config dir and `$BROWSER` set to the headless browser
 * script. `request(method, params)` writes a JSON-RPC request to its stdin and resolves with the answer.
 */
function startBridge(serverUrl, args, { browserLog } = {}) {
  const home = mkdtempSync(join(tmpdir(), 'mcp-remote-oauth-'));
  const browser = join(home, 'browser.sh');
  writeFileSync(browser, `#!/bin/sh\nexec "${process.execPath}" "${BROWSER_SCRIPT}" "$@"\n`);
  chmodSync(browser, 0o755);
  const child = spawn(process.execPath, [MCP_REMOTE, serverUrl, ...args], {
    cwd: home,
    env: {
      PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      HOME: home,
      MCP_REMOTE_CONFIG_DIR: join(home, 'mcp-auth'),
      TMPDIR: tmpdir(),
      BROWSER: browser,
      OAUTH_BROWSER_LOG: browserLog ?? join(home, 'browser.log'),
      NO_COLOR: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const bridge = { child, home, stderr: '', messages: [], exit: undefined, browserLog: browserLog ?? join(home, 'browser.log') };
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => { bridge.exit = { code, signal }; resolve(); }));
  child.stdin.on('error', () => {});
  child.stderr.on('data', (d) => { bridge.stderr += d; });
  createInterface({ input: child.stdout }).on('line', (line) => {
    try { bridge.messages.push(JSON.parse(line)); } catch {}
  });
  bridge.tail = () => `--- mcp-remote stderr (tail) ---\n${bridge.stderr.slice(-4000)}\n--- browser ---\n${existsSync(bridge.browserLog) ? readFileSync(bridge.browserLog, 'utf8') : '(never ran)'}`;
  let nextId = 1;
  bridge.request = async (method, params, timeoutMs = 20_000) => {
    const id = nextId++;
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) })}\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = bridge.messages.find((x) => x.id === id && ('result' in x || 'error' in x));
      if (m) return m;
      if (bridge.exit) throw new Error(`mcp-remote exited (${bridge.exit.code ?? bridge.exit.signal})\n${bridge.tail()}`);
      if (Date.now() > deadline) throw new Error(`no answer to ${method} within ${timeoutMs} ms\n${bridge.tail()}`);
      await sleep(50);
    }
  };
  bridge.notify = (method) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method })}\n`);
  bridge.waitReady = async (timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    while (!/Proxy established successfully/.test(bridge.stderr)) {
      if (bridge.exit) throw new Error(`mcp-remote exited during start-up (${bridge.exit.code ?? bridge.exit.signal})\n${bridge.tail()}`);
      if (Date.now() > deadline) throw new Error(`mcp-remote did not establish the proxy within ${timeoutMs} ms\n${bridge.tail()}`);
      await sleep(100);
    }
  };
  bridge.stop = async () => {
    if (!bridge.exit) {
      child.stdin.end();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(home, { recursive: true, force: true });
  };
  return bridge;
}

describe('real clients signing in with GitHub (fake GitHub)', { timeout: 900_000 }, () => {
  let fake;
  let worker;
  let url;
  let mcpUrl;
  let d;

  before(async () => {
    fake = await startFakeGitHub();
    const port = await freePort();
    fake.callbackUrl = `http://127.0.0.1:${port}/callback`;
    worker = await startWorker({ port, vars: { ...fake.vars, MCP_SERVER_SECRET: SECRET, MCP_API_KEYS: `bridge:${API_KEY}` } });
    url = worker.url;
    mcpUrl = `${url}/mcp`;
    d = await discover(mcpUrl);
  }, { timeout: 150_000 });

  after(async () => {
    await worker?.stop();
    await fake?.close();
  }, { timeout: 30_000 });

  it('the TypeScript SDK client (OAuthClientProvider): 401 → sign-in → finishAuth → tools/call whoami', T, async () => {
    const redirectUrl = `http://127.0.0.1:${await freePort()}/sdk/callback`;
    const provider = new MemoryProvider(redirectUrl);
    const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
    const client = new Client({ name: 'e2e-sdk-oauth', version: '1.0.0' });
    await assert.rejects(client.connect(first, RPC), (e) => e instanceof UnauthorizedError || /unauthori[sz]ed/i.test(String(e?.message)));
    await closeQuietly(client);
    assert.equal(provider.authorizationUrls.length, 1, 'the SDK asked to open the authorization URL once');
    assert.ok(provider.client?.client_id, 'the SDK registered a client (DCR)');
    const authUrl = provider.authorizationUrls[0];
    assert.equal(`${authUrl.origin}${authUrl.pathname}`, d.as.authorization_endpoint);
    assert.equal(authUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authUrl.searchParams.get('resource'), mcpUrl, 'the SDK asks for this resource (RFC 8707)');

    // The user's browser: consent, GitHub, back to the SDK's redirect URL (read, not fetched).
    const walk = await browse(authUrl.toString(), { stopAt: (u) => u.startsWith(redirectUrl) });
    assert.ok(walk.stoppedAt, `reached the redirect URL: ${walk.visited.join(' → ')} ${walk.answer?.status} ${walk.answer?.text?.slice(0, 300)}`);
    const r = redirectParams(walk.stoppedAt);
    assert.ok(r.code, walk.stoppedAt);
    assert.equal(r.state, provider.lastState);
    assert.equal(r.iss, d.issuer);
    secrets.add(r.code);
    await first.finishAuth(r.code);
    assert.ok(provider.currentTokens?.access_token, 'finishAuth saved the tokens');

    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
    const signedIn = new Client({ name: 'e2e-sdk-oauth', version: '1.0.0' });
    try {
      await signedIn.connect(transport, RPC);
      const { tools } = await signedIn.listTools({}, RPC);
      assert.ok(tools.some((t) => t.name === 'whoami'), tools.map((t) => t.name).join(', '));
      const result = await signedIn.callTool({ name: 'whoami', arguments: {} }, undefined, RPC);
      assert.deepEqual(toolOutput(result), OCTOCAT);
    } finally {
      await closeQuietly(signedIn);
    }
    assert.equal(fake.received(provider.currentTokens.access_token), false, 'the MCP token never reached GitHub');
  });

  it('mcp-remote signs in headlessly through $BROWSER, then calls whoami through stdio', T, async () => {
    const callbackPort = await freePort();
    const bridge = startBridge(mcpUrl, [String(callbackPort)]);
    try {
      await bridge.waitReady(90_000);
      assert.match(bridge.stderr, /Please authorize this client by visiting/, 'mcp-remote went through the browser sign-in');
      const browserLog = readFileSync(bridge.browserLog, 'utf8');
      assert.match(browserLog, /consent form: approve/, browserLog);
      assert.match(browserLog, new RegExp(`GET http://(localhost|127\\.0\\.0\\.1):${callbackPort}/oauth/callback`), browserLog);
      const init = await bridge.request('initialize', {
        protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e-mcp-remote-oauth', version: '1.0.0' },
      });
      assert.ok(init.result, JSON.stringify(init));
      bridge.notify('notifications/initialized');
      const who = await bridge.request('tools/call', { name: 'whoami', arguments: {} });
      assert.ok(who.result, JSON.stringify(who));
      assert.deepEqual(toolOutput(who.result), OCTOCAT);
      // Its stored tokens are ours, for this resource.
      const stored = execFileSync('sh', ['-c', `cat "${join(bridge.home, 'mcp-auth')}"/*/*tokens.json 2>/dev/null || true`], { encoding: 'utf8' });
      for (const m of stored.matchAll(/"(access_token|refresh_token)"\s*:\s*"([^"]+)"/g)) secrets.add(m[2]);
      assert.match(stored, /"access_token"\s*:\s*"mcp_at\./, 'mcp-remote stored one of our access tokens');
    } finally {
      await bridge.stop();
    }
  });

  it('mcp-remote --header "Authorization: Bearer <key>" works beside sign-in, with no sign-in', T, async () => {
    const bridge = startBridge(mcpUrl, [String(await freePort()), '--header', `Authorization: Bearer ${API_KEY}`]);
    try {
      await bridge.waitReady(60_000);
      assert.doesNotMatch(bridge.stderr, /Please authorize/, 'no OAuth flow with a key');
      assert.ok(!existsSync(bridge.browserLog), 'the browser was never opened');
      const init = await bridge.request('initialize', {
        protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e-mcp-remote-key', version: '1.0.0' },
      });
      assert.ok(init.result, JSON.stringify(init));
      bridge.notify('notifications/initialized');
      const who = await bridge.request('tools/call', { name: 'whoami', arguments: {} });
      assert.deepEqual(toolOutput(who.result), { kind: 'api_key', id: 'key:bridge', name: 'bridge' });
    } finally {
      await bridge.stop();
    }
  });

  it('the Inspector CLI with --header "Authorization: Bearer <key>" works beside sign-in', T, async () => {
    const home = mkdtempSync(join(tmpdir(), 'inspector-oauth-'));
    const env = { ...process.env, HOME: home, MCP_CATALOG_PATH: join(home, 'mcp.json'), NO_COLOR: '1' };
    try {
      const args = [INSPECTOR, '--cli', mcpUrl, '--transport', 'http', '--method', 'tools/call', '--tool-name', 'whoami'];
      const ok = await run([...args, '--header', `Authorization: Bearer ${API_KEY}`], { timeoutMs: 60_000, env });
      assert.equal(ok.code, 0, ok.output);
      const json = JSON.parse(ok.output.slice(ok.output.indexOf('{')));
      assert.deepEqual(toolOutput(json), { kind: 'api_key', id: 'key:bridge', name: 'bridge' }, ok.output);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('conformance `authorization --url <issuer> --client-id <id> --resource <url>/mcp`: both scenarios pass', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const client = await register(d.as, { client_name: 'conformance suite', redirect_uris: [`http://127.0.0.1:${port}/callback`] });
    let walk;
    const walks = [];
    const { code, output } = await run([
      CONFORMANCE, 'authorization', '--url', d.issuer, '--client-id', client.client_id, '--resource', mcpUrl, '-p', String(port),
    ], {
      timeoutMs: 150_000,
      onLine: (line) => {
        // The suite prints the authorization URL for a user to open; the headless browser opens it.
        if (line.startsWith(`${d.as.authorization_endpoint}?`)) {
          walks.push(browse(line.trim()).then((w) => { walk = w; }, (e) => { walk = { error: e }; }));
        }
      },
    });
    await Promise.all(walks);
    const summary = output.slice(output.indexOf('=== SUMMARY ==='));
    assert.equal(walks.length, 1, `the suite asked for one authorization:\n${output}`);
    assert.ok(!walk?.error, `the browser: ${walk?.error?.stack}`);
    assert.equal(code, 0, output);
    assert.match(summary, /✓ authorization-server-metadata-endpoint: 2 passed, 0 failed/, `metadata and CIMD checks pass:\n${summary}`);
    assert.match(summary, /✓ authorization-code-grant: 1 passed, 0 failed/, summary);
    assert.match(summary, /Total: 3 passed, 0 failed/, summary);
  });

  it('headless Chromium renders the consent page with an HTML/script client name as text, running nothing', async (t) => {
    const chromium = findChromium();
    if (!chromium) {
      t.skip('chromium is not installed (scripts/setup.sh installs it with apt on Debian when it can)');
      return;
    }
    const name = '<script>document.documentElement.dataset.pwned="script"</script><img src=x onerror="document.documentElement.dataset.pwned=\'img\'"><b>bold</b>';
    const reg = await registerRaw(d.as, {
      client_name: name, redirect_uris: ['http://127.0.0.1:45871/callback'], token_endpoint_auth_method: 'none',
    });
    assert.equal(reg.status, 201, reg.text);
    const page = authorizeUrl(d.as, {
      clientId: reg.json.client_id, redirectUri: 'http://127.0.0.1:45871/callback', challenge: pkcePair().challenge,
      state: randomState(), resource: mcpUrl,
    });
    const seen = await renderInChromium(chromium, page);
    assert.equal(seen.pwned, null, `nothing from the client name ran: ${seen.pwned}`);
    assert.ok(seen.text.includes(name), `the name is shown literally, as text:\n${seen.text}`);
    assert.equal(seen.injected, 0, 'no <script>, <img> or <b> element came from the name');
    assert.equal(seen.forms, 1, 'one consent form');
    assert.ok(seen.text.includes('127.0.0.1'), `the redirect host is shown:\n${seen.text}`);
  });

  it('no token, code, key or secret in the log lines of the run', T, async () => {
    recordSecrets(...secrets, ...fake.secrets());
    const found = findSecrets(worker.logs(), [...secrets, ...fake.secrets(), fake.errorDetail]);
    assert.deepEqual(found, [], `secrets in the worker's log:\n${found.join('\n')}`);
  });
});
