#!/usr/bin/env bash
# CPU profile (perf, software clock) of onedrive-upload-server + its embedded emulator while wrk
# holds N concurrent POST /api/cloud/file: where the per-request CPU goes when p99 misses target.
#
#   ./bench/profile-server.sh [--latency-ms 100] [--clients 1000] [--seconds 6]
#
# Builds a symbolised copy of the service profile (own target dir), prints wrk's summary, the top
# symbols, and CPU shares by category. Stops the server it starts.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
LAT=100 CLIENTS=1000 SECS=6
while [ $# -gt 0 ]; do
  case "$1" in
    --latency-ms) LAT=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
command -v perf >/dev/null || { echo "perf missing: apt-get install linux-perf" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/bench-prof"
CARGO_TARGET_DIR="$TARGET" CARGO_PROFILE_SERVICE_STRIP=false CARGO_PROFILE_SERVICE_DEBUG=line-tables-only \
  cargo build -q --profile service -p onedrive-upload-server
D=$(mktemp -d /tmp/odu-prof.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$D"; }
trap cleanup EXIT
# One bench user creates thousands of sessions: the per-user session limits are off here.
RUST_LOG=warn "$TARGET/service/onedrive-upload-server" --listen 127.0.0.1:0 --dev --data-dir "$D/data" \
  --sessions-per-minute 0 --max-live-sessions 0 --emulator-latency-ms "$LAT" >"$D/out" 2>"$D/err" &
PID=$!
for _ in $(seq 1 300); do grep -qs '^listening on' "$D/out" && break; sleep 0.1; done
URL=$(sed -n 's#^listening on \(http://[^ ]*\).*#\1#p' "$D/out")
ODU_TOKEN=$(curl -fsS "$URL/dev/token?user=bench" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')
export ODU_TOKEN
wrk -t1 -c10 -d2s -s bench/wrk-session.lua "$URL/api/cloud/file" >/dev/null
wrk -t2 -c"$CLIENTS" -d"$((SECS + 4))s" --timeout 30s -s bench/wrk-session.lua "$URL/api/cloud/file" | tail -n1 >"$D/wrk.json" &
WRK=$!
sleep 2
perf record -F 999 -g -o "$D/perf.data" -p "$PID" -- sleep "$SECS" 2>/dev/null
wait "$WRK"
echo "wrk -c$CLIENTS, emulator latency ${LAT} ms (under perf): $(cat "$D/wrk.json")"
perf report -i "$D/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep '%' >"$D/flat.txt"
echo "top symbols:"; head -n 25 "$D/flat.txt"
python3 - "$D/flat.txt" <<'PY'
import re, sys
cats = [
    ("SQLite statement compile (parser, resolver, codegen)", r"RunParser|yy_|keywordCode|GetToken|resolve|Prepare|lookupName|sqlite3Select|sqlite3Where|GenerateColumnNames|sqlite3Expr|VdbeAdd|VdbeChange|VdbeMake|sqlite3Locate|sqlite3FindTable|sqlite3ColumnIndex|exprAnalyze|sqlite3Walk|walkExpr"),
    ("SQLite execution (VDBE, btree, pager, other)", r"sqlite3|pcache|Vdbe|Btree"),
    ("malloc/free", r"malloc|free|_int_|unlink_chunk|consolidate|realloc|tcache"),
    ("memcpy/memset/str*", r"mem(move|cpy|set|cmp)|strlen|strcmp"),
    ("HTTP (hyper/axum/tower/reqwest)", r"hyper|axum|tower|reqwest|http::|httparse"),
    ("tokio runtime", r"tokio|mio"),
    ("JSON (serde)", r"serde"),
    ("JWT/crypto", r"jsonwebtoken|sha2|hmac|ring|base64"),
]
tot, kernel, other = {}, 0.0, 0.0
for line in open(sys.argv[1]):
    m = re.match(r"\s*([\d.]+)%\s+\S+\s+\[(.)\]\s+(.*)", line)
    if not m:
        continue
    pct, kind, sym = float(m.group(1)), m.group(2), m.group(3)
    if kind == "k":
        kernel += pct
        continue
    for name, rx in cats:
        if re.search(rx, sym, re.I):
            tot[name] = tot.get(name, 0) + pct
            break
    else:
        other += pct
print("CPU share by category:")
for k, v in sorted(tot.items(), key=lambda x: -x[1]):
    print(f"  {v:5.1f}%  {k}")
print(f"  {kernel:5.1f}%  kernel (loopback TCP, syscalls, file locks, page cache)")
print(f"  {other:5.1f}%  other user code")
PY
