//! The store benchmark: ingest rate and history-query latency, measured on this machine.
//!
//! Run it through `bench/store.sh`, which builds it in release and gives it a scratch
//! directory. It prints a Markdown report on stdout (progress goes to stderr).
//!
//! A. Ingest. `--events N` EVE lines (default 1,000,000) are generated in memory first:
//!    about 85 % flow events (with the `tcp` object and `community_id`, like the engine's),
//!    13 % application events (http with hostname and url, dns with rrname, tls with sni)
//!    and 2 % alerts (about 200 signatures, in bursts between the same hosts, so that
//!    deduplication has work to do), over 24 hours of timestamps, from 50,000 clients in
//!    200 /24s of 10.0.0.0/8 to 5,000 servers. They are written through
//!    `Ingest::input()` in 256 KiB chunks and timed until `finish()` returns (everything
//!    committed). The reference, timed in the same run: the same flow rows inserted by a
//!    minimal rusqlite loop (one prepared INSERT into a copy of `flows` with its indexes,
//!    one transaction per 20,000 rows, WAL, synchronous = NORMAL).
//!
//! B. Queries. The store from A, topped up with flow events to `--query-flows` (default
//!    1,000,000) flows if it has fewer, is asked for one hour of flows of one /24
//!    (20 different hours and /24s), newest first and by bytes, then top talkers and bytes
//!    per application protocol over the 24 hours. Each query is timed cold (first run on
//!    a new connection, after the database file is evicted from the OS page cache), on a
//!    new connection with the OS cache warm, and warm (5 more runs).

use std::error::Error;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nta_event::Timestamp;
use nta_store::rusqlite::{self, params, Connection};
use nta_store::{
    ip_key, net_range, parse_net, Filter, Ingest, IngestConfig, Metric, Page, SeriesGroup, Store,
    TopKind,
};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// 2026-03-01T00:00:00Z, µs.
const DAY0_US: i64 = 1_772_323_200_000_000;
const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;
const CLIENT_SUBNETS: u32 = 200;
const CLIENTS: u32 = 50_000; // 250 per /24
const SERVERS: u32 = 5_000;
/// Servers 0..500 are inside (10.250.0.0/23); 0 and 1 are the DNS resolvers.
const INTERNAL_SERVERS: u32 = 500;
const SIGNATURES: u32 = 200;
/// What the writer is handed at a time (the engine's EVE buffer).
const CHUNK: usize = 256 * 1024;
/// Rows per transaction in the reference loop (the writer's `max_batch`).
const REF_BATCH: usize = 20_000;
/// Queries of one hour and one /24.
const PICKS: usize = 20;
const WARM_RUNS: usize = 5;
const TARGET_EVENTS_PER_SEC: f64 = 100_000.0;
const TARGET_QUERY_MS: f64 = 200.0;

struct Args {
    events: u64,
    query_flows: u64,
    dir: PathBuf,
    seed: u64,
    command: String,
    fs: String,
}

const USAGE: &str = "usage: store_bench --dir DIR [--events N] [--query-flows N] [--seed N]
                   [--command TEXT] [--fs TYPE]

  --dir DIR          scratch directory for the databases (must exist)
  --events N         events generated and ingested for A (default 1000000)
  --query-flows N    flows the store holds for B, topped up with flow events (default 1000000)
  --seed N           generator seed (default 1)
  --command TEXT     the command line, for the report
  --fs TYPE          file system of DIR, for the report";

fn args() -> Result<Args> {
    let mut a = Args {
        events: 1_000_000,
        query_flows: 1_000_000,
        dir: PathBuf::new(),
        seed: 1,
        command: "store_bench".into(),
        fs: "unknown".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        if k == "-h" || k == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let v = it
            .next()
            .ok_or_else(|| format!("{k} needs a value\n{USAGE}"))?;
        let num = |v: &str| -> Result<u64> {
            v.replace('_', "")
                .parse::<u64>()
                .map_err(|_| format!("{k}: {v:?} is not a number").into())
        };
        match k.as_str() {
            "--events" => a.events = num(&v)?,
            "--query-flows" => a.query_flows = num(&v)?,
            "--dir" => a.dir = PathBuf::from(v),
            "--seed" => a.seed = num(&v)?,
            "--command" => a.command = v,
            "--fs" => a.fs = v,
            _ => return Err(format!("unknown argument {k:?}\n{USAGE}").into()),
        }
    }
    if a.dir.as_os_str().is_empty() || !a.dir.is_dir() {
        return Err(format!("--dir must name an existing directory\n{USAGE}").into());
    }
    if a.events == 0 {
        return Err("--events must be at least 1".into());
    }
    Ok(a)
}

// ---- deterministic random numbers ------------------------------------------------------

/// SplitMix64: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 0..n.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// lo..hi.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// 0..n, small values far more likely (the larger `k`, the more skewed).
    fn skewed(&mut self, n: u64, k: i32) -> u64 {
        ((self.unit().powi(k) * n as f64) as u64).min(n - 1)
    }
}

fn mix(x: u64) -> u64 {
    Rng(x).next()
}

// ---- the network -------------------------------------------------------------------------

/// The /24 of client subnet `s`: 10.a.b.0 (distinct for s < 240, none in 10.250/16).
fn subnet(s: u32) -> (u8, u8) {
    ((1 + (s * 37) % 240) as u8, ((s * 101 + 7) % 256) as u8)
}

/// Client `c`: consecutive clients sit in different subnets, so the busy ones are spread.
fn client_ip(c: u32) -> Ipv4Addr {
    let (a, b) = subnet(c % CLIENT_SUBNETS);
    Ipv4Addr::new(10, a, b, (2 + c / CLIENT_SUBNETS) as u8)
}

fn server_ip(s: u32) -> Ipv4Addr {
    if s < INTERNAL_SERVERS {
        return Ipv4Addr::new(10, 250, (s / 250) as u8, (2 + s % 250) as u8);
    }
    const FIRST: [u8; 16] = [
        13, 20, 23, 31, 34, 35, 40, 52, 54, 64, 74, 93, 104, 142, 151, 185,
    ];
    let h = mix(u64::from(s));
    Ipv4Addr::new(
        FIRST[(h % 16) as usize],
        (h >> 8) as u8,
        (h >> 16) as u8,
        1 + ((h >> 24) % 254) as u8,
    )
}

fn host_name(s: u32) -> String {
    const PREFIX: [&str; 8] = [
        "www", "api", "cdn", "static", "login", "mail", "img", "update",
    ];
    const ORG: [&str; 16] = [
        "example",
        "contoso",
        "acme",
        "globex",
        "initech",
        "umbrella",
        "hooli",
        "vandelay",
        "stark",
        "wayne",
        "tyrell",
        "cyberdyne",
        "soylent",
        "wonka",
        "aperture",
        "oscorp",
    ];
    const TLD: [&str; 5] = ["com", "net", "org", "io", "de"];
    format!(
        "{}.{}{}.{}",
        PREFIX[(s % 8) as usize],
        ORG[(s / 8 % 16) as usize],
        s / 128,
        TLD[(s % 5) as usize]
    )
}

const SIG_TEMPLATES: [(&str, &str); 8] = [
    (
        "ET SCAN Suspicious inbound connection attempt",
        "Attempted Information Leak",
    ),
    (
        "ET POLICY Outdated TLS client version",
        "Potential Corporate Privacy Violation",
    ),
    (
        "ET MALWARE Possible periodic beacon",
        "A Network Trojan was detected",
    ),
    (
        "ET INFO Observed DNS query to a rarely seen TLD",
        "Potentially Bad Traffic",
    ),
    (
        "ET WEB_SERVER Possible SQL injection attempt in URI",
        "Web Application Attack",
    ),
    (
        "ET EXPLOIT Possible remote code execution attempt",
        "Attempted Administrator Privilege Gain",
    ),
    ("ET HUNTING Suspicious user agent", "Misc activity"),
    (
        "ET DNS Query for a DGA-like domain name",
        "Potentially Bad Traffic",
    ),
];

// ---- EVE lines ----------------------------------------------------------------------------

/// One flow as generated (and as the reference loop inserts it).
struct Flow {
    id: u64,
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    server: u32,
    proto: &'static str,
    app: Option<&'static str>,
    start: i64,
    end: i64,
    pkts: [u64; 2],
    bytes: [u64; 2],
    state: &'static str,
    reason: &'static str,
    /// TCP flags seen: both ways, to server, to client.
    flags: [u8; 3],
    alerted: bool,
}

/// A flow row for the reference loop: every column of `flows`, ready to bind.
struct FlowRow {
    ts: i64,
    ts_end: i64,
    flow_id: i64,
    src_ip: String,
    src_key: [u8; 16],
    src_port: u16,
    dest_ip: String,
    dest_key: [u8; 16],
    dest_port: u16,
    proto: &'static str,
    app_proto: Option<&'static str>,
    pkts: [i64; 2],
    bytes: [i64; 2],
    state: &'static str,
    reason: &'static str,
    alerted: bool,
    /// The EVE line in the generated buffer.
    line: Range<usize>,
}

/// Alerts between the same hosts for a while (what deduplication folds).
struct Incident {
    sig: u32,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    dport: u16,
    proto: &'static str,
    app: Option<&'static str>,
    last: i64,
}

#[derive(Default)]
struct Generated {
    lines: Vec<u8>,
    rows: Vec<FlowRow>,
    /// flow, app, alert events.
    count: [u64; 3],
    bytes: [u64; 3],
}

fn ts(us: i64) -> Timestamp {
    Timestamp(us as u64 * 1000)
}

fn hex(rng: &mut Rng, n: usize, sep: Option<char>, out: &mut String) {
    for i in 0..n {
        if i > 0 {
            if let Some(c) = sep {
                out.push(c);
            }
        }
        let _ = write!(out, "{:02x}", rng.below(256));
    }
}

/// A community id's look: `1:` and the base64 of 20 bytes (the store does not check it).
fn community_id(rng: &mut Rng) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::from("1:");
    for _ in 0..27 {
        s.push(B64[rng.below(64) as usize] as char);
    }
    s.push('=');
    s
}

struct Gen {
    rng: Rng,
    flows_only: bool,
    keep_rows: bool,
    incidents: Vec<Incident>,
    out: Generated,
}

impl Gen {
    fn flow(&mut self, end: i64) -> Flow {
        let r = &mut self.rng;
        let (proto, dport, app) = match r.below(100) {
            0..=39 => ("TCP", 443, Some("tls")),
            40..=54 => ("TCP", 80, Some("http")),
            55..=79 => ("UDP", 53, Some("dns")),
            80..=82 => ("TCP", 22, Some("ssh")),
            83..=84 => ("TCP", 25, Some("smtp")),
            _ => {
                let port = r.range(1024, 65535) as u16;
                (if r.chance(0.6) { "TCP" } else { "UDP" }, port, None)
            }
        };
        let server = if dport == 53 && r.chance(0.9) {
            r.below(2) as u32
        } else {
            2 + r.skewed(u64::from(SERVERS - 2), 3) as u32
        };
        let client = r.skewed(u64::from(CLIENTS), 2) as u32;
        let dur = match dport {
            53 => r.range(200, 80_000),
            443 | 80 => 5_000 + r.skewed(120_000_000, 3),
            22 => r.range(1_000_000, 1_800_000_000),
            25 => r.range(200_000, 10_000_000),
            _ => r.skewed(300_000_000, 2),
        } as i64;
        let (pkts, bytes, state, reason, flags) = if proto == "UDP" {
            let p = if dport == 53 {
                [1, u64::from(r.chance(0.97))]
            } else {
                [r.range(1, 10), r.range(0, 10)]
            };
            let b = if dport == 53 {
                [r.range(70, 110), p[1] * r.range(90, 500)]
            } else {
                [p[0] * r.range(60, 1200), p[1] * r.range(60, 1200)]
            };
            let state = if p[1] > 0 { "established" } else { "new" };
            (p, b, state, "timeout", [0, 0, 0])
        } else {
            let mut ts = r.range(3, 30);
            if r.chance(0.05) {
                ts *= r.range(10, 200);
            }
            match r.below(10) {
                0 => ([1, 0], [74, 0], "new", "timeout", [0x02, 0x02, 0]),
                1 | 2 => {
                    let tc = ts * r.range(8, 20) / 10;
                    let b = [ts * r.range(60, 400), tc * r.range(200, 1448)];
                    ([ts, tc], b, "established", "timeout", [0x1a, 0x1a, 0x1a])
                }
                _ => {
                    let tc = ts * r.range(8, 20) / 10;
                    let b = [ts * r.range(60, 400), tc * r.range(200, 1448)];
                    let reason = if r.chance(0.02) {
                        "shutdown"
                    } else {
                        "timeout"
                    };
                    ([ts, tc], b, "closed", reason, [0x1b, 0x1b, 0x1b])
                }
            }
        };
        Flow {
            id: 1 + (r.next() & ((1 << 51) - 1)),
            src: client_ip(client),
            sport: r.range(32768, 61000) as u16,
            dst: server_ip(server),
            dport,
            server,
            proto,
            app,
            start: end - dur,
            end,
            pkts,
            bytes,
            state,
            reason,
            flags,
            alerted: false,
        }
    }

    fn push_line(&mut self, kind: usize, line: &str) -> Range<usize> {
        let at = self.out.lines.len();
        self.out.lines.extend_from_slice(line.as_bytes());
        let end = self.out.lines.len();
        self.out.lines.push(b'\n');
        self.out.count[kind] += 1;
        self.out.bytes[kind] += line.len() as u64 + 1;
        at..end
    }

    fn write_flow(&mut self, f: &Flow) {
        let mut s = String::with_capacity(600);
        let _ = write!(
            s,
            r#"{{"timestamp":"{}","flow_id":{},"event_type":"flow","src_ip":"{}","src_port":{},"dest_ip":"{}","dest_port":{},"proto":"{}""#,
            ts(f.end),
            f.id,
            f.src,
            f.sport,
            f.dst,
            f.dport,
            f.proto
        );
        if let Some(a) = f.app {
            let _ = write!(s, r#","app_proto":"{a}""#);
        }
        let _ = write!(
            s,
            r#","flow":{{"pkts_toserver":{},"pkts_toclient":{},"bytes_toserver":{},"bytes_toclient":{},"start":"{}","end":"{}","age":{},"state":"{}","reason":"{}","alerted":{}}}"#,
            f.pkts[0],
            f.pkts[1],
            f.bytes[0],
            f.bytes[1],
            ts(f.start),
            ts(f.end),
            (f.end - f.start) / 1_000_000,
            f.state,
            f.reason,
            f.alerted
        );
        if f.proto == "TCP" {
            let [all, tsv, tcv] = f.flags;
            let _ = write!(
                s,
                r#","tcp":{{"tcp_flags":"{all:02x}","tcp_flags_ts":"{tsv:02x}","tcp_flags_tc":"{tcv:02x}""#
            );
            for (bit, name) in [(0x02, "syn"), (0x01, "fin"), (0x08, "psh"), (0x10, "ack")] {
                if all & bit != 0 {
                    let _ = write!(s, r#","{name}":true"#);
                }
            }
            let tcp_state = match f.state {
                "new" => "syn_sent",
                s => s,
            };
            let _ = write!(s, r#","state":"{tcp_state}"}}"#);
        }
        let cid = community_id(&mut self.rng);
        let _ = write!(s, r#","community_id":"{cid}"}}"#);
        let line = self.push_line(0, &s);
        if self.keep_rows {
            let src = IpAddr::V4(f.src);
            let dst = IpAddr::V4(f.dst);
            self.out.rows.push(FlowRow {
                ts: f.start,
                ts_end: f.end,
                flow_id: f.id as i64,
                src_ip: src.to_string(),
                src_key: ip_key(src),
                src_port: f.sport,
                dest_ip: dst.to_string(),
                dest_key: ip_key(dst),
                dest_port: f.dport,
                proto: f.proto,
                app_proto: f.app,
                pkts: [f.pkts[0] as i64, f.pkts[1] as i64],
                bytes: [f.bytes[0] as i64, f.bytes[1] as i64],
                state: f.state,
                reason: f.reason,
                alerted: f.alerted,
                line,
            });
        }
    }

    /// The flow's http, dns or tls event (others have none here).
    fn write_app(&mut self, f: &Flow) {
        let r = &mut self.rng;
        let at = f.start + (f.end - f.start) / 4;
        let host = host_name(f.server);
        let mut s = String::with_capacity(600);
        let head = |s: &mut String, ty: &str, src: Ipv4Addr, sp: u16, dst: Ipv4Addr, dp: u16| {
            let _ = write!(
                s,
                r#"{{"timestamp":"{}","flow_id":{},"event_type":"{ty}","src_ip":"{src}","src_port":{sp},"dest_ip":"{dst}","dest_port":{dp},"proto":"{}","tx_id":0,"app_proto":"{ty}""#,
                ts(at),
                f.id,
                f.proto
            );
        };
        match f.app {
            Some("http") => {
                head(&mut s, "http", f.src, f.sport, f.dst, f.dport);
                const PATHS: [&str; 6] = [
                    "/",
                    "/index.html",
                    "/api/v2/items",
                    "/static/js/app",
                    "/images/banner",
                    "/login",
                ];
                const AGENTS: [&str; 4] = [
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
                    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
                    "curl/7.88.1",
                    "Microsoft-CryptoAPI/10.0",
                ];
                let path = PATHS[r.below(6) as usize];
                let _ = write!(
                    s,
                    r#","http":{{"hostname":"{host}","url":"{path}?id={}","http_user_agent":"{}","http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.1","status":{},"length":{}}}}}"#,
                    r.below(100_000),
                    AGENTS[r.below(4) as usize],
                    if r.chance(0.9) { 200 } else { 404 },
                    f.bytes[1].min(r.range(100, 50_000))
                );
            }
            Some("dns") => {
                let rrtype = if r.chance(0.7) { "A" } else { "AAAA" };
                let id = r.below(65536);
                if r.chance(0.5) {
                    head(&mut s, "dns", f.src, f.sport, f.dst, f.dport);
                    let _ = write!(
                        s,
                        r#","dns":{{"version":2,"type":"query","id":{id},"rrname":"{host}","rrtype":"{rrtype}","tx_id":0,"opcode":0}}}}"#
                    );
                } else {
                    head(&mut s, "dns", f.dst, f.dport, f.src, f.sport);
                    let addr = server_ip(2 + r.below(u64::from(SERVERS - 2)) as u32);
                    let _ = write!(
                        s,
                        r#","dns":{{"version":2,"type":"answer","id":{id},"flags":"8180","qr":true,"rd":true,"ra":true,"opcode":0,"rrname":"{host}","rrtype":"A","rcode":"NOERROR","answers":[{{"rrname":"{host}","rrtype":"A","ttl":{},"rdata":"{addr}"}}]}}}}"#,
                        r.range(30, 3600)
                    );
                }
            }
            Some("tls") => {
                head(&mut s, "tls", f.src, f.sport, f.dst, f.dport);
                s.push_str(r#","tls":{"#);
                if r.chance(0.5) {
                    let _ = write!(
                        s,
                        r#""subject":"CN={host}","issuerdn":"C=US, O=Let's Encrypt, CN=R3","serial":""#
                    );
                    hex(r, 8, Some(':'), &mut s);
                    s.push_str(r#"","fingerprint":""#);
                    hex(r, 20, Some(':'), &mut s);
                    let _ = write!(
                        s,
                        r#"","sni":"{host}","version":"TLS 1.2","notbefore":"2026-01-10T00:00:00","notafter":"2026-04-10T23:59:59","ja3":{{"hash":""#
                    );
                } else {
                    let _ = write!(s, r#""sni":"{host}","version":"TLS 1.3","ja3":{{"hash":""#);
                }
                hex(r, 16, None, &mut s);
                s.push_str(r#""},"ja3s":{"hash":""#);
                hex(r, 16, None, &mut s);
                s.push_str(r#""},"ja4":"t13d1516h2_8daaf6152771_"#);
                hex(r, 6, None, &mut s);
                s.push_str(r#""}}"#);
            }
            _ => return,
        }
        self.push_line(1, &s);
    }

    /// An alert: most continue an open incident (same signature and hosts, a new
    /// connection), the others start one on this flow.
    fn write_alert(&mut self, f: &mut Flow) {
        let r = &mut self.rng;
        let now = f.start;
        self.incidents.retain(|i| now - i.last < 600_000_000);
        let (sig, src, sport, dst, dport, proto, app, flow_id) =
            if !self.incidents.is_empty() && r.chance(0.6) {
                let k = r.below(self.incidents.len() as u64) as usize;
                let i = &mut self.incidents[k];
                i.last = now;
                let id = 1 + (r.next() & ((1 << 51) - 1));
                let sport = r.range(32768, 61000) as u16;
                (i.sig, i.src, sport, i.dst, i.dport, i.proto, i.app, id)
            } else {
                let sig = r.skewed(u64::from(SIGNATURES), 2) as u32;
                let inc = Incident {
                    sig,
                    src: f.src,
                    dst: f.dst,
                    dport: f.dport,
                    proto: f.proto,
                    app: f.app,
                    last: now,
                };
                if self.incidents.len() >= 16 {
                    let k = r.below(16) as usize;
                    self.incidents[k] = inc;
                } else {
                    self.incidents.push(inc);
                }
                f.alerted = true;
                (sig, f.src, f.sport, f.dst, f.dport, f.proto, f.app, f.id)
            };
        let (text, category) = SIG_TEMPLATES[(sig % 8) as usize];
        let mut s = String::with_capacity(600);
        let _ = write!(
            s,
            r#"{{"timestamp":"{}","flow_id":{flow_id},"event_type":"alert","src_ip":"{src}","src_port":{sport},"dest_ip":"{dst}","dest_port":{dport},"proto":"{proto}","tx_id":0,"alert":{{"action":"allowed","gid":1,"signature_id":{},"rev":{},"signature":"{text} ({})","category":"{category}","severity":{},"source":"rule"}}"#,
            ts(now),
            2_030_000 + sig * 7,
            1 + sig % 5,
            sig,
            1 + sig % 3
        );
        if let Some(a) = app {
            let _ = write!(s, r#","app_proto":"{a}""#);
        }
        let _ = write!(
            s,
            r#","flow":{{"pkts_toserver":{},"pkts_toclient":{},"bytes_toserver":{},"bytes_toclient":{},"start":"{}"}},"community_id":"{}"}}"#,
            f.pkts[0],
            f.pkts[1],
            f.bytes[0],
            f.bytes[1],
            ts(f.start),
            community_id(r)
        );
        self.push_line(2, &s);
    }
}

/// `n` events over the 24 hours, in the order the engine writes them (a flow's application
/// events and alerts before the flow event, flows by end time).
fn generate(n: u64, seed: u64, flows_only: bool, keep_rows: bool) -> Generated {
    let mut g = Gen {
        rng: Rng(seed),
        flows_only,
        keep_rows,
        incidents: Vec::new(),
        out: Generated {
            lines: Vec::with_capacity((n as usize).saturating_mul(470)),
            ..Generated::default()
        },
    };
    // Per flow: app events for 19 % of http/dns/tls flows (80 % of flows) and alerts on
    // 2.35 % of flows give about 85 : 13 : 2.
    let step = (DAY_US as f64 / n as f64).max(1.0);
    let mut emitted = 0u64;
    while emitted < n {
        let end = DAY0_US + (emitted as f64 * step) as i64 + g.rng.below(step as u64) as i64;
        let mut f = g.flow(end);
        if !g.flows_only {
            if matches!(f.app, Some("http" | "dns" | "tls")) && g.rng.chance(0.19) && emitted < n {
                g.write_app(&f);
                emitted += 1;
            }
            if g.rng.chance(0.0235) && emitted < n {
                g.write_alert(&mut f);
                emitted += 1;
            }
        }
        if emitted < n {
            g.write_flow(&f);
            emitted += 1;
        }
    }
    g.out
}

// ---- A: ingest -----------------------------------------------------------------------------

struct IngestRun {
    secs: f64,
    /// Until the last chunk was handed over (the rest is the writer catching up).
    write_secs: f64,
    events: u64,
    dropped: u64,
    invalid: u64,
    commits: u64,
    alerts: u64,
    alert_groups: u64,
    /// Events per second in each whole second of the run.
    per_sec: Vec<f64>,
}

fn ingest(store: &Store, lines: &[u8]) -> Result<IngestRun> {
    let ing = Ingest::start(store, IngestConfig::default(), None)?;
    let counters = Arc::clone(ing.counters());
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (counters, stop) = (Arc::clone(&counters), Arc::clone(&stop));
        std::thread::spawn(move || {
            let t0 = Instant::now();
            let mut samples = vec![0u64];
            let mut next = Duration::from_secs(1);
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
                if t0.elapsed() >= next {
                    samples.push(counters.events.load(Ordering::Relaxed));
                    next += Duration::from_secs(1);
                }
            }
            samples
        })
    };
    let t0 = Instant::now();
    let mut input = ing.input();
    for chunk in lines.chunks(CHUNK) {
        input.write_all(chunk)?;
    }
    drop(input);
    let write_secs = t0.elapsed().as_secs_f64();
    ing.finish()?;
    let secs = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().map_err(|_| "sampler panicked")?;
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Ok(IngestRun {
        secs,
        write_secs,
        events: g(&counters.events),
        dropped: g(&counters.dropped),
        invalid: g(&counters.invalid),
        commits: g(&counters.commits),
        alerts: g(&counters.alerts),
        alert_groups: g(&counters.alert_groups),
        per_sec: samples.windows(2).map(|w| (w[1] - w[0]) as f64).collect(),
    })
}

/// Flushes a database and its WAL to disk, so that the next timed phase does not pay for
/// this one's write-back.
fn sync_db(path: &Path) -> Result<()> {
    for p in [path.to_path_buf(), wal_path(path)] {
        if let Ok(f) = File::open(&p) {
            f.sync_all()?;
        }
    }
    Ok(())
}

fn wal_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

struct ReferenceRun {
    secs: f64,
    rows: u64,
    bytes: u64,
}

/// The same flow rows through a minimal rusqlite loop: `flows` and its indexes as the store
/// creates them, one prepared INSERT, one transaction per 20,000 rows, WAL, NORMAL.
fn reference(dir: &Path, store: &Store, g: &Generated) -> Result<ReferenceRun> {
    let path = dir.join("reference.sqlite");
    let text = std::str::from_utf8(&g.lines)?;
    let conn = Connection::open(&path)?;
    let auto_vacuum: i64 = store
        .conn()
        .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
    conn.execute_batch(&format!("PRAGMA auto_vacuum = {auto_vacuum}"))?;
    let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA synchronous = NORMAL")?;
    let ddl: Vec<String> = store
        .conn()
        .prepare(
            "SELECT sql FROM sqlite_schema WHERE tbl_name = 'flows' AND sql IS NOT NULL
             ORDER BY type = 'index', name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for sql in &ddl {
        conn.execute_batch(sql)?;
    }
    let t0 = Instant::now();
    {
        let mut ins = conn.prepare(
            "INSERT INTO flows (ts, ts_end, flow_id, src_ip, src_key, src_port, dest_ip,
             dest_key, dest_port, proto, app_proto, pkts_toserver, pkts_toclient,
             bytes_toserver, bytes_toclient, state, reason, alerted, event, hour)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20)",
        )?;
        for batch in g.rows.chunks(REF_BATCH) {
            conn.execute_batch("BEGIN")?;
            for r in batch {
                ins.execute(params![
                    r.ts,
                    r.ts_end,
                    r.flow_id,
                    r.src_ip,
                    &r.src_key[..],
                    r.src_port,
                    r.dest_ip,
                    &r.dest_key[..],
                    r.dest_port,
                    r.proto,
                    r.app_proto,
                    r.pkts[0],
                    r.pkts[1],
                    r.bytes[0],
                    r.bytes[1],
                    r.state,
                    r.reason,
                    r.alerted,
                    &text[r.line.clone()],
                    r.ts.div_euclid(3_600_000_000),
                ])?;
            }
            conn.execute_batch("COMMIT")?;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    drop(conn);
    for p in [
        path.clone(),
        wal_path(&path),
        dir.join("reference.sqlite-shm"),
    ] {
        let _ = std::fs::remove_file(p);
    }
    Ok(ReferenceRun {
        secs,
        rows: g.rows.len() as u64,
        bytes: (pages * size) as u64,
    })
}

// ---- B: queries ----------------------------------------------------------------------------

/// Writes the WAL back into the database and drops the file from the OS page cache, so the
/// next query reads from disk. False if the cache could not be dropped.
fn evict(store: &Store) -> Result<bool> {
    let _: (i64, i64, i64) =
        store
            .conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
    let f = File::open(store.path())?;
    f.sync_all()?;
    Ok(drop_cache(&f))
}

#[cfg(target_os = "linux")]
fn drop_cache(f: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the duration of the call; the advice only affects
    // the page cache.
    unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn drop_cache(_: &File) -> bool {
    false
}

fn ms<T>(f: impl FnOnce() -> Result<T>) -> Result<(f64, T)> {
    let t0 = Instant::now();
    let v = f()?;
    Ok((t0.elapsed().as_secs_f64() * 1000.0, v))
}

/// Timings of one query: cold (file evicted, new connection), new connection, warm.
#[derive(Default)]
struct Times {
    cold_disk: Vec<f64>,
    cold_conn: Vec<f64>,
    warm: Vec<f64>,
}

impl Times {
    /// Runs `q` cold from disk, on a new connection, then warm; returns the rows of the
    /// first run.
    fn run(
        &mut self,
        store: &Store,
        evicted: &mut bool,
        q: impl Fn(&Store) -> Result<usize>,
    ) -> Result<usize> {
        *evicted &= evict(store)?;
        let s = store.reopen()?;
        let (t, rows) = ms(|| q(&s))?;
        self.cold_disk.push(t);
        drop(s);
        let s = store.reopen()?;
        self.cold_conn.push(ms(|| q(&s))?.0);
        for _ in 0..WARM_RUNS {
            self.warm.push(ms(|| q(&s))?.0);
        }
        Ok(rows)
    }
}

struct Pick {
    hour: i64,
    net: String,
    matching: i64,
    rows: usize,
    rows_by_bytes: usize,
    /// cold (disk), cold (connection), warm median.
    ms: [f64; 3],
}

/// Flows of `net` starting in the hour, as the store's flows query selects them.
fn matching(store: &Store, from: i64, net: &str) -> Result<i64> {
    let (lo, hi) = net_range(&parse_net(net)?);
    Ok(store.conn().query_row(
        "SELECT count(*) FROM flows WHERE ts >= ?1 AND ts < ?2
         AND (src_key BETWEEN ?3 AND ?4 OR dest_key BETWEEN ?3 AND ?4)",
        params![from, from + HOUR_US, &lo[..], &hi[..]],
        |r| r.get(0),
    )?)
}

// ---- the report ----------------------------------------------------------------------------

fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// min, median, p95 (nearest rank), max.
fn stats(v: &[f64]) -> [f64; 4] {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return [0.0; 4];
    }
    let at = |q: f64| s[((q * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1];
    [s[0], at(0.5), at(0.95), s[s.len() - 1]]
}

fn median(v: &[f64]) -> f64 {
    stats(v)[1]
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

fn first_line(path: &str, key: &str) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() -> Result<()> {
    let a = args()?;
    let mut out = String::new();
    let load_start = loadavg();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());

    // ---- A ----
    eprintln!("store_bench: generating {} events", group(a.events));
    let t = Instant::now();
    let g = generate(a.events, a.seed, false, true);
    let gen_secs = t.elapsed().as_secs_f64();
    let n = g.count.iter().sum::<u64>();
    eprintln!(
        "store_bench: {} events, {} in {gen_secs:.1} s",
        group(n),
        mb(g.lines.len() as u64)
    );

    let path = a.dir.join("store.sqlite");
    let store = Store::open(&path)?;

    eprintln!(
        "store_bench: reference: {} flow rows through plain rusqlite",
        group(g.rows.len() as u64)
    );
    let rf = reference(&a.dir, &store, &g)?;
    eprintln!("store_bench: reference: {:.2} s", rf.secs);

    eprintln!(
        "store_bench: ingesting {} events through the store",
        group(n)
    );
    let run = ingest(&store, &g.lines)?;
    sync_db(&path)?;
    eprintln!("store_bench: ingest: {:.2} s", run.secs);
    let flows_a = store.count("flows")?;
    let size_a = store.size_bytes()?;
    let (events_rows, alert_rows, alert_events) = (
        store.count("events")?,
        store.count("alerts")?,
        store.count("alert_events")?,
    );
    let (file_a, wal_a) = (file_size(&path), file_size(&wal_path(&path)));
    let eve_bytes = g.lines.len() as u64;
    let flow_line_avg = g.bytes[0] as f64 / g.count[0].max(1) as f64;
    let ref_rows = rf.rows;
    let counts = g.count;
    drop(g);

    let rate = n as f64 / run.secs;
    let ref_rate = ref_rows as f64 / rf.secs;
    // Whole seconds only, without the first and last (start-up, the tail of the queue).
    let inner: Vec<f64> = if run.per_sec.len() > 2 {
        run.per_sec[1..run.per_sec.len() - 1].to_vec()
    } else {
        Vec::new()
    };
    let [min_s, med_s, _, _] = stats(&inner);

    // ---- B: make sure of the flows ----
    let mut topup = None;
    if flows_a < a.query_flows {
        let need = a.query_flows - flows_a;
        eprintln!(
            "store_bench: topping up the store with {} flow events for the queries",
            group(need)
        );
        let extra = generate(need, a.seed.wrapping_add(1000), true, false);
        let r = ingest(&store, &extra.lines)?;
        sync_db(&path)?;
        topup = Some((need, r));
    }
    let flows_b = store.count("flows")?;
    let size_b = store.size_bytes()?;
    let rollup_hosts = store.count("rollup_hosts")?;

    // Hours and client /24s: 20 different of each.
    eprintln!("store_bench: choosing {PICKS} hours and /24s with traffic");
    let mut picks = Vec::new();
    let mut cand = 0u32;
    for i in 0..PICKS as i64 {
        let hour = (i * 7 + 3) % 24;
        let from = DAY0_US + hour * HOUR_US;
        loop {
            let s = (cand * 37 + 11) % CLIENT_SUBNETS;
            cand += 1;
            let (x, y) = subnet(s);
            let net = format!("10.{x}.{y}.0/24");
            let m = matching(&store, from, &net)?;
            if m > 0 || cand > 10 * CLIENT_SUBNETS {
                picks.push(Pick {
                    hour,
                    net,
                    matching: m,
                    rows: 0,
                    rows_by_bytes: 0,
                    ms: [0.0; 3],
                });
                break;
            }
        }
    }

    eprintln!("store_bench: timing the queries");
    let mut evicted = true;
    let (mut by_time, mut by_bytes) = (Times::default(), Times::default());
    for p in &mut picks {
        let f = Filter {
            from: Some(DAY0_US + p.hour * HOUR_US),
            to: Some(DAY0_US + (p.hour + 1) * HOUR_US),
            net: vec![parse_net(&p.net)?],
            ..Filter::default()
        };
        let page = Page {
            limit: 100,
            ..Page::default()
        };
        let before = by_time.warm.len();
        p.rows = by_time.run(&store, &mut evicted, |s| Ok(s.flows(&f, &page)?.len()))?;
        p.ms = [
            by_time.cold_disk[by_time.cold_disk.len() - 1],
            by_time.cold_conn[by_time.cold_conn.len() - 1],
            median(&by_time.warm[before..]),
        ];
        let page = Page {
            limit: 100,
            sort: Some("bytes".into()),
            ..Page::default()
        };
        p.rows_by_bytes = by_bytes.run(&store, &mut evicted, |s| Ok(s.flows(&f, &page)?.len()))?;
    }
    let day = Filter {
        from: Some(DAY0_US),
        to: Some(DAY0_US + DAY_US),
        ..Filter::default()
    };
    let mut top = Times::default();
    let top_rows = top.run(&store, &mut evicted, |s| {
        Ok(s.top(TopKind::Talkers, Metric::Bytes, &day, 10)?.len())
    })?;
    let mut series = Times::default();
    let series_rows = series.run(&store, &mut evicted, |s| {
        Ok(s.series(Metric::Bytes, SeriesGroup::AppProto, &day, 300)?
            .len())
    })?;
    let load_end = loadavg();

    // ---- the report ----
    let w = &mut out;
    let _ = writeln!(w, "## NTA store benchmark\n");
    let _ = writeln!(w, "Command: `{}`", a.command);
    let _ = writeln!(
        w,
        "Machine: {} CPUs ({}), SQLite {}, store on {} (`{}`); load average {} at the start, {} at the end.\n",
        cpus,
        first_line("/proc/cpuinfo", "model name"),
        rusqlite::version(),
        a.fs,
        a.dir.display(),
        load_start,
        load_end
    );
    let _ = writeln!(w, "### A. Ingest\n");
    let _ = writeln!(
        w,
        "{} events generated in {gen_secs:.1} s before timing: {} flow, {} app (http, dns, tls), {} alert; {} of EVE, {:.0} B/event, {:.0} B/flow event; 24 h of timestamps.\n",
        group(n),
        group(counts[0]),
        group(counts[1]),
        group(counts[2]),
        mb(eve_bytes),
        eve_bytes as f64 / n as f64,
        flow_line_avg
    );
    let _ = writeln!(w, "| measure | value | target |");
    let _ = writeln!(w, "|---|---|---|");
    let _ = writeln!(
        w,
        "| NTA store ingest (`Ingest::input`, 256 KiB writes, until `finish()`) | {} events/s ({:.2} s; last write handed over at {:.2} s) | ≥ 100,000: {} |",
        group(rate as u64),
        run.secs,
        run.write_secs,
        verdict(rate >= TARGET_EVENTS_PER_SEC)
    );
    let stalls = inner.iter().filter(|&&r| r == 0.0).count();
    if inner.is_empty() {
        let _ = writeln!(
            w,
            "| sustained, per whole second (min / median) | n/a (shorter than 3 s) | |"
        );
    } else {
        let _ = writeln!(
            w,
            "| sustained, per whole second (min / median) | {} / {} events/s; {} of {} seconds with no event written | |",
            group(min_s as u64),
            group(med_s as u64),
            stalls,
            inner.len()
        );
    }
    let _ = writeln!(
        w,
        "| reference: plain rusqlite, the {} flow rows only | {} rows/s ({:.2} s) | |",
        group(ref_rows),
        group(ref_rate as u64),
        rf.secs
    );
    let _ = writeln!(
        w,
        "| ratio NTA events/s / reference rows/s | {:.2} | |",
        rate / ref_rate
    );
    let _ = writeln!(
        w,
        "| stored | {} flows, {} events, {} alert events in {} alerts ({:.1} per alert) | |",
        group(flows_a),
        group(events_rows),
        group(alert_events),
        group(alert_rows),
        alert_events as f64 / alert_rows.max(1) as f64
    );
    let _ = writeln!(
        w,
        "| writer counters | {} events, {} commits, {} dropped, {} invalid, {} alerts, {} new alerts | |",
        group(run.events),
        group(run.commits),
        group(run.dropped),
        group(run.invalid),
        group(run.alerts),
        group(run.alert_groups)
    );
    let _ = writeln!(
        w,
        "| database size (pages in use) | {} ({:.0} B/event); file {}, WAL {} | |",
        mb(size_a),
        size_a as f64 / n as f64,
        mb(file_a),
        mb(wal_a)
    );
    let _ = writeln!(
        w,
        "| reference database size | {} ({:.0} B/flow row) | |",
        mb(rf.bytes),
        rf.bytes as f64 / ref_rows.max(1) as f64
    );
    if let Some((need, r)) = &topup {
        let _ = writeln!(
            w,
            "| top-up for B: {} flow events only | {} events/s ({:.2} s) | |",
            group(*need),
            group((*need as f64 / r.secs) as u64),
            r.secs
        );
    }
    let _ = writeln!(w);

    let _ = writeln!(w, "### B. History queries\n");
    let _ = writeln!(
        w,
        "Store: {} flows over 24 h, {} in use; rollup_hosts {} rows as the writers left it. Cold: first run on a new connection after the file was evicted from the OS page cache{}; new connection: first run on a new connection, OS cache warm; warm: {} more runs on that connection.\n",
        group(flows_b),
        mb(size_b),
        group(rollup_hosts),
        if evicted {
            ""
        } else {
            " (**could not evict**: cold is OS-cache-warm)"
        },
        WARM_RUNS
    );
    let max = |v: &[f64]| stats(v)[3];
    let _ = writeln!(
        w,
        "Target, one hour of one /24 (newest 100) over {} flows in under 200 ms{}: warm, max {:.1} ms: {}; new connection, max {:.1} ms: {}; cold from disk, max {:.1} ms: {}.\n",
        group(flows_b),
        if flows_b < 1_000_000 {
            " (**fewer than 1,000,000 flows**: --query-flows was lowered)"
        } else {
            ""
        },
        max(&by_time.warm),
        verdict(max(&by_time.warm) < TARGET_QUERY_MS),
        max(&by_time.cold_conn),
        verdict(max(&by_time.cold_conn) < TARGET_QUERY_MS),
        max(&by_time.cold_disk),
        verdict(max(&by_time.cold_disk) < TARGET_QUERY_MS)
    );
    let _ = writeln!(
        w,
        "| query | runs | min ms | median ms | p95 ms | max ms | < 200 ms |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|");
    let row = |w: &mut String, name: &str, v: &[f64]| {
        let [lo, med, p95, hi] = stats(v);
        let _ = writeln!(
            w,
            "| {name} | {} | {lo:.1} | {med:.1} | {p95:.1} | {hi:.1} | {} |",
            v.len(),
            verdict(hi < TARGET_QUERY_MS)
        );
    };
    for (name, t) in [
        ("flows, 1 h, one /24, newest 100", &by_time),
        ("flows, 1 h, one /24, top 100 by bytes", &by_bytes),
        ("top talkers by bytes, 24 h", &top),
        ("series bytes by app_proto, 24 h, 300 s", &series),
    ] {
        row(w, &format!("{name}: cold"), &t.cold_disk);
        row(w, &format!("{name}: new connection"), &t.cold_conn);
        row(w, &format!("{name}: warm"), &t.warm);
    }
    let _ = writeln!(
        w,
        "\nTop talkers returned {top_rows} rows, the series {series_rows} points, from {} rows of rollup_hosts (each minute's top hosts; a flow ending in a minute already written adds rows to it).\n",
        group(rollup_hosts)
    );
    let _ = writeln!(
        w,
        "| hour (UTC) | /24 | flows in the hour | rows (newest) | rows (by bytes) | cold ms | new conn. ms | warm median ms |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|");
    for p in &picks {
        let _ = writeln!(
            w,
            "| {:02}:00 | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} |",
            p.hour,
            p.net,
            group(p.matching as u64),
            p.rows,
            p.rows_by_bytes,
            p.ms[0],
            p.ms[1],
            p.ms[2]
        );
    }
    print!("{out}");
    std::io::stdout().flush()?;
    Ok(())
}
