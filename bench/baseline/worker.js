// Benchmark baseline: the cheapest Worker that passes the benchmark's correctness checks. Every POST gets a
// fixed JSON-RPC result (tools/call echoes the message back); notifications (no id) get 202. No sessions, no
// validation, no storage: it measures what wrangler dev + workerd + the load generator cost on their own.
const TOOLS = [
  { name: 'search', description: 'Search documents', inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } },
  { name: 'fetch', description: 'Fetch a document', inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } },
  { name: 'echo', description: 'Echo a message', inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] } },
];

export default {
  async fetch(request, env) {
    if (request.method !== 'POST') return new Response(null, { status: 405, headers: { Allow: 'POST' } });
    const msg = await request.json();
    if (msg.id === undefined) return new Response(null, { status: 202 });
    let result = {};
    const headers = {};
    if (msg.method === 'initialize') {
      result = { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'baseline', version: '1' } };
      headers['Mcp-Session-Id'] = 'baseline-session';
    } else if (msg.method === 'tools/list') {
      result = { tools: TOOLS };
    } else if (msg.method === 'tools/call' && msg.params?.name === 'getPetById' && env.BENCH_API_URL) {
      // The OpenAPI scenario's floor: the same backend call straight from a bare Worker (no validation, no
      // credentials lookup, no encoding rules), its JSON returned as text and structured content.
      const answer = await fetch(`${env.BENCH_API_URL}/pets/${msg.params.arguments?.petId}`, { headers: { api_key: env.BENCH_API_KEY } });
      const text = await answer.text();
      result = { content: [{ type: 'text', text }], structuredContent: JSON.parse(text), resultType: 'complete' };
    } else if (msg.method === 'tools/call') {
      result = { content: [{ type: 'text', text: String(msg.params?.arguments?.message ?? '') }], resultType: 'complete' };
    } else if (msg.method === 'server/discover') {
      result = { supportedVersions: ['2026-07-28'], capabilities: { tools: {} }, resultType: 'complete', ttlMs: 0, cacheScope: 'public' };
    }
    return Response.json({ jsonrpc: '2.0', id: msg.id, result }, { headers });
  },
};
