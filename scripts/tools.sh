# Sourced by scripts/serve, scripts/test and the benchmark: installs the pinned
# tools qr-edge needs, from the package registries only, and skips each one
# that is already present at its pinned version.
VICEROY_VERSION=0.22.0
FASTLY_CLI_VERSION=16.1.0
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The wasm target of the toolchain pinned in rust-toolchain.toml.
ensure_wasm_target() {
  (cd "$ROOT" && rustup target list --installed | grep -qx wasm32-wasip1) && return
  log "adding the wasm32-wasip1 target"
  (cd "$ROOT" && rustup target add wasm32-wasip1)
}

# Viceroy, Fastly's local Compute runtime, into cargo's bin folder (about 20 minutes the first time).
ensure_viceroy() {
  if viceroy --version 2>/dev/null | grep -q " $VICEROY_VERSION\$"; then return; fi
  log "installing viceroy $VICEROY_VERSION (cargo install, about 20 minutes on 2 cores)"
  cargo install --locked viceroy --version "$VICEROY_VERSION"
}

# The Fastly CLI from npm into .tools/ (ignored by git); it never downloads Viceroy itself.
ensure_fastly_cli() {
  export FASTLY_VICEROY_USE_PATH=1
  FASTLY="$TOOLS/node_modules/.bin/fastly"
  if [ -x "$FASTLY" ] && "$FASTLY" version 2>/dev/null | grep -q "v$FASTLY_CLI_VERSION"; then return; fi
  log "installing @fastly/cli $FASTLY_CLI_VERSION (npm)"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error "@fastly/cli@$FASTLY_CLI_VERSION"
}

# The release wasm the service and the black-box tests run.
build_wasm() {
  (cd "$ROOT" && cargo build --release --target wasm32-wasip1 -p qr-edge)
}
