#!/usr/bin/env bash
# Installs what a fresh machine lacks for building and testing onedrive-upload.
# Idempotent: every step checks first and does nothing when the tool is already there.
# Only package registries are used (crates.io, Debian, npm); no browser or binary downloads.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

# The wasm-bindgen version pinned in Cargo.toml (`wasm-bindgen = "=0.2.N"`).
WB_VERSION=$(sed -n 's/^wasm-bindgen = { *version = "=\([0-9.]*\)".*/\1/p; s/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml | head -n1)
[ -n "$WB_VERSION" ] || { log "cannot find the pinned wasm-bindgen version in Cargo.toml"; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  log "installing wasm-bindgen-cli $WB_VERSION (built from source, a few minutes)"
  # --locked first; if a locked crate is not (or no longer) served by the registry, resolve afresh.
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --locked --force \
    || cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

if ! command -v wasm-pack >/dev/null 2>&1; then
  log "installing wasm-pack (built from source, a few minutes)"
  cargo install wasm-pack --locked || cargo install wasm-pack
fi

# geckodriver (Firefox's WebDriver server) for the Firefox runs, built from source like the above.
GECKODRIVER_VERSION=0.37.1
if [ "$(geckodriver --version 2>/dev/null | awk 'NR==1 {print $2}')" != "$GECKODRIVER_VERSION" ]; then
  log "installing geckodriver $GECKODRIVER_VERSION (built from source, a few minutes)"
  cargo install geckodriver --version "$GECKODRIVER_VERSION" --locked --force \
    || cargo install geckodriver --version "$GECKODRIVER_VERSION" --force
fi

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v firefox-esr >/dev/null 2>&1 || missing+=(firefox-esr)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v python3 >/dev/null 2>&1 || missing+=(python3) # tests/guides (standard library only)
# PostgreSQL for the several-servers tests (scripts/with-postgres.sh starts a throw-away cluster).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Locked npm packages: tools/ (binaryen's wasm-opt for wasm-pack, and esbuild for scripts/shrink-pkg.mjs; Debian 12's wasm-opt 108
# mis-optimises wasm-bindgen 0.2.130 output), the browser end-to-end tests, the Uppy plugin's
# packages (@uppy/core, @uppy/dashboard and esbuild, bundled into www/vendor/ for www/uppy.html)
# and the Graph SDK tests of the emulator.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
for dir in tools tests/e2e packages/uppy-onedrive tests/graph-sdk; do
  [ -f "$dir/package-lock.json" ] || continue
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "installing npm packages for $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
log "ready"
