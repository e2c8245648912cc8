#!/usr/bin/env bash
# Every test, from a fresh Debian machine: system packages, formatting, lints, then the unit,
# integration and end-to-end tests of the whole workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --all-targets
cargo test --workspace --doc
