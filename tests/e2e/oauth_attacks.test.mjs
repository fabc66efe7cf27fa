// GitHub sign-in under attack: one test per attack of the issue (PKCE, codes, redirect URIs, state, CSRF,
// refresh token reuse, forged tokens and states, client metadata documents, ...), against the worker and fake
// GitHub of support/oauth_world.mjs, driven by the headless client of support/oauth_flow.mjs, which deviates from
// the flow wherever an attack does; then a scan of every log line for the secrets the attacks handled.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { recordSecrets } from './support/worker.mjs';
import { openSession, post, send, readAnswer, request, closeSession } from './support/mcp.mjs';
import {
  http, challenge, register, registerRaw, authorizeUrl, getConsent, submitConsent, followRedirect, authorize,
  exchangeCode, refresh, revoke, tokenRequest, pkcePair, randomState, redirectParams, csrfFieldOf,
  requestFieldOf, bearer, findSecrets,
} from './support/oauth_flow.mjs';
import {
  T, API_KEY, REDIRECT, secrets, track, trackTokens, whoami, assertUser, assertChallenge, assertErrorPage,
  assertTokenError, assertErrorRedirect, accessPayload, sealedPayload, seal, forgeState, startSignInWorld,
} from './support/oauth_world.mjs';

describe('GitHub sign-in: attacks (fake GitHub)', { timeout: 900_000 }, () => {
  let world;
  let fake;
  let worker;
  let url;
  let origin;
  let mcpUrl;
  let d; // discovery
  let as; // authorization server metadata
  let docs;
  /** References named in error descriptions, which the worker's log must hold (so the log scan reads it). */
  const loggedReferences = [];

  before(async () => {
    world = await startSignInWorld();
    ({ fake, docs, worker, url, origin, mcpUrl, d, as } = world);
  }, { timeout: 240_000 });

  after(async () => { await world?.stop(); }, { timeout: 30_000 });

  const signInAs = (login, opts) => world.signInAs(login, opts);
  const codeFor = (opts) => world.codeFor(opts);

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
  describe('logs', () => {
    it('no token, code, key, client secret or GitHub token/body appears in any log line of the attacks', T, async () => {
      const all = [...secrets, ...fake.secrets(), fake.errorDetail, 'octocat@github.example'];
      recordSecrets(...all);
      assert.ok(all.length > 40, `the attacks handled many secrets (${all.length})`);
      // The scan reads what the worker printed: the failure of the GitHub-error test was logged under the
      // reference its error description named.
      for (const reference of loggedReferences) assert.ok(worker.logs().includes(reference), `the worker's log holds reference ${reference}`);
      const found = findSecrets(worker.logs(), all);
      assert.deepEqual(found, [], `secrets in the log:\n${found.join('\n')}`);
    });
  });
});
