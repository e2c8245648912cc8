#!/usr/bin/env bash
# make-captures.sh - recreate the golden application-protocol captures in this
# folder from real client and server programs talking over the loopback
# interface.
#
#   http.pcap  python http.server subclass on 127.0.0.1:8080  <-> curl
#   tls.pcap   openssl s_server 127.0.0.1:8443 (TLS 1.2) and 127.0.0.1:4443
#              (TLS 1.3)                                       <-> openssl s_client
#   dns.pcap   dnslib responder on 127.0.0.1:53 (UDP + TCP)   <-> dig
#   ssh.pcap   OpenSSH sshd on 127.0.0.1:2222                 <-> ssh (auth fails)
#   smtp.pcap  aiosmtpd on 127.0.0.1:2525                     <-> python smtplib
#   ftp.pcap   pyftpdlib on 127.0.0.1:2121 (anonymous)        <-> curl (EPSV,
#              PASV and active EPRT data connections)
#
# Safety: every server binds 127.0.0.1 only, every client connects to
# 127.0.0.1 only, and tcpdump captures on `lo` only.  Names such as
# test.example or www.nta.test are only ever put in SNI / Host headers / DNS
# answers; curl's --resolve pins them to 127.0.0.1.  The addresses in the DNS
# answers (192.0.2.0/24, 2001:db8::/32) are documentation ranges that nothing
# ever connects to.
#
# Usage: must run as root (port 53, tcpdump, sshd).
#   bash tests/cases/make-captures.sh            # all captures
#   bash tests/cases/make-captures.sh dns tls    # just some of them
#
# Each capture is made the same way:
#   1. start the server, wait (with `ss`, no probing connection) until it listens
#   2. start `tcpdump -i lo -w FILE 'FILTER'` and wait until it is capturing
#   3. run the client exchange
#   4. stop tcpdump (SIGINT), then stop the server
# Client ports, timestamps, TCP sequence numbers, keys and random values differ
# on every run; everything a test should assert on (names, URLs, headers,
# banners, commands, certificate subject/serial) is fixed by this script.
# The TLS and SSH keys are generated anew on every run, so the certificate
# fingerprint and the SSH host key change when the captures are recreated.
set -euo pipefail

OUT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d /tmp/nta-captures.XXXXXX)"
PY="${PYTHON:-python3}"
PIDS=()

log() { printf '\n=== %s\n' "$*" >&2; }

cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && wait "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------- tooling ---
ensure_tools() {
    local missing=()
    command -v tcpdump >/dev/null || missing+=(tcpdump)
    command -v tshark  >/dev/null || missing+=(tshark)
    command -v curl    >/dev/null || missing+=(curl)
    command -v openssl >/dev/null || missing+=(openssl)
    command -v dig     >/dev/null || missing+=(dnsutils)
    command -v ss      >/dev/null || missing+=(iproute2)
    [ -x /usr/sbin/sshd ]          || missing+=(openssh-server)
    command -v ssh     >/dev/null || missing+=(openssh-client)
    if [ "${#missing[@]}" -gt 0 ]; then
        log "apt-get install ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    if ! "$PY" -c 'import dnslib, aiosmtpd, pyftpdlib' 2>/dev/null; then
        log "pip install dnslib aiosmtpd pyftpdlib"
        "$PY" -m pip install -q dnslib aiosmtpd pyftpdlib
    fi
}

# ---------------------------------------------------------------- helpers ---
# start_bg PIDVAR LOGFILE CMD... : start CMD in the background, remember its pid
start_bg() {
    local __var="$1" logf="$2"; shift 2
    "$@" >"$logf" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    printf -v "$__var" '%s' "$pid"
}

# wait_listen tcp|udp PORT : wait until something listens on 127.0.0.1:PORT
wait_listen() {
    local proto="$1" port="$2" i flag=-ltnH
    [ "$proto" = udp ] && flag=-lunH
    for i in $(seq 1 100); do
        if ss "$flag" "sport = :$port" 2>/dev/null | grep -q .; then
            return 0
        fi
        sleep 0.1
    done
    echo "nothing listens on $proto/$port" >&2
    return 1
}

# forget PID : drop a reaped pid from the cleanup list
forget() {
    local p keep=()
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && [ "$p" != "$1" ] && keep+=("$p")
    done
    PIDS=("${keep[@]:-}")
}

# stop_bg PID : stop a background process that we started
stop_bg() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    forget "$1"
}

CAP_PID=""
# cap_start FILE FILTER : tcpdump -i lo -w FILE 'FILTER', return once capturing
cap_start() {
    local file="$1" filter="$2" i
    rm -f "$file"
    tcpdump -i lo -U -s 0 -Z root -w "$file" "$filter" 2>"$WORK/tcpdump.err" &
    CAP_PID=$!
    PIDS+=("$CAP_PID")
    for i in $(seq 1 100); do
        grep -q 'listening on' "$WORK/tcpdump.err" 2>/dev/null && break
        sleep 0.1
    done
    sleep 0.5
}

# cap_stop : let the last packets arrive, then stop tcpdump cleanly
cap_stop() {
    sleep 1
    kill -INT "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
    forget "$CAP_PID"
    cat "$WORK/tcpdump.err" >&2
    CAP_PID=""
}

# ------------------------------------------------------------------- HTTP ---
make_http() {
    log "http.pcap: HTTP/1.1 on 127.0.0.1:8080"
    local d="$WORK/http" srv
    mkdir -p "$d/www"
    printf '<html><head><title>NTA test page</title></head><body>hello from nta</body></html>\n' >"$d/www/index.html"
    printf 'first file of the keep-alive connection\n' >"$d/www/a.txt"
    printf 'second file of the keep-alive connection\n' >"$d/www/b.txt"
    cat >"$d/server.py" <<'EOF'
# Tiny HTTP/1.1 server: static files, an echoing POST, a chunked response.
import functools, http.server, sys

class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"          # keep-alive, so curl can reuse it
    server_version = "NTA-TestHTTP/1.0"

    def version_string(self):              # "Server: NTA-TestHTTP/1.0"
        return self.server_version

    def do_GET(self):
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"chunk one\n", b"chunk two\n", b"the last chunk\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        super().do_GET()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        resp = b"received %d bytes\n" % len(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(resp)))
        self.end_headers()
        self.wfile.write(resp)

handler = functools.partial(Handler, directory=sys.argv[1])
http.server.ThreadingHTTPServer(("127.0.0.1", 8080), handler).serve_forever()
EOF
    start_bg srv "$d/server.log" "$PY" "$d/server.py" "$d/www"
    wait_listen tcp 8080
    cap_start "$OUT/http.pcap" 'tcp port 8080'
    # 1. GET with custom User-Agent and Referer; Host is www.nta.test:8080,
    #    pinned to 127.0.0.1 by --resolve
    curl -sS -o /dev/null --resolve www.nta.test:8080:127.0.0.1 \
        -A 'NTA-Test-Agent/1.0' -e 'http://referer.nta.test/start.html' \
        http://www.nta.test:8080/index.html
    # 2. two requests on one keep-alive connection
    curl -sS -o /dev/null -o /dev/null http://127.0.0.1:8080/a.txt http://127.0.0.1:8080/b.txt
    # 3. POST with a form body
    curl -sS -o /dev/null -d 'name=nta&value=42' http://127.0.0.1:8080/submit
    # 4. a 404
    curl -sS -o /dev/null http://127.0.0.1:8080/missing.html
    # 5. a chunked response
    curl -sS -o /dev/null http://127.0.0.1:8080/chunked
    cap_stop
    stop_bg "$srv"
}

# -------------------------------------------------------------------- TLS ---
make_tls() {
    log "tls.pcap: TLS 1.2 on 127.0.0.1:8443, TLS 1.3 on 127.0.0.1:4443"
    local d="$WORK/tls" s12 s13
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
        -subj '/C=US/O=NTA Test/CN=test.example' -set_serial 0x4E5441 \
        -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null
    openssl x509 -in "$d/cert.pem" -noout -subject -issuer -serial -fingerprint -sha1 >&2

    # -rev: echo server that sends every received line back reversed (it does
    # not read its stdin, which is /dev/null for a background job)
    start_bg s12 "$d/s12.log" openssl s_server -accept 127.0.0.1:8443 -naccept 1 \
        -cert "$d/cert.pem" -key "$d/key.pem" -tls1_2 -alpn http/1.1 -rev
    start_bg s13 "$d/s13.log" openssl s_server -accept 127.0.0.1:4443 -naccept 1 \
        -cert "$d/cert.pem" -key "$d/key.pem" -alpn http/1.1 -rev
    wait_listen tcp 8443
    wait_listen tcp 4443
    cap_start "$OUT/tls.pcap" 'tcp port 8443 or tcp port 4443'
    # TLS 1.2: the Certificate message is in clear text
    (echo "hello over tls 1.2"; sleep 1) | timeout 15 openssl s_client -connect 127.0.0.1:8443 \
        -servername test.example -alpn h2,http/1.1 -tls1_2 -brief >"$d/c12.log" 2>&1 || true
    cat "$d/c12.log" >&2
    # TLS 1.3 (default for this openssl)
    (echo "hello over tls 1.3"; sleep 1) | timeout 15 openssl s_client -connect 127.0.0.1:4443 \
        -servername test.example -alpn h2,http/1.1 -brief >"$d/c13.log" 2>&1 || true
    cat "$d/c13.log" >&2
    cap_stop
    stop_bg "$s12"
    stop_bg "$s13"
}

# -------------------------------------------------------------------- DNS ---
make_dns() {
    log "dns.pcap: DNS on 127.0.0.1:53 (UDP and TCP)"
    local d="$WORK/dns" srv
    mkdir -p "$d"
    cat >"$d/server.py" <<'EOF'
# Authoritative-only responder for nta.test, UDP and TCP on 127.0.0.1:53.
import signal, sys, time
from dnslib import QTYPE, RCODE, RR
from dnslib.server import BaseResolver, DNSLogger, DNSServer

ZONE = """
www.nta.test.   300 IN A     192.0.2.10
www.nta.test.   300 IN AAAA  2001:db8::10
alias.nta.test. 300 IN CNAME www.nta.test.
nta.test.       300 IN MX    10 mail.nta.test.
mail.nta.test.  300 IN A     192.0.2.25
nta.test.       300 IN TXT   "v=spf1 -all"
nta.test.       300 IN TXT   "nta golden test record"
tcp.nta.test.   300 IN A     192.0.2.53
"""
SOA = RR.fromZone("nta.test. 300 IN SOA ns1.nta.test. hostmaster.nta.test. "
                  "2024010101 3600 600 86400 300")[0]

class Resolver(BaseResolver):
    def __init__(self):
        self.rrs = RR.fromZone(ZONE)

    def resolve(self, request, handler):
        reply = request.reply()
        qname, qtype = request.q.qname, request.q.qtype
        if not any(rr.rname == qname for rr in self.rrs):
            reply.header.rcode = RCODE.NXDOMAIN
            reply.add_auth(SOA)
            return reply
        name = qname
        for rr in self.rrs:                       # follow one CNAME
            if rr.rname == name and rr.rtype == QTYPE.CNAME and qtype != QTYPE.CNAME:
                reply.add_answer(rr)
                name = rr.rdata.label
        answers = [rr for rr in self.rrs if rr.rname == name and rr.rtype == qtype]
        for rr in answers:
            reply.add_answer(rr)
            if rr.rtype == QTYPE.MX:              # glue for the exchanger
                for a in self.rrs:
                    if a.rname == rr.rdata.label and a.rtype == QTYPE.A:
                        reply.add_ar(a)
        if not answers:
            reply.add_auth(SOA)
        return reply

logger = DNSLogger("request,reply", prefix=False)
servers = [DNSServer(Resolver(), address="127.0.0.1", port=53, tcp=tcp, logger=logger)
           for tcp in (False, True)]
for s in servers:
    s.start_thread()
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    time.sleep(1)
EOF
    start_bg srv "$d/server.log" "$PY" "$d/server.py"
    wait_listen udp 53
    wait_listen tcp 53
    cap_start "$OUT/dns.pcap" 'port 53'
    local q=(+tries=1 +time=3)
    dig @127.0.0.1 "${q[@]}" www.nta.test A
    dig @127.0.0.1 "${q[@]}" www.nta.test AAAA
    dig @127.0.0.1 "${q[@]}" alias.nta.test A
    dig @127.0.0.1 "${q[@]}" nta.test MX
    dig @127.0.0.1 "${q[@]}" nta.test TXT
    dig @127.0.0.1 "${q[@]}" missing.nta.test A
    dig @127.0.0.1 "${q[@]}" +tcp tcp.nta.test A
    cap_stop
    stop_bg "$srv"
}

# -------------------------------------------------------------------- SSH ---
make_ssh() {
    log "ssh.pcap: SSH on 127.0.0.1:2222"
    local d="$WORK/ssh" srv
    mkdir -p "$d" /run/sshd
    chmod 0755 /run/sshd
    ssh-keygen -q -t ed25519 -N '' -C 'nta-test-host' -f "$d/ssh_host_ed25519_key"
    cat >"$d/sshd_config" <<EOF
Port 2222
ListenAddress 127.0.0.1
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
    start_bg srv "$d/sshd.log" /usr/sbin/sshd -D -e -f "$d/sshd_config"
    wait_listen tcp 2222
    cap_start "$OUT/ssh.pcap" 'tcp port 2222'
    # No key is accepted and password auth is off: auth fails after the
    # banners, KEXINIT, key exchange and the first userauth requests.
    ssh -F /dev/null -p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o BatchMode=yes -o ConnectTimeout=5 nobody@127.0.0.1 true >"$d/client.log" 2>&1 || true
    cap_stop
    stop_bg "$srv"
    cat "$d/client.log" >&2
}

# ------------------------------------------------------------------- SMTP ---
make_smtp() {
    log "smtp.pcap: SMTP on 127.0.0.1:2525"
    local d="$WORK/smtp" srv
    mkdir -p "$d"
    cat >"$d/server.py" <<'EOF'
import signal, sys, time
from aiosmtpd.controller import Controller

class Handler:
    async def handle_DATA(self, server, session, envelope):
        print("from", envelope.mail_from, "to", envelope.rcpt_tos, flush=True)
        return "250 Message accepted for delivery"

c = Controller(Handler(), hostname="127.0.0.1", port=2525,
               server_hostname="mail.nta.test", ident="NTA-Test-SMTP")
c.start()
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
try:
    while True:
        time.sleep(1)
finally:
    c.stop()
EOF
    cat >"$d/client.py" <<'EOF'
import smtplib
from email.message import EmailMessage

m = EmailMessage()
m["From"] = "Alice <alice@nta.test>"
m["To"] = "Bob <bob@nta.test>, Carol <carol@nta.test>"
m["Subject"] = "NTA golden test message"
m["Date"] = "Mon, 01 Jan 2024 12:00:00 +0000"
m["Message-ID"] = "<golden-smtp-1@nta.test>"
m.set_content("Hello Bob and Carol,\n\nthis is the NTA golden SMTP test.\n")
with smtplib.SMTP("127.0.0.1", 2525, local_hostname="client.nta.test") as s:
    s.ehlo()
    s.sendmail("alice@nta.test", ["bob@nta.test", "carol@nta.test"], m.as_bytes())
EOF
    # Controller.start() makes one self-test connection: it happens before
    # the capture starts.
    start_bg srv "$d/server.log" "$PY" "$d/server.py"
    wait_listen tcp 2525
    sleep 0.5
    cap_start "$OUT/smtp.pcap" 'tcp port 2525'
    "$PY" "$d/client.py"
    cap_stop
    stop_bg "$srv"
}

# -------------------------------------------------------------------- FTP ---
make_ftp() {
    log "ftp.pcap: FTP on 127.0.0.1:2121 (control) + data connections"
    local d="$WORK/ftp" srv
    mkdir -p "$d/root"
    printf 'hello from the nta ftp golden test\n' >"$d/root/hello.txt"
    printf 'second file\n' >"$d/root/notes.txt"
    # anonymous, read-only; passive data ports pinned to 60000-60010
    start_bg srv "$d/server.log" "$PY" -m pyftpdlib -i 127.0.0.1 -p 2121 \
        -d "$d/root" -r 60000-60010
    wait_listen tcp 2121
    # (brief's filter would be 'host 127.0.0.1 and tcp'; pinned ports keep
    #  any unrelated loopback traffic out)
    cap_start "$OUT/ftp.pcap" 'tcp and (port 2121 or portrange 60000-60010 or portrange 50000-50010)'
    # 1. passive, EPSV (curl's default) + RETR
    curl -sS -o /dev/null ftp://127.0.0.1:2121/hello.txt
    # 2. passive, PASV (EPSV disabled) + LIST
    curl -sS -o /dev/null --disable-epsv ftp://127.0.0.1:2121/
    # 3. active mode: EPRT to 127.0.0.1:50000-50010, server connects back
    curl -sS -o /dev/null --ftp-port '127.0.0.1:50000-50010' ftp://127.0.0.1:2121/notes.txt
    cap_stop
    stop_bg "$srv"
}

# ------------------------------------------------------------------- main ---
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
ensure_tools
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(http tls dns ssh smtp ftp)
for t in "${targets[@]}"; do
    "make_$t"
done
log "done"
ls -l "$OUT"/*.pcap >&2
