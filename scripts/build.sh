#!/usr/bin/env bash
# Builds the worker into build/ with worker-build, pointing it at local tools so it downloads nothing:
# the pinned wasm-bindgen CLI, esbuild from wrangler's dependencies, and wasm-opt from the binaryen npm package.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# The test and benchmark harnesses build once, then start several `wrangler dev` instances without rebuilding.
if [[ "${MCP_SKIP_BUILD:-}" == 1 && -f build/index.js ]]; then exit 0; fi
source scripts/versions.sh
export WASM_BINDGEN_BIN="$TOOLS_DIR/wasm-bindgen-cli-$(wasm_bindgen_version)/bin/wasm-bindgen"
export ESBUILD_BIN="$root/node_modules/.bin/esbuild"
export WASM_OPT_BIN="$root/node_modules/.bin/wasm-opt"
for tool in "$WASM_BINDGEN_BIN" "$ESBUILD_BIN" "$WASM_OPT_BIN"; do
  [[ -x "$tool" ]] || { echo "error: $tool is missing; run: npm run setup" >&2; exit 1; }
done
"$TOOLS_DIR/worker-build-$WORKER_BUILD_VERSION/bin/worker-build" --release "$@"
# MCP_KEEP_NAMES=1 keeps the function names, for CPU profiles (bench/profile.mjs).
if [[ "${MCP_KEEP_NAMES:-}" == 1 ]]; then exit 0; fi
# worker-build runs wasm-opt with --debuginfo, which keeps the function-name section (a third of the upload).
# Drop it (panics still log their message), and run -Oz once more: without the names it shrinks the gzipped
# upload by another ~3 KiB.
"$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm -Oz --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
  --enable-multivalue --enable-reference-types --enable-exception-handling
