// Shared by the GitHub sign-in tests (oauth.test.mjs, oauth_attacks.test.mjs): the settings of their worker, the
// secrets a file handled (for its log scan), assertions on OAuth answers, forging our sealed values as the worker
// signs them, and one worker with a fake GitHub and a metadata document server (`startSignInWorld`).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startWorker, freePort } from './worker.mjs';
import { startFakeGitHub } from './fake_github.mjs';
import { openSession, call } from './mcp.mjs';
import { readSeries, awaitSeries } from './metrics.mjs';
import {
  discover, register, authorizeUrl, authorize, signIn, pkcePair, randomState, redirectParams, parseChallenge, startDocServer,
} from './oauth_flow.mjs';

export const T = { timeout: 60_000 };
/** The server secret of both workers (development mode would use the public one; a known one is just as good). */
export const SECRET = 'oauth-e2e-test-server-secret-0123456789abcdef';
export const API_KEY = 'key-ci-0123456789abcdef0123';
/** Where the test clients say they want to be redirected; nothing listens there, the Location is read. */
export const REDIRECT = 'http://127.0.0.1:45871/callback';
/** The shortest lifetime the settings accept (src/config.rs: at least 60 s). */
export const SHORT_TTL_S = 60;

/** Every secret the run handled, for the log scan at the end. */
/** `/metrics` is on in these workers, to count auth failures by reason. */
export const METRICS_TOKEN = 'metrics-token-oauth-e2e-0001';
export const secrets = new Set([SECRET, API_KEY, METRICS_TOKEN]);
export const track = (...values) => { for (const v of values) if (typeof v === 'string' && v) secrets.add(v); };
export function trackFlow(flow) {
  track(flow.tokens?.access_token, flow.tokens?.refresh_token, flow.authorization?.code, flow.pkce?.verifier, flow.client?.client_secret);
  return flow;
}
export function trackTokens(answer) {
  track(answer.json?.access_token, answer.json?.refresh_token);
  return answer;
}

/** The text a tool answered (structured content when there is some, else the text content parsed if JSON). */
export function toolOutput(result) {
  if (result?.structuredContent !== undefined) return result.structuredContent;
  const text = result?.content?.find((c) => c.type === 'text')?.text;
  try { return JSON.parse(text); } catch { return text; }
}

/** initialize (with `headers`) + tools/call whoami; returns {session, output, result}. Throws unless 200. */
export async function whoami(url, headers) {
  const s = await openSession(url, { headers });
  const { answer, message } = await call(url, s, 'tools/call', { name: 'whoami', arguments: {} }, { headers });
  assert.equal(answer.status, 200, answer.text);
  assert.ok(message?.result, `whoami failed: ${answer.text}`);
  assert.notEqual(message.result.isError, true, answer.text);
  return { session: s, output: toolOutput(message.result), result: message.result };
}

/** The fake users' display names. */
export const NAMES = { octocat: 'The Octocat', hubot: undefined };
/** Asserts that whoami names the GitHub user `login` (GitHub id `id`): {kind: user, id: github:<id>, login, name}. */
export function assertUser(output, login, id, other) {
  const text = JSON.stringify(output);
  assert.equal(output?.kind, 'user', text);
  assert.equal(output.id, `github:${id}`, text);
  assert.equal(output.login, login, text);
  assert.equal(output.name ?? undefined, NAMES[login], text);
  if (other) assert.ok(!text.includes(other), `whoami does not name ${other}: ${text}`);
}

/** Asserts a 401 on an MCP endpoint with the OAuth challenge of this server. */
const authSeries = (reason) => `mcp_auth_failures_total{reason="${reason}"}`;

/** The count of `mcp_auth_failures_total{reason}` on the worker at `url` (0 before the first). */
export function authFailures(url, reason) {
  return readSeries(url, METRICS_TOKEN, authSeries(reason));
}

/** Waits until `authFailures(url, reason)` reaches `count` (metrics arrive in batches), and asserts it. */
export async function expectAuthFailures(url, reason, count) {
  assert.equal(await awaitSeries(url, METRICS_TOKEN, authSeries(reason), count), count, authSeries(reason));
}

export function assertChallenge(answer, origin, { error, what = '' } = {}) {
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
export function assertErrorPage(answer, what, status = 400) {
  if (Array.isArray(status)) assert.ok(status.includes(answer.status), `${what}: status ${answer.status} ∉ ${status}: ${answer.text.slice(0, 500)}`);
  else assert.equal(answer.status, status, `${what}: ${answer.status} ${answer.location ?? ''} ${answer.text.slice(0, 500)}`);
  assert.equal(answer.location, null, `${what}: no redirect (${answer.location})`);
  assert.match(answer.contentType, /^text\/html/i, `${what}: an HTML page`);
}

/** Asserts an RFC 6749 §5.2 error answer from /token or /revoke. */
export function assertTokenError(answer, status, error, what) {
  const errors = Array.isArray(error) ? error : [error];
  assert.equal(answer.status, status, `${what}: ${answer.status} ${answer.text}`);
  assert.match(answer.contentType, /^application\/json/i, `${what}: JSON`);
  assert.ok(errors.includes(answer.json?.error), `${what}: error ${answer.json?.error} ∉ ${errors}: ${answer.text}`);
  assert.equal(answer.json?.access_token, undefined, `${what}: no token`);
  assert.match(answer.headers.get('cache-control') ?? '', /no-store/, `${what}: Cache-Control: no-store`);
}

/** An error redirect to the client: `error`, the client's `state`, `iss`, and no code. */
export function assertErrorRedirect(answer, { redirectUri, state, issuer, error, what }) {
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
export function oauthSign(...parts) {
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
export function accessPayload(token) {
  const [prefix, payload] = token.split('.');
  assert.equal(prefix, 'mcp_at', `an access token of the design's format: ${token.slice(0, 12)}…`);
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

/** The JSON payload of a sealed value (`<prefix>.<b64url JSON>.<tag>`, src/oauth/sealed.rs). */
export function sealedPayload(sealed) {
  return JSON.parse(Buffer.from(sealed.split('.')[1], 'base64url').toString('utf8'));
}
/** A sealed value as src/oauth/sealed.rs seals it: the tag is the MAC of [label, JSON bytes]. */
export function seal(prefix, label, payload) {
  const json = JSON.stringify(payload);
  return `${prefix}.${Buffer.from(json).toString('base64url')}.${oauthSign(label, json)}`;
}
/** One of our access tokens with its payload edited, signed as the worker signs them. */
export function forgeAccess(token, edit) {
  return seal('mcp_at', 'access', { ...accessPayload(token), ...edit });
}
/** The upstream state sent to GitHub with its payload edited, signed as the worker signs it. */
export function forgeState(state, edit) {
  return seal('mcp_st', 'state', { ...sealedPayload(state), ...edit });
}


/**
 * The worker these tests sign in to (with an API key beside sign-in), its fake GitHub and a server of client
 * metadata documents; `signInAs` and `codeFor` run the flow, up to tokens or up to the code.
 */
export async function startSignInWorld() {
  const fake = await startFakeGitHub();
  const docs = await startDocServer();
  const port = await freePort();
  fake.callbackUrl = `http://127.0.0.1:${port}/callback`;
  const worker = await startWorker({
    port,
    vars: { ...fake.vars, MCP_SERVER_SECRET: SECRET, MCP_API_KEYS: `ci-robot:${API_KEY}`, MCP_METRICS_TOKEN: METRICS_TOKEN },
  });
  const url = worker.url;
  const mcpUrl = `${url}/mcp`;
  const d = await discover(mcpUrl);
  const as = d.as;

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

  async function stop() {
    await worker?.stop();
    await fake?.close();
    await docs?.close();
  }
  return { fake, docs, worker, url, origin: url, mcpUrl, d, as, signInAs, codeFor, stop };
}
