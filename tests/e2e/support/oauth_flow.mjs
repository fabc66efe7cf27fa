// A headless OAuth 2.1 client for the sign-in tests, doing what MCP clients do, one exported step at a time so that
// attack tests can deviate anywhere:
//
//   challenge()         POST /mcp without a token → 401; the WWW-Authenticate challenge parsed
//   discover()          → protected resource metadata (RFC 9728) → authorization server metadata (RFC 8414), with
//                         the checks clients make (issuer byte-equal, S256 listed, resource = the MCP URL)
//   register()          dynamic client registration (RFC 7591)
//   authorizeUrl()      the authorization request, PKCE S256 + state + resource
//   getConsent()        GET /authorize → the consent page: its form (hidden fields, buttons) and cookies
//   submitConsent()     POST the form (approve or deny), with the CSRF token and cookie (or without, for attacks)
//   followRedirect()    one redirect hop (the worker → fake GitHub → the worker's /callback → the client)
//   authorize()         all of the browser part: authorize URL → consent → GitHub → callback → the client's
//                       redirect URI, read from the Location header (nothing needs to listen there)
//   exchangeCode(), refresh(), revoke()   POST /token and /revoke (form-encoded; public or confidential clients)
//   signIn()            everything above in order, returning the tokens
//   startDocServer()    a local server of client ID metadata documents (CIMD clients)
//   browse()            a minimal "browser" that follows redirects and approves consent forms, for real clients
//                       (mcp-remote's BROWSER hook, the conformance suite, the SDK's OAuthClientProvider)
//
// Every function returns what it saw (status, headers, text, parsed JSON) so tests assert on it; the composite
// ones throw a descriptive Error when a step answers something a correct server never would.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

export const TIMEOUT_MS = 15_000;

export const s256 = (verifier) => createHash('sha256').update(verifier).digest('base64url');
/** A PKCE pair: a 43-character verifier and its S256 challenge. */
export function pkcePair() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: s256(verifier) };
}
export const randomState = () => randomBytes(16).toString('base64url');
export const bearer = (token) => ({ authorization: `Bearer ${token}` });

/** A tiny cookie jar: name → value (the tests talk to one origin per jar). */
export class CookieJar {
  constructor() { this.cookies = new Map(); this.raw = []; }
  /** Takes the Set-Cookie headers of a response. */
  take(headers) {
    for (const line of headers.getSetCookie?.() ?? []) {
      this.raw.push(line);
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      if (i <= 0) continue;
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (/;\s*max-age=0\b/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
  get size() { return this.cookies.size; }
  clone() { const j = new CookieJar(); j.cookies = new Map(this.cookies); return j; }
}

/**
 * One HTTP exchange, redirects not followed. `form` sends a form-encoded body, `json` a JSON body.
 * @returns {Promise<{status: number, headers: Headers, text: string, json: any, location: string|null,
 *   contentType: string, url: string}>} `location` resolved against the request URL.
 */
export async function http(url, { method, headers = {}, form, json, body, jar, timeoutMs = TIMEOUT_MS } = {}) {
  const h = { ...headers };
  let payload = body;
  if (form !== undefined) {
    payload = form instanceof URLSearchParams ? form.toString() : new URLSearchParams(Object.entries(form).filter(([, v]) => v !== undefined)).toString();
    h['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (json !== undefined) {
    payload = JSON.stringify(json);
    h['content-type'] ??= 'application/json';
  }
  if (jar && jar.size && h.cookie === undefined) h.cookie = jar.header();
  const res = await fetch(url, {
    method: method ?? (payload === undefined ? 'GET' : 'POST'),
    headers: h,
    body: payload,
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  jar?.take(res.headers);
  const text = await res.text();
  let parsed;
  try { parsed = text ? JSON.parse(text) : undefined; } catch {}
  const loc = res.headers.get('location');
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: parsed,
    location: loc === null ? null : new URL(loc, url).toString(),
    contentType: res.headers.get('content-type') ?? '',
    url: String(url),
  };
}

const describeAnswer = (a) => `${a.status} ${a.contentType}\n${a.location ? `Location: ${a.location}\n` : ''}${a.text.slice(0, 2000)}`;

/**
 * Parses one WWW-Authenticate challenge: `Bearer k="v", k2=v2` → {scheme, params}. Quoted values may hold
 * escaped quotes and commas.
 */
export function parseChallenge(header) {
  if (!header) return null;
  const m = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header);
  if (!m) return null;
  const params = {};
  const re = /\s*([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  let rest = m[2];
  re.lastIndex = 0;
  let p;
  while (re.lastIndex < rest.length && (p = re.exec(rest))) {
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
    if (p[0] === '') break;
  }
  return { scheme: m[1], params };
}

const INITIALIZE = {
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'e2e-oauth-client', version: '1.0.0' } },
};

/** POST initialize to `mcpUrl` (with `headers`, e.g. a bad token); returns the answer and its parsed challenge. */
export async function challenge(mcpUrl, { headers = {}, method = 'POST' } = {}) {
  const a = await http(mcpUrl, {
    method,
    headers: { accept: 'application/json, text/event-stream', ...headers },
    json: method === 'POST' ? INITIALIZE : undefined,
  });
  return { ...a, challenge: parseChallenge(a.headers.get('www-authenticate')) };
}

/** The RFC 8414 metadata URL of an issuer (path inserted after /.well-known/oauth-authorization-server). */
export function authServerMetadataUrl(issuer) {
  const u = new URL(issuer);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return `${u.origin}/.well-known/oauth-authorization-server${path}`;
}

/**
 * 401 → resource metadata → authorization server metadata, with the checks an MCP client makes. Throws when
 * a step is not what the spec requires.
 * @returns {Promise<{unauthorized: object, resourceMetadataUrl: string, resource: object, issuer: string,
 *   as: object, asAnswer: object}>} `as` is the authorization server metadata.
 */
export async function discover(mcpUrl) {
  const unauthorized = await challenge(mcpUrl);
  if (unauthorized.status !== 401) throw new Error(`POST ${mcpUrl} without a token: expected 401, got ${describeAnswer(unauthorized)}`);
  const c = unauthorized.challenge;
  if (!c || c.scheme.toLowerCase() !== 'bearer' || !c.params.resource_metadata) {
    throw new Error(`401 without a Bearer challenge naming resource_metadata: ${unauthorized.headers.get('www-authenticate')}`);
  }
  const resourceMetadataUrl = c.params.resource_metadata;
  const prm = await http(resourceMetadataUrl);
  if (prm.status !== 200 || !prm.json) throw new Error(`GET ${resourceMetadataUrl}: ${describeAnswer(prm)}`);
  if (prm.json.resource !== mcpUrl) throw new Error(`protected resource metadata names resource ${prm.json.resource}, not ${mcpUrl}`);
  const issuer = prm.json.authorization_servers?.[0];
  if (typeof issuer !== 'string') throw new Error(`no authorization_servers in ${prm.text}`);
  const asAnswer = await http(authServerMetadataUrl(issuer));
  if (asAnswer.status !== 200 || !asAnswer.json) throw new Error(`GET ${authServerMetadataUrl(issuer)}: ${describeAnswer(asAnswer)}`);
  const as = asAnswer.json;
  if (as.issuer !== issuer) throw new Error(`issuer ${JSON.stringify(as.issuer)} differs from ${JSON.stringify(issuer)}`);
  if (!as.code_challenge_methods_supported?.includes('S256')) throw new Error(`S256 not listed: ${asAnswer.text}`);
  for (const k of ['authorization_endpoint', 'token_endpoint']) if (typeof as[k] !== 'string') throw new Error(`no ${k}: ${asAnswer.text}`);
  return { unauthorized, resourceMetadataUrl, resource: prm.json, resourceAnswer: prm, issuer, as, asAnswer };
}

/** POST the registration endpoint with `metadata` (a value sent as JSON, or a string sent as is). */
export async function registerRaw(as, metadata, { headers = {} } = {}) {
  if (typeof metadata === 'string') {
    return http(as.registration_endpoint, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: metadata });
  }
  return http(as.registration_endpoint, { json: metadata, headers });
}

/**
 * Registers a client (public by default) and returns the registration response; throws unless 201.
 * @param {object} as authorization server metadata
 * @param {object} metadata client metadata, merged over {client_name, redirect_uris, grant_types, response_types,
 *   token_endpoint_auth_method: 'none'}
 */
export async function register(as, metadata = {}) {
  const body = {
    client_name: 'e2e OAuth client',
    redirect_uris: ['http://127.0.0.1:1/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...metadata,
  };
  const a = await registerRaw(as, body);
  if (a.status !== 201 || typeof a.json?.client_id !== 'string') throw new Error(`registration failed: ${describeAnswer(a)}`);
  return a.json;
}

/**
 * The authorization request URL. `omit` lists parameters to leave out; `extra` adds or overrides parameters.
 * @param {object} as authorization server metadata
 * @param {{clientId: string, redirectUri: string, challenge?: string, method?: string, state?: string,
 *   scope?: string, resource?: string, responseType?: string, extra?: Record<string,string>, omit?: string[]}} o
 */
export function authorizeUrl(as, o) {
  const u = new URL(as.authorization_endpoint);
  const params = {
    response_type: o.responseType ?? 'code',
    client_id: o.clientId,
    redirect_uri: o.redirectUri,
    code_challenge: o.challenge,
    code_challenge_method: o.method ?? 'S256',
    state: o.state,
    scope: o.scope ?? 'mcp',
    resource: o.resource,
    ...(o.extra ?? {}),
  };
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || (o.omit ?? []).includes(k)) continue;
    u.searchParams.set(k, v);
  }
  return u.toString();
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (all, e) => {
    if (e[0] === '#') return String.fromCodePoint(e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e.toLowerCase()] ?? all;
  });
}
function attributes(tag) {
  const attrs = {};
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  const inner = tag.replace(/^<\s*[\w-]+/, '').replace(/\/?>$/, '');
  let m;
  while ((m = re.exec(inner))) attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  return attrs;
}

/**
 * The forms of an HTML page: {action (absolute), method, hidden: {name: value}, fields: [[name, value]] (every
 * named input, in order), buttons: [{name, value, text}]}.
 */
export function parseForms(html, pageUrl) {
  const forms = [];
  for (const fm of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form\s*>/gi)) {
    const attrs = attributes(fm[0].match(/^<form\b[^>]*>/i)[0]);
    const body = fm[1];
    const hidden = {};
    const fields = [];
    const buttons = [];
    for (const im of body.matchAll(/<input\b[^>]*>/gi)) {
      const a = attributes(im[0]);
      const type = (a.type ?? 'text').toLowerCase();
      if (type === 'submit' || type === 'image') { buttons.push({ name: a.name, value: a.value ?? '', text: a.value ?? '' }); continue; }
      if (!a.name) continue;
      fields.push([a.name, a.value ?? '']);
      if (type === 'hidden') hidden[a.name] = a.value ?? '';
    }
    for (const bm of body.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button\s*>/gi)) {
      const a = attributes(`<button ${bm[1]}>`);
      if ((a.type ?? 'submit').toLowerCase() !== 'submit') continue;
      buttons.push({ name: a.name, value: a.value ?? '', text: decodeEntities(bm[2].replace(/<[^>]*>/g, '')).trim() });
    }
    forms.push({
      action: new URL(attrs.action ?? '', pageUrl).toString(),
      method: (attrs.method ?? 'get').toLowerCase(),
      hidden, fields, buttons,
    });
  }
  return forms;
}

const APPROVE_RE = /approve|allow|authori[sz]e|accept|continue|grant|yes|sign in/i;
const DENY_RE = /deny|cancel|reject|decline|refuse|\bno\b|don.?t/i;
/** The approve (or deny) button of a consent form. */
export function pickButton(form, approve) {
  const label = (b) => `${b.name ?? ''} ${b.value ?? ''} ${b.text ?? ''}`;
  const found = approve
    ? form.buttons.find((b) => APPROVE_RE.test(label(b)) && !DENY_RE.test(label(b)))
    : form.buttons.find((b) => DENY_RE.test(label(b)));
  if (!found) throw new Error(`no ${approve ? 'approve' : 'deny'} button among ${JSON.stringify(form.buttons)}`);
  return found;
}

/** The consent form of a page (the one that posts to /authorize), or undefined. */
export function consentForm(html, pageUrl) {
  return parseForms(html, pageUrl).find((f) => f.method === 'post' && new URL(f.action).pathname === '/authorize');
}

/**
 * The CSRF field of a consent form: a hidden field named like csrf, else the hidden field that is not the sealed
 * request (`mcp_ar.…`).
 */
export function csrfFieldOf(form) {
  const names = Object.keys(form.hidden);
  return names.find((n) => /csrf|xsrf/i.test(n))
    ?? names.find((n) => !form.hidden[n].startsWith('mcp_ar.') && form.hidden[n].length >= 16);
}
/** The hidden field holding the sealed authorization request (`mcp_ar.…`). */
export function requestFieldOf(form) {
  return Object.keys(form.hidden).find((n) => form.hidden[n].startsWith('mcp_ar.'));
}

/** GET the authorization URL: the consent page (or a redirect / error page). */
export async function getConsent(url, { jar = new CookieJar() } = {}) {
  const a = await http(url, { jar });
  const form = a.status === 200 ? consentForm(a.text, url) : undefined;
  return { ...a, jar, form, html: a.text };
}

/**
 * POSTs a consent form: the approve (or deny) button, every hidden field, the cookie. Deviations for attacks:
 * `drop` (field names to leave out), `set` (fields to override or add), `jar` (another cookie jar; `null` sends
 * no cookie).
 */
export async function submitConsent(consent, { approve = true, drop = [], set = {}, jar = consent.jar, headers = {} } = {}) {
  const form = consent.form;
  if (!form) throw new Error(`no consent form on the page: ${describeAnswer(consent)}`);
  const body = new URLSearchParams();
  for (const [k, v] of form.fields) if (!drop.includes(k) && !(k in set)) body.append(k, v);
  const button = pickButton(form, approve);
  if (button.name && !drop.includes(button.name) && !(button.name in set)) body.append(button.name, button.value);
  for (const [k, v] of Object.entries(set)) body.set(k, v);
  return http(form.action, { method: 'POST', form: body, jar: jar ?? undefined, headers });
}

/** GET a redirect target (one hop). */
export async function followRedirect(location, { jar } = {}) {
  if (!location) throw new Error('no Location to follow');
  return http(location, { jar });
}

/** The parameters of an authorization response (the client's redirect URI with code/state/iss or error). */
export function redirectParams(location) {
  const u = new URL(location);
  const one = (k) => u.searchParams.get(k) ?? undefined;
  return {
    url: u, target: `${u.origin}${u.pathname}`, code: one('code'), state: one('state'), iss: one('iss'),
    error: one('error'), errorDescription: one('error_description'), count: (k) => u.searchParams.getAll(k).length,
  };
}

const isRedirect = (s) => s >= 300 && s < 400;

/**
 * The browser part of the flow, from the authorization URL to the redirect to the client: consent (approve or
 * deny) → the worker's redirect to GitHub → GitHub's redirect to /callback → the worker's redirect to the client.
 * Stops at the first redirect whose target is `redirectUri`'s origin+path (not fetched) and returns its parameters
 * and every answer on the way (`steps`). Throws on anything unexpected.
 */
export async function authorize(as, { url, redirectUri, approve = true, jar = new CookieJar() }) {
  const steps = {};
  const target = new URL(redirectUri);
  const isClient = (loc) => { const u = new URL(loc); return u.origin === target.origin && u.pathname === target.pathname; };
  steps.consent = await getConsent(url, { jar });
  if (isRedirect(steps.consent.status) && steps.consent.location && isClient(steps.consent.location)) {
    return { ...redirectParams(steps.consent.location), steps, jar };
  }
  if (steps.consent.status !== 200 || !steps.consent.form) throw new Error(`GET ${url}: no consent page: ${describeAnswer(steps.consent)}`);
  steps.decision = await submitConsent(steps.consent, { approve });
  if (!isRedirect(steps.decision.status)) throw new Error(`consent POST: ${describeAnswer(steps.decision)}`);
  if (isClient(steps.decision.location)) return { ...redirectParams(steps.decision.location), steps, jar };
  steps.githubUrl = steps.decision.location;
  steps.github = await followRedirect(steps.githubUrl);
  if (!isRedirect(steps.github.status)) throw new Error(`GitHub authorize: ${describeAnswer(steps.github)}`);
  steps.callbackUrl = steps.github.location;
  steps.callback = await followRedirect(steps.callbackUrl, { jar });
  if (!isRedirect(steps.callback.status) || !isClient(steps.callback.location)) {
    throw new Error(`/callback did not redirect to the client (${redirectUri}): ${describeAnswer(steps.callback)}`);
  }
  return { ...redirectParams(steps.callback.location), steps, jar };
}

/**
 * POST the token endpoint. `auth`: 'none' (client_id in the body), 'post' (client_id + client_secret in the
 * body), 'basic' (HTTP Basic), or 'omit' (no client identification at all).
 */
export async function tokenRequest(as, fields, { auth = 'none', clientId, clientSecret, headers = {}, endpoint } = {}) {
  const body = { ...fields };
  const h = { accept: 'application/json', ...headers };
  if (auth === 'none') body.client_id ??= clientId;
  else if (auth === 'post') { body.client_id ??= clientId; body.client_secret ??= clientSecret; }
  else if (auth === 'basic') h.authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
  return http(endpoint ?? as.token_endpoint, { form: body, headers: h });
}

export function exchangeCode(as, { code, clientId, redirectUri, verifier, resource, clientSecret, auth, extra = {} }) {
  return tokenRequest(as, {
    grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, resource, ...extra,
  }, { auth: auth ?? (clientSecret ? 'post' : 'none'), clientId, clientSecret });
}

export function refresh(as, { refreshToken, clientId, clientSecret, auth, resource, extra = {} }) {
  return tokenRequest(as, { grant_type: 'refresh_token', refresh_token: refreshToken, resource, ...extra },
    { auth: auth ?? (clientSecret ? 'post' : 'none'), clientId, clientSecret });
}

export function revoke(as, { token, hint, clientId, clientSecret, auth }) {
  return tokenRequest(as, { token, token_type_hint: hint },
    { auth: auth ?? (clientSecret ? 'post' : 'none'), clientId, clientSecret, endpoint: as.revocation_endpoint });
}

/**
 * The whole flow: discover, register (unless `client` is given), authorize with PKCE S256 + state + resource,
 * exchange the code. Throws unless every step succeeds.
 * @returns {Promise<{discovery, as, client, pkce, state, redirectUri, authorization, tokenAnswer, tokens}>}
 */
export async function signIn(baseUrl, { client, clientMetadata = {}, redirectUri, discovery, resource, scope = 'mcp' } = {}) {
  discovery ??= await discover(`${baseUrl}/mcp`);
  const { as } = discovery;
  redirectUri ??= client?.redirect_uris?.[0] ?? clientMetadata.redirect_uris?.[0] ?? 'http://127.0.0.1:1/callback';
  client ??= await register(as, { redirect_uris: [redirectUri], ...clientMetadata });
  const pkce = pkcePair();
  const state = randomState();
  resource ??= discovery.resource.resource;
  const url = authorizeUrl(as, { clientId: client.client_id, redirectUri, challenge: pkce.challenge, state, resource, scope });
  const authorization = await authorize(as, { url, redirectUri });
  if (!authorization.code) throw new Error(`no code in the redirect to the client: ${authorization.url}`);
  if (authorization.state !== state) throw new Error(`state ${authorization.state} ≠ ${state}`);
  const tokenAnswer = await exchangeCode(as, {
    code: authorization.code, clientId: client.client_id, redirectUri, verifier: pkce.verifier, resource,
    clientSecret: client.client_secret,
  });
  if (tokenAnswer.status !== 200 || typeof tokenAnswer.json?.access_token !== 'string') {
    throw new Error(`code exchange failed: ${describeAnswer(tokenAnswer)}`);
  }
  return { discovery, as, client, pkce, state, redirectUri, url, authorization, tokenAnswer, tokens: tokenAnswer.json };
}

/**
 * A minimal browser for real clients: from `url`, follows every redirect, submits consent forms (approve unless
 * `approve: false`), and stops at the first page that is neither a redirect nor a consent form, or, when
 * `stopAt(url)` says so, before fetching a URL. Returns the visited URLs and the last answer.
 */
export async function browse(url, { approve = true, stopAt = () => false, maxSteps = 20, log = () => {} } = {}) {
  const jar = new CookieJar();
  const visited = [];
  let next = url;
  let answer;
  for (let i = 0; i < maxSteps; i++) {
    if (stopAt(next)) return { visited, stoppedAt: next, answer };
    visited.push(next);
    log(`GET ${next}`);
    answer = await http(next, { jar });
    if (isRedirect(answer.status) && answer.location) { next = answer.location; continue; }
    const form = answer.status === 200 ? consentForm(answer.text, next) : undefined;
    if (form) {
      log(`consent form: ${approve ? 'approve' : 'deny'}`);
      answer = await submitConsent({ ...answer, form, jar }, { approve });
      if (isRedirect(answer.status) && answer.location) { next = answer.location; continue; }
    }
    return { visited, stoppedAt: undefined, answer };
  }
  throw new Error(`more than ${maxSteps} steps from ${url}: ${visited.join(' → ')}`);
}

/**
 * The strings to look for in logs for a secret: itself, and for dotted tokens (`mcp_at.<payload>.<tag>`,
 * `<grant>.<secret>`) the last segment, the part that makes it a credential.
 */
export function secretNeedles(secret) {
  const needles = new Set([secret]);
  const parts = String(secret).split('.');
  if (parts.length > 1 && parts.at(-1).length >= 16) needles.add(parts.at(-1));
  return [...needles].filter((s) => s.length >= 8);
}

/** The secrets of `secrets` found in `text` (each reported once, never printed whole). */
export function findSecrets(text, secrets) {
  const found = [];
  for (const secret of new Set(secrets)) {
    if (typeof secret !== 'string' || secret.length < 8) continue;
    if (secretNeedles(secret).some((n) => text.includes(n))) found.push(`${secret.slice(0, 6)}…(${secret.length} chars)`);
  }
  return found;
}

/**
 * A local server of client ID metadata documents: `docs[path]` = {body (object or string), status, headers,
 * delayMs}; counts fetches per path.
 */
export async function startDocServer() {
  const docs = {};
  const hits = {};
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    hits[path] = (hits[path] ?? 0) + 1;
    const doc = docs[path];
    if (!doc) { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('no such document'); return; }
    const send = () => {
      const body = typeof doc.body === 'string' ? doc.body : JSON.stringify(doc.body);
      res.writeHead(doc.status ?? 200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600', ...(doc.headers ?? {}) });
      res.end(body);
    };
    if (doc.delayMs) setTimeout(send, doc.delayMs).unref(); else send();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base, docs, hits,
    url: (path) => `${base}${path}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
