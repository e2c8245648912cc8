#!/usr/bin/env bash
# The main job, from a fresh Debian machine: install what is needed, build NTA, generate a
# sample capture and analyse it. Output goes to ./nta-demo (sample.pcap, eve.json).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cargo build --release -p nta-cli
exec ./target/release/nta demo --dir nta-demo "$@"
