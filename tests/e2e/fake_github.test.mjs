// The fake GitHub the sign-in tests use (support/fake_github.mjs) behaves as GitHub does: authorize redirects with
// a code and the state, the token endpoint answers HTTP 200 even for errors (JSON or form-encoded by Accept), codes
// are single-use, bound to their client, redirect URI and PKCE challenge and expire, /user needs a User-Agent and a
// valid token, GitHub App tokens expire and rotate their single-use refresh tokens; and it records what it was sent.
// No worker is started here.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startFakeGitHub } from './support/fake_github.mjs';

const CALLBACK = 'http://127.0.0.1:9/callback';
const s256 = (v) => createHash('sha256').update(v).digest('base64url');

/** GET authorize without following the redirect; returns the Location as a URL (or null) and the status. */
async function authorize(fake, params) {
  const u = new URL('/login/oauth/authorize', fake.baseUrl);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  const res = await fetch(u, { redirect: 'manual' });
  await res.arrayBuffer();
  const location = res.headers.get('location');
  return { status: res.status, location: location ? new URL(location) : null };
}

/** POST the token endpoint; returns {status, contentType, fields} with fields parsed from JSON or form. */
async function token(fake, fields, { json = true, bodyAsJson = false } = {}) {
  const headers = { 'content-type': bodyAsJson ? 'application/json' : 'application/x-www-form-urlencoded' };
  if (json) headers.accept = 'application/json';
  const res = await fetch(new URL('/login/oauth/access_token', fake.baseUrl), {
    method: 'POST', headers, body: bodyAsJson ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
  });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  const parsed = contentType.includes('json') ? JSON.parse(text) : Object.fromEntries(new URLSearchParams(text));
  return { status: res.status, contentType, fields: parsed };
}

async function user(fake, headers) {
  const res = await fetch(new URL('/user', fake.apiUrl), { headers });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch {}
  return { status: res.status, text, json };
}

/** One approved authorization: returns {code, verifier}. */
async function codeFor(fake, { verifier = randomBytes(32).toString('base64url'), state = 'st-1', pkce = true } = {}) {
  const a = await authorize(fake, {
    client_id: fake.clientId, redirect_uri: CALLBACK, scope: 'read:user', state,
    code_challenge: pkce ? s256(verifier) : undefined, code_challenge_method: pkce ? 'S256' : undefined,
  });
  assert.equal(a.status, 302);
  assert.equal(a.location.searchParams.get('state'), state);
  const code = a.location.searchParams.get('code');
  assert.ok(code, a.location.toString());
  return { code, verifier };
}

describe('fake GitHub (OAuth app mode)', () => {
  let fake;
  before(async () => { fake = await startFakeGitHub({ callbackUrl: CALLBACK }); });
  after(async () => { await fake?.close(); });

  it('hands the worker its settings: two loopback URLs and the app credentials', () => {
    assert.match(fake.vars.GITHUB_BASE_URL, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(fake.vars.GITHUB_API_URL, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(fake.vars.GITHUB_BASE_URL, fake.vars.GITHUB_API_URL);
    assert.equal(fake.vars.GITHUB_CLIENT_ID, fake.clientId);
    assert.equal(fake.vars.GITHUB_CLIENT_SECRET, fake.clientSecret);
  });

  it('authorize → 302 to the callback with code and state; the code buys a gho_ token (JSON), once', async () => {
    const { code, verifier } = await codeFor(fake);
    const t = await token(fake, { client_id: fake.clientId, client_secret: fake.clientSecret, code, redirect_uri: CALLBACK, code_verifier: verifier });
    assert.equal(t.status, 200);
    assert.match(t.contentType, /^application\/json/);
    assert.match(t.fields.access_token, /^gho_[0-9a-f]{36}$/);
    assert.equal(t.fields.token_type, 'bearer');
    assert.equal(t.fields.scope, 'read:user');
    assert.equal(t.fields.refresh_token, undefined, 'OAuth-app tokens have no refresh token');
    assert.equal(t.fields.expires_in, undefined, 'OAuth-app tokens never expire');
    const again = await token(fake, { client_id: fake.clientId, client_secret: fake.clientSecret, code, redirect_uri: CALLBACK, code_verifier: verifier });
    assert.equal(again.status, 200, 'errors are HTTP 200');
    assert.equal(again.fields.error, 'bad_verification_code');
    assert.equal(again.fields.access_token, undefined);
  });

  it('answers form-encoded without Accept: application/json, and reads a JSON body too', async () => {
    const a = await codeFor(fake);
    const t = await token(fake, { client_id: fake.clientId, client_secret: fake.clientSecret, code: a.code, code_verifier: a.verifier }, { json: false });
    assert.match(t.contentType, /^application\/x-www-form-urlencoded/);
    assert.match(t.fields.access_token, /^gho_/);
    const b = await codeFor(fake);
    const bad = await token(fake, { client_id: fake.clientId, client_secret: 'nope', code: b.code, code_verifier: b.verifier }, { json: false });
    assert.equal(bad.status, 200);
    assert.equal(bad.fields.error, 'incorrect_client_credentials');
    const c = await token(fake, { client_id: fake.clientId, client_secret: fake.clientSecret, code: b.code, code_verifier: b.verifier }, { bodyAsJson: true });
    assert.match(c.fields.access_token, /^gho_/, 'a failed client authentication does not burn the code');
  });

  it('token errors: wrong secret, wrong client, wrong redirect_uri, wrong or missing verifier, unknown code', async () => {
    const base = () => ({ client_id: fake.clientId, client_secret: fake.clientSecret, redirect_uri: CALLBACK });
    let a = await codeFor(fake);
    assert.equal((await token(fake, { ...base(), client_secret: 'x', code: a.code, code_verifier: a.verifier })).fields.error, 'incorrect_client_credentials');
    assert.equal((await token(fake, { ...base(), client_id: 'other', code: a.code, code_verifier: a.verifier })).fields.error, 'incorrect_client_credentials');
    assert.equal((await token(fake, { ...base(), redirect_uri: 'http://127.0.0.1:9/other', code: a.code, code_verifier: a.verifier })).fields.error, 'redirect_uri_mismatch');
    assert.equal((await token(fake, { ...base(), code: a.code, code_verifier: `${a.verifier}x` })).fields.error, 'bad_verification_code');
    a = await codeFor(fake);
    assert.equal((await token(fake, { ...base(), code: a.code })).fields.error, 'bad_verification_code', 'a PKCE code needs its verifier');
    assert.equal((await token(fake, { ...base(), code: 'f'.repeat(20), code_verifier: 'v' })).fields.error, 'bad_verification_code');
    for (const e of fake.requestsTo('/login/oauth/access_token')) assert.equal(e.status, 200, 'every answer is HTTP 200');
  });

  it('a code without PKCE needs no verifier; codes expire', async () => {
    const a = await codeFor(fake, { pkce: false });
    const t = await token(fake, { client_id: fake.clientId, client_secret: fake.clientSecret, code: a.code });
    assert.match(t.fields.access_token, /^gho_/);
    const b = await codeFor(fake);
    fake.expireCodes();
    assert.equal((await token(fake, { client_id: fake.clientId, client_secret: fake.clientSecret, code: b.code, code_verifier: b.verifier })).fields.error, 'bad_verification_code');
  });

  it('authorize refuses: unknown client (404 page), another redirect_uri (redirect_uri_mismatch to the callback), plain PKCE', async () => {
    assert.equal((await authorize(fake, { client_id: 'nobody', redirect_uri: CALLBACK, state: 's' })).status, 404);
    const mismatch = await authorize(fake, { client_id: fake.clientId, redirect_uri: 'http://127.0.0.1:9/elsewhere', state: 's2' });
    assert.equal(mismatch.status, 302);
    assert.equal(mismatch.location.origin + mismatch.location.pathname, CALLBACK);
    assert.equal(mismatch.location.searchParams.get('error'), 'redirect_uri_mismatch');
    assert.equal(mismatch.location.searchParams.get('state'), 's2');
    const plain = await authorize(fake, { client_id: fake.clientId, redirect_uri: CALLBACK, state: 's3', code_challenge: 'abc', code_challenge_method: 'plain' });
    assert.equal(plain.location.searchParams.get('error'), 'invalid_request');
    assert.equal(plain.location.searchParams.get('code'), null);
    // A subdirectory of the callback URL is allowed, as on GitHub.
    const sub = await authorize(fake, { client_id: fake.clientId, redirect_uri: `${CALLBACK}/deeper`, state: 's4' });
    assert.ok(sub.location.searchParams.get('code'));
  });

  it('denies when told to, once; approves as the user it is told to', async () => {
    fake.denyNext();
    const denied = await authorize(fake, { client_id: fake.clientId, redirect_uri: CALLBACK, state: 'd1' });
    assert.equal(denied.location.searchParams.get('error'), 'access_denied');
    assert.equal(denied.location.searchParams.get('state'), 'd1');
    assert.equal(denied.location.searchParams.get('code'), null);

    fake.approveNextAs('hubot');
    const h = await codeFor(fake, { state: 'h1' });
    const ht = await token(fake, { client_id: fake.clientId, client_secret: fake.clientSecret, code: h.code, code_verifier: h.verifier });
    const hu = await user(fake, { authorization: `Bearer ${ht.fields.access_token}`, 'user-agent': 'test' });
    assert.equal(hu.status, 200);
    assert.deepEqual([hu.json.login, hu.json.id, hu.json.name, hu.json.email], ['hubot', 2, null, null]);

    const o = await codeFor(fake, { state: 'o1' });
    const ot = await token(fake, { client_id: fake.clientId, client_secret: fake.clientSecret, code: o.code, code_verifier: o.verifier });
    const ou = await user(fake, { authorization: `token ${ot.fields.access_token}`, 'user-agent': 'test' });
    assert.deepEqual([ou.json.login, ou.json.id, ou.json.name], ['octocat', 1, 'The Octocat'], 'back to the default user');
  });

  it('/user: 403 without User-Agent, 401 without or with a bad token; only on the API host', async () => {
    const a = await codeFor(fake);
    const t = (await token(fake, { client_id: fake.clientId, client_secret: fake.clientSecret, code: a.code, code_verifier: a.verifier })).fields.access_token;
    const noUa = await fetch(new URL('/user', fake.apiUrl), { headers: { authorization: `Bearer ${t}`, 'user-agent': '' } });
    await noUa.arrayBuffer();
    assert.equal(noUa.status, 403);
    assert.equal((await user(fake, { 'user-agent': 'test' })).status, 401);
    assert.equal((await user(fake, { 'user-agent': 'test', authorization: 'Bearer gho_nope' })).status, 401);
    assert.equal((await user(fake, { 'user-agent': 'test', authorization: `Bearer ${t}` })).status, 200);
    const wrongHost = await fetch(new URL('/user', fake.baseUrl), { headers: { authorization: `Bearer ${t}`, 'user-agent': 'x' } });
    await wrongHost.arrayBuffer();
    assert.equal(wrongHost.status, 404);
    fake.revokeToken(t);
    assert.equal((await user(fake, { 'user-agent': 'test', authorization: `Bearer ${t}` })).status, 401);
  });

  it('records requests without secrets, and can tell whether a string was ever sent', async () => {
    fake.clearRequests();
    const marker = `mcp_at.${randomBytes(8).toString('hex')}`;
    const a = await codeFor(fake, { state: 'rec' });
    await token(fake, { client_id: fake.clientId, client_secret: fake.clientSecret, code: a.code, redirect_uri: CALLBACK, code_verifier: a.verifier });
    const t = fake.issuedTokens().at(-1);
    await user(fake, { authorization: `Bearer ${t}`, 'user-agent': 'recorder-test/1.0' });
    assert.equal(fake.count('/login/oauth/authorize'), 1);
    assert.equal(fake.count('/login/oauth/access_token'), 1);
    assert.equal(fake.count('/user'), 1);
    const [u] = fake.requestsTo('/user');
    assert.equal(u.server, 'api');
    assert.equal(u.userAgent, 'recorder-test/1.0');
    assert.equal(u.headers.authorization, '<redacted>');
    assert.deepEqual(u.authorization, { scheme: 'Bearer', tokenKind: 'gho', known: true });
    const [tok] = fake.requestsTo('/login/oauth/access_token');
    assert.deepEqual(tok.bodyFields.sort(), ['client_id', 'client_secret', 'code', 'code_verifier', 'redirect_uri']);
    const recorded = JSON.stringify(fake.requests);
    for (const secret of [fake.clientSecret, a.code, a.verifier, t]) assert.ok(!recorded.includes(secret), 'no secret in the records');
    assert.equal(fake.authorizations.at(-1).state, 'rec');
    assert.equal(fake.received(a.code), true);
    assert.equal(fake.received(t), true);
    assert.equal(fake.received(marker), false);
    await user(fake, { authorization: `Bearer ${marker}`, 'user-agent': 'x' });
    assert.equal(fake.received(marker), true);
    assert.deepEqual(fake.requestsTo('/user').at(-1).authorization, { scheme: 'Bearer', tokenKind: 'other', known: false });
    for (const secret of [fake.clientSecret, a.code, a.verifier, t]) assert.ok(fake.secrets().includes(secret));
  });
});

describe('fake GitHub (GitHub App mode: ghu_ tokens, rotating ghr_ refresh tokens)', () => {
  let fake;
  before(async () => { fake = await startFakeGitHub({ tokenKind: 'github-app' }); });
  after(async () => { await fake?.close(); });

  it('issues ghu_ tokens (8 h) with a ghr_ refresh token that works once and rotates', async () => {
    const a = await codeFor(fake);
    const t = await token(fake, { client_id: fake.clientId, client_secret: fake.clientSecret, code: a.code, code_verifier: a.verifier });
    assert.match(t.fields.access_token, /^ghu_/);
    assert.match(t.fields.refresh_token, /^ghr_/);
    assert.equal(t.fields.expires_in, 28800);
    assert.ok(t.fields.refresh_token_expires_in > 15_000_000);
    const refresh = (rt) => token(fake, { client_id: fake.clientId, client_secret: fake.clientSecret, grant_type: 'refresh_token', refresh_token: rt });
    const r1 = await refresh(t.fields.refresh_token);
    assert.match(r1.fields.access_token, /^ghu_/);
    assert.notEqual(r1.fields.access_token, t.fields.access_token);
    assert.notEqual(r1.fields.refresh_token, t.fields.refresh_token);
    const reused = await refresh(t.fields.refresh_token);
    assert.equal(reused.status, 200);
    assert.equal(reused.fields.error, 'bad_refresh_token');
    const wrongSecret = await token(fake, { client_id: fake.clientId, client_secret: 'x', grant_type: 'refresh_token', refresh_token: r1.fields.refresh_token });
    assert.equal(wrongSecret.fields.error, 'incorrect_client_credentials');
    assert.match((await refresh(r1.fields.refresh_token)).fields.access_token, /^ghu_/);
  });

  it('expired ghu_ tokens get 401 from /user', async () => {
    const a = await codeFor(fake);
    const t = (await token(fake, { client_id: fake.clientId, client_secret: fake.clientSecret, code: a.code, code_verifier: a.verifier })).fields.access_token;
    assert.equal((await user(fake, { authorization: `Bearer ${t}`, 'user-agent': 'x' })).status, 200);
    fake.expireTokens();
    assert.equal((await user(fake, { authorization: `Bearer ${t}`, 'user-agent': 'x' })).status, 401);
  });
});
