#!/usr/bin/env bash
# Builds pkg/ as shipped: `wasm-pack build --target web --release`, then scripts/shrink-pkg.mjs
# (import/export names minified, JS glue minified). Usage: scripts/build-pkg.sh [OUT_DIR] (default pkg).
# Needs scripts/bootstrap.sh's tools (wasm-pack, tools/node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."
# wasm-pack runs the first wasm-opt on PATH: the pinned npm binaryen (see tools/package.json).
export PATH="$PWD/tools/node_modules/binaryen/bin:$HOME/.cargo/bin:$PATH"
out=${1:-pkg}
wasm-pack build --target web --release --out-dir "$out"
case $out in /*) ;; *) out="$PWD/$out" ;; esac
node scripts/shrink-pkg.mjs "$out"
