#!/usr/bin/env bash
# Builds the worker into build/ (index.js + index_bg.wasm, what wrangler.toml's `main` loads) from local tools
# only: cargo, the pinned wasm-bindgen CLI, wasm-opt from the binaryen npm package and esbuild from wrangler's
# dependencies. The steps worker-build takes, with this repository's own entry module (src/worker/entry.mjs)
# instead of worker-build's (that file says why).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# The test and benchmark harnesses build once, then start several `wrangler dev` instances without rebuilding.
if [[ "${MCP_SKIP_BUILD:-}" == 1 && -f build/index.js ]]; then exit 0; fi
source scripts/versions.sh
wasm_bindgen="$TOOLS_DIR/wasm-bindgen-cli-$(wasm_bindgen_version)/bin/wasm-bindgen"
esbuild="$root/node_modules/.bin/esbuild"
wasm_opt="$root/node_modules/.bin/wasm-opt"
for tool in "$wasm_bindgen" "$esbuild" "$wasm_opt"; do
  [[ -x "$tool" ]] || { echo "error: $tool is missing; run: npm run setup" >&2; exit 1; }
done

# 1. Rust to WebAssembly. WASM_BINDGEN_USE_JS_SYS makes wasm-bindgen's macros use js-sys's futures, as
#    worker-build sets it (an environment variable: cargo passes no --cfg to proc-macros when cross-compiling).
WASM_BINDGEN_USE_JS_SYS=1 cargo build --lib --release --target wasm32-unknown-unknown

# Everything is made in a staging directory and moved into build/ at the end, so that a `wrangler dev` watching
# build/ never loads half a build.
mkdir -p build
stage="$(mktemp -d build/.stage.XXXXXX)"
trap 'rm -rf "$stage"' EXIT

# 2. The JavaScript glue. The two flags give it recovery after a trap (a panic or abort): the instance is replaced
#    at the next call (src/worker/entry.mjs says what else that takes).
"$wasm_bindgen" target/wasm32-unknown-unknown/release/mcp_worker.wasm --out-dir "$stage" --out-name index \
  --target module --no-typescript --experimental-reset-state-function --force-enable-abort-handler

# 3. wasm-opt for speed, as cargo's release profile (-O3; Cargo.toml says why). The function-name section is a
#    third of the upload and goes (panics still log their message); MCP_KEEP_NAMES=1 keeps it, for CPU profiles
#    (bench/profile.mjs).
names=(--strip-debug --strip-producers)
if [[ "${MCP_KEEP_NAMES:-}" == 1 ]]; then names=(--debuginfo); fi
"$wasm_opt" "$stage/index_bg.wasm" -o "$stage/index_bg.wasm" -O3 "${names[@]}" \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
  --enable-multivalue --enable-reference-types --enable-exception-handling

# 4. One module: the entry and the glue (the wasm stays a module of its own). The glue imports the wasm as
#    `import source`, which wrangler's bundler takes as a plain import.
cp src/worker/entry.mjs "$stage/entry.mjs"
minify=(--minify)
if [[ "${MCP_KEEP_NAMES:-}" == 1 ]]; then minify=(--minify-whitespace --minify-syntax); fi
"$esbuild" "$stage/entry.mjs" --bundle --format=esm "${minify[@]}" --log-level=warning \
  --external:./index_bg.wasm '--external:cloudflare:*' --outfile="$stage/bundle.js"
sed 's/import source /import /' "$stage/bundle.js" > "$stage/index.js"

mv -f "$stage/index_bg.wasm" build/index_bg.wasm
mv -f "$stage/index.js" build/index.js
echo "built build/index.js and build/index_bg.wasm ($(( $(stat -c %s build/index_bg.wasm) / 1024 )) KiB)"
