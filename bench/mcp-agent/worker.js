// Benchmark reference: Cloudflare's own McpAgent (the `agents` package) serving one `echo` tool over Streamable HTTP
// at /mcp, written as the `agents` documentation shows it: an McpAgent Durable Object class (one object per MCP
// session, SQLite-backed) holding an MCP SDK v1 McpServer, and `McpAgent.serve('/mcp')` as the Worker.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpAgent } from 'agents/mcp';
import { z } from 'zod';

export class EchoMcp extends McpAgent {
  server = new McpServer({ name: 'mcp-agent-echo', version: '1.0.0' });

  async init() {
    this.server.registerTool(
      'echo',
      { description: 'Echo a message', inputSchema: { message: z.string() } },
      async ({ message }) => ({ content: [{ type: 'text', text: message }] }),
    );
  }
}

// The Durable Object binding is MCP_OBJECT, McpAgent.serve's default.
export default EchoMcp.serve('/mcp');
