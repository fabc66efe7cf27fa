// Raw HTTP helpers for the end-to-end tests: JSON-RPC over Streamable HTTP without the SDK, so the tests see
// the exact status codes, headers and bodies the worker sends.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './worker.mjs';

export const LATEST_VERSION = '2025-11-25';
export const SUPPORTED_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];
export const ACCEPT_BOTH = 'application/json, text/event-stream';
export const JSON_SCHEMA_2020_12 = 'https://json-schema.org/draft/2020-12/schema';
/**
 * A session id, signed: deferred (nonce.opening.tag, base64url) or plain (nonce.tag: legacy sessions, or an
 * opening too big to carry).
 */
export const SESSION_ID_RE = /^[A-Za-z0-9_-]{22}(?:\.[A-Za-z0-9_-]+)?\.[A-Za-z0-9_-]{22}$/;
export const DEFERRED_ID_RE = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/;
export const PLAIN_ID_RE = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/;
/** Time limit of one HTTP exchange with the worker. */
export const REQUEST_TIMEOUT_MS = 15_000;

/** The documents the worker serves (data/documents.json), the source of truth for expected tool outputs. */
export function loadDocuments() {
  const docs = JSON.parse(readFileSync(join(ROOT, 'data', 'documents.json'), 'utf8'));
  if (!Array.isArray(docs) || docs.length === 0) throw new Error('data/documents.json holds no documents');
  return docs;
}

/** Lower-case words of a string (letters and digits). */
export function words(s) {
  return String(s).toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

/**
 * Bounds for the ids `search` may return for `query`, whatever the exact matching rule:
 * `required` holds documents whose title or text contains every query word as a whole word (any sane search must
 * return those), `allowed` holds documents where any query word occurs anywhere (no search may return others).
 */
export function searchBounds(docs, query) {
  const q = words(query);
  const required = new Set();
  const allowed = new Set();
  for (const d of docs) {
    const docWords = new Set(words(`${d.title} ${d.text}`));
    if (q.length > 0 && q.every((w) => docWords.has(w))) required.add(d.id);
    const hay = JSON.stringify(d).toLowerCase();
    if (q.some((w) => hay.includes(w))) allowed.add(d.id);
  }
  return { required, allowed };
}

/** Parses an SSE body into events `{id, event, data}` (data lines joined by "\n"; comments dropped). */
export function parseSse(text) {
  const events = [];
  for (const block of text.replace(/\r\n?/g, '\n').split(/\n\n+/)) {
    if (!block.trim()) continue;
    const ev = { id: undefined, event: undefined, data: undefined, retry: undefined };
    const data = [];
    let fields = 0;
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i === -1 ? line : line.slice(0, i);
      let value = i === -1 ? '' : line.slice(i + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      fields++;
      if (field === 'data') data.push(value);
      else if (field === 'id') ev.id = value;
      else if (field === 'event') ev.event = value;
      else if (field === 'retry') ev.retry = value;
    }
    if (fields === 0) continue;
    if (data.length) ev.data = data.join('\n');
    events.push(ev);
  }
  return events;
}

/**
 * Sends one POST to /mcp and reads the whole answer.
 * @param {string} url base URL of the worker
 * @param {unknown} body a JS value (JSON-encoded) or a string (sent as is)
 * @param {{session?: string, protocolVersion?: string, accept?: string|null, contentType?: string|null,
 *          headers?: Record<string,string>, path?: string, method?: string}} [opts]
 * @returns {Promise<{status: number, headers: Headers, text: string, contentType: string, json: any,
 *          events: any[]|undefined, messages: any[]}>} `json` is the parsed body when it is JSON; for an SSE body
 *          `events` holds the events and `messages` the JSON-RPC messages they carry (for JSON, `messages` holds
 *          the body, or its elements for an array).
 */
export async function post(url, body, opts = {}) {
  const headers = {};
  if (opts.accept !== null) headers.accept = opts.accept ?? ACCEPT_BOTH;
  if (opts.contentType !== null) headers['content-type'] = opts.contentType ?? 'application/json';
  if (opts.session) headers['mcp-session-id'] = opts.session;
  if (opts.protocolVersion) headers['mcp-protocol-version'] = opts.protocolVersion;
  Object.assign(headers, opts.headers ?? {});
  const res = await fetch(`${url}${opts.path ?? '/mcp'}`, {
    method: opts.method ?? 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return readAnswer(res);
}

/** Reads a whole response into the shape `post` returns. */
export async function readAnswer(res) {
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  let json;
  let events;
  let messages = [];
  if (contentType.includes('text/event-stream')) {
    events = parseSse(text);
    for (const ev of events) {
      if (ev.data === undefined || ev.data.trim() === '') continue;
      messages.push(JSON.parse(ev.data));
    }
  } else if (text.length > 0) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (json !== undefined) messages = Array.isArray(json) ? json : [json];
  }
  return { status: res.status, headers: res.headers, text, contentType, json, events, messages };
}

let nextId = 1;
/** A JSON-RPC request object. */
export function request(method, params, id = nextId++) {
  const msg = { jsonrpc: '2.0', id, method };
  if (params !== undefined) msg.params = params;
  return msg;
}
export function notification(method, params) {
  const msg = { jsonrpc: '2.0', method };
  if (params !== undefined) msg.params = params;
  return msg;
}

export function initializeRequest(protocolVersion = LATEST_VERSION, id = nextId++, capabilities = {}) {
  return request('initialize', {
    protocolVersion,
    capabilities,
    clientInfo: { name: 'e2e-raw-client', version: '1.0.0' },
  }, id);
}

/**
 * Opens a session: initialize, then notifications/initialized. Fails unless both succeed.
 * @returns {Promise<{session: string, version: string, result: any, answer: any}>}
 */
export async function openSession(url, { protocolVersion = LATEST_VERSION, headers, capabilities = {} } = {}) {
  const answer = await post(url, initializeRequest(protocolVersion, nextId++, capabilities), { headers });
  if (answer.status !== 200) throw new Error(`initialize answered ${answer.status}: ${answer.text}`);
  const session = answer.headers.get('mcp-session-id');
  if (!session) throw new Error(`initialize answered without Mcp-Session-Id: ${answer.text}`);
  const msg = answer.messages.find((m) => m.id !== undefined && (m.result || m.error));
  if (!msg?.result) throw new Error(`initialize failed: ${answer.text}`);
  const version = msg.result.protocolVersion;
  const ack = await post(url, notification('notifications/initialized'), { session, protocolVersion: version, headers });
  if (ack.status !== 202) throw new Error(`notifications/initialized answered ${ack.status}: ${ack.text}`);
  return { session, version, result: msg.result, answer };
}

/** Sends one request in a session and returns `{answer, message}` where `message` is the response to it. */
export async function call(url, sess, method, params, extra = {}) {
  const req = request(method, params);
  const answer = await post(url, req, {
    session: sess.session,
    protocolVersion: sess.version === '2024-11-05' ? undefined : sess.version,
    ...extra,
  });
  const message = answer.messages.find((m) => m.id === req.id);
  return { answer, message };
}

/** Sends a request without a body (GET, DELETE, OPTIONS, ...) to /mcp. */
export async function send(url, method, { session, accept, headers = {}, path = '/mcp', signal } = {}) {
  const h = { ...headers };
  if (accept) h.accept = accept;
  if (session) h['mcp-session-id'] = session;
  return fetch(`${url}${path}`, { method, headers: h, signal: signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

/** Ends a session with DELETE (ignores the outcome). */
export async function closeSession(url, session, headers = {}) {
  try {
    const res = await send(url, 'DELETE', { session, headers });
    await res.arrayBuffer();
  } catch {}
}

/** Asserts-friendly view of a JSON-RPC error answer: `{status, id, code, message}` (undefined fields when absent). */
export function errorOf(answer) {
  const m = answer.messages[0] ?? answer.json;
  return {
    status: answer.status,
    id: m?.id,
    code: m?.error?.code,
    message: m?.error?.message,
    jsonrpc: m?.jsonrpc,
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
