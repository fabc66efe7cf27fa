#!/usr/bin/env bash
# The whole test suite: native unit and behaviour tests of the core, then end-to-end tests that run the built
# worker under `wrangler dev` (workerd with real Durable Objects and KV) and drive it with real MCP clients.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

echo "== cargo test (native core)"
cargo test --locked

echo "== building the worker"
bash scripts/build.sh

echo "== end-to-end tests (wrangler dev + MCP clients)"
# Every worker's output is kept in a run directory, for the check of the run's log lines below.
run_dir="$(mktemp -d "${TMPDIR:-/tmp}/mcp-e2e-run.XXXXXX")"
MCP_E2E_RUN_DIR="$run_dir" MCP_SKIP_BUILD=1 \
  bash scripts/node22.sh --test --test-concurrency=1 --test-timeout=300000 'tests/e2e/*.test.mjs'

echo "== the run's log lines: JSON, and no secret or token in any of them"
bash scripts/node22.sh tests/e2e/support/check_run_logs.mjs "$run_dir"
rm -rf "$run_dir"
