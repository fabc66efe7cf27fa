// A local fake of GitHub's OAuth endpoints and of `GET /user`, for the end-to-end tests of GitHub sign-in. It
// behaves as GitHub does where the worker can tell (see shared notes "GitHub as the upstream identity provider"):
//
//   web (GITHUB_BASE_URL)
//     GET  /login/oauth/authorize?client_id&redirect_uri&scope&state[&code_challenge&code_challenge_method=S256]
//          → 302 to redirect_uri with `code` (10 minutes, single use) and `state`; or, when a test says so, with
//            `error=access_denied` (the user said no). An unknown client_id is a 404 page; a redirect_uri that is
//            not the app's callback URL (when one is configured) redirects to the callback URL with
//            `error=redirect_uri_mismatch`.
//     POST /login/oauth/access_token (form-encoded or JSON body: client_id, client_secret, code, redirect_uri,
//          code_verifier; or grant_type=refresh_token with refresh_token) → HTTP 200 always; JSON when
//          `Accept: application/json`, form-encoded otherwise; errors are `error` = bad_verification_code,
//          incorrect_client_credentials, redirect_uri_mismatch, bad_refresh_token (still HTTP 200).
//          OAuth-app tokens (`gho_…`) never expire and come without a refresh token; in `tokenKind: 'github-app'`
//          mode tokens are `ghu_…` (8 h) with a single-use rotating `ghr_…` refresh token (6 months).
//   api (GITHUB_API_URL)
//     GET  /user with a `User-Agent` (403 without) and `Authorization: Bearer|token <token>` (401 "Bad credentials"
//          otherwise) → {login, id, node_id, avatar_url, type, name, email, ...}
//
// The two run on two ports, as github.com and api.github.com are two hosts, so a worker that calls /user on the
// web host (or the token endpoint on the API host) gets a 404. Every request is recorded (method, path, query
// with secret values redacted, headers minus Authorization/Cookie, names of body fields); `received(s)` says
// whether any request carried a given string anywhere (URL, headers or body), so tests can prove that a client's
// MCP token was never forwarded to GitHub.
import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';

export const DEFAULT_USERS = Object.freeze([
  Object.freeze({ login: 'octocat', id: 1, name: 'The Octocat', email: 'octocat@github.example' }),
  Object.freeze({ login: 'hubot', id: 2, name: null, email: null }),
]);

/** GitHub's lifetimes. */
export const CODE_TTL_MS = 10 * 60 * 1000;
export const APP_TOKEN_TTL_S = 8 * 3600;
export const APP_REFRESH_TTL_S = 184 * 86400;

/** Query and body fields whose values are secrets: recorded as `<redacted>`. */
const SECRET_FIELDS = new Set(['code', 'client_secret', 'code_verifier', 'refresh_token', 'access_token']);
/** Headers never recorded verbatim. */
const SECRET_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

const rand = (n = 20) => randomBytes(n).toString('hex');
const s256 = (verifier) => createHash('sha256').update(verifier).digest('base64url');

/**
 * Starts the fake on two free loopback ports.
 * @param {{users?: {login: string, id: number, name?: string|null, email?: string|null}[],
 *          clientId?: string, clientSecret?: string, callbackUrl?: string,
 *          tokenKind?: 'oauth-app'|'github-app', codeTtlMs?: number, appTokenTtlS?: number,
 *          errorDetail?: string}} [options]
 *   `callbackUrl`: the OAuth app's registered callback (settable later as `fake.callbackUrl`); when set, an
 *   authorize request with another redirect_uri is refused as GitHub does. `errorDetail` is put in every error
 *   description, so a test can check that no GitHub error body is echoed by the worker.
 */
export async function startFakeGitHub(options = {}) {
  const users = (options.users ?? DEFAULT_USERS).map((u) => ({ name: null, email: null, ...u }));
  const fake = {
    clientId: options.clientId ?? `Iv1.fake${rand(6)}`,
    clientSecret: options.clientSecret ?? `fake-gh-secret-${rand(16)}`,
    callbackUrl: options.callbackUrl,
    tokenKind: options.tokenKind ?? 'oauth-app',
    codeTtlMs: options.codeTtlMs ?? CODE_TTL_MS,
    appTokenTtlS: options.appTokenTtlS ?? APP_TOKEN_TTL_S,
    errorDetail: options.errorDetail ?? `fake-github-error-detail-${rand(8)}`,
    users,
    /** Every request, in order: {server, method, path, query, headers, bodyFields, status, at}. */
    requests: [],
    /** Every authorize request's parameters (the real values: the worker's state, challenge, ...). */
    authorizations: [],
    /** Every secret value the fake handed out or was sent (codes, tokens, refresh tokens, verifiers, ...). */
    secretsSeen: new Set(),
  };
  fake.secretsSeen.add(fake.clientSecret);
  /** The login the next authorize approves as (persistent), and one-shot decisions queued by tests. */
  let defaultLogin = users[0].login;
  const queued = [];
  /** code → {clientId, redirectUri, challenge, method, login, scope, expires, used} */
  const codes = new Map();
  /** access token → {login, scope, expires (ms or null), revoked} */
  const tokens = new Map();
  /** refresh token → {login, scope, expires, used} */
  const refreshTokens = new Map();
  /** Raw text of every request (URL, headers, body), for `received`. Kept only in memory. */
  const raw = [];

  const userByLogin = (login) => {
    const u = users.find((x) => x.login === login);
    if (!u) throw new Error(`fake GitHub has no user ${login}`);
    return u;
  };

  /** From now on, authorize approves as `login`. */
  fake.approveAs = (login) => { userByLogin(login); defaultLogin = login; };
  /** The next authorize approves as `login` (then back to the default). */
  fake.approveNextAs = (login) => { userByLogin(login); queued.push({ login }); };
  /** The next authorize redirects back with `error` (the user clicked "Cancel"). */
  fake.denyNext = (error = 'access_denied') => { queued.push({ error }); };
  /** Forgets the one-shot decisions still queued (a failed test's leftovers). */
  fake.resetDecisions = () => { queued.length = 0; };
  /** Makes every code issued so far expired (as if 10 minutes had passed). */
  fake.expireCodes = () => { for (const c of codes.values()) c.expires = 0; };
  /** Makes every expiring (`ghu_`) token issued so far expired. */
  fake.expireTokens = () => { for (const t of tokens.values()) if (t.expires !== null) t.expires = 0; };
  /** Revokes a token issued by the fake (as a user revoking the app's access would). */
  fake.revokeToken = (token) => { const t = tokens.get(token); if (t) t.revoked = true; };
  /** The access tokens issued so far, in order. */
  fake.issuedTokens = () => [...tokens.keys()];
  /** The refresh tokens issued so far, in order. */
  fake.issuedRefreshTokens = () => [...refreshTokens.keys()];
  /** The codes issued so far, in order. */
  fake.issuedCodes = () => [...codes.keys()];
  /** Every secret string this fake has handled (client secret, codes, tokens, refresh tokens, verifiers). */
  fake.secrets = () => [...fake.secretsSeen];
  /** Whether any request carried `s` anywhere (URL, header values, body). */
  fake.received = (s) => raw.some((r) => r.includes(s));
  /** Recorded requests matching `path` (a string, a RegExp, or a predicate over the record). */
  fake.requestsTo = (path) => fake.requests.filter(typeof path === 'function' ? path
    : path instanceof RegExp ? (r) => path.test(r.path) : (r) => r.path === path);
  /** How many requests went to `path`. */
  fake.count = (path) => fake.requestsTo(path).length;
  /** Forgets the recorded requests (not the issued codes and tokens). */
  fake.clearRequests = () => { fake.requests.length = 0; fake.authorizations.length = 0; raw.length = 0; };
  /** Everything worth printing when a test fails. */
  fake.describe = () => fake.requests.map((r) => `${r.server} ${r.method} ${r.path} -> ${r.status}`).join('\n');

  function record(server, req, url, body, bodyFields) {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) {
      headers[k] = SECRET_HEADERS.has(k) ? '<redacted>' : v;
    }
    const query = {};
    for (const [k, v] of url.searchParams) query[k] = SECRET_FIELDS.has(k) ? '<redacted>' : v;
    const auth = req.headers.authorization;
    const entry = {
      server, method: req.method, path: url.pathname, query, headers, bodyFields,
      /** The scheme of the Authorization header and the kind of token it carried (never the token). */
      authorization: auth === undefined ? undefined : {
        scheme: auth.split(' ')[0],
        tokenKind: (/^(?:bearer|token)\s+(gh[ourp])_/i.exec(auth) ?? [])[1] ?? 'other',
        known: tokens.has(auth.replace(/^(?:bearer|token)\s+/i, '').trim()),
      },
      userAgent: req.headers['user-agent'],
      status: undefined,
      at: Date.now(),
    };
    fake.requests.push(entry);
    raw.push(`${req.method} ${req.url}\n${req.rawHeaders.join('\n')}\n\n${body}`);
    return entry;
  }

  /** Reads a form-encoded or JSON body into a URLSearchParams-like map. */
  function parseBody(req, body) {
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    const params = new Map();
    if (type.includes('application/json')) {
      try {
        const json = JSON.parse(body);
        if (json && typeof json === 'object') for (const [k, v] of Object.entries(json)) params.set(k, String(v));
      } catch {}
    } else {
      for (const [k, v] of new URLSearchParams(body)) params.set(k, v);
    }
    return params;
  }

  function reply(res, entry, status, headers, body) {
    entry.status = status;
    res.writeHead(status, headers);
    res.end(body);
  }

  /** GitHub's token endpoint answer: JSON or form-encoded by Accept, always HTTP 200. */
  function tokenReply(req, res, entry, fields) {
    const wantsJson = (req.headers.accept ?? '').toLowerCase().includes('application/json');
    if (wantsJson) {
      reply(res, entry, 200, { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(fields));
    } else {
      const form = new URLSearchParams();
      for (const [k, v] of Object.entries(fields)) form.set(k, String(v));
      reply(res, entry, 200, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, form.toString());
    }
  }
  function tokenError(req, res, entry, error, description) {
    tokenReply(req, res, entry, {
      error,
      error_description: `${description} (${fake.errorDetail})`,
      error_uri: `https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#${error.replace(/_/g, '-')}`,
    });
  }

  function mintTokens(login, scope) {
    const kind = fake.tokenKind === 'github-app' ? 'ghu' : 'gho';
    const token = `${kind}_${rand(18)}`;
    fake.secretsSeen.add(token);
    const fields = { access_token: token, token_type: 'bearer', scope };
    if (kind === 'ghu') {
      tokens.set(token, { login, scope, expires: Date.now() + fake.appTokenTtlS * 1000, revoked: false });
      const refresh = `ghr_${rand(30)}`;
      fake.secretsSeen.add(refresh);
      refreshTokens.set(refresh, { login, scope, expires: Date.now() + APP_REFRESH_TTL_S * 1000, used: false });
      Object.assign(fields, {
        expires_in: fake.appTokenTtlS, refresh_token: refresh, refresh_token_expires_in: APP_REFRESH_TTL_S,
      });
      // GitHub App user tokens carry no scopes.
      fields.scope = '';
    } else {
      tokens.set(token, { login, scope, expires: null, revoked: false });
    }
    return fields;
  }

  function handleAuthorize(req, res, url, entry) {
    const p = url.searchParams;
    const params = Object.fromEntries(p);
    fake.authorizations.push(params);
    if (p.get('client_id') !== fake.clientId) {
      return reply(res, entry, 404, { 'content-type': 'text/html; charset=utf-8' }, '<!DOCTYPE html><title>Page not found · GitHub</title><h1>404</h1>');
    }
    const redirectUri = p.get('redirect_uri') ?? fake.callbackUrl;
    if (!redirectUri) {
      return reply(res, entry, 400, { 'content-type': 'text/plain' }, 'no redirect_uri and no callback URL configured');
    }
    const state = p.get('state');
    const back = (target, fields) => {
      const u = new URL(target);
      for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) u.searchParams.set(k, v);
      reply(res, entry, 302, { location: u.toString() }, '');
    };
    if (fake.callbackUrl && redirectUri !== fake.callbackUrl) {
      // GitHub allows a subdirectory of the callback URL on the same host and port; the worker sends exactly it.
      const cb = new URL(fake.callbackUrl);
      const r = new URL(redirectUri);
      const sub = r.origin === cb.origin && (r.pathname === cb.pathname || r.pathname.startsWith(`${cb.pathname.replace(/\/$/, '')}/`));
      if (!sub) {
        return back(fake.callbackUrl, {
          error: 'redirect_uri_mismatch',
          error_description: 'The redirect_uri MUST match the registered callback URL for this application.',
          error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch',
          state,
        });
      }
    }
    const method = p.get('code_challenge') ? (p.get('code_challenge_method') ?? 'plain') : undefined;
    if (method !== undefined && method !== 'S256') {
      return back(redirectUri, { error: 'invalid_request', error_description: 'code_challenge_method must be S256', state });
    }
    const decision = queued.shift() ?? { login: defaultLogin };
    if (decision.error) {
      return back(redirectUri, {
        error: decision.error,
        error_description: 'The user has denied your application access.',
        error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied',
        state,
      });
    }
    const code = rand(10);
    fake.secretsSeen.add(code);
    codes.set(code, {
      clientId: p.get('client_id'),
      redirectUri: p.get('redirect_uri') ?? undefined,
      challenge: p.get('code_challenge') ?? undefined,
      login: decision.login,
      scope: (p.get('scope') ?? '').split(/[ ,]+/).filter(Boolean).join(','),
      expires: Date.now() + fake.codeTtlMs,
      used: false,
    });
    back(redirectUri, { code, state });
  }

  function handleAccessToken(req, res, url, entry, body) {
    const form = parseBody(req, body);
    for (const [k, v] of url.searchParams) if (!form.has(k)) form.set(k, v); // GitHub also reads the query
    entry.bodyFields = [...form.keys()];
    for (const k of ['client_secret', 'code_verifier', 'code', 'refresh_token']) if (form.get(k)) fake.secretsSeen.add(form.get(k));
    if (form.get('client_id') !== fake.clientId || form.get('client_secret') !== fake.clientSecret) {
      return tokenError(req, res, entry, 'incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.');
    }
    if (form.get('grant_type') === 'refresh_token') {
      const rt = refreshTokens.get(form.get('refresh_token') ?? '');
      if (fake.tokenKind !== 'github-app' || !rt || rt.used || rt.expires < Date.now()) {
        if (rt) rt.used = true;
        return tokenError(req, res, entry, 'bad_refresh_token', 'The refresh token passed is incorrect or expired.');
      }
      rt.used = true;
      return tokenReply(req, res, entry, mintTokens(rt.login, rt.scope));
    }
    const code = codes.get(form.get('code') ?? '');
    if (!code || code.used || code.expires < Date.now() || code.clientId !== form.get('client_id')) {
      return tokenError(req, res, entry, 'bad_verification_code', 'The code passed is incorrect or expired.');
    }
    if (form.get('redirect_uri') && code.redirectUri && form.get('redirect_uri') !== code.redirectUri) {
      return tokenError(req, res, entry, 'redirect_uri_mismatch', 'The redirect_uri MUST match the registered callback URL for this application.');
    }
    if (code.challenge !== undefined) {
      const verifier = form.get('code_verifier');
      if (!verifier || s256(verifier) !== code.challenge) {
        code.used = true;
        return tokenError(req, res, entry, 'bad_verification_code', 'The code_verifier does not match the code_challenge.');
      }
    }
    code.used = true;
    return tokenReply(req, res, entry, mintTokens(code.login, code.scope));
  }

  function handleUser(req, res, entry) {
    const json = { 'content-type': 'application/json; charset=utf-8', 'x-github-media-type': 'github.v3; format=json' };
    if (!req.headers['user-agent']) {
      return reply(res, entry, 403, { 'content-type': 'text/plain; charset=utf-8' },
        'Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n');
    }
    const m = /^(?:bearer|token)\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const t = m && tokens.get(m[1]);
    if (!t || t.revoked || (t.expires !== null && t.expires < Date.now())) {
      return reply(res, entry, 401, json, JSON.stringify({
        message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user', status: '401',
      }));
    }
    const u = userByLogin(t.login);
    return reply(res, entry, 200, { ...json, 'x-oauth-scopes': t.scope.replace(/,/g, ', ') }, JSON.stringify({
      login: u.login,
      id: u.id,
      node_id: `MDQ6VXNlcj${u.id}`,
      avatar_url: `https://avatars.githubusercontent.com/u/${u.id}?v=4`,
      html_url: `https://github.com/${u.login}`,
      type: 'User',
      site_admin: false,
      name: u.name,
      company: null,
      blog: '',
      location: null,
      email: u.email,
      bio: null,
      public_repos: 8,
      followers: 20,
      following: 0,
      created_at: '2011-01-25T18:44:36Z',
      updated_at: '2026-01-01T00:00:00Z',
    }));
  }

  function handler(server) {
    return (req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const url = new URL(req.url, 'http://fake.invalid');
        const entry = record(server, req, url, body, undefined);
        try {
          if (server === 'web' && req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
            return handleAuthorize(req, res, url, entry);
          }
          if (server === 'web' && req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
            return handleAccessToken(req, res, url, entry, body);
          }
          if (server === 'api' && req.method === 'GET' && url.pathname === '/user') {
            return handleUser(req, res, entry);
          }
          return reply(res, entry, 404, { 'content-type': 'application/json' },
            JSON.stringify({ message: 'Not Found', documentation_url: 'https://docs.github.com/rest' }));
        } catch (e) {
          return reply(res, entry, 500, { 'content-type': 'text/plain' }, `fake GitHub failed: ${e?.stack ?? e}`);
        }
      });
    };
  }

  const listen = (server) => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
  const web = createServer(handler('web'));
  const api = createServer(handler('api'));
  const [webPort, apiPort] = await Promise.all([listen(web), listen(api)]);
  fake.baseUrl = `http://127.0.0.1:${webPort}`;
  fake.apiUrl = `http://127.0.0.1:${apiPort}`;
  /** The worker settings that point it at this fake. */
  fake.vars = {
    GITHUB_CLIENT_ID: fake.clientId,
    GITHUB_CLIENT_SECRET: fake.clientSecret,
    GITHUB_BASE_URL: fake.baseUrl,
    GITHUB_API_URL: fake.apiUrl,
  };
  fake.close = async () => {
    await Promise.all([web, api].map((s) => new Promise((resolve) => { s.closeAllConnections(); s.close(() => resolve()); })));
  };
  return fake;
}
