#!/usr/bin/env bash
# The server over demo traffic, from a fresh Debian machine: install what is needed, build NTA,
# and run `nta serve --demo` (engine, history store, alert pipeline and the web API on
# http://127.0.0.1:8080; state in ./nta-data). Extra arguments go to `nta serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cargo build --release -p nta-cli
exec ./target/release/nta serve --demo --data-dir nta-data "$@"
