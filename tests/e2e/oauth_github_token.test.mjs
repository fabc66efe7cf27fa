// A tool calling GitHub on the signed-in user's behalf (issue 9, point 5): `github_user` reads GET /user with
// the user's GitHub token, which the grant object keeps encrypted and refreshes when it is an expiring GitHub
// App token (`ghu_`, single-use `ghr_` refresh token), once however many requests ask at the same time. The
// client's access token of ours never reaches GitHub. One worker, a fake GitHub in GitHub App mode.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, freePort, recordSecrets } from './support/worker.mjs';
import { startFakeGitHub } from './support/fake_github.mjs';
import { openSession, call, post, request } from './support/mcp.mjs';
import { signIn, bearer, discover } from './support/oauth_flow.mjs';

const T = { timeout: 60_000 };
const SECRET = 'oauth-github-token-e2e-server-secret-0123456789';
const API_KEY = 'key-gh-tool-0123456789abcdef0123';
const REDIRECT = 'http://127.0.0.1:45872/callback';
const MODERN = '2026-07-28';
/** GitHub's default lifetime of an app user token (8 h). */
const LONG_TTL_S = 28_800;

function toolOutput(result) {
  if (result?.structuredContent !== undefined) return result.structuredContent;
  return result?.content?.find((c) => c.type === 'text')?.text;
}

/** tools/call github_user in a new session; the JSON-RPC message answering it. */
async function inSession(url, headers) {
  const s = await openSession(url, { headers });
  const { answer, message } = await call(url, s, 'tools/call', { name: 'github_user', arguments: {} }, { headers });
  assert.equal(answer.status, 200, answer.text);
  assert.ok(message, answer.text);
  return message;
}

/** tools/call github_user without a session (2026-07-28). */
async function stateless(url, headers) {
  const body = request('tools/call', {
    name: 'github_user', arguments: {},
    _meta: {
      'io.modelcontextprotocol/protocolVersion': MODERN,
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'e2e-github-token', version: '1.0.0' },
    },
  });
  const answer = await post(url, body, {
    headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'github_user', ...headers },
  });
  assert.equal(answer.status, 200, answer.text);
  const message = answer.messages.find((m) => m.id === body.id);
  assert.ok(message, answer.text);
  return message;
}

function assertOctocat(message) {
  const text = JSON.stringify(message);
  assert.ok(message.result, text);
  assert.notEqual(message.result.isError, true, text);
  assert.deepEqual(toolOutput(message.result), { login: 'octocat', id: 1 }, text);
}

const refreshes = (fake) => fake.count((r) => r.path === '/login/oauth/access_token' && (r.bodyFields ?? []).includes('refresh_token'));

describe('tools calling GitHub as the signed-in user', () => {
  let fake;
  let worker;
  let url;
  let d;

  before(async () => {
    fake = await startFakeGitHub({ tokenKind: 'github-app' });
    const port = await freePort();
    fake.callbackUrl = `http://127.0.0.1:${port}/callback`;
    worker = await startWorker({
      port,
      vars: { ...fake.vars, MCP_SERVER_SECRET: SECRET, MCP_API_KEYS: `ci-robot:${API_KEY}` },
    });
    url = worker.url;
    d = await discover(`${url}/mcp`);
  }, { timeout: 240_000 });

  after(async () => {
    await worker?.stop();
    await fake?.close();
  }, { timeout: 30_000 });

  async function signInAs(login) {
    fake.resetDecisions();
    fake.approveNextAs(login);
    return signIn(url, { discovery: d, redirectUri: REDIRECT });
  }

  it('github_user answers the GitHub user, in a session and statelessly, with our GitHub token only', T, async () => {
    fake.appTokenTtlS = LONG_TTL_S;
    const { tokens } = await signInAs('octocat');
    const ghu = fake.issuedTokens().at(-1);
    assert.match(ghu, /^ghu_/);
    fake.clearRequests();
    assertOctocat(await inSession(url, bearer(tokens.access_token)));
    assertOctocat(await stateless(url, bearer(tokens.access_token)));
    const users = fake.requestsTo('/user');
    assert.equal(users.length, 2, fake.describe());
    for (const r of users) {
      assert.equal(r.authorization?.tokenKind, 'ghu', 'a GitHub App user token');
      assert.equal(r.authorization?.known, true);
      assert.equal(r.headers.accept, 'application/vnd.github+json');
      assert.equal(r.headers['x-github-api-version'], '2022-11-28');
      assert.ok(r.userAgent);
    }
    assert.ok(fake.received(ghu), 'GitHub saw the GitHub token');
    assert.ok(!fake.received(tokens.access_token), 'GitHub never saw our access token');
    assert.ok(!fake.received(tokens.refresh_token), 'nor our refresh token');
    assert.equal(refreshes(fake), 0, 'a fresh token is not refreshed');
  });

  it('an expired ghu_ token is refreshed once for concurrent calls, and all succeed', T, async () => {
    fake.appTokenTtlS = 1;
    let flow;
    try {
      flow = await signInAs('octocat');
    } finally {
      fake.appTokenTtlS = LONG_TTL_S;
    }
    const first = fake.issuedTokens().at(-1);
    await new Promise((r) => setTimeout(r, 1500));
    fake.expireTokens();
    fake.clearRequests();
    const headers = bearer(flow.tokens.access_token);
    const answers = await Promise.all([stateless(url, headers), stateless(url, headers), inSession(url, headers)]);
    for (const message of answers) assertOctocat(message);
    assert.equal(refreshes(fake), 1, fake.describe());
    const fresh = fake.issuedTokens().at(-1);
    assert.notEqual(fresh, first);
    for (const r of fake.requestsTo('/user')) assert.equal(r.authorization?.known, true);
    assert.ok(!fake.received(flow.tokens.access_token), 'GitHub never saw our access token');
    // The next call uses the stored fresh token without another refresh.
    assertOctocat(await stateless(url, headers));
    assert.equal(refreshes(fake), 1, fake.describe());
  });

  it('an API-key caller gets a tool error saying it needs GitHub sign-in', T, async () => {
    fake.clearRequests();
    for (const message of [await inSession(url, bearer(API_KEY)), await stateless(url, bearer(API_KEY))]) {
      const text = JSON.stringify(message);
      assert.equal(message.result?.isError, true, text);
      assert.match(text, /signed in with GitHub/, text);
    }
    assert.equal(fake.count('/user'), 0, fake.describe());
  });

  it('no log line holds a token', T, async () => {
    const logs = worker.logs();
    recordSecrets(...fake.secrets());
    for (const s of [...fake.secrets(), SECRET, API_KEY]) assert.ok(!logs.includes(s), 'a secret in the logs');
  });
});
