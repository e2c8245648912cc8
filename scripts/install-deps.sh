#!/usr/bin/env bash
# Installs the Debian packages NTA needs to build, run and test. Idempotent; needs root
# (or sudo) only when something is missing.
set -euo pipefail

packages=(
  libpcap-dev   # live capture (libpcap) — build and run
  pkg-config
  tcpdump       # benchmark reference
  tshark        # tests: flow counts compared with tshark's conversations
  iproute2      # tests: veth pairs in network namespaces for live capture
  python3       # tests: traffic senders
  time          # benchmark: max RSS
  jq            # docs recipes, convenient with EVE output
  openssl       # tests: a self-signed certificate for the STARTTLS mail test
  python3-aiosmtpd  # tests: a real SMTP server receiving alert mails
)

if ! command -v cargo >/dev/null 2>&1; then
  echo "Rust is not installed: get the stable toolchain from https://rustup.rs, then rerun." >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
