#!/usr/bin/env bash
# bench/store.sh: the history store's benchmark, one command.
#
# Builds the `store_bench` example of nta-store in release and runs it on a
# scratch directory (removed at exit). It prints a Markdown report on stdout:
#   A. ingest rate of EVE lines through the store writer (events/s, database
#      size, bytes/event) against a plain rusqlite loop inserting the same flow
#      rows, timed in the same run;
#   B. history-query latency over at least 1,000,000 stored flows (one hour,
#      one /24; by bytes; top talkers and a series over 24 hours).
# Progress goes to stderr. Exits 0 when a target is missed (it is a report,
# not a test) and non-zero when a command fails.
#
# Environment:
#   EVENTS=N       events generated and ingested for A (default 1000000)
#   QUERY_FLOWS=N  flows the store holds for B (default 1000000; the store
#                  from A is topped up with flow events when it has fewer)
#   SEED=N         generator seed (default 1)
#   STORE_BENCH_DIR=DIR  where the scratch directory is made (default
#                  bench/out, git-ignored; /tmp is often a tmpfs, which would
#                  not measure a disk)
set -euo pipefail

export LC_ALL=C

die() {
    echo "store.sh: error: $*" >&2
    exit 1
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

EVENTS=${EVENTS:-1000000}
QUERY_FLOWS=${QUERY_FLOWS:-1000000}
SEED=${SEED:-1}
for v in EVENTS QUERY_FLOWS SEED; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done
((EVENTS > 0)) || die "EVENTS must be at least 1"

command -v cargo >/dev/null 2>&1 ||
    die "cargo not found: install Rust (https://rustup.rs), then scripts/install-deps.sh"

echo "store.sh: cargo build --release -p nta-store --example store_bench" >&2
cargo build --release -p nta-store --example store_bench >&2

# The target directory: CARGO_TARGET_DIR, a .cargo/config, or target/.
TARGET=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p' || true)
BIN=${TARGET:-$ROOT/target}/release/examples/store_bench
[[ -x $BIN ]] || die "built, but $BIN is missing"

BASE=${STORE_BENCH_DIR:-$ROOT/bench/out}
mkdir -p "$BASE"
DIR=$(mktemp -d "$BASE/store.XXXXXX")
trap 'rm -rf "$DIR"' EXIT

FS=$(findmnt -n -o FSTYPE -T "$DIR" 2>/dev/null || stat -f -c %T "$DIR" 2>/dev/null || echo unknown)
FREE_MB=$(df -Pm "$DIR" | awk 'NR == 2 { print $4 }')
# About 1.5 KB per event for the store, plus the reference and the top-up.
NEED_MB=$(((EVENTS > QUERY_FLOWS ? EVENTS : QUERY_FLOWS) * 3 / 1000 + 100))
if [[ -n $FREE_MB ]] && ((FREE_MB < NEED_MB)); then
    die "$DIR has ${FREE_MB} MB free; about ${NEED_MB} MB are needed (set STORE_BENCH_DIR)"
fi

CMD="EVENTS=$EVENTS bench/store.sh"
if ((QUERY_FLOWS != 1000000)); then
    CMD="QUERY_FLOWS=$QUERY_FLOWS $CMD"
fi
if ((SEED != 1)); then
    CMD="SEED=$SEED $CMD"
fi

"$BIN" --events "$EVENTS" --query-flows "$QUERY_FLOWS" --seed "$SEED" \
    --dir "$DIR" --fs "$FS" --command "$CMD"
