// A fake REST API on loopback for the OpenAPI tools (the fixture tests/e2e/fixtures/openapi/zoo.json): it records
// every request exactly as it arrived (method, raw path and query, headers, body), serves an OAuth 2.0
// client-credentials token endpoint (counting token requests; tokens it was told to refuse get a 401), and answers
// some animal ids specially: `redirect` (302 to another origin), `big` (a long JSON answer), `slow` (no answer for
// 20 s), `missing` (404), `boom` (500).
import { createServer } from 'node:http';

const SPECIAL = new Set(['redirect', 'big', 'slow', 'missing', 'boom']);

/** Starts a plain server recording every request; `answer(req, body, res)` writes the response. */
function recordingServer(answer) {
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const seen = { method: req.method, url: req.url, headers: req.headers, body };
      requests.push(seen);
      answer(seen, res);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}

function json(res, status, value, headers = {}) {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Starts the fake API and a second server on another origin (where redirects point).
 * @param {{clientId: string, clientSecret: string, expiresIn?: number}} oauth the client the token endpoint accepts
 */
export async function startFakeApi(oauth) {
  const state = { tokensIssued: 0, refused: new Set(), slowOpen: 0 };
  const elsewhere = await recordingServer((_, res) => json(res, 200, { stolen: true }));
  const api = await recordingServer((req, res) => {
    const url = new URL(req.url, 'http://fake');
    if (url.pathname === '/oauth/token') {
      const expected = `Basic ${Buffer.from(`${oauth.clientId}:${oauth.clientSecret}`).toString('base64')}`;
      if (req.method !== 'POST' || req.headers.authorization !== expected || !req.body.startsWith('grant_type=client_credentials')) {
        return json(res, 401, { error: 'invalid_client' });
      }
      state.tokensIssued += 1;
      return json(res, 200, { access_token: `cc-token-${state.tokensIssued}`, token_type: 'Bearer', expires_in: oauth.expiresIn ?? 3600 });
    }
    const bearer = req.headers.authorization?.replace(/^Bearer /, '');
    if (bearer && state.refused.has(bearer)) return json(res, 401, { message: 'token refused' });
    // /v1/animals/{id}/... or /v1/animals/{kind}/{id}: a special id anywhere after /animals.
    const segments = url.pathname.split('/').slice(3).map(decodeURIComponent);
    const id = segments.at(-1) ?? '';
    switch (segments.find((s) => SPECIAL.has(s))) {
      case 'redirect':
        res.writeHead(302, { location: `${elsewhere.url}/steal?from=fake`, 'content-length': 0 });
        return res.end();
      case 'big':
        return json(res, 200, { id: 'big', name: 'x'.repeat(100_000) });
      case 'slow':
        state.slowOpen += 1;
        // Never answers in time; the connection is dropped when the worker gives up.
        setTimeout(() => { if (!res.writableEnded) json(res, 200, { id: 'slow' }); }, 20_000).unref();
        return undefined;
      case 'missing':
        return json(res, 404, { message: 'no such animal' });
      case 'boom':
        res.writeHead(500, { 'content-type': 'text/plain' });
        return res.end('the zoo is on fire');
      default:
        break;
    }
    if (req.method === 'HEAD') {
      res.writeHead(200);
      return res.end();
    }
    if (url.pathname === '/v1/animals') return json(res, 200, [{ id: '1', name: 'Rex' }, { id: '2', name: 'Tom' }]);
    if (req.method === 'GET') return json(res, 200, { id, name: 'Rex' });
    return json(res, 200, { ok: true, method: req.method });
  });
  return {
    url: api.url,
    elsewhere,
    requests: api.requests,
    state,
    /** The requests after `mark` (an index into `requests`). */
    since: (mark) => api.requests.slice(mark),
    async close() {
      await api.close();
      await elsewhere.close();
    },
  };
}
