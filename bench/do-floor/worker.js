// Benchmark reference: the baseline's fixed answers, but with the architecture of the real server: every session
// is its own SQLite-backed Durable Object, created by `initialize`, and every later request of the session is
// forwarded to it. No storage writes, no validation. It shows what one Durable Object per session costs on its
// own under wrangler dev, which bounds how fast any server of this design can open sessions here.
import baseline from '../baseline/worker.js';

export class Session {
  async fetch(request) {
    const response = await baseline.fetch(request);
    const sessionId = request.headers.get('x-session-name');
    if (!sessionId || response.status !== 200) return response;
    const headers = new Headers(response.headers);
    headers.set('Mcp-Session-Id', sessionId);
    return new Response(response.body, { status: response.status, headers });
  }
}

export default {
  async fetch(request, env) {
    if (request.method !== 'POST') return new Response(null, { status: 405, headers: { Allow: 'POST' } });
    let name = request.headers.get('mcp-session-id');
    const headers = new Headers(request.headers);
    if (!name) {
      name = crypto.randomUUID().replaceAll('-', '');
      headers.set('x-session-name', name);
    }
    const stub = env.SESSION.get(env.SESSION.idFromName(name));
    return stub.fetch(new Request(request.url, { method: 'POST', headers, body: request.body }));
  },
};
