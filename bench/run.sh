#!/usr/bin/env bash
# bench/run.sh: NTA's reproducible benchmark, one command. See bench/README.md.
#
# Generates deterministic captures with `nta gen`, times `nta read` against
# tcpdump (the cost of just reading the file) in the same run, measures
# resident memory per flow, and writes a Markdown report to $OUT/results.md.
# Exits 0 when a target is missed (it is a report, not a test) and non-zero
# when a command fails.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/run.sh [--quick] [--out DIR]

  --quick      small run to test the script (200,000 packets over 10,000
               flows; 100,000 concurrent flows; 2 runs per measurement)
  --out DIR    where captures, EVE output, logs and results.md go
               (default: bench/out, git-ignored)
  -h, --help   this text

Environment:
  NTA_BIN      use this nta binary instead of running
               `cargo build --release -p nta-cli`
  NTA_RULES    directory of the ruleset for the rule-engine runs (default:
               ../shared/data/rules/et-open-2020, ET Open, 17,417 rules;
               skipped with a note when absent)
EOF
}

die() {
    echo "bench: error: $*" >&2
    exit 1
}

note() {
    echo "bench: $*" >&2
}

# Fixed decimal point for awk, printf and $EPOCHREALTIME.
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMMAND_LINE="bench/run.sh${*:+ $*}"
if [[ -n ${NTA_BIN:-} ]]; then
    COMMAND_LINE="NTA_BIN=$NTA_BIN $COMMAND_LINE"
fi

QUICK=0
OUT=$ROOT/bench/out
while (($#)); do
    case $1 in
    --quick) QUICK=1 ;;
    --out)
        (($# >= 2)) || die "--out needs a directory"
        OUT=$2
        shift
        ;;
    --out=*) OUT=${1#--out=} ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
    shift
done

# Sizes. The full run is what docs/benchmarks.md reports; --quick only checks
# that the script works end to end.
SEED=1
TINY_PACKETS=1000 # baseline for the memory measurement
TINY_FLOWS=100
if ((QUICK)); then
    PACKETS=200000
    FLOWS=10000
    CONC_FLOWS=100000
    RUNS=2
else
    PACKETS=2000000
    FLOWS=100000
    CONC_FLOWS=1000000
    RUNS=5
fi

# Targets.
TARGET_W1_PPS=3000000       # nta --workers 1 --protocols none, packets per second
TARGET_W1_VS_TCPDUMP=0.5    # nta --workers 1 --protocols none rate / tcpdump rate
TARGET_APP_VS_NONE=0.5      # every parser on / no application layer, --workers 1
TARGET_APP_VS_TSHARK=20     # nta --workers 1 (every parser) rate / tshark -q rate
TARGET_W2_SPEEDUP=1.6       # nta --workers 2 rate / --workers 1 rate
TARGET_BYTES_PER_FLOW=512   # resident bytes per concurrent flow
TARGET_RULES_LOAD_S=10      # loading and compiling the full ruleset, seconds
TARGET_RULES_RSS_KIB=1048576 # ... and resident memory then, KiB (1 GiB)
TARGET_RULES_VS_NONE=0.4    # --workers 1 with the ruleset / without rules, packet rate

# --- tools ---------------------------------------------------------------

((BASH_VERSINFO[0] >= 5)) || die "bash 5 or later is needed (for \$EPOCHREALTIME)"
command -v tcpdump >/dev/null || die "tcpdump is not installed; it is the reference tool (apt-get install tcpdump)"
HAVE_TSHARK=0
command -v tshark >/dev/null && HAVE_TSHARK=1
# GNU time gives the maximum resident set size; bash's `time` cannot.
GNU_TIME=""
if [[ -x /usr/bin/time ]] && /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then
    GNU_TIME=/usr/bin/time
fi
if command -v jq >/dev/null; then
    JSON=jq
elif command -v python3 >/dev/null; then
    JSON=python3
else
    die "jq or python3 is needed to read the stats event"
fi

if [[ -n ${NTA_BIN:-} ]]; then
    NTA=$NTA_BIN
    note "using NTA_BIN=$NTA (not building)"
else
    note "cargo build --release -p nta-cli"
    (cd "$ROOT" && cargo build --release -p nta-cli)
    NTA=${CARGO_TARGET_DIR:-$ROOT/target}/release/nta
fi
[[ -x $NTA ]] || die "no nta binary at $NTA"
NTA_VERSION=$("$NTA" --version) || die "$NTA --version failed"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/bench.log # stderr of every command run
: >"$LOG"

# --- helpers -------------------------------------------------------------

# json_get FILE PATH: a field of the last line of FILE (a stats event),
# PATH like .stats.flow.total.
json_get() {
    local value
    if [[ $JSON == jq ]]; then
        value=$(tail -n 1 "$1" | jq -r "$2")
    else
        value=$(tail -n 1 "$1" | python3 -c '
import json, sys
v = json.loads(sys.stdin.readline())
for k in sys.argv[1].lstrip(".").split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("null" if v is None else v)' "$2")
    fi
    [[ $value =~ ^[0-9]+$ ]] || die "$1: last line has no $2 (is it a stats event?)"
    echo "$value"
}

# eve_counts FILE: "FLOW_EVENTS INVALID_LINES" of an EVE file, where an
# invalid line is one that is not a JSON object (say, two events interleaved).
eve_counts() {
    if [[ $JSON == jq ]]; then
        jq -R -n -r 'reduce (inputs | (fromjson? | objects) // {event_type: "<invalid>"} | .event_type) as $t
            ({}; .[$t] += 1) | "\(.flow // 0) \(."<invalid>" // 0)"' "$1"
    else
        python3 -c '
import json, sys
flows = invalid = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            invalid += 1
        elif event.get("event_type") == "flow":
            flows += 1
print(flows, invalid)' "$1"
    fi
}

# group N: 1234567 -> 1,234,567
group() {
    sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|[^0-9]\)/\1,\2\3/' -e 'ta' <<<"$1"
}

# median FILE COLUMN: the median of a column of numbers.
median() {
    awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '
        { v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# timed FILE CMD...: run CMD once; append its wall time in seconds and, with
# GNU time available, its maximum resident set size in KiB to FILE. stdout of
# CMD goes to /dev/null, stderr to $LOG. Wall time is taken with
# $EPOCHREALTIME (microseconds): GNU time's %e has only 10 ms resolution.
timed() {
    local file=$1 t0 t1 rss=NA
    shift
    echo "+ $*" >>"$LOG"
    t0=$EPOCHREALTIME
    if [[ -n $GNU_TIME ]]; then
        "$GNU_TIME" -f %M -o "$OUT/.rss" "$@" >/dev/null 2>>"$LOG" ||
            die "command failed: $* (see $LOG)"
        t1=$EPOCHREALTIME
        rss=$(tail -n 1 "$OUT/.rss")
    else
        "$@" >/dev/null 2>>"$LOG" || die "command failed: $* (see $LOG)"
        t1=$EPOCHREALTIME
    fi
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }') $rss" >>"$file"
}

# generate NAME PACKETS FLOWS [--concurrent]: write $OUT/NAME.pcap with
# `nta gen`, unless it is there with the same parameters (NAME.stamp).
generate() {
    local name=$1 packets=$2 flows=$3 pcap=$OUT/$1.pcap
    shift 3
    local stamp="packets=$packets flows=$flows seed=$SEED${1:+ $1} nta=$NTA_VERSION"
    if [[ -f $pcap && -f $OUT/$name.stamp ]] && [[ $(head -n 1 "$OUT/$name.stamp") == "$stamp" ]]; then
        note "$name.pcap is up to date ($stamp)"
        return
    fi
    note "generating $name.pcap ($stamp)"
    rm -f "$pcap" "$OUT/$name.stamp"
    "$NTA" gen --pcap "$OUT/.$name.pcap.part" --packets "$packets" --flows "$flows" \
        --seed "$SEED" "$@" 2>"$OUT/.gen.log" ||
        die "nta gen failed: $(cat "$OUT/.gen.log")"
    mv "$OUT/.$name.pcap.part" "$pcap"
    # Line 1: the parameters; line 2: what the generator says it wrote.
    { echo "$stamp"; cat "$OUT/.gen.log"; } >"$OUT/$name.stamp"
    rm -f "$OUT/.gen.log"
}

# generated_packets NAME: packet count reported by `nta gen`, or empty.
generated_packets() {
    sed -n 's/.* \([0-9][0-9]*\) packets,.*/\1/p' "$OUT/$1.stamp" | head -n 1
}

# --- captures ------------------------------------------------------------

generate bench "$PACKETS" "$FLOWS"
generate concurrent "$CONC_FLOWS" "$CONC_FLOWS" --concurrent
generate tiny "$TINY_PACKETS" "$TINY_FLOWS"

# Warm the page cache so every run reads from memory.
cat "$OUT/bench.pcap" "$OUT/concurrent.pcap" "$OUT/tiny.pcap" >/dev/null

# --- measurements --------------------------------------------------------

T=$OUT/times
rm -rf "$T"
mkdir -p "$T"
LOADAVG_BEFORE=$(cut -d ' ' -f 1-3 /proc/loadavg)

# Interleaved, so a change in background load touches every tool alike.
for ((i = 1; i <= RUNS; i++)); do
    note "throughput run $i/$RUNS: tcpdump, nta --workers 1 (no app layer, then every parser), nta --workers 2"
    timed "$T/tcpdump" tcpdump -r "$OUT/bench.pcap" -w /dev/null
    rm -f "$OUT/eve0.json" "$OUT/eve1.json" "$OUT/eve2.json"
    timed "$T/w1none" "$NTA" read "$OUT/bench.pcap" --workers 1 --protocols none -q -o "$OUT/eve0.json"
    timed "$T/w1" "$NTA" read "$OUT/bench.pcap" --workers 1 -q -o "$OUT/eve1.json"
    timed "$T/w2" "$NTA" read "$OUT/bench.pcap" --workers 2 -q -o "$OUT/eve2.json"
    # Check the output of every run, not just the last: a race shows up in some.
    eve_counts "$OUT/eve1.json" >>"$T/w1.eve"
    eve_counts "$OUT/eve2.json" >>"$T/w2.eve"
done

if ((HAVE_TSHARK)); then
    # `tshark -q` with nothing asked of it (no tap, no filter) reads the file without building
    # protocol trees: it runs at file-reading speed. A tap (`-z io,stat,0`) makes it dissect
    # every packet to the application layer: the reference for a full dissection. Once each:
    # the second is slow.
    note "tshark -r bench.pcap -q, and with -z io,stat,0 (once each)"
    timed "$T/tshark" tshark -r "$OUT/bench.pcap" -q
    timed "$T/tsharkz" tshark -r "$OUT/bench.pcap" -q -z io,stat,0
fi

# The memory runs measure the flow table (and the application layer) alone: the behavioural
# detectors, whose state is capped per detector rather than per flow, are measured apart.
printf '[detectors]\nenabled = false\n' >"$OUT/nodetectors.toml"
for ((i = 1; i <= RUNS; i++)); do
    note "memory run $i/$RUNS: $(group "$CONC_FLOWS") concurrent flows, and the baseline"
    rm -f "$OUT/evec.json" "$OUT/evetiny.json"
    # The flow table's memory (no application layer), then with every parser: a SYN or a
    # DNS query opens application-layer state too; then with the detectors on (the default).
    timed "$T/conc" "$NTA" read "$OUT/concurrent.pcap" --workers 1 --protocols none -c "$OUT/nodetectors.toml" -q -o "$OUT/evec.json"
    timed "$T/concapp" "$NTA" read "$OUT/concurrent.pcap" --workers 1 -c "$OUT/nodetectors.toml" -q -o /dev/null
    timed "$T/concdet" "$NTA" read "$OUT/concurrent.pcap" --workers 1 -q -o /dev/null
    timed "$T/tiny" "$NTA" read "$OUT/tiny.pcap" --workers 1 --protocols none -c "$OUT/nodetectors.toml" -q -o "$OUT/evetiny.json"
done
# Rule engine: the whole ruleset loaded. Loading alone (on tiny.pcap), then bench.pcap with
# the rules; the rate with rules counts the packet-processing time only (wall minus the
# loading time measured alone), against the run without rules (w1 above).
RULES_DIR=${NTA_RULES:-$ROOT/../shared/data/rules/et-open-2020}
HAVE_RULES=0
RULE_ARGS=()
if [[ -d $RULES_DIR ]] && compgen -G "$RULES_DIR/*.rules" >/dev/null; then
    HAVE_RULES=1
    for f in "$RULES_DIR"/*.rules; do
        RULE_ARGS+=(-S "$f")
    done
    "$NTA" rules check "$RULES_DIR"/*.rules >"$OUT/rules-check.txt" 2>>"$LOG" ||
        die "nta rules check failed (see $LOG)"
    for ((i = 1; i <= RUNS; i++)); do
        note "rules run $i/$RUNS: loading alone, then bench.pcap with $(head -n 1 "$OUT/rules-check.txt")"
        timed "$T/rload" "$NTA" read "$OUT/tiny.pcap" --workers 1 -q -o /dev/null "${RULE_ARGS[@]}"
        rm -f "$OUT/ever.json"
        timed "$T/rules" "$NTA" read "$OUT/bench.pcap" --workers 1 -q -o "$OUT/ever.json" "${RULE_ARGS[@]}"
    done
else
    note "no ruleset at $RULES_DIR: rule-engine runs skipped (set NTA_RULES)"
fi
LOADAVG_AFTER=$(cut -d ' ' -f 1-3 /proc/loadavg)
rm -f "$OUT/.rss"

# --- results -------------------------------------------------------------

PKTS=$(json_get "$OUT/eve1.json" .stats.decoder.pkts)
PKTS2=$(json_get "$OUT/eve2.json" .stats.decoder.pkts)
FLOWS1=$(json_get "$OUT/eve1.json" .stats.flow.total)
FLOWS2=$(json_get "$OUT/eve2.json" .stats.flow.total)
# Over all runs: flow events as "N" or "MIN..MAX", and invalid lines summed.
EVENTS1=$(sort -n -k 1,1 "$T/w1.eve" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print ((lo == hi) ? lo : lo ".." hi) }')
EVENTS2=$(sort -n -k 1,1 "$T/w2.eve" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print ((lo == hi) ? lo : lo ".." hi) }')
INVALID1=$(awk '{ n += $2 } END { print n + 0 }' "$T/w1.eve")
INVALID2=$(awk '{ n += $2 } END { print n + 0 }' "$T/w2.eve")
GEN_PKTS=$(generated_packets bench)
CONC_TOTAL=$(json_get "$OUT/evec.json" .stats.flow.total)
CONC_EVICTED=$(json_get "$OUT/evec.json" .stats.flow.evicted)

W_TCPDUMP=$(median "$T/tcpdump" 1)
W_W1NONE=$(median "$T/w1none" 1)
W_W1=$(median "$T/w1" 1)
W_W2=$(median "$T/w2" 1)
W_CONC=$(median "$T/conc" 1)
W_TINY=$(median "$T/tiny" 1)

# rate SECONDS: packets per second of bench.pcap, an integer.
rate() {
    awk -v p="$PKTS" -v s="$1" 'BEGIN { if (s > 0) printf "%d", p / s; else print 0 }'
}
R_TCPDUMP=$(rate "$W_TCPDUMP")
R_W1NONE=$(rate "$W_W1NONE")
R_W1=$(rate "$W_W1")
R_W2=$(rate "$W_W2")
VS_TCPDUMP=$(awk -v a="$R_W1NONE" -v b="$R_TCPDUMP" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
APP_VS_NONE=$(awk -v a="$R_W1" -v b="$R_W1NONE" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
APP_EVENTS=$(awk '/"event_type":"(http|dns|tls|ssh|smtp)"/ { n++ } END { print n + 0 }' "$OUT/eve1.json")
SPEEDUP=$(awk -v a="$R_W2" -v b="$R_W1" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')

RSS_CONC=NA RSS_TINY=NA BYTES_PER_FLOW=NA APP_BYTES_PER_FLOW=NA DET_BYTES_PER_FLOW=NA
if [[ -n $GNU_TIME ]]; then
    RSS_CONC=$(median "$T/conc" 2)
    RSS_TINY=$(median "$T/tiny" 2)
    BYTES_PER_FLOW=$(awk -v c="$RSS_CONC" -v b="$RSS_TINY" -v f="$CONC_FLOWS" \
        'BEGIN { printf "%d", (c - b) * 1024 / f }')
    APP_BYTES_PER_FLOW=$(awk -v c="$(median "$T/concapp" 2)" -v b="$RSS_TINY" -v f="$CONC_FLOWS" \
        'BEGIN { printf "%d", (c - b) * 1024 / f }')
    DET_BYTES_PER_FLOW=$(awk -v c="$(median "$T/concdet" 2)" -v b="$RSS_TINY" -v f="$CONC_FLOWS" \
        'BEGIN { printf "%d", (c - b) * 1024 / f }')
fi

# verdict OK: PASS or FAIL.
verdict() {
    if [[ $1 == 1 ]]; then echo PASS; else echo FAIL; fi
}
ge() {
    awk -v a="$1" -v b="$2" 'BEGIN { print ((a >= b) ? 1 : 0) }'
}

FAILS=()
check() { # check NAME VALUE TARGET OK
    local v
    v=$(verdict "$4")
    echo "| $1 | $2 | $3 | $v |"
    [[ $v == PASS ]] || FAILS+=("FAIL: $1: $2 (target $3)")
}

gnu_time_version() {
    local v
    if [[ -z $GNU_TIME ]]; then
        echo "not installed (no memory figures)"
        return
    fi
    v=$("$GNU_TIME" --version 2>&1 | head -n 1)
    # Debian's build says "time (GNU Time) UNKNOWN"; ask the package manager.
    if [[ $v == *UNKNOWN* ]] && command -v dpkg-query >/dev/null; then
        v="GNU time $(dpkg-query -W -f '${Version}' time 2>/dev/null || echo unknown)"
    fi
    echo "$v"
}
secs() { printf '%.3f' "$1"; }
# rss FILE: median max RSS in KiB of the runs in FILE, grouped, or n/a.
rss() {
    if [[ -n $GNU_TIME ]]; then group "$(printf '%.0f' "$(median "$1" 2)")"; else echo "n/a"; fi
}

{
    echo "# NTA benchmark"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- command: \`$COMMAND_LINE\`"
    echo "- nta: $NTA_VERSION ($NTA; source $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$([[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] && echo ', with uncommitted changes'))"
    echo "- machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), Linux $(uname -r)"
    echo "- load average before / after: $LOADAVG_BEFORE / $LOADAVG_AFTER"
    echo "- tcpdump: $(tcpdump --version 2>&1 | head -n 1), $(tcpdump --version 2>&1 | sed -n 's/^libpcap version/libpcap/p')"
    if ((HAVE_TSHARK)); then
        echo "- tshark: $(tshark --version 2>/dev/null | head -n 1)"
    else
        echo "- tshark: not installed (skipped)"
    fi
    echo "- GNU time: $(gnu_time_version)"
    echo
    echo "bench.pcap: $(group "$PKTS") packets, $(group "$FLOWS") flows (\`nta gen --packets $PACKETS --flows $FLOWS --seed $SEED\`, $(awk -v b="$(stat -c %s "$OUT/bench.pcap")" 'BEGIN { printf "%.0f", b / 1e6 }') MB)."
    echo "Wall time is the median of $RUNS runs (tshark: 1), page cache warm."
    echo
    echo "| run | runs | median wall (s) | packets/s | max RSS (KiB) |"
    echo "|---|---:|---:|---:|---:|"
    echo "| \`tcpdump -r bench.pcap -w /dev/null\` | $RUNS | $(secs "$W_TCPDUMP") | $(group "$R_TCPDUMP") | |"
    echo "| \`nta read bench.pcap --workers 1 --protocols none\` (no application layer) | $RUNS | $(secs "$W_W1NONE") | $(group "$R_W1NONE") | $(rss "$T/w1none") |"
    echo "| \`nta read bench.pcap --workers 1\` (every parser) | $RUNS | $(secs "$W_W1") | $(group "$R_W1") | $(rss "$T/w1") |"
    echo "| \`nta read bench.pcap --workers 2\` | $RUNS | $(secs "$W_W2") | $(group "$R_W2") | $(rss "$T/w2") |"
    if ((HAVE_TSHARK)); then
        W_TSHARK=$(median "$T/tshark" 1)
        R_TSHARK=$(rate "$W_TSHARK")
        W_TSHARKZ=$(median "$T/tsharkz" 1)
        R_TSHARKZ=$(rate "$W_TSHARKZ")
        echo "| \`tshark -r bench.pcap -q\` (reads, builds no protocol trees) | 1 | $(secs "$W_TSHARK") | $(group "$R_TSHARK") | $(rss "$T/tshark") |"
        echo "| \`tshark -r bench.pcap -q -z io,stat,0\` (dissects every packet) | 1 | $(secs "$W_TSHARKZ") | $(group "$R_TSHARKZ") | $(rss "$T/tsharkz") |"
    fi
    echo "| \`nta read concurrent.pcap --workers 1 --protocols none\` ($(group "$CONC_FLOWS") flows, detectors off) | $RUNS | $(secs "$W_CONC") | | $(rss "$T/conc") |"
    echo "| \`nta read concurrent.pcap --workers 1\` (every parser) | $RUNS | $(secs "$(median "$T/concapp" 1)") | | $(rss "$T/concapp") |"
    echo "| \`nta read concurrent.pcap --workers 1\` (every parser and the detectors, the default) | $RUNS | $(secs "$(median "$T/concdet" 1)") | | $(rss "$T/concdet") |"
    echo "| \`nta read tiny.pcap --workers 1 --protocols none\` (baseline) | $RUNS | $(secs "$W_TINY") | | $(rss "$T/tiny") |"
    if ((HAVE_RULES)); then
        W_RLOAD=$(median "$T/rload" 1)
        W_RULES=$(median "$T/rules" 1)
        R_RULES=$(awk -v p="$PKTS" -v w="$W_RULES" -v l="$W_RLOAD" 'BEGIN { if (w > l) printf "%d", p / (w - l); else print 0 }')
        echo "| \`nta read tiny.pcap --workers 1 -S <ruleset>\` (loading the rules) | $RUNS | $(secs "$W_RLOAD") | | $(rss "$T/rload") |"
        echo "| \`nta read bench.pcap --workers 1 -S <ruleset>\` (rate: wall minus loading) | $RUNS | $(secs "$W_RULES") | $(group "$R_RULES") | $(rss "$T/rules") |"
    fi
    echo
    echo "| check | value | target | result |"
    echo "|---|---:|---:|---|"
    check "nta --workers 1 --protocols none packets/s" "$(group "$R_W1NONE")" ">= $(group "$TARGET_W1_PPS")" "$(ge "$R_W1NONE" "$TARGET_W1_PPS")"
    check "nta --workers 1 --protocols none rate / tcpdump rate" "$VS_TCPDUMP" ">= $TARGET_W1_VS_TCPDUMP" "$(ge "$VS_TCPDUMP" "$TARGET_W1_VS_TCPDUMP")"
    check "--workers 1: every parser / no application layer ($(group "$APP_EVENTS") http, dns, tls, ssh, smtp events)" "$APP_VS_NONE" ">= $TARGET_APP_VS_NONE" "$(ge "$APP_VS_NONE" "$TARGET_APP_VS_NONE")"
    if ((HAVE_TSHARK)); then
        VS_TSHARK=$(awk -v a="$R_W1" -v b="$R_TSHARK" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
        VS_TSHARKZ=$(awk -v a="$R_W1" -v b="$R_TSHARKZ" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
        check "nta --workers 1 (every parser) rate / \`tshark -q\` rate" "$VS_TSHARK" ">= $TARGET_APP_VS_TSHARK" "$(ge "$VS_TSHARK" "$TARGET_APP_VS_TSHARK")"
        check "nta --workers 1 (every parser) rate / \`tshark -q -z io,stat,0\` rate" "$VS_TSHARKZ" ">= $TARGET_APP_VS_TSHARK" "$(ge "$VS_TSHARKZ" "$TARGET_APP_VS_TSHARK")"
    fi
    check "--workers 2 / --workers 1 speedup" "$SPEEDUP" ">= $TARGET_W2_SPEEDUP" "$(ge "$SPEEDUP" "$TARGET_W2_SPEEDUP")"
    if [[ $BYTES_PER_FLOW == NA ]]; then
        echo "| resident bytes per flow at $(group "$CONC_FLOWS") concurrent flows | n/a | <= $TARGET_BYTES_PER_FLOW | SKIP (no GNU time) |"
    else
        check "resident bytes per flow at $(group "$CONC_FLOWS") concurrent flows (flow table, --protocols none)" "$BYTES_PER_FLOW" "<= $TARGET_BYTES_PER_FLOW" "$(ge "$TARGET_BYTES_PER_FLOW" "$BYTES_PER_FLOW")"
        echo "| resident bytes per flow at $(group "$CONC_FLOWS") concurrent flows, every parser (SYN or DNS query each) | $APP_BYTES_PER_FLOW | (no target) | INFO |"
        echo "| the same with the behavioural detectors on (the default; their state is capped per detector) | $DET_BYTES_PER_FLOW | (no target) | INFO |"
    fi
    if ((HAVE_RULES)); then
        RULES_VS=$(awk -v a="$R_RULES" -v b="$R_W1" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
        ALERTS=$(awk '/"event_type":"alert"/ { n++ } END { print n + 0 }' "$OUT/ever.json")
        check "ruleset load time, s ($(head -n 1 "$OUT/rules-check.txt" | sed 's/^rules: //'))" "$(secs "$W_RLOAD")" "< $TARGET_RULES_LOAD_S" "$(ge "$TARGET_RULES_LOAD_S" "$W_RLOAD")"
        if [[ -n $GNU_TIME ]]; then
            check "ruleset loaded: max RSS, KiB" "$(rss "$T/rload")" "< $(group "$TARGET_RULES_RSS_KIB")" "$(ge "$TARGET_RULES_RSS_KIB" "$(median "$T/rload" 2)")"
        fi
        check "--workers 1: with the ruleset / without rules ($(group "$ALERTS") alerts)" "$RULES_VS" ">= $TARGET_RULES_VS_NONE" "$(ge "$RULES_VS" "$TARGET_RULES_VS_NONE")"
    fi
    check "flow events, --workers 1 = --workers 2 (all $RUNS runs)" "$(group "$EVENTS1") = $(group "$EVENTS2")" "equal" "$([[ $EVENTS1 == "$EVENTS2" && $EVENTS1 != *..* ]] && echo 1)"
    check "EVE lines that are not JSON objects (w1, w2; all $RUNS runs)" "$(group "$INVALID1"), $(group "$INVALID2")" "0, 0" "$([[ $INVALID1 == 0 && $INVALID2 == 0 ]] && echo 1)"
    check "stats.flow.total (w1, w2) = generated flows" "$(group "$FLOWS1"), $(group "$FLOWS2")" "$(group "$FLOWS")" "$([[ $FLOWS1 == "$FLOWS" && $FLOWS2 == "$FLOWS" ]] && echo 1)"
    if [[ -n $GEN_PKTS ]]; then
        check "stats.decoder.pkts (w1, w2) = generated packets" "$(group "$PKTS"), $(group "$PKTS2")" "$(group "$GEN_PKTS")" "$([[ $PKTS == "$GEN_PKTS" && $PKTS2 == "$GEN_PKTS" ]] && echo 1)"
    fi
    check "concurrent flows tracked, evicted" "$(group "$CONC_TOTAL"), $CONC_EVICTED" "$(group "$CONC_FLOWS"), 0" "$([[ $CONC_TOTAL == "$CONC_FLOWS" && $CONC_EVICTED == 0 ]] && echo 1)"
    echo
    if ((${#FAILS[@]})); then
        printf '%s\n' "${FAILS[@]}"
    else
        echo "All targets met."
    fi
    echo
    echo "bytes per flow = (max RSS concurrent - max RSS baseline) × 1024 / concurrent flows."
    if ((QUICK)); then
        echo "This is a --quick run: sizes are a tenth of the full benchmark and the targets do not apply to it."
    fi
} >"$OUT/results.md"

cat "$OUT/results.md"
