#!/usr/bin/env bash
# Runs every test suite of onedrive-upload on this machine, installing what is missing first:
# native tests (with a throw-away PostgreSQL for the several-servers tests), clippy (native and
# wasm32), browser tests (wasm-pack test in headless Chromium and headless Firefox, each against a
# live server + embedded emulator), Microsoft's Graph JS SDK against the emulator over https, the
# end-to-end page tests (the same scenarios in Chromium and Firefox) and the npm/Vite consumer.
# Prints each step's duration.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# wasm-pack runs the first wasm-opt on PATH: the pinned npm binaryen (see tools/package.json).
export PATH="$PWD/tools/node_modules/binaryen/bin:$HOME/.cargo/bin:$PATH"
export CHROMEDRIVER=/usr/bin/chromedriver
export GECKODRIVER="$HOME/.cargo/bin/geckodriver"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# wasm-bindgen-test-runner gives each browser test file 20 s by default: too little on a busy 2-core
# machine (a safety net against hangs, not a speed requirement).
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-180}"

STEP_NAME=""
STEP_START=$SECONDS
# Ends the current step (printing how long it took) and starts the next one.
step() {
  [ -n "$STEP_NAME" ] && printf -- '----- %s: %ds\n' "$STEP_NAME" $((SECONDS - STEP_START))
  STEP_NAME="$*"
  STEP_START=$SECONDS
  printf '\n===== %s =====\n' "$*"
}

step "bootstrap"
bash scripts/bootstrap.sh

step "formatting (cargo fmt --all --check)"
cargo fmt --all --check

step "native tests (cargo test --workspace, against a throw-away PostgreSQL)"
# with-postgres.sh initdb's a cluster in a temporary directory (unix socket only), sets
# ODU_TEST_DATABASE_URL for the several-servers tests (crates/server/tests/postgres.rs), and
# stops and removes it afterwards.
bash scripts/with-postgres.sh cargo test --workspace --exclude onedrive-upload

step "clippy (native, warnings are errors)"
cargo clippy --workspace --exclude onedrive-upload --all-targets -- -D warnings
step "clippy (wasm32, warnings are errors)"
cargo clippy -p onedrive-upload --target wasm32-unknown-unknown --all-targets -- -D warnings

step "build the server"
cargo build -p onedrive-upload-server
SERVER_BIN="$ROOT/target/debug/onedrive-upload-server"

step "the README's backend guide (its Python snippets run against the server; python3 stdlib)"
ODU_SERVER_BIN="$SERVER_BIN" python3 -m unittest discover -s tests/guides -v

step "Microsoft's Graph JS SDK against the emulator over https (tests/graph-sdk)"
cargo build -p onedrive-emulator
(cd tests/graph-sdk && ODU_EMULATOR_BIN="$ROOT/target/debug/onedrive-emulator" node run.mjs)

WORK=$(mktemp -d /tmp/odu-test.XXXXXX)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Starts the server with its embedded emulator (fault injection on) and sets SERVER_URL.
start_server() {
  "$SERVER_BIN" --listen 127.0.0.1:0 --dev --emulator-fault-injection --data-dir "$WORK/data" \
    >"$WORK/server.out" 2>"$WORK/server.err" &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    SERVER_URL=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$WORK/server.out" | head -n1)
    [ -n "$SERVER_URL" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "the server did not start:" >&2
  cat "$WORK/server.err" >&2
  return 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# The wasm browser suites (tests/*.rs) in each browser, each against a fresh server; the browser
# flags and binaries come from webdriver.json (wasm-bindgen-test-runner reads it).
step "browser tests in Chromium (wasm-pack test --headless --chrome)"
start_server
echo "server: $SERVER_URL"
ODU_TEST_SERVER="$SERVER_URL" wasm-pack test --headless --chrome --chromedriver "$CHROMEDRIVER"
stop_server

step "browser tests in Firefox (wasm-pack test --headless --firefox)"
start_server
echo "server: $SERVER_URL"
ODU_TEST_SERVER="$SERVER_URL" wasm-pack test --headless --firefox --geckodriver "$GECKODRIVER"
stop_server

step "build pkg/ as shipped (scripts/build-pkg.sh: wasm-pack build --target web --release, then shrink-pkg.mjs)"
bash scripts/build-pkg.sh

step "bundle Uppy for www/uppy.html (esbuild into www/vendor/)"
(cd packages/uppy-onedrive && npm run --silent build:www)

if [ -d tests/e2e ]; then
  step "end-to-end tests of the demo pages: www/ in Chromium and Firefox, www/uppy.html in Chromium"
  (cd tests/e2e && ODU_SERVER_BIN="$SERVER_BIN" ODU_ROOT="$ROOT" node --test)
fi

if [ -d tests/npm-consumer ]; then
  step "npm consumer (npm install of pkg/ and packages/uppy-onedrive, tsc, vite build, upload in chromium)"
  (cd tests/npm-consumer && npm install --no-audit --no-fund --loglevel=error && ODU_SERVER_BIN="$SERVER_BIN" ODU_ROOT="$ROOT" node --test)
fi

step "all suites passed"
printf -- '----- total: %ds\n' "$SECONDS"
