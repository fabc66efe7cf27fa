// The official TypeScript SDK client, wired to record every HTTP exchange it makes.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/** Per-call options for SDK requests: nothing may hang. */
export const RPC = { timeout: 15_000 };

/**
 * Connects an SDK client to `${url}/mcp`.
 * @param {string} url
 * @param {{requestInit?: RequestInit, connect?: boolean}} [opts]
 * @returns {Promise<{client: Client, transport: StreamableHTTPClientTransport, exchanges: {method: string,
 *   status: number, contentType: string|null, sessionId: string|null}[], errors: Error[]}>}
 */
export async function connectSdk(url, { requestInit, connect = true, capabilities = {} } = {}) {
  const exchanges = [];
  const errors = [];
  const recordingFetch = async (input, init) => {
    const res = await fetch(input, init);
    exchanges.push({
      method: init?.method ?? 'GET',
      status: res.status,
      contentType: res.headers.get('content-type'),
      sessionId: res.headers.get('mcp-session-id'),
    });
    return res;
  };
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit,
    fetch: recordingFetch,
    reconnectionOptions: { maxReconnectionDelay: 1000, initialReconnectionDelay: 500, reconnectionDelayGrowFactor: 1, maxRetries: 0 },
  });
  const client = new Client({ name: 'e2e-sdk-client', version: '1.0.0' }, { capabilities });
  client.onerror = (e) => errors.push(e);
  if (connect) await client.connect(transport, RPC);
  return { client, transport, exchanges, errors };
}

/** Closes a client without throwing (used in `after` hooks). */
export async function closeQuietly(client) {
  try {
    await client?.close();
  } catch {}
}
