# Pinned build tools, sourced by the other scripts.
TOOLS_DIR="${MCP_WORKER_TOOLS_DIR:-$HOME/.cache/mcp-worker-rs/tools}"

# The wasm-bindgen CLI must be exactly the version of the wasm-bindgen crate that Cargo.lock resolves.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "${1:-Cargo.lock}"
}
