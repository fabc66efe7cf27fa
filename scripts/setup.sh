#!/usr/bin/env bash
# Installs everything a fresh clone needs, from package registries only, and is quick when all is in place:
#   - npm packages (from package-lock.json),
#   - the wasm32 Rust target,
#   - the wasm-bindgen CLI at the version of the wasm-bindgen crate in Cargo.lock (they must be equal), installed
#     once per machine under ~/.cache/mcp-worker-rs/tools (scripts/build.sh needs no other build tool).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/versions.sh

log() { echo "[setup] $*" >&2; }

# npm packages: reinstall only when the lock file changed since the last install.
stamp="node_modules/.setup-stamp"
if [[ ! -f "$stamp" ]] || ! cmp -s package-lock.json "$stamp"; then
  log "installing npm packages"
  # `npm install`, not `npm ci`: registries without other platforms' optional packages (workerd for macOS and
  # Windows) leave them out of the lock file, which `npm ci` then refuses.
  npm install --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json "$stamp"
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown >&2
fi

install_tool() { # crate version binary
  local crate="$1" version="$2" bin="$3" dir="$TOOLS_DIR/$1-$2"
  if [[ ! -x "$dir/bin/$bin" ]]; then
    log "installing $crate $version (once per machine, a few minutes)"
    # --locked pins the tool's own dependencies; a yanked one in its lock file makes that fail, so fall back.
    cargo install "$crate" --version "$version" --locked --root "$dir" >&2 ||
      cargo install "$crate" --version "$version" --root "$dir" >&2
  fi
}
install_tool wasm-bindgen-cli "$(wasm_bindgen_version)" wasm-bindgen

# Headless Chromium, for the e2e test that renders the OAuth consent page (tests/e2e/oauth_clients.test.mjs),
# from Debian's own packages. Only on Debian-like systems with apt and root (or password-less sudo); elsewhere
# that one test is skipped and says why. A failed install never fails the setup.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  apt=()
  if [[ "$(id -u)" == 0 ]]; then
    apt=(env DEBIAN_FRONTEND=noninteractive)
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    apt=(sudo -n env DEBIAN_FRONTEND=noninteractive)
  fi
  if ((${#apt[@]})); then
    log "installing chromium from apt (once per machine; for the consent-page browser test)"
    { "${apt[@]}" apt-get update -qq && "${apt[@]}" apt-get install -y -qq --no-install-recommends chromium; } >&2 ||
      log "could not install chromium: the consent-page browser test will be skipped"
  else
    log "chromium is not installed and apt needs root: the consent-page browser test will be skipped"
  fi
fi
