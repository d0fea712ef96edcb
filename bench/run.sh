#!/usr/bin/env bash
# The benchmark harness behind BENCHMARKS.md (issue 8). Run from anywhere, after the README's set-up:
#
#   ./bench/run.sh [--size-mib 256|1024] [--runs 5] [--chunk-mib 10] [--ttfb-runs 3]
#                  [--only browser,sizes,native,load,nocdp,shared] [--uploaders wasm,xhr,...] [--skip-build]
#                  [--load-seconds 10] [--breakdown] [--heap-profile wasm,xhr] [--ingest-rate-mbps 20]
#
# Phases (all by default):
#   browser  one headless-Chromium session (Debian's /usr/bin/chromium via playwright-core) against
#            target/service/onedrive-upload-server --dev (embedded emulator, loopback): uploadFile
#            (default options and verify:false), a bare XHR PUT loop, Microsoft's Graph SDK
#            LargeFileUploadTask and a naive axios-style uploader, interleaved and rotated, N runs; MB/s, ratios,
#            renderer/JS-heap/wasm memory peaks, time to first byte; QuickXorHash in wasm.
#   sizes    pkg/*.wasm + pkg/*.js raw and gzip -9, next to tus-js-client and the Graph SDK bundled
#            by esbuild --bundle --minify; with --breakdown, wasm code size by crate and largest functions.
#   native   the crates' own examples, when present: core quickxor_bench, emulator ingest_bench,
#            server session_bench.
#   load     POST /api/cloud/file with wrk at 1, 100, 1000 connections, emulator latency 0 and 100 ms, and
#            the same load straight to the embedded emulator's createUploadSession: p99 and CPU the server adds.
#   shared   (only when named) one vs two server processes sharing a throw-away PostgreSQL
#            (scripts/with-postgres.sh + the server's shared_bench example): sessions/s, p50/p99 and
#            database statements per session request at emulator latency 0 and 100 ms.
#   nocdp    (only when named) the uploads again in a Chromium with no DevTools client attached
#            (bench/nocdp.mjs): under playwright (CDP, Network domain on) bytes request bodies are 10x slower.
#
# --ingest-rate-mbps N: the embedded emulator reads upload bodies at most N MB/s (all uploads together),
# like a real network instead of loopback (browser and nocdp phases; the load phase is unaffected).
#
# Everything it starts (server, browser) is stopped on exit. Results: bench/results/<UTC time>/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

SIZE_MIB=256 RUNS=5 CHUNK_MIB=10 TTFB_RUNS=3 ONLY=browser,sizes,native,load UPLOADERS="" SKIP_BUILD=0
LOAD_SECONDS=10 BREAKDOWN=0 HEAP_PROFILE="" INGEST_RATE_MBPS=0
while [ $# -gt 0 ]; do
  case "$1" in
    --size-mib) SIZE_MIB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --chunk-mib) CHUNK_MIB=$2; shift 2 ;;
    --ttfb-runs) TTFB_RUNS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --uploaders) UPLOADERS=$2; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --load-seconds) LOAD_SECONDS=$2; shift 2 ;;
    --breakdown) BREAKDOWN=1; shift ;;
    --heap-profile) HEAP_PROFILE=$2; shift 2 ;;
    --ingest-rate-mbps) INGEST_RATE_MBPS=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
has() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
log() { printf '[bench] %s\n' "$*" >&2; }

RES="$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)-${SIZE_MIB}MiB"
[ "$INGEST_RATE_MBPS" = 0 ] || RES="$RES-${INGEST_RATE_MBPS}MBps"
mkdir -p "$RES"
# The emulator's storage on tmpfs when there is one: disk writeback is not what is measured.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then DATA=$(mktemp -d /dev/shm/odu-bench-data.XXXXXX); else DATA=$(mktemp -d /tmp/odu-bench-data.XXXXXX); fi
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SERVER_BIN="$CARGO_TARGET_DIR/service/onedrive-upload-server"
# The names-kept build of --breakdown runs wasm-opt itself (pkg/ is built by scripts/build-pkg.sh,
# which puts tools/'s on PATH). Debian 12's (binaryen 108) mis-optimises wasm-bindgen 0.2.130 output
# (init() throws "WebAssembly.Table.set(): Argument 1 is invalid for table"), so use the pinned npm
# binaryen: tools/ (scripts/bootstrap.sh), else bench/node_modules.
WASM_OPT_PATH=$PATH
for d in "$ROOT/tools/node_modules/binaryen/bin" "$ROOT/bench/node_modules/binaryen/bin"; do
  if [ -x "$d/wasm-opt" ]; then
    WASM_OPT_PATH="$d:$PATH"
    break
  fi
done
PKG=${BENCH_PKG:-$ROOT/pkg}  # wasm-pack output dir (BENCH_PKG overrides, e.g. to not touch a shared pkg/)

# ------------------------------------------------------------------ build
if [ "$SKIP_BUILD" = 0 ]; then
  for tool in wasm-pack wasm-bindgen chromium; do
    command -v "$tool" >/dev/null 2>&1 \
      || { log "$tool is missing: run ./scripts/bootstrap.sh (or either README command) first"; exit 1; }
  done
  if [ ! -d bench/node_modules ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
    log "npm ci (bench/)"
    (cd bench && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
  log "scripts/build-pkg.sh (wasm-pack build --target web --release, then scripts/shrink-pkg.mjs)"
  bash scripts/build-pkg.sh "$PKG" 2>&1 | tail -n 3 >&2
  log "cargo build --profile service -p onedrive-upload-server"
  cargo build -q --profile service -p onedrive-upload-server
  log "QuickXorHash wasm probe (bench/qxh-wasm)"
  cargo build -q --release --target wasm32-unknown-unknown --manifest-path bench/qxh-wasm/Cargo.toml
  wasm-bindgen --target web --out-dir bench/www/qxh "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/qxh_wasm.wasm"
  log "esbuild: Graph SDK bundle for the page"
  bench/node_modules/.bin/esbuild bench/entries/graph-sdk.mjs --bundle --format=esm --platform=browser \
    --minify --outfile=bench/www/graph-sdk.js --log-level=warning
fi

start_server() { # $1 = emulator latency (ms), $2 = emulator ingest rate (MB/s, 0 = unlimited)
  local out="$RES/server-$1.out"
  # One bench user creates thousands of sessions: the per-user session limits are off here.
  RUST_LOG=${RUST_LOG:-warn} "$SERVER_BIN" --listen 127.0.0.1:0 --dev --emulator-fault-injection \
    --sessions-per-minute 0 --max-live-sessions 0 \
    --data-dir "$DATA/$1" --www bench/www --pkg "$PKG" --emulator-latency-ms "$1" --emulator-ingest-rate-mbps "${2:-0}" >"$out" 2>"$RES/server-$1.err" &
  SERVER_PID=$!
  URL=""
  for _ in $(seq 1 300); do
    URL=$(sed -n 's#^listening on \(http://[^ ]*\).*#\1#p' "$out" | head -n1)
    [ -n "$URL" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$RES/server-$1.err" >&2; log "server died"; exit 1; }
    sleep 0.1
  done
  log "server did not print 'listening on'"; exit 1
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD) ($(git log -1 --format=%s)); working tree: $(n=$(git status --porcelain --untracked-files=no | wc -l); [ "$n" = 0 ] && echo clean || echo "$n tracked files modified")"
  echo "nproc: $(nproc); cpu: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1); mem: $(free -g | awk '/^Mem/{print $2}') GiB"
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n1)"
  echo "node: $(node --version); rustc: $(rustc --version)"
  echo "command: bench/run.sh --size-mib $SIZE_MIB --runs $RUNS --chunk-mib $CHUNK_MIB --only $ONLY ${UPLOADERS:+--uploaders $UPLOADERS} --ingest-rate-mbps $INGEST_RATE_MBPS"
  echo "load: $(uptime)"
} | tee "$RES/machine.txt" >&2

# ------------------------------------------------------------------ browser
if has browser; then
  start_server 0 "$INGEST_RATE_MBPS"
  log "server $URL (pid $SERVER_PID); browser session: ${SIZE_MIB} MiB x $RUNS runs"
  node bench/bench.mjs --server "$URL" --server-pid "$SERVER_PID" --size-mib "$SIZE_MIB" --runs "$RUNS" \
    --chunk-mib "$CHUNK_MIB" --ttfb-runs "$TTFB_RUNS" --qxh --read-demo --out "$RES/browser.json" \
    ${UPLOADERS:+--only "$UPLOADERS"} ${HEAP_PROFILE:+--heap-profile "$HEAP_PROFILE"} 2>&1 | tee "$RES/browser.md"
  stop_server
fi

# ------------------------------------------------------------------ nocdp (opt-in)
# The same uploads in a Chromium that no DevTools client is attached to (bench/nocdp.mjs).
if has nocdp; then
  start_server 0 "$INGEST_RATE_MBPS"
  log "server $URL (pid $SERVER_PID); Chromium without DevTools: ${SIZE_MIB} MiB x $RUNS runs"
  node bench/nocdp.mjs --server "$URL" --size-mib "$SIZE_MIB" --runs "$RUNS" --chunk-mib "$CHUNK_MIB" \
    ${UPLOADERS:+--only "$UPLOADERS"} 2>&1 | tee "$RES/nocdp.md"
  stop_server
fi

# ------------------------------------------------------------------ sizes
if has sizes; then
  SIZES_ARGS=(--pkg "$PKG")
  if [ "$BREAKDOWN" = 1 ]; then
    # The release profile strips the name section; rebuild with names kept (own target dir), then the
    # same wasm-bindgen + wasm-opt -Oz steps as wasm-pack, with -g so that names survive.
    log "release wasm with names kept (for the per-crate breakdown)"
    NAMES_TARGET="$CARGO_TARGET_DIR/bench-names"
    CARGO_TARGET_DIR="$NAMES_TARGET" CARGO_PROFILE_RELEASE_STRIP=false \
      cargo build -q --release --target wasm32-unknown-unknown -p onedrive-upload
    wasm-bindgen --keep-debug --target web --out-dir "$RES/names" "$NAMES_TARGET/wasm32-unknown-unknown/release/onedrive_upload.wasm"
    PATH="$WASM_OPT_PATH" wasm-opt -Oz -g --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
      "$RES/names/onedrive_upload_bg.wasm" -o "$RES/names/named.wasm"
    SIZES_ARGS+=(--profiling-wasm "$RES/names/named.wasm" --top-functions 30)
  fi
  node bench/sizes.mjs "${SIZES_ARGS[@]}" | tee "$RES/sizes.md"
fi

# ------------------------------------------------------------------ native examples
run_example() { # package example [args...]
  local pkg=$1 ex=$2; shift 2
  local dir
  dir=$(cargo metadata --no-deps --format-version 1 | node -e '
    let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=JSON.parse(s).packages.find(p=>p.name===process.argv[1]);
    console.log(m?require("path").dirname(m.manifest_path):"")})' "$pkg")
  if [ -z "$dir" ] || [ ! -f "$dir/examples/$ex.rs" ]; then
    echo "($pkg: examples/$ex.rs not present)" | tee -a "$RES/native.md"; return 0
  fi
  log "cargo run --profile service -p $pkg --example $ex $*"
  { echo "### cargo run --profile service -p $pkg --example $ex $*"; echo '```';
    cargo run -q --profile service -p "$pkg" --example "$ex" -- "$@" 2>&1; echo '```'; } | tee -a "$RES/native.md"
}
if has native; then
  : >"$RES/native.md"
  run_example onedrive-upload-core quickxor_bench
  run_example onedrive-emulator ingest_bench
  run_example onedrive-upload-server session_bench
fi

# ------------------------------------------------------------------ shared
if has shared; then
  cargo build -q --profile service -p onedrive-upload-server
  log "shared_bench: one vs two server processes sharing PostgreSQL"
  { echo '```'; bash scripts/with-postgres.sh cargo run -q --profile service -p onedrive-upload-server \
      --example shared_bench -- --server-bin "$CARGO_TARGET_DIR/service/onedrive-upload-server" 2>&1; echo '```'; } \
    | tee "$RES/shared.md"
fi

# ------------------------------------------------------------------ load
# utime + stime of a process and its threads, in clock ticks (100 per second).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Each cell runs wrk twice against the same server process: through the server (POST /api/cloud/file)
# and straight to its embedded emulator's createUploadSession (Graph token), same clients and L.
# "server-only CPU" = CPU per request through the server minus CPU per request straight to the
# emulator (the process holds both); "p99 added" = p99 through the server minus p99 straight.
emulator_graph_token() { # $1 = server URL: a Graph token of the embedded emulator (dev client, code flow)
  local emu redirect loc code
  emu=$(curl -fsS "$1/dev/info" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).emulator))')
  redirect="http://127.0.0.1:9/bench"
  loc=$(curl -sS -o /dev/null -w '%{redirect_url}' -G "$emu/common/oauth2/v2.0/authorize" --data-urlencode client_id=onedrive-upload-dev \
    --data-urlencode response_type=code --data-urlencode "redirect_uri=$redirect" --data-urlencode "scope=Files.ReadWrite.AppFolder offline_access")
  code=$(node -e 'console.log(new URL(process.argv[1]).searchParams.get("code")||"")' "$loc")
  curl -fsS "$emu/common/oauth2/v2.0/token" --data-urlencode grant_type=authorization_code --data-urlencode client_id=onedrive-upload-dev \
    --data-urlencode client_secret=dev-secret --data-urlencode "code=$code" --data-urlencode "redirect_uri=$redirect" \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).access_token))'
}
wrk_cell() { # $1 = target (server|emulator), $2 = clients, $3 = URL, $4 = token; prints "ticks json"
  local t=2 cpu0 cpu1 line
  [ "$2" = 1 ] && t=1
  cpu0=$(cpu_ticks "$SERVER_PID")
  line=$(ODU_TARGET=$1 ODU_TOKEN=$4 wrk -t"$t" -c"$2" -d"${LOAD_SECONDS}s" --timeout 30s -s bench/wrk-session.lua "$3" | tail -n1)
  cpu1=$(cpu_ticks "$SERVER_PID")
  echo "$((cpu1 - cpu0)) $line"
}
if has load; then
  command -v wrk >/dev/null || { log "wrk missing: apt-get install wrk"; exit 1; }
  {
    echo "| emulator latency | clients | requests/s | p50 ms | p90 ms | p99 ms | max ms | requests | errors | CPU ms/request (process) | straight to emulator: requests/s | p99 ms | CPU ms/request | p99 added ms | server-only CPU ms/request | load average |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  } >"$RES/load.md"
  for lat in 0 100; do
    start_server "$lat"
    ODU_TOKEN=$(curl -fsS "$URL/dev/token?user=bench" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')
    GRAPH_TOKEN=$(emulator_graph_token "$URL")
    EMULATOR_URL=$(curl -fsS "$URL/dev/info" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).emulator))')
    # Warm-up (connection pool to the emulator, token, SQLite pages).
    ODU_TOKEN=$ODU_TOKEN wrk -t1 -c10 -d2s -s bench/wrk-session.lua "$URL/api/cloud/file" >/dev/null
    ODU_TARGET=emulator ODU_TOKEN=$GRAPH_TOKEN wrk -t1 -c10 -d2s -s bench/wrk-session.lua "$EMULATOR_URL" >/dev/null
    for c in 1 100 1000; do
      log "wrk -c$c -d${LOAD_SECONDS}s latency=${lat}ms: through the server, then straight to the emulator"
      through=$(wrk_cell server "$c" "$URL/api/cloud/file" "$ODU_TOKEN")
      straight=$(wrk_cell emulator "$c" "$EMULATOR_URL" "$GRAPH_TOKEN")
      echo "$lat $c server $through" >>"$RES/load.jsonl"
      echo "$lat $c emulator $straight" >>"$RES/load.jsonl"
      LAT=$lat C=$c THROUGH=$through STRAIGHT=$straight UPTIME="$(cut -d' ' -f1-3 /proc/loadavg)" node -e '
        const [tt, ...tj] = process.env.THROUGH.split(" "); const [st, ...sj] = process.env.STRAIGHT.split(" ");
        const j = JSON.parse(tj.join(" ")), e = JSON.parse(sj.join(" "));
        const errs = (x) => ["non2xx","connect_errors","read_errors","write_errors","timeouts"].filter(k=>x[k]).map(k=>k+"="+x[k]).join(" ")||"0";
        const cpu = Number(tt) * 10 / j.requests, ecpu = Number(st) * 10 / e.requests;
        const f = (x, d = 2) => x.toFixed(d);
        console.log(`| ${process.env.LAT} ms | ${process.env.C} | ${f(j.rps,0)} | ${f(j.p50_ms)} | ${f(j.p90_ms)} | ${f(j.p99_ms)} | ${f(j.max_ms,1)} | ${j.requests} | ${errs(j)} | ${f(cpu,3)} | ${f(e.rps,0)} | ${f(e.p99_ms)} | ${f(ecpu,3)} | ${f(j.p99_ms - e.p99_ms)} | ${f(cpu - ecpu,3)} | ${process.env.UPTIME} (emulator: ${errs(e)}) |`)' >>"$RES/load.md"
    done
    stop_server
  done
  cat "$RES/load.md"
fi
log "results in $RES"
