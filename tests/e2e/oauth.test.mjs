// GitHub sign-in (issue 9): the worker as the OAuth 2.1 authorization server MCP clients discover, with a local
// fake GitHub (support/fake_github.mjs) as the upstream identity provider, driven over raw HTTP by a headless
// client (support/oauth_flow.mjs). Covers: the whole flow (401 → resource metadata → server metadata →
// registration → consent → GitHub → callback → token → MCP calls → refresh → revoke), the same with a client ID
// metadata document served locally, static API keys beside sign-in, the 401 and 403 challenges, short lifetimes,
// deployments, and a scan of every log line for secrets. The attacks are in oauth_attacks.test.mjs (same setup,
// support/oauth_world.mjs).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, freePort, recordSecrets } from './support/worker.mjs';
import { startFakeGitHub } from './support/fake_github.mjs';
import {
  call, post, send, readAnswer, request, initializeRequest, closeSession, sleep, LATEST_VERSION,
} from './support/mcp.mjs';
import {
  http, challenge, discover, register, registerRaw, authorizeUrl, getConsent, submitConsent, followRedirect,
  authorize, exchangeCode, refresh, revoke, signIn, pkcePair, randomState, redirectParams, parseChallenge,
  csrfFieldOf, requestFieldOf, bearer, findSecrets, decodeEntities, startDocServer,
} from './support/oauth_flow.mjs';
import {
  T, SECRET, API_KEY, REDIRECT, SHORT_TTL_S, secrets, track, trackFlow, trackTokens, whoami, assertUser,
  assertChallenge, assertErrorPage, assertTokenError, oauthSign, accessPayload, forgeAccess, startSignInWorld,
  METRICS_TOKEN, authFailures, expectAuthFailures,
} from './support/oauth_world.mjs';

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
  const needW2 = () => { if (w2Failure) throw w2Failure; };

  let world;
  before(async () => {
    world = await startSignInWorld();
    ({ fake, docs, worker, url, origin, mcpUrl, d, as } = world);

    // A failure here fails only the short-lifetime tests (they rethrow it).
    try {
      fake2 = await startFakeGitHub();
      const port2 = await freePort();
      fake2.callbackUrl = `http://127.0.0.1:${port2}/callback`;
      w2 = await startWorker({
        port: port2,
        vars: {
          ...fake2.vars, MCP_SERVER_SECRET: SECRET, MCP_METRICS_TOKEN: METRICS_TOKEN,
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
    await world?.stop();
    await w2?.stop();
    await fake2?.close();
  }, { timeout: 30_000 });

  const signInAs = (login, opts) => world.signInAs(login, opts);
  const codeFor = (opts) => world.codeFor(opts);

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
      const revokedBefore = await authFailures(url, 'revoked');
      assertChallenge(await challenge(mcpUrl, { headers: bearer(ref.json.access_token) }), origin, { error: 'invalid_token', what: 'revoked token' });
      // Counted in /metrics under its reason.
      await expectAuthFailures(url, 'revoked', revokedBefore + 1);
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
      const expiredBefore = await authFailures(w2.url, 'expired');
      assertChallenge(await challenge(`${w2.url}/mcp`, { headers: bearer(early.tokens.access_token) }), w2.url, { error: 'invalid_token', what: 'expired token' });
      await expectAuthFailures(w2.url, 'expired', expiredBefore + 1);
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
