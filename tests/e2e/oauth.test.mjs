// GitHub sign-in (issue 9): the worker as the OAuth 2.1 authorization server MCP clients discover, with a local
// fake GitHub (support/fake_github.mjs) as the upstream identity provider, driven over raw HTTP by a headless
// client (support/oauth_flow.mjs) that deviates from the flow wherever an attack does. Covers: the whole flow
// (401 → resource metadata → server metadata → registration → consent → GitHub → callback → token → MCP calls →
// refresh → revoke), the same with a client ID metadata document served locally, one test per attack of the
// issue, static API keys beside sign-in, the 401 and 403 challenges, and a scan of every log line for secrets.
// The paths, parameters and error codes are those of /tmp/research/oauth-design.md (the server's design).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startWorker, freePort, recordSecrets } from './support/worker.mjs';
import { startFakeGitHub } from './support/fake_github.mjs';
import {
  openSession, call, post, send, readAnswer, request, initializeRequest, closeSession, sleep, LATEST_VERSION,
} from './support/mcp.mjs';
import {
  http, challenge, discover, register, registerRaw, authorizeUrl, getConsent, submitConsent, followRedirect,
  authorize, exchangeCode, refresh, revoke, tokenRequest, signIn, pkcePair, randomState, redirectParams,
  parseChallenge, csrfFieldOf, requestFieldOf, bearer, findSecrets, decodeEntities, startDocServer,
} from './support/oauth_flow.mjs';

const T = { timeout: 60_000 };
/** The server secret of both workers (development mode would use the public one; a known one is just as good). */
const SECRET = 'oauth-e2e-test-server-secret-0123456789abcdef';
const API_KEY = 'key-ci-0123456789abcdef0123';
/** Where the test clients say they want to be redirected; nothing listens there, the Location is read. */
const REDIRECT = 'http://127.0.0.1:45871/callback';
/** The shortest lifetime the settings accept (src/config.rs: at least 60 s). */
const SHORT_TTL_S = 60;

/** Every secret the run handled, for the log scan at the end. */
const secrets = new Set([SECRET, API_KEY]);
const track = (...values) => { for (const v of values) if (typeof v === 'string' && v) secrets.add(v); };
function trackFlow(flow) {
  track(flow.tokens?.access_token, flow.tokens?.refresh_token, flow.authorization?.code, flow.pkce?.verifier, flow.client?.client_secret);
  return flow;
}
function trackTokens(answer) {
  track(answer.json?.access_token, answer.json?.refresh_token);
  return answer;
}

/** The text a tool answered (structured content when there is some, else the text content parsed if JSON). */
function toolOutput(result) {
  if (result?.structuredContent !== undefined) return result.structuredContent;
  const text = result?.content?.find((c) => c.type === 'text')?.text;
  try { return JSON.parse(text); } catch { return text; }
}

/** initialize (with `headers`) + tools/call whoami; returns {session, output, result}. Throws unless 200. */
async function whoami(url, headers) {
  const s = await openSession(url, { headers });
  const { answer, message } = await call(url, s, 'tools/call', { name: 'whoami', arguments: {} }, { headers });
  assert.equal(answer.status, 200, answer.text);
  assert.ok(message?.result, `whoami failed: ${answer.text}`);
  assert.notEqual(message.result.isError, true, answer.text);
  return { session: s, output: toolOutput(message.result), result: message.result };
}

/** The fake users' display names. */
const NAMES = { octocat: 'The Octocat', hubot: undefined };
/** Asserts that whoami names the GitHub user `login` (GitHub id `id`): {kind: user, id: github:<id>, login, name}. */
function assertUser(output, login, id, other) {
  const text = JSON.stringify(output);
  assert.equal(output?.kind, 'user', text);
  assert.equal(output.id, `github:${id}`, text);
  assert.equal(output.login, login, text);
  assert.equal(output.name ?? undefined, NAMES[login], text);
  if (other) assert.ok(!text.includes(other), `whoami does not name ${other}: ${text}`);
}

/** Asserts a 401 on an MCP endpoint with the OAuth challenge of this server. */
function assertChallenge(answer, origin, { error, what = '' } = {}) {
  assert.equal(answer.status, 401, `${what}: ${answer.status} ${answer.text}`);
  const raw = answer.headers.get('www-authenticate');
  const c = parseChallenge(raw);
  assert.ok(c, `${what}: a WWW-Authenticate header`);
  assert.equal(c.scheme.toLowerCase(), 'bearer', `${what}: ${raw}`);
  assert.equal(c.params.resource_metadata, `${origin}/.well-known/oauth-protected-resource/mcp`, `${what}: ${raw}`);
  assert.equal(c.params.scope, 'mcp', `${what}: ${raw}`);
  if (error) assert.equal(c.params.error, error, `${what}: ${raw}`);
  else assert.equal(c.params.error, undefined, `${what}: no error without a token (RFC 6750 §3.1): ${raw}`);
  return c;
}

/** An HTML error page: the status, text/html, and no redirect anywhere. */
function assertErrorPage(answer, what, status = 400) {
  if (Array.isArray(status)) assert.ok(status.includes(answer.status), `${what}: status ${answer.status} ∉ ${status}: ${answer.text.slice(0, 500)}`);
  else assert.equal(answer.status, status, `${what}: ${answer.status} ${answer.location ?? ''} ${answer.text.slice(0, 500)}`);
  assert.equal(answer.location, null, `${what}: no redirect (${answer.location})`);
  assert.match(answer.contentType, /^text\/html/i, `${what}: an HTML page`);
}

/** Asserts an RFC 6749 §5.2 error answer from /token or /revoke. */
function assertTokenError(answer, status, error, what) {
  const errors = Array.isArray(error) ? error : [error];
  assert.equal(answer.status, status, `${what}: ${answer.status} ${answer.text}`);
  assert.match(answer.contentType, /^application\/json/i, `${what}: JSON`);
  assert.ok(errors.includes(answer.json?.error), `${what}: error ${answer.json?.error} ∉ ${errors}: ${answer.text}`);
  assert.equal(answer.json?.access_token, undefined, `${what}: no token`);
  assert.match(answer.headers.get('cache-control') ?? '', /no-store/, `${what}: Cache-Control: no-store`);
}

/** An error redirect to the client: `error`, the client's `state`, `iss`, and no code. */
function assertErrorRedirect(answer, { redirectUri, state, issuer, error, what }) {
  assert.ok(answer.status >= 300 && answer.status < 400, `${what}: a redirect, got ${answer.status} ${answer.text.slice(0, 300)}`);
  const r = redirectParams(answer.location);
  assert.equal(r.target, redirectUri, `${what}: back to the client's redirect URI`);
  const errors = Array.isArray(error) ? error : [error];
  assert.ok(errors.includes(r.error), `${what}: error=${r.error} ∉ ${errors} (${answer.location})`);
  assert.equal(r.state, state, `${what}: the client's state`);
  assert.equal(r.iss, issuer, `${what}: iss (RFC 9207)`);
  assert.equal(r.code, undefined, `${what}: no code`);
  return r;
}

/** HMAC-SHA256 of length-prefixed parts under the OAuth key derived from SECRET, as src/keys.rs computes it. */
function oauthSign(...parts) {
  const key = createHmac('sha256', SECRET).update('mcp-worker/v1/oauth').digest();
  const mac = createHmac('sha256', key);
  for (const part of parts) {
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(BigInt(Buffer.byteLength(part)));
    mac.update(len).update(part);
  }
  return mac.digest().subarray(0, 16).toString('base64url');
}

/** The payload of one of our access tokens (`mcp_at.<b64url JSON>.<tag>`). */
function accessPayload(token) {
  const [prefix, payload] = token.split('.');
  assert.equal(prefix, 'mcp_at', `an access token of the design's format: ${token.slice(0, 12)}…`);
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

/** The JSON payload of a sealed value (`<prefix>.<b64url JSON>.<tag>`, src/oauth/sealed.rs). */
function sealedPayload(sealed) {
  return JSON.parse(Buffer.from(sealed.split('.')[1], 'base64url').toString('utf8'));
}
/** A sealed value as src/oauth/sealed.rs seals it: the tag is the MAC of [label, JSON bytes]. */
function seal(prefix, label, payload) {
  const json = JSON.stringify(payload);
  return `${prefix}.${Buffer.from(json).toString('base64url')}.${oauthSign(label, json)}`;
}
/** One of our access tokens with its payload edited, signed as the worker signs them. */
function forgeAccess(token, edit) {
  return seal('mcp_at', 'access', { ...accessPayload(token), ...edit });
}
/** The upstream state sent to GitHub with its payload edited, signed as the worker signs it. */
function forgeState(state, edit) {
  return seal('mcp_st', 'state', { ...sealedPayload(state), ...edit });
}

describe('GitHub sign-in: the worker as OAuth 2.1 authorization server (fake GitHub)', { timeout: 900_000 }, () => {
  let fake;
  let worker;
  let url;
  let origin;
  let mcpUrl;
  let d; // discovery
  let as; // authorization server metadata
  let docs;
  // The second worker (short lifetimes), a sign-in and an unexchanged code made on it at the start, so that the
  // tests of their expiry, at the end, wait little.
  let fake2;
  let w2;
  let d2;
  let early;
  let earlyCode;
  let w2Failure;
  /** References named in error descriptions, which the worker's log must hold (so the log scan reads it). */
  const loggedReferences = [];
  const needW2 = () => { if (w2Failure) throw w2Failure; };

  before(async () => {
    fake = await startFakeGitHub();
    docs = await startDocServer();
    const port = await freePort();
    fake.callbackUrl = `http://127.0.0.1:${port}/callback`;
    worker = await startWorker({
      port,
      vars: { ...fake.vars, MCP_SERVER_SECRET: SECRET, MCP_API_KEYS: `ci-robot:${API_KEY}` },
    });
    url = worker.url;
    origin = url;
    mcpUrl = `${url}/mcp`;
    d = await discover(mcpUrl);
    as = d.as;

    // A failure here fails only the short-lifetime tests (they rethrow it).
    try {
      fake2 = await startFakeGitHub();
      const port2 = await freePort();
      fake2.callbackUrl = `http://127.0.0.1:${port2}/callback`;
      w2 = await startWorker({
        port: port2,
        vars: {
          ...fake2.vars, MCP_SERVER_SECRET: SECRET,
          OAUTH_ACCESS_TTL_SECONDS: String(SHORT_TTL_S), OAUTH_CODE_TTL_SECONDS: String(SHORT_TTL_S),
        },
      });
      d2 = await discover(`${w2.url}/mcp`);
      early = trackFlow(await signIn(w2.url, { discovery: d2, redirectUri: REDIRECT }));
      const client = await register(d2.as, { redirect_uris: [REDIRECT] });
      const pkce = pkcePair();
      const at = Date.now();
      const u = authorizeUrl(d2.as, { clientId: client.client_id, redirectUri: REDIRECT, challenge: pkce.challenge, state: randomState(), resource: `${w2.url}/mcp` });
      const authorization = await authorize(d2.as, { url: u, redirectUri: REDIRECT });
      track(authorization.code, pkce.verifier);
      earlyCode = { client, pkce, authorization, at };
    } catch (e) {
      w2Failure = e;
    }
  }, { timeout: 240_000 });

  after(async () => {
    await worker?.stop();
    await w2?.stop();
    await fake?.close();
    await fake2?.close();
    await docs?.close();
  }, { timeout: 30_000 });

  /** A full sign-in as `login` with a fresh public client (or `opts.client`). */
  async function signInAs(login, opts = {}) {
    fake.resetDecisions();
    fake.approveNextAs(login);
    return trackFlow(await signIn(url, { discovery: d, redirectUri: REDIRECT, ...opts }));
  }

  /** Up to the redirect to the client, with a fresh client and PKCE pair: {client, pkce, state, authorization}. */
  async function codeFor(opts = {}) {
    const client = opts.client ?? await register(as, { redirect_uris: [opts.redirectUri ?? REDIRECT] });
    const pkce = pkcePair();
    const state = randomState();
    const redirectUri = opts.redirectUri ?? REDIRECT;
    const u = authorizeUrl(as, { clientId: client.client_id, redirectUri, challenge: pkce.challenge, state, resource: mcpUrl });
    fake.resetDecisions();
    if (opts.login) fake.approveNextAs(opts.login);
    const authorization = await authorize(as, { url: u, redirectUri });
    assert.ok(authorization.code, `a code: ${authorization.url}`);
    track(authorization.code, pkce.verifier);
    return { client, pkce, state, redirectUri, authorization, code: authorization.code };
  }

  // ---------------------------------------------------------------------------------------------------------
  describe('discovery', () => {
    it('no token → 401 with `Bearer resource_metadata=…, scope="mcp"` on /mcp (POST, GET, DELETE), /sse and /messages', T, async () => {
      assertChallenge(await challenge(mcpUrl), origin, { what: 'POST /mcp' });
      assertChallenge(await readAnswer(await send(url, 'GET', { accept: 'text/event-stream' })), origin, { what: 'GET /mcp' });
      assertChallenge(await readAnswer(await send(url, 'DELETE', { session: 'a'.repeat(32) })), origin, { what: 'DELETE /mcp' });
      assertChallenge(await readAnswer(await send(url, 'GET', { path: '/sse', accept: 'text/event-stream' })), origin, { what: 'GET /sse' });
      const messages = await post(url, request('ping'), { path: '/messages?sessionId=abc' });
      assertChallenge(messages, origin, { what: 'POST /messages' });
      // The JSON-RPC error body of the other 401s of this server.
      const a = await challenge(mcpUrl);
      assert.match(a.contentType, /^application\/json/i);
      assert.equal(a.json?.jsonrpc, '2.0', a.text);
      assert.equal(typeof a.json?.error?.message, 'string', a.text);
      assert.equal(a.headers.get('mcp-session-id'), null, 'no session without credentials');
    });

    it('a bad, unknown or malformed token → 401 with error="invalid_token", the token not echoed', T, async () => {
      for (const token of ['mcp_at.e30.AAAAAAAAAAAAAAAAAAAAAA', 'mcp_at.not-a-token', 'gho_0123456789abcdef0123456789abcdef0123', 'x'.repeat(40)]) {
        const a = await challenge(mcpUrl, { headers: bearer(token) });
        assertChallenge(a, origin, { error: 'invalid_token', what: `token ${token.slice(0, 10)}…` });
        assert.ok(!a.text.includes(token) && !a.headers.get('www-authenticate').includes(token), 'the token is not echoed');
      }
      // A token in the query string is not a credential (RFC 6750 §2.3 is not supported; the MCP spec forbids it).
      const { tokens } = await signInAs('octocat');
      const q = await post(url, initializeRequest(), { path: `/mcp?access_token=${encodeURIComponent(tokens.access_token)}` });
      assertChallenge(q, origin, { what: 'token in the query' });
    });

    it('protected resource metadata (RFC 9728) at /.well-known/oauth-protected-resource/mcp and /.well-known/oauth-protected-resource', T, async () => {
      assert.equal(d.resourceMetadataUrl, `${origin}/.well-known/oauth-protected-resource/mcp`);
      const expected = {
        resource: mcpUrl, authorization_servers: [origin], scopes_supported: ['mcp'],
        bearer_methods_supported: ['header'], resource_name: 'mcp-worker',
      };
      for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
        const a = await http(`${origin}${path}`);
        assert.equal(a.status, 200, `${path}: ${a.text}`);
        assert.match(a.contentType, /^application\/json/i, path);
        assert.deepEqual(a.json, expected, path);
        assert.ok(!JSON.stringify(a.json).includes('offline_access'), 'no offline_access (2026-07-28)');
      }
    });

    it('browser clients (the Inspector at http://localhost:6274) may call metadata, /register and /token (CORS)', T, async () => {
      const browserOrigin = 'http://localhost:6274';
      for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-authorization-server']) {
        const a = await http(`${origin}${path}`, { headers: { origin: browserOrigin } });
        assert.equal(a.status, 200, path);
        assert.ok(['*', browserOrigin].includes(a.headers.get('access-control-allow-origin')), `${path}: ACAO ${a.headers.get('access-control-allow-origin')}`);
      }
      for (const path of ['/register', '/token']) {
        const pre = await http(`${origin}${path}`, {
          method: 'OPTIONS',
          headers: { origin: browserOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
        });
        assert.ok(pre.status === 204 || pre.status === 200, `${path} preflight: ${pre.status} ${pre.text}`);
        assert.ok(['*', browserOrigin].includes(pre.headers.get('access-control-allow-origin')), `${path} preflight ACAO: ${pre.headers.get('access-control-allow-origin')}`);
        assert.match((pre.headers.get('access-control-allow-methods') ?? '').toUpperCase(), /POST/, `${path} preflight methods`);
      }
      const reg = await registerRaw(as, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }, { headers: { origin: browserOrigin } });
      assert.equal(reg.status, 201, reg.text);
      assert.ok(['*', browserOrigin].includes(reg.headers.get('access-control-allow-origin')), `/register ACAO: ${reg.headers.get('access-control-allow-origin')}`);
    });

    it('authorization server metadata (RFC 8414): issuer = origin exactly, S256 only, iss and CIMD advertised', T, async () => {
      assert.equal(d.asAnswer.status, 200);
      assert.match(d.asAnswer.contentType, /^application\/json/i);
      assert.equal(as.issuer, origin, 'issuer is the origin, byte for byte (no trailing slash)');
      assert.equal(as.authorization_endpoint, `${origin}/authorize`);
      assert.equal(as.token_endpoint, `${origin}/token`);
      assert.equal(as.registration_endpoint, `${origin}/register`);
      assert.equal(as.revocation_endpoint, `${origin}/revoke`);
      assert.deepEqual(as.response_types_supported, ['code']);
      assert.deepEqual([...as.grant_types_supported].sort(), ['authorization_code', 'refresh_token']);
      assert.deepEqual(as.code_challenge_methods_supported, ['S256'], 'S256 only, never plain');
      assert.deepEqual([...as.token_endpoint_auth_methods_supported].sort(), ['client_secret_basic', 'client_secret_post', 'none']);
      assert.deepEqual([...as.revocation_endpoint_auth_methods_supported].sort(), ['client_secret_basic', 'client_secret_post', 'none']);
      assert.deepEqual(as.scopes_supported, ['mcp']);
      assert.equal(as.authorization_response_iss_parameter_supported, true);
      assert.equal(as.client_id_metadata_document_supported, true);
      const oidc = await http(`${origin}/.well-known/openid-configuration`);
      assert.equal(oidc.status, 404, 'not an OpenID provider');
    });
  });

  // ---------------------------------------------------------------------------------------------------------
  describe('the whole flow', () => {
    it('401 → metadata → registration → consent → fake GitHub → callback → token → MCP calls → refresh → revoke → 401', { timeout: 120_000 }, async () => {
      // Discovery, from nothing but the MCP URL.
      const disc = await discover(mcpUrl);
      assert.equal(disc.unauthorized.status, 401);

      // Registration (RFC 7591): a public client.
      const reg = await registerRaw(disc.as, {
        client_name: 'Whole Flow Client', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'], token_endpoint_auth_method: 'none', client_uri: 'https://client.example/about',
      });
      assert.equal(reg.status, 201, reg.text);
      assert.match(reg.contentType, /^application\/json/i);
      const client = reg.json;
      assert.equal(typeof client.client_id, 'string');
      assert.ok(client.client_id.length >= 16, 'an unguessable client id');
      assert.deepEqual(client.redirect_uris, [REDIRECT]);
      assert.equal(client.token_endpoint_auth_method, 'none');
      assert.equal(client.client_secret, undefined, 'a public client gets no secret');
      assert.equal(client.client_name, 'Whole Flow Client');

      // The authorization request: consent first, nothing sent to GitHub yet (confused-deputy rule).
      fake.clearRequests();
      const pkce = pkcePair();
      const state = randomState();
      const authUrl = authorizeUrl(disc.as, { clientId: client.client_id, redirectUri: REDIRECT, challenge: pkce.challenge, state, resource: mcpUrl });
      const consent = await getConsent(authUrl);
      assert.equal(consent.status, 200, consent.text.slice(0, 500));
      assert.match(consent.contentType, /^text\/html/i);
      assert.equal(fake.count('/login/oauth/authorize'), 0, 'no redirect to GitHub before consent');
      assert.ok(consent.form, `a consent form posting to /authorize:\n${consent.text.slice(0, 2000)}`);
      assert.ok(decodeEntities(consent.html).includes('Whole Flow Client'), 'the page names the client');
      assert.ok(consent.html.includes('127.0.0.1'), 'the page names the host it will redirect to');
      const csp = consent.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/, `CSP: ${csp}`);
      assert.match(csp, /form-action 'self'/, `CSP: ${csp}`);
      assert.match(consent.headers.get('x-frame-options') ?? '', /^deny$/i);
      assert.match(consent.headers.get('cache-control') ?? '', /no-store/);
      assert.ok(requestFieldOf(consent.form), `a sealed request field: ${JSON.stringify(consent.form.hidden)}`);
      assert.ok(csrfFieldOf(consent.form), `a CSRF field: ${JSON.stringify(consent.form.hidden)}`);
      assert.ok(consent.jar.size >= 1, 'a CSRF cookie');
      const cookie = consent.jar.raw.join('\n');
      assert.match(cookie, /HttpOnly/i, cookie);
      assert.match(cookie, /SameSite=(Lax|Strict)/i, cookie);
      assert.ok(!Object.values(consent.form.hidden).includes([...consent.jar.cookies.values()][0]), 'cookie value ≠ form token (double submit of a derived value)');

      // Approve → GitHub's authorize endpoint, with the worker's own client id, callback, state and PKCE.
      const approved = await submitConsent(consent);
      assert.ok([302, 303].includes(approved.status), `approve redirects: ${approved.status} ${approved.text.slice(0, 300)}`);
      const gh = new URL(approved.location);
      assert.equal(`${gh.origin}${gh.pathname}`, `${fake.baseUrl}/login/oauth/authorize`);
      assert.equal(gh.searchParams.get('client_id'), fake.clientId);
      assert.equal(gh.searchParams.get('redirect_uri'), `${origin}/callback`);
      assert.match(gh.searchParams.get('scope') ?? '', /read:user/);
      assert.match(gh.searchParams.get('state') ?? '', /^mcp_st\./, 'a sealed upstream state');
      assert.notEqual(gh.searchParams.get('state'), state, "the client's state is not GitHub's");
      assert.equal(gh.searchParams.get('code_challenge_method'), 'S256');
      assert.match(gh.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(gh.searchParams.get('code_challenge'), pkce.challenge, "the upstream PKCE pair is the worker's own");

      // GitHub → /callback → the client, with our code, the client's state and iss.
      const ghAnswer = await followRedirect(approved.location);
      assert.equal(ghAnswer.status, 302);
      assert.ok(ghAnswer.location.startsWith(`${origin}/callback?`), ghAnswer.location);
      const cb = await followRedirect(ghAnswer.location, { jar: consent.jar });
      assert.ok([302, 303].includes(cb.status), `callback redirects: ${cb.status} ${cb.text.slice(0, 300)}`);
      const r = redirectParams(cb.location);
      assert.equal(r.target, REDIRECT);
      assert.equal(r.state, state);
      assert.equal(r.iss, disc.issuer, 'iss = the issuer (RFC 9207)');
      assert.ok(r.code, cb.location);
      for (const k of ['code', 'state', 'iss']) assert.equal(r.count(k), 1, `${k} once`);
      assert.equal(r.error, undefined);
      track(r.code, pkce.verifier);

      // What GitHub saw: the code exchanged once with the app's credentials and the upstream verifier, /user with
      // a User-Agent and the GitHub token; never anything of ours.
      const tokenCalls = fake.requestsTo('/login/oauth/access_token');
      assert.equal(tokenCalls.length, 1, fake.describe());
      assert.deepEqual(['client_id', 'client_secret', 'code', 'code_verifier'].filter((f) => !tokenCalls[0].bodyFields.includes(f)), [],
        `the code exchange sends client_id, client_secret, code, code_verifier: ${tokenCalls[0].bodyFields}`);
      assert.match(tokenCalls[0].headers.accept ?? '', /application\/json/, 'asks GitHub for JSON');
      const users = fake.requestsTo('/user');
      assert.equal(users.length, 1, fake.describe());
      assert.equal(users[0].status, 200, 'GET /user succeeded (User-Agent and token sent)');
      assert.ok(users[0].userAgent, 'a User-Agent');
      assert.equal(users[0].authorization?.tokenKind, 'gho');
      assert.equal(users[0].authorization?.known, true);

      // Token.
      const tok = await exchangeCode(disc.as, { code: r.code, clientId: client.client_id, redirectUri: REDIRECT, verifier: pkce.verifier, resource: mcpUrl });
      trackTokens(tok);
      assert.equal(tok.status, 200, tok.text);
      assert.match(tok.contentType, /^application\/json/i);
      assert.match(tok.headers.get('cache-control') ?? '', /no-store/);
      assert.equal(tok.json.token_type.toLowerCase(), 'bearer');
      assert.match(tok.json.access_token, /^mcp_at\./);
      assert.equal(typeof tok.json.refresh_token, 'string');
      assert.equal(tok.json.expires_in, 3600);
      assert.equal(tok.json.scope, 'mcp');

      // MCP calls with the token: whoami names the fake user.
      const who = await whoami(url, bearer(tok.json.access_token));
      assertUser(who.output, 'octocat', 1, 'hubot');
      const list = await call(url, who.session, 'tools/list', {}, { headers: bearer(tok.json.access_token) });
      assert.ok(list.message.result.tools.some((t) => t.name === 'whoami'), 'whoami is listed');
      await closeSession(url, who.session.session, bearer(tok.json.access_token));

      // Refresh: a new pair, and the new access token works.
      const ref = trackTokens(await refresh(disc.as, { refreshToken: tok.json.refresh_token, clientId: client.client_id }));
      assert.equal(ref.status, 200, ref.text);
      assert.match(ref.headers.get('cache-control') ?? '', /no-store/);
      assert.notEqual(ref.json.refresh_token, tok.json.refresh_token, 'the refresh token rotated');
      assert.notEqual(ref.json.access_token, tok.json.access_token);
      assert.equal(ref.json.scope, 'mcp');
      assertUser((await whoami(url, bearer(ref.json.access_token))).output, 'octocat', 1);

      // Nothing of ours went to GitHub.
      for (const s of [tok.json.access_token, tok.json.refresh_token, ref.json.access_token, ref.json.refresh_token, r.code, pkce.verifier]) {
        assert.equal(fake.received(s), false, 'a token or code of ours was sent to GitHub');
      }

      // Revoke (RFC 7009): 200, and the token then gets 401; the grant is gone, so the refresh token too.
      const rev = await revoke(disc.as, { token: ref.json.access_token, hint: 'access_token', clientId: client.client_id });
      assert.equal(rev.status, 200, rev.text);
      assertChallenge(await challenge(mcpUrl, { headers: bearer(ref.json.access_token) }), origin, { error: 'invalid_token', what: 'revoked token' });
      assertTokenError(await refresh(disc.as, { refreshToken: ref.json.refresh_token, clientId: client.client_id }), 400, 'invalid_grant', 'refresh after revoke');
    });

    it('a confidential client (client_secret_post, client_secret_basic) must authenticate at /token', T, async () => {
      for (const method of ['client_secret_post', 'client_secret_basic']) {
        const client = await register(as, { redirect_uris: [REDIRECT], token_endpoint_auth_method: method });
        assert.equal(typeof client.client_secret, 'string', `${method}: a secret`);
        track(client.client_secret);
        assert.equal(client.token_endpoint_auth_method, method);
        const { code, pkce } = await codeFor({ client });
        const auth = method === 'client_secret_post' ? 'post' : 'basic';
        const base = { code, clientId: client.client_id, redirectUri: REDIRECT, verifier: pkce.verifier, resource: mcpUrl };
        assertTokenError(await exchangeCode(as, { ...base, auth: 'none' }), 401, 'invalid_client', `${method}: no secret`);
        const wrong = await exchangeCode(as, { ...base, auth, clientSecret: `${client.client_secret}x` });
        assertTokenError(wrong, 401, 'invalid_client', `${method}: wrong secret`);
        if (auth === 'basic') assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic/i, 'RFC 6749 §5.2: a Basic challenge after failed Basic authentication');
        assert.ok(!wrong.text.includes(client.client_secret), 'the secret is not echoed');
        const ok = trackTokens(await exchangeCode(as, { ...base, auth, clientSecret: client.client_secret }));
        assert.equal(ok.status, 200, `${method}: ${ok.text}`);
        const r = trackTokens(await refresh(as, { refreshToken: ok.json.refresh_token, clientId: client.client_id, auth, clientSecret: client.client_secret }));
        assert.equal(r.status, 200, `${method} refresh: ${r.text}`);
      }
    });

    it('a client ID metadata document served locally: consent names it, the flow completes, the document is cached', { timeout: 90_000 }, async () => {
      const clientId = docs.url('/cimd/good.json');
      docs.docs['/cimd/good.json'] = {
        body: {
          client_id: clientId, client_name: 'CIMD Test Client',
          redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
          token_endpoint_auth_method: 'none',
        },
      };
      const pkce = pkcePair();
      const state = randomState();
      const u = authorizeUrl(as, { clientId, redirectUri: REDIRECT, challenge: pkce.challenge, state, resource: mcpUrl });
      const consent = await getConsent(u);
      assert.equal(consent.status, 200, consent.text.slice(0, 500));
      assert.ok(decodeEntities(consent.html).includes('CIMD Test Client'), 'the page names the client of the document');
      assert.ok(consent.html.includes('127.0.0.1'), 'the page names the redirect host');
      assert.equal(docs.hits['/cimd/good.json'], 1, 'the document was fetched once');
      const authorization = await authorize(as, { url: u, redirectUri: REDIRECT });
      assert.equal(authorization.state, state);
      assert.equal(authorization.iss, origin);
      track(authorization.code, pkce.verifier);
      const tok = trackTokens(await exchangeCode(as, { code: authorization.code, clientId, redirectUri: REDIRECT, verifier: pkce.verifier, resource: mcpUrl }));
      assert.equal(tok.status, 200, tok.text);
      assertUser((await whoami(url, bearer(tok.json.access_token))).output, 'octocat', 1);
      const r = trackTokens(await refresh(as, { refreshToken: tok.json.refresh_token, clientId }));
      assert.equal(r.status, 200, r.text);
      assert.equal(docs.hits['/cimd/good.json'], 1, 'cached (Cache-Control: max-age=3600): not fetched again');
      // A redirect URI the document does not list is refused without a redirect.
      const other = authorizeUrl(as, { clientId, redirectUri: 'http://127.0.0.1:45871/elsewhere', challenge: pkce.challenge, state, resource: mcpUrl });
      assertErrorPage(await http(other), 'CIMD: unlisted redirect URI');
    });
  });

  // ---------------------------------------------------------------------------------------------------------
  describe('attacks', () => {
    it('PKCE: a wrong verifier, or none, gets invalid_grant / invalid_request; no challenge at /authorize is refused', T, async () => {
      const a = await codeFor();
      const base = { code: a.code, clientId: a.client.client_id, redirectUri: REDIRECT, resource: mcpUrl };
      assertTokenError(await exchangeCode(as, { ...base, verifier: pkcePair().verifier }), 400, 'invalid_grant', 'wrong verifier');
      const b = await codeFor();
      assertTokenError(await exchangeCode(as, { code: b.code, clientId: b.client.client_id, redirectUri: REDIRECT, resource: mcpUrl }), 400,
        ['invalid_request', 'invalid_grant'], 'no verifier');
      const c = await codeFor();
      assertTokenError(await exchangeCode(as, { code: c.code, clientId: c.client.client_id, redirectUri: REDIRECT, verifier: c.pkce.challenge, resource: mcpUrl }),
        400, 'invalid_grant', 'the challenge sent as the verifier (plain)');
      // PKCE is required: an authorization request without a code_challenge is refused (redirect with an error).
      const client = await register(as, { redirect_uris: [REDIRECT] });
      const state = randomState();
      const noPkce = await http(authorizeUrl(as, { clientId: client.client_id, redirectUri: REDIRECT, state, omit: ['code_challenge', 'code_challenge_method'] }));
      assertErrorRedirect(noPkce, { redirectUri: REDIRECT, state, issuer: origin, error: 'invalid_request', what: 'no code_challenge' });
    });

    it('`plain` PKCE is refused at /authorize (error redirect, no consent page)', T, async () => {
      const client = await register(as, { redirect_uris: [REDIRECT] });
      const state = randomState();
      const pkce = pkcePair();
      const before = fake.count('/login/oauth/authorize');
      const a = await http(authorizeUrl(as, { clientId: client.client_id, redirectUri: REDIRECT, challenge: pkce.verifier, method: 'plain', state }));
      assertErrorRedirect(a, { redirectUri: REDIRECT, state, issuer: origin, error: 'invalid_request', what: 'plain PKCE' });
      assert.equal(fake.count('/login/oauth/authorize'), before);
    });

    it('authorization requests: response_type other than code and repeated parameters are refused; unknown scopes are never granted', T, async () => {
      const client = await register(as, { redirect_uris: [REDIRECT] });
      const base = () => ({ clientId: client.client_id, redirectUri: REDIRECT, challenge: pkcePair().challenge, state: randomState(), resource: mcpUrl });
      let o = base();
      assertErrorRedirect(await http(authorizeUrl(as, { ...o, responseType: 'token' })), { redirectUri: REDIRECT, state: o.state, issuer: origin, error: 'unsupported_response_type', what: 'response_type=token' });
      // A scope this server does not have is refused (invalid_scope) or ignored (RFC 6749 §3.3): never granted.
      const pkce = pkcePair();
      o = { ...base(), challenge: pkce.challenge };
      const u = authorizeUrl(as, { ...o, scope: 'mcp admin' });
      const first = await http(u);
      if (first.status !== 200) {
        assertErrorRedirect(first, { redirectUri: REDIRECT, state: o.state, issuer: origin, error: 'invalid_scope', what: 'scope=mcp admin' });
      } else {
        const a = await authorize(as, { url: u, redirectUri: REDIRECT });
        track(a.code, pkce.verifier);
        const tok = trackTokens(await exchangeCode(as, { code: a.code, clientId: client.client_id, redirectUri: REDIRECT, verifier: pkce.verifier, resource: mcpUrl }));
        assert.equal(tok.status, 200, tok.text);
        assert.equal(tok.json.scope, 'mcp', 'the granted scope is said, and is only mcp');
        assert.equal(accessPayload(tok.json.access_token).s, 'mcp');
      }
      // RFC 6749 §3.1: parameters must not be repeated; a repeated client_id or redirect_uri is not guessed at.
      for (const param of ['client_id', 'redirect_uri']) {
        const u = new URL(authorizeUrl(as, base()));
        u.searchParams.append(param, param === 'client_id' ? 'other-client' : 'https://evil.example/cb');
        assertErrorPage(await http(u.toString()), `repeated ${param}`);
      }
    });

    it("a redirect URI with a query of its own keeps it; code, state and iss are added once", T, async () => {
      const redirectUri = 'http://127.0.0.1:45871/callback?tenant=a%20b&x=1';
      const a = await codeFor({ redirectUri });
      assert.equal(a.authorization.url.searchParams.get('tenant'), 'a b', a.authorization.url.toString());
      assert.equal(a.authorization.url.searchParams.get('x'), '1');
      for (const k of ['code', 'state', 'iss']) assert.equal(a.authorization.count(k), 1, `${k} once`);
      const tok = trackTokens(await exchangeCode(as, { code: a.code, clientId: a.client.client_id, redirectUri, verifier: a.pkce.verifier, resource: mcpUrl }));
      assert.equal(tok.status, 200, tok.text);
    });

    it('a replayed code gets invalid_grant and revokes what it issued', T, async () => {
      const a = await codeFor();
      const ex = { code: a.code, clientId: a.client.client_id, redirectUri: REDIRECT, verifier: a.pkce.verifier, resource: mcpUrl };
      const first = trackTokens(await exchangeCode(as, ex));
      assert.equal(first.status, 200, first.text);
      assertUser((await whoami(url, bearer(first.json.access_token))).output, 'octocat', 1);
      assertTokenError(await exchangeCode(as, ex), 400, 'invalid_grant', 'the code again');
      assertChallenge(await challenge(mcpUrl, { headers: bearer(first.json.access_token) }), origin, { error: 'invalid_token', what: 'token of a replayed code' });
      assertTokenError(await refresh(as, { refreshToken: first.json.refresh_token, clientId: a.client.client_id }), 400, 'invalid_grant', 'refresh token of a replayed code');
    });

    it("a code presented by another client gets invalid_grant (and the rightful client's exchange is not helped by it)", T, async () => {
      const a = await codeFor();
      const thief = await register(as, { redirect_uris: [REDIRECT] });
      assertTokenError(await exchangeCode(as, { code: a.code, clientId: thief.client_id, redirectUri: REDIRECT, verifier: a.pkce.verifier, resource: mcpUrl }),
        400, 'invalid_grant', 'code of another client');
      const unknown = await exchangeCode(as, { code: a.code, clientId: 'no-such-client-0123456789', redirectUri: REDIRECT, verifier: a.pkce.verifier, resource: mcpUrl });
      assertTokenError(unknown, 401, 'invalid_client', 'an unknown client (so clients re-register)');
      // A refresh token presented by another client.
      const f = await signInAs('octocat');
      assertTokenError(await refresh(as, { refreshToken: f.tokens.refresh_token, clientId: thief.client_id }), 400, 'invalid_grant', 'refresh token of another client');
    });

    it('redirect URI mismatch: an unregistered URI is an error page (never a redirect); at /token, invalid_grant', T, async () => {
      const client = await register(as, { redirect_uris: [REDIRECT] });
      const pkce = pkcePair();
      const state = randomState();
      for (const bad of ['http://127.0.0.1:45871/callback/../evil', 'http://127.0.0.1:45871/callbackx', 'https://evil.example/callback',
        'http://127.0.0.1:45871/callback?x=1', 'http://localhost:45871/callback']) {
        const a = await http(authorizeUrl(as, { clientId: client.client_id, redirectUri: bad, challenge: pkce.challenge, state }));
        assertErrorPage(a, `redirect_uri ${bad}`);
        assert.ok(!a.text.includes('<script'), 'the error page runs nothing');
      }
      // Unknown client: also an error page, not a redirect.
      assertErrorPage(await http(authorizeUrl(as, { clientId: 'nobody-0123456789abcdef', redirectUri: REDIRECT, challenge: pkce.challenge, state })), 'unknown client');
      // Loopback redirect URIs may differ in port (RFC 8252 §7.3).
      const loop = await codeFor({ client, redirectUri: 'http://127.0.0.1:45999/callback' });
      assert.ok(loop.code);
      // At /token the redirect_uri must be the one of the authorization request.
      const a = await codeFor();
      assertTokenError(await exchangeCode(as, { code: a.code, clientId: a.client.client_id, redirectUri: 'http://127.0.0.1:45871/other', verifier: a.pkce.verifier, resource: mcpUrl }),
        400, 'invalid_grant', 'redirect_uri differs at /token');
    });

    it('forged or tampered state at /callback → 400 error page, GitHub not asked for a token', T, async () => {
      const before = fake.count('/login/oauth/access_token');
      const forged = [
        'forged', `mcp_st.${Buffer.from('{"x":1}').toString('base64url')}.AAAAAAAAAAAAAAAAAAAAAA`, '',
      ];
      for (const state of forged) {
        const a = await http(`${origin}/callback?code=0123456789abcdef0123&state=${encodeURIComponent(state)}`);
        assertErrorPage(a, `state ${JSON.stringify(state)}`);
      }
      // A real state with one character changed.
      const client = await register(as, { redirect_uris: [REDIRECT] });
      const pkce = pkcePair();
      const consent = await getConsent(authorizeUrl(as, { clientId: client.client_id, redirectUri: REDIRECT, challenge: pkce.challenge, state: randomState(), resource: mcpUrl }));
      const approved = await submitConsent(consent);
      const gh = new URL(approved.location);
      const real = gh.searchParams.get('state');
      const flipped = real.slice(0, -3) + (real.at(-3) === 'A' ? 'B' : 'A') + real.slice(-2);
      const a = await http(`${origin}/callback?code=0123456789abcdef0123&state=${encodeURIComponent(flipped)}`);
      assertErrorPage(a, 'tampered state');
      assert.equal(fake.count('/login/oauth/access_token'), before, 'no code exchange with GitHub for a bad state');
    });

    it('a state works once: a second GitHub code with the same state gets an error page, no second code', T, async () => {
      const client = await register(as, { redirect_uris: [REDIRECT] });
      const pkce = pkcePair();
      const state = randomState();
      const consent = await getConsent(authorizeUrl(as, { clientId: client.client_id, redirectUri: REDIRECT, challenge: pkce.challenge, state, resource: mcpUrl }));
      const approved = await submitConsent(consent);
      const first = await followRedirect(approved.location);
      const ok = await followRedirect(first.location);
      assert.ok(redirectParams(ok.location).code, 'the first callback succeeds');
      track(redirectParams(ok.location).code);
      // The same upstream request again at GitHub: a new GitHub code, the same sealed state.
      const second = await followRedirect(approved.location);
      assert.equal(new URL(second.location).searchParams.get('state'), new URL(first.location).searchParams.get('state'));
      const replay = await followRedirect(second.location);
      assert.ok(!(replay.location && redirectParams(replay.location).code), `no second code for one state: ${replay.location}`);
      assertErrorPage(replay, 'reused state', [400, 403, 409]);
      // And the very same callback URL again.
      const again = await followRedirect(first.location);
      assert.ok(!(again.location && redirectParams(again.location).code), 'replaying the callback gives no code');
    });

    it('an expired state at /callback → 400 error page (GitHub not asked); the same state unexpired still works', T, async () => {
      const client = await register(as, { redirect_uris: [REDIRECT] });
      const state = randomState();
      const consent = await getConsent(authorizeUrl(as, { clientId: client.client_id, redirectUri: REDIRECT, challenge: pkcePair().challenge, state, resource: mcpUrl }));
      const approved = await submitConsent(consent);
      const gh = await followRedirect(approved.location);
      const back = new URL(gh.location);
      const real = back.searchParams.get('state');
      const payload = sealedPayload(real);
      assert.ok(payload.x > Date.now() && payload.x <= Date.now() + 10 * 60_000 + 5000, `the state expires within 10 minutes: ${JSON.stringify(payload)}`);
      // The same state, sealed as the worker seals it, but expired a second ago (as if 10 minutes had passed).
      const before = fake.count('/login/oauth/access_token');
      back.searchParams.set('state', forgeState(real, { x: Date.now() - 1000 }));
      assertErrorPage(await http(back.toString()), 'expired state');
      assert.equal(fake.count('/login/oauth/access_token'), before, 'no code exchange with GitHub for an expired state');
      // Control: re-sealed with a later expiry it is accepted, so the refusal above was the expiry.
      back.searchParams.set('state', forgeState(real, { x: Date.now() + 60_000 }));
      const ok = await http(back.toString());
      const r = redirectParams(ok.location ?? 'http://x/');
      assert.ok(r.code, `a re-sealed state works (if not, update seal() to src/oauth/sealed.rs): ${ok.status} ${ok.location} ${ok.text.slice(0, 300)}`);
      assert.equal(r.state, state);
      track(r.code);
    });

    it('consent: without the CSRF token, with a wrong one, without the cookie or with another page\'s cookie → 403; nothing reaches GitHub', T, async () => {
      const client = await register(as, { redirect_uris: [REDIRECT] });
      const page = async () => getConsent(authorizeUrl(as, { clientId: client.client_id, redirectUri: REDIRECT, challenge: pkcePair().challenge, state: randomState(), resource: mcpUrl }));
      const before = fake.count('/login/oauth/authorize');
      const c1 = await page();
      const csrf = csrfFieldOf(c1.form);
      assert.ok(csrf, `the CSRF field: ${JSON.stringify(c1.form.hidden)}`);
      const attempts = [
        ['no CSRF token', await submitConsent(c1, { drop: [csrf] })],
        ['an empty CSRF token', await submitConsent(c1, { set: { [csrf]: '' } })],
        ['a wrong CSRF token', await submitConsent(c1, { set: { [csrf]: `${c1.form.hidden[csrf].slice(0, -2)}xx` } })],
        ['no cookie', await submitConsent(c1, { jar: null })],
      ];
      const c2 = await page();
      attempts.push(["another page's cookie", await submitConsent(c1, { jar: c2.jar })]);
      attempts.push(["another page's token with this page's cookie", await submitConsent(c1, { set: { [csrf]: c2.form.hidden[csrfFieldOf(c2.form)] } })]);
      const reqField = requestFieldOf(c1.form);
      if (reqField) attempts.push(['another sealed request under this CSRF token', await submitConsent(c1, { set: { [reqField]: c2.form.hidden[reqField] } })]);
      for (const [what, a] of attempts) assertErrorPage(a, what, 403);
      assert.equal(fake.count('/login/oauth/authorize'), before, 'no redirect to GitHub');
      // The untouched form still works.
      const ok = await submitConsent(c1);
      assert.ok(ok.location?.startsWith(`${fake.baseUrl}/login/oauth/authorize?`), `approve works: ${ok.status} ${ok.location}`);
    });

    it('a client name or URI holding HTML or script is shown escaped on the consent page', T, async () => {
      const name = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">"\'&Evil';
      const reg = await registerRaw(as, {
        client_name: name, redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none',
        client_uri: 'https://evil.example/"><script>window.pwned=3</script>',
      });
      let client = reg.json;
      if (reg.status !== 201) {
        // Refusing an HTML-laden client_uri is fine; the name must then be accepted and escaped on its own.
        assert.equal(reg.status, 400, reg.text);
        client = await register(as, { client_name: name, redirect_uris: [REDIRECT] });
      }
      const consent = await getConsent(authorizeUrl(as, { clientId: client.client_id, redirectUri: REDIRECT, challenge: pkcePair().challenge, state: randomState(), resource: mcpUrl }));
      assert.equal(consent.status, 200, consent.text.slice(0, 500));
      const html = consent.html;
      assert.ok(!html.includes('<script>window.pwned'), 'no script from the client reaches the page');
      assert.ok(!/<img[^>]*onerror/i.test(html), 'no element from the client reaches the page');
      assert.ok(html.includes('&lt;script&gt;window.pwned=1&lt;/script&gt;'), 'the name is shown, escaped');
      assert.ok(!/<script\b/i.test(html), 'the consent page has no script at all');
    });

    it('consent denied → access_denied to the client (GitHub never asked); GitHub denied → access_denied', T, async () => {
      const client = await register(as, { redirect_uris: [REDIRECT] });
      const state = randomState();
      const before = fake.count('/login/oauth/authorize');
      const consent = await getConsent(authorizeUrl(as, { clientId: client.client_id, redirectUri: REDIRECT, challenge: pkcePair().challenge, state, resource: mcpUrl }));
      const denied = await submitConsent(consent, { approve: false });
      assertErrorRedirect(denied, { redirectUri: REDIRECT, state, issuer: origin, error: 'access_denied', what: 'consent denied' });
      assert.equal(fake.count('/login/oauth/authorize'), before, 'GitHub not involved');

      const state2 = randomState();
      fake.denyNext();
      const a = await authorize(as, { url: authorizeUrl(as, { clientId: client.client_id, redirectUri: REDIRECT, challenge: pkcePair().challenge, state: state2, resource: mcpUrl }), redirectUri: REDIRECT });
      assert.equal(a.error, 'access_denied', a.url.toString());
      assert.equal(a.state, state2);
      assert.equal(a.iss, origin);
      assert.equal(a.code, undefined);
    });

    it("GitHub's 200-with-error token answer (an expired GitHub code) gives no code, and its body is not echoed", T, async () => {
      const client = await register(as, { redirect_uris: [REDIRECT] });
      const state = randomState();
      const consent = await getConsent(authorizeUrl(as, { clientId: client.client_id, redirectUri: REDIRECT, challenge: pkcePair().challenge, state, resource: mcpUrl }));
      const approved = await submitConsent(consent);
      const gh = await followRedirect(approved.location);
      fake.expireCodes();
      const cb = await followRedirect(gh.location);
      assert.ok(cb.status !== 500, `not a 500: ${cb.text.slice(0, 300)}`);
      if (cb.location) {
        const r = redirectParams(cb.location);
        const reference = /reference ([0-9a-f]{8,})/.exec(r.errorDescription ?? '')?.[1];
        if (reference) loggedReferences.push(reference);
        assert.equal(r.code, undefined, cb.location);
        assert.equal(r.target, REDIRECT);
        assert.ok(r.error, cb.location);
        assert.equal(r.state, state);
        assert.equal(r.iss, origin);
        assert.ok(!cb.location.includes(fake.errorDetail), "GitHub's error description is not passed on");
      } else {
        assert.ok(cb.status >= 400, `${cb.status}`);
      }
      assert.ok(!cb.text.includes(fake.errorDetail), "GitHub's error body is not echoed");
      assert.ok(!cb.text.includes('bad_verification_code'), "GitHub's error body is not echoed");
    });

    it('a token for another resource (another origin of the same worker) → 401 invalid_token; `resource` of another server is refused', T, async () => {
      const { tokens } = await signInAs('octocat');
      const localhost = `http://localhost:${worker.port}`;
      const a = await challenge(`${localhost}/mcp`, { headers: bearer(tokens.access_token) });
      assertChallenge(a, localhost, { error: 'invalid_token', what: 'token for http://127.0.0.1:…/mcp at http://localhost:…/mcp' });
      assertUser((await whoami(url, bearer(tokens.access_token))).output, 'octocat', 1);
      // Asking for a token for another resource at all.
      const client = await register(as, { redirect_uris: [REDIRECT] });
      const state = randomState();
      const other = await http(authorizeUrl(as, { clientId: client.client_id, redirectUri: REDIRECT, challenge: pkcePair().challenge, state, resource: 'https://other.example/mcp' }));
      assertErrorRedirect(other, { redirectUri: REDIRECT, state, issuer: origin, error: ['invalid_target', 'invalid_request'], what: 'resource of another server' });
      // And at /token (RFC 8707 §2.2): invalid_target.
      const c = await codeFor();
      assertTokenError(await exchangeCode(as, { code: c.code, clientId: c.client.client_id, redirectUri: REDIRECT, verifier: c.pkce.verifier, resource: 'https://other.example/mcp' }),
        400, 'invalid_target', 'resource of another server at /token');
    });

    it('a reused rotated refresh token is detected: the grant is revoked (its newest tokens stop working)', T, async () => {
      const f = await signInAs('octocat');
      const cid = f.client.client_id;
      const r1 = trackTokens(await refresh(as, { refreshToken: f.tokens.refresh_token, clientId: cid }));
      assert.equal(r1.status, 200, r1.text);
      const r2 = trackTokens(await refresh(as, { refreshToken: r1.json.refresh_token, clientId: cid }));
      assert.equal(r2.status, 200, r2.text);
      assertUser((await whoami(url, bearer(r2.json.access_token))).output, 'octocat', 1);
      // The first refresh token, two rotations old: reuse.
      assertTokenError(await refresh(as, { refreshToken: f.tokens.refresh_token, clientId: cid }), 400, 'invalid_grant', 'reused refresh token');
      assertTokenError(await refresh(as, { refreshToken: r2.json.refresh_token, clientId: cid }), 400, 'invalid_grant', 'the newest refresh token after reuse');
      assertChallenge(await challenge(mcpUrl, { headers: bearer(r2.json.access_token) }), origin, { error: 'invalid_token', what: 'access token after reuse' });
    });

    it('two concurrent refreshes of one grant coalesce: both succeed with the same new refresh token, the grant lives on', T, async () => {
      const f = await signInAs('octocat');
      const cid = f.client.client_id;
      const [a, b] = await Promise.all([
        refresh(as, { refreshToken: f.tokens.refresh_token, clientId: cid }),
        refresh(as, { refreshToken: f.tokens.refresh_token, clientId: cid }),
      ]);
      trackTokens(a); trackTokens(b);
      assert.equal(a.status, 200, a.text);
      assert.equal(b.status, 200, b.text);
      assert.equal(a.json.refresh_token, b.json.refresh_token, 'one new refresh token');
      for (const t of [a.json.access_token, b.json.access_token]) assertUser((await whoami(url, bearer(t))).output, 'octocat', 1);
      const next = trackTokens(await refresh(as, { refreshToken: a.json.refresh_token, clientId: cid }));
      assert.equal(next.status, 200, `the grant was not revoked by the race: ${next.text}`);
    });

    it('revocation: by refresh token revokes the grant; unknown tokens → 200; another client cannot revoke', T, async () => {
      const f = await signInAs('octocat');
      const cid = f.client.client_id;
      const thief = await register(as, { redirect_uris: [REDIRECT] });
      const stolen = await revoke(as, { token: f.tokens.refresh_token, clientId: thief.client_id });
      assert.ok([200, 400, 401].includes(stolen.status), stolen.text);
      assertUser((await whoami(url, bearer(f.tokens.access_token))).output, 'octocat', 1);
      const rev = await revoke(as, { token: f.tokens.refresh_token, hint: 'refresh_token', clientId: cid });
      assert.equal(rev.status, 200, rev.text);
      assertChallenge(await challenge(mcpUrl, { headers: bearer(f.tokens.access_token) }), origin, { error: 'invalid_token', what: 'access token of a revoked grant' });
      assertTokenError(await refresh(as, { refreshToken: f.tokens.refresh_token, clientId: cid }), 400, 'invalid_grant', 'revoked refresh token');
      for (const token of ['nonsense-token-0123456789', 'mcp_at.e30.AAAAAAAAAAAAAAAAAAAAAA', f.tokens.refresh_token]) {
        const again = await revoke(as, { token, clientId: cid });
        assert.equal(again.status, 200, `revoking ${token.slice(0, 8)}…: ${again.text}`);
      }
    });

    it("another user's token on a session → 404 (the session is bound to its GitHub user)", T, async () => {
      const octo = await signInAs('octocat');
      const hubot = await signInAs('hubot');
      assertUser((await whoami(url, bearer(hubot.tokens.access_token))).output, 'hubot', 2, 'octocat');
      const s = await openSession(url, { headers: bearer(octo.tokens.access_token) });
      const theirs = await post(url, request('ping'), { session: s.session, protocolVersion: s.version, headers: bearer(hubot.tokens.access_token) });
      assert.equal(theirs.status, 404, theirs.text);
      const get = await readAnswer(await send(url, 'GET', { session: s.session, accept: 'text/event-stream', headers: bearer(hubot.tokens.access_token) }));
      assert.equal(get.status, 404, get.text);
      const del = await readAnswer(await send(url, 'DELETE', { session: s.session, headers: bearer(hubot.tokens.access_token) }));
      assert.equal(del.status, 404, del.text);
      // The same user's other sign-in (another client, another grant) is the same user: the session is theirs.
      const octo2 = await signInAs('octocat');
      const mine = await post(url, request('ping'), { session: s.session, protocolVersion: s.version, headers: bearer(octo2.tokens.access_token) });
      assert.equal(mine.status, 200, mine.text);
      // An API key is not the user either.
      const key = await post(url, request('ping'), { session: s.session, protocolVersion: s.version, headers: bearer(API_KEY) });
      assert.equal(key.status, 404, key.text);
      await closeSession(url, s.session, bearer(octo.tokens.access_token));
    });

    it('bad registration inputs → 400 (invalid_redirect_uri / invalid_client_metadata), never 500', T, async () => {
      const ok = { client_name: 'x', token_endpoint_auth_method: 'none' };
      const badRedirects = [
        ['javascript: URI', ['javascript:alert(1)']],
        ['data: URI', ['data:text/html,<script>alert(1)</script>']],
        ['a fragment', ['https://client.example/cb#frag']],
        ['userinfo', ['https://user:pass@client.example/cb']],
        ['http, not loopback', ['http://client.example/cb']],
        ['a custom scheme', ['myapp://callback']],
        ['file:', ['file:///etc/passwd']],
        ['relative', ['/callback']],
        ['not a URL', ['not a url']],
        ['an empty list', []],
        ['11 URIs', Array.from({ length: 11 }, (_, i) => `https://client.example/cb${i}`)],
        ['a URI over 2 KB', [`https://client.example/${'a'.repeat(2100)}`]],
      ];
      for (const [what, uris] of badRedirects) {
        const a = await registerRaw(as, { ...ok, redirect_uris: uris });
        assert.equal(a.status, 400, `${what}: ${a.status} ${a.text.slice(0, 300)}`);
        assert.ok(['invalid_redirect_uri', 'invalid_client_metadata'].includes(a.json?.error), `${what}: ${a.text.slice(0, 300)}`);
      }
      const badMetadata = [
        ['no redirect_uris', { ...ok }],
        ['redirect_uris not a list', { ...ok, redirect_uris: REDIRECT }],
        ['a name over 200 characters', { ...ok, client_name: 'n'.repeat(201), redirect_uris: [REDIRECT] }],
        ['an unknown auth method', { ...ok, token_endpoint_auth_method: 'private_key_jwt', redirect_uris: [REDIRECT] }],
      ];
      for (const [what, body] of badMetadata) {
        const a = await registerRaw(as, body);
        assert.equal(a.status, 400, `${what}: ${a.status} ${a.text.slice(0, 300)}`);
        assert.ok(['invalid_client_metadata', 'invalid_redirect_uri'].includes(a.json?.error), `${what}: ${a.text.slice(0, 300)}`);
      }
      const raw = [
        ['malformed JSON', '{"redirect_uris": ["http://127.0.0.1/cb"', {}],
        ['a JSON array', '[]', {}],
        ['a body over 16 KB', JSON.stringify({ ...ok, redirect_uris: [REDIRECT], padding: 'p'.repeat(17 * 1024) }), {}],
        ['a form body', 'redirect_uris=http%3A%2F%2F127.0.0.1%2Fcb', { 'content-type': 'application/x-www-form-urlencoded' }],
      ];
      for (const [what, body, headers] of raw) {
        const a = await registerRaw(as, body, { headers });
        assert.ok([400, 413, 415].includes(a.status), `${what}: ${a.status} ${a.text.slice(0, 300)}`);
        assert.equal(typeof a.json?.error, 'string', `${what}: an RFC 7591 error body: ${a.text.slice(0, 300)}`);
      }
    });

    it('oversized, malformed or mismatched client ID metadata documents → an error page, never a 500 or a redirect', { timeout: 120_000 }, async () => {
      const good = (path) => ({
        client_id: docs.url(path), client_name: 'CIMD', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none',
      });
      const cases = [
        ['over 64 KB', '/cimd/big.json', { body: { ...good('/cimd/big.json'), padding: 'p'.repeat(70 * 1024) } }],
        ['not JSON', '/cimd/garbage.json', { body: '<html>not json</html>', headers: { 'content-type': 'text/html' } }],
        ['truncated JSON', '/cimd/truncated.json', { body: '{"client_id": "' }],
        ['a JSON array', '/cimd/array.json', { body: '[]' }],
        ['client_id of another URL', '/cimd/other-id.json', { body: { ...good('/cimd/other-id.json'), client_id: docs.url('/cimd/someone-else.json') } }],
        ['no redirect_uris', '/cimd/no-redirects.json', { body: { client_id: docs.url('/cimd/no-redirects.json'), client_name: 'x' } }],
        ['a javascript: redirect URI', '/cimd/js.json', { body: { ...good('/cimd/js.json'), redirect_uris: ['javascript:alert(1)', REDIRECT] } }],
        ['a 404', '/cimd/missing.json', null],
        ['a 500', '/cimd/error.json', { status: 500, body: { error: 'x' } }],
        ['a redirect', '/cimd/redirect.json', { status: 302, body: '', headers: { location: docs.url('/cimd/good.json') } }],
      ];
      for (const [what, path, doc] of cases) {
        if (doc) docs.docs[path] = doc;
        const state = randomState();
        const a = await http(authorizeUrl(as, { clientId: docs.url(path), redirectUri: REDIRECT, challenge: pkcePair().challenge, state, resource: mcpUrl }));
        assertErrorPage(a, `CIMD ${what}`);
      }
      // A document that never arrives: bounded time, then an error page.
      docs.docs['/cimd/slow.json'] = { body: good('/cimd/slow.json'), delayMs: 60_000 };
      const started = Date.now();
      const slow = await http(authorizeUrl(as, { clientId: docs.url('/cimd/slow.json'), redirectUri: REDIRECT, challenge: pkcePair().challenge, state: randomState() }), { timeoutMs: 30_000 });
      assertErrorPage(slow, 'CIMD slow document');
      assert.ok(Date.now() - started < 20_000, `answered within 20 s (${Date.now() - started} ms)`);
      // URLs that are not https (other than loopback in development mode) or that carry a fragment: refused
      // without a fetch.
      for (const clientId of ['http://client.example/doc.json', `${docs.url('/cimd/good.json')}#frag`, 'ftp://client.example/doc.json']) {
        assertErrorPage(await http(authorizeUrl(as, { clientId, redirectUri: REDIRECT, challenge: pkcePair().challenge, state: randomState() })), `client_id ${clientId}`);
      }
    });

    it('/token: unsupported grant types, missing parameters and malformed bodies → RFC 6749 errors, never 500', T, async () => {
      const client = await register(as, { redirect_uris: [REDIRECT] });
      assertTokenError(await tokenRequest(as, { grant_type: 'password', username: 'a', password: 'b' }, { clientId: client.client_id }), 400, 'unsupported_grant_type', 'password grant');
      assertTokenError(await tokenRequest(as, { grant_type: 'client_credentials' }, { clientId: client.client_id }), 400, ['unsupported_grant_type', 'unauthorized_client'], 'client_credentials');
      assertTokenError(await tokenRequest(as, { code: 'x' }, { clientId: client.client_id }), 400, ['invalid_request', 'unsupported_grant_type'], 'no grant_type');
      assertTokenError(await tokenRequest(as, { grant_type: 'authorization_code', redirect_uri: REDIRECT, code_verifier: pkcePair().verifier }, { clientId: client.client_id }), 400, ['invalid_request', 'invalid_grant'], 'no code');
      assertTokenError(await tokenRequest(as, { grant_type: 'authorization_code', code: 'garbage', redirect_uri: REDIRECT, code_verifier: pkcePair().verifier }, { clientId: client.client_id }), 400, 'invalid_grant', 'a garbage code');
      assertTokenError(await tokenRequest(as, { grant_type: 'refresh_token', refresh_token: 'garbage.garbage' }, { clientId: client.client_id }), 400, 'invalid_grant', 'a garbage refresh token');
      for (const [what, contentType, body] of [
        ['JSON body', 'application/json', '{"grant_type":"authorization_code"}'],
        ['a malformed Content-Type', 'application/x-www-form-urlencoded; charset', 'grant_type=authorization_code'],
        ['no Content-Type', undefined, 'grant_type=authorization_code'],
        ['binary garbage', 'application/x-www-form-urlencoded', '\u0000\u00ff%%%=&&=='],
      ]) {
        const a = await http(as.token_endpoint, { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, body });
        assert.ok(a.status >= 400 && a.status < 500, `${what}: ${a.status} ${a.text.slice(0, 200)}`);
        assert.equal(typeof a.json?.error, 'string', `${what}: an RFC 6749 error body: ${a.text.slice(0, 200)}`);
      }
      const get = await http(as.token_endpoint);
      assert.ok([400, 405].includes(get.status), `GET /token: ${get.status}`);
    });
  });

  // ---------------------------------------------------------------------------------------------------------
  describe('resource server', () => {
    it('static API keys and sign-in at once: both work, each as its own identity', T, async () => {
      const who = await whoami(url, bearer(API_KEY));
      assert.deepEqual(who.output, { kind: 'api_key', id: 'key:ci-robot', name: 'ci-robot' }, 'whoami with a key names the key');
      const { tokens } = await signInAs('octocat');
      assertUser((await whoami(url, bearer(tokens.access_token))).output, 'octocat', 1);
      const wrongKey = await challenge(mcpUrl, { headers: bearer(`${API_KEY}x`) });
      assertChallenge(wrongKey, origin, { error: 'invalid_token', what: 'a wrong key, sign-in on' });
    });

    it('the legacy transport: GET /sse with a token opens a stream; its /messages need the token too', T, async () => {
      const { tokens } = await signInAs('octocat');
      const controller = new AbortController();
      const res = await fetch(`${url}/sse`, { headers: { accept: 'text/event-stream', ...bearer(tokens.access_token) }, signal: controller.signal });
      try {
        assert.equal(res.status, 200);
        const reader = res.body.getReader();
        let text = '';
        const deadline = Date.now() + 10_000;
        while (!/event: endpoint\r?\ndata: ([^\r\n]+)/.test(text) && Date.now() < deadline) {
          const { value, done } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
        const endpoint = /event: endpoint\r?\ndata: ([^\r\n]+)/.exec(text)?.[1];
        assert.ok(endpoint, text);
        const noToken = await post(url, initializeRequest(LATEST_VERSION), { path: endpoint });
        assertChallenge(noToken, origin, { what: 'POST /messages without a token' });
        const withToken = await post(url, initializeRequest('2024-11-05'), { path: endpoint, headers: bearer(tokens.access_token) });
        assert.equal(withToken.status, 202, withToken.text);
      } finally {
        controller.abort();
      }
    });

    it('a token lacking the `mcp` scope → 403 with error="insufficient_scope", scope and resource_metadata', T, async () => {
      const { tokens } = await signInAs('octocat');
      const payload = accessPayload(tokens.access_token);
      assert.equal(payload.s, 'mcp', `the design's payload fields: ${JSON.stringify(payload)}`);
      // The signing rule is checked first: the same payload re-signed here must be accepted as is.
      const resigned = forgeAccess(tokens.access_token, {});
      const same = await challenge(mcpUrl, { headers: bearer(resigned) });
      assert.equal(same.status, 200, `a token re-signed with the test's copy of the rule must work (if not, update oauthSign/forgeAccess to src/oauth): ${same.text}`);
      const unscoped = forgeAccess(tokens.access_token, { s: 'profile' });
      const a = await challenge(mcpUrl, { headers: bearer(unscoped) });
      assert.equal(a.status, 403, a.text);
      const raw = a.headers.get('www-authenticate');
      const c = parseChallenge(raw);
      assert.equal(c?.scheme.toLowerCase(), 'bearer', raw);
      assert.equal(c.params.error, 'insufficient_scope', raw);
      assert.equal(c.params.scope, 'mcp', raw);
      assert.equal(c.params.resource_metadata, `${origin}/.well-known/oauth-protected-resource/mcp`, raw);
      // The same forged token for another audience or already expired: 401.
      assertChallenge(await challenge(mcpUrl, { headers: bearer(forgeAccess(tokens.access_token, { r: 'https://other.example/mcp' })) }), origin, { error: 'invalid_token', what: 'forged audience' });
      assertChallenge(await challenge(mcpUrl, { headers: bearer(forgeAccess(tokens.access_token, { x: Date.now() - 1000 })) }), origin, { error: 'invalid_token', what: 'forged expiry' });
    });
  });

  // ---------------------------------------------------------------------------------------------------------
  describe(`short lifetimes (a second worker: OAUTH_ACCESS_TTL_SECONDS=${SHORT_TTL_S}, OAUTH_CODE_TTL_SECONDS=${SHORT_TTL_S})`, () => {
    it("a token of another server (same secret, other origin) → 401 here, and this server's token → 401 there", T, async () => {
      needW2();
      assertChallenge(await challenge(mcpUrl, { headers: bearer(early.tokens.access_token) }), origin, { error: 'invalid_token', what: "worker 2's token on worker 1" });
      const { tokens } = await signInAs('octocat');
      assertChallenge(await challenge(`${w2.url}/mcp`, { headers: bearer(tokens.access_token) }), w2.url, { error: 'invalid_token', what: "worker 1's token on worker 2" });
    });

    it('an expired access token → 401 invalid_token; refreshing gives a working one', { timeout: 150_000 }, async () => {
      needW2();
      assert.equal(early.tokens.expires_in, SHORT_TTL_S, 'OAUTH_ACCESS_TTL_SECONDS sets expires_in');
      const payload = accessPayload(early.tokens.access_token);
      await sleep(Math.max(0, payload.x - Date.now() + 1500));
      assertChallenge(await challenge(`${w2.url}/mcp`, { headers: bearer(early.tokens.access_token) }), w2.url, { error: 'invalid_token', what: 'expired token' });
      const r = trackTokens(await refresh(d2.as, { refreshToken: early.tokens.refresh_token, clientId: early.client.client_id }));
      assert.equal(r.status, 200, r.text);
      assertUser((await whoami(w2.url, bearer(r.json.access_token))).output, 'octocat', 1);
    });

    it('an expired code → invalid_grant', { timeout: 150_000 }, async () => {
      needW2();
      await sleep(Math.max(0, earlyCode.at + SHORT_TTL_S * 1000 + 1500 - Date.now()));
      const { client, pkce, authorization } = earlyCode;
      assertTokenError(await exchangeCode(d2.as, { code: authorization.code, clientId: client.client_id, redirectUri: REDIRECT, verifier: pkce.verifier, resource: `${w2.url}/mcp` }),
        400, 'invalid_grant', `a code older than OAUTH_CODE_TTL_SECONDS=${SHORT_TTL_S}`);
    });
  });

  // ---------------------------------------------------------------------------------------------------------
  describe('logs', () => {
    it('no token, code, key, client secret or GitHub token/body appears in any log line of the run', T, async () => {
      const all = [...secrets, ...fake.secrets(), fake.errorDetail, 'octocat@github.example'];
      recordSecrets(...all, ...(fake2 ? fake2.secrets() : []));
      const logs = [['worker', worker.logs(), []]];
      if (w2) logs.push(['short-lifetime worker', w2.logs(), fake2.secrets()]);
      assert.ok(all.length > 40, `the run handled many secrets (${all.length})`);
      // The scan reads what the worker printed: the failure of the GitHub-error test was logged under the
      // reference its error description named.
      for (const reference of loggedReferences) assert.ok(worker.logs().includes(reference), `the worker's log holds reference ${reference}`);
      for (const [label, text, extra] of logs) {
        const found = findSecrets(text, [...all, ...extra]);
        assert.deepEqual(found, [], `${label}: secrets in the log:\n${found.join('\n')}`);
      }
    });
  });
});

describe('GitHub sign-in on a deployment (development mode off)', { timeout: 600_000 }, () => {
  const GITHUB_SECRET_VALUE = 'gh-client-secret-never-shown-0123456789';

  it('one GitHub secret without the other → 503 naming the missing one; no server secret → 503 naming it; no value echoed', { timeout: 200_000 }, async () => {
    for (const [vars, missing] of [
      [{ GITHUB_CLIENT_ID: 'Iv1.deployed', MCP_SERVER_SECRET: SECRET }, 'GITHUB_CLIENT_SECRET'],
      [{ GITHUB_CLIENT_SECRET: GITHUB_SECRET_VALUE, MCP_SERVER_SECRET: SECRET }, 'GITHUB_CLIENT_ID'],
      [{ GITHUB_CLIENT_ID: 'Iv1.deployed', GITHUB_CLIENT_SECRET: GITHUB_SECRET_VALUE }, 'MCP_SERVER_SECRET'],
    ]) {
      const w = await startWorker({ development: false, vars });
      try {
        const a = await post(w.url, initializeRequest());
        assert.equal(a.status, 503, `${missing}: ${a.text}`);
        assert.match(a.json?.error?.message ?? '', new RegExp(missing), `the answer names ${missing}: ${a.text}`);
        for (const path of ['/.well-known/oauth-authorization-server', '/authorize?client_id=x', '/token']) {
          const b = await http(`${w.url}${path}`, { method: path === '/token' ? 'POST' : 'GET', form: path === '/token' ? { grant_type: 'refresh_token' } : undefined });
          assert.ok(b.status !== 200 && b.status !== 302, `${missing}: ${path} is not served: ${b.status}`);
          assert.ok(!b.text.includes(GITHUB_SECRET_VALUE) && !b.text.includes(SECRET), `${path}: no secret in the answer`);
        }
        assert.ok(!a.text.includes(GITHUB_SECRET_VALUE) && !a.text.includes(SECRET), 'no secret in the answer');
        assert.deepEqual(findSecrets(w.logs(), [GITHUB_SECRET_VALUE, SECRET]), [], 'no secret in the log');
      } finally {
        await w.stop();
      }
    }
  });

  it('fully configured, with a GitHub App (expiring ghu_ tokens, ghr_ refresh tokens): the whole sign-in works; http loopback CIMD URLs are refused (https only when deployed)', { timeout: 120_000 }, async () => {
    const fake = await startFakeGitHub({ tokenKind: 'github-app' });
    const docs = await startDocServer();
    const port = await freePort();
    fake.callbackUrl = `http://127.0.0.1:${port}/callback`;
    const w = await startWorker({ port, development: false, vars: { ...fake.vars, MCP_SERVER_SECRET: SECRET } });
    try {
      const flow = await signIn(w.url, { redirectUri: REDIRECT });
      const who = await whoami(w.url, bearer(flow.tokens.access_token));
      assertUser(who.output, 'octocat', 1);
      assert.match(fake.issuedTokens()[0] ?? '', /^ghu_/, 'the worker signed in through GitHub App user tokens');
      assert.equal(fake.requestsTo('/user')[0]?.authorization?.tokenKind, 'ghu');
      const r = await refresh(flow.as, { refreshToken: flow.tokens.refresh_token, clientId: flow.client.client_id });
      assert.equal(r.status, 200, r.text);
      assertUser((await whoami(w.url, bearer(r.json.access_token))).output, 'octocat', 1);
      assert.equal(fake.requestsTo((x) => x.path === '/login/oauth/access_token' && x.bodyFields?.includes('refresh_token')).length, 0,
        'our refresh does not burn the single-use GitHub refresh token while the GitHub token is fresh');
      const clientId = docs.url('/cimd/deployed.json');
      docs.docs['/cimd/deployed.json'] = { body: { client_id: clientId, client_name: 'x', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' } };
      const a = await http(authorizeUrl(flow.as, { clientId, redirectUri: REDIRECT, challenge: pkcePair().challenge, state: randomState(), resource: `${w.url}/mcp` }));
      assertErrorPage(a, 'http CIMD URL on a deployment');
      assert.equal(docs.hits['/cimd/deployed.json'], undefined, 'never fetched');
      const found = findSecrets(w.logs(), [flow.tokens.access_token, flow.tokens.refresh_token, r.json.access_token, r.json.refresh_token, flow.authorization.code, fake.clientSecret, ...fake.secrets()]);
      assert.deepEqual(found, [], 'no secret in the log');
    } finally {
      await w.stop();
      await fake.close();
      await docs.close();
    }
  });
});
