#!/usr/bin/env bash
# Runs the demo: installs what is missing, builds pkg/ (scripts/build-pkg.sh), then starts the server
# with its embedded OneDrive emulator and serves www/ on http://127.0.0.1:8000/ until Ctrl-C
# (www/uppy.html: the Uppy Dashboard page, whose www/vendor/ bundle is built here from npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."
# cargo's bin (wasm-pack, cargo) and the pinned npm binaryen (tools/package.json) first on PATH.
export PATH="$PWD/tools/node_modules/binaryen/bin:$HOME/.cargo/bin:$PATH"
bash scripts/bootstrap.sh
bash scripts/build-pkg.sh
(cd packages/uppy-onedrive && npm run --silent build:www) # Uppy for www/uppy.html, from locked npm packages
cargo build --profile service -p onedrive-upload-server
echo
echo "Demo: open http://127.0.0.1:8000/ or, with Uppy's Dashboard, http://127.0.0.1:8000/uppy.html"
echo "      (embedded emulator, demo user; Ctrl-C stops it)"
exec target/service/onedrive-upload-server --listen 127.0.0.1:8000 --dev --www www --pkg pkg --data-dir .data "$@"
