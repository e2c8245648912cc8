//! Helpers shared by the end-to-end tests: running the real `nta` binary, reading its EVE
//! output, and building capture files byte by byte (pcap, pcapng, Ethernet/IP/TCP/UDP frames).
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The binary under test.
pub const NTA: &str = env!("CARGO_BIN_EXE_nta");

/// What one run of `nta` showed the user.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from_output(o: Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Every EVE event on stdout; panics (failing the test) on a line that is not JSON.
    pub fn events(&self) -> Vec<Value> {
        parse_events(&self.stdout)
    }

    /// Asserts the exit code, showing stderr on failure.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "exit code; stderr:\n{}\nstdout (first 2000 chars):\n{}",
            self.stderr,
            self.stdout.chars().take(2000).collect::<String>()
        );
        self
    }

    /// The single `nta: error: ...` line, asserting the error format.
    pub fn error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one line on stderr, got:\n{}",
            self.stderr
        );
        assert!(
            lines[0].starts_with("nta: error: "),
            "stderr should start with `nta: error:`: {}",
            lines[0]
        );
        lines[0]
    }
}

/// Parses EVE JSON lines.
pub fn parse_events(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

/// Runs `nta ARGS` with empty stdin.
pub fn nta(args: &[&str]) -> Run {
    let o = Command::new(NTA)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running nta");
    Run::from_output(o)
}

/// Runs `nta ARGS` with `input` on stdin.
pub fn nta_stdin(args: &[&str], input: &[u8]) -> Run {
    let mut child = Command::new(NTA)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running nta");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    // Write from another thread: nta may fill its stdout pipe before reading all of stdin.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let o = child.wait_with_output().expect("waiting for nta");
    writer.join().expect("stdin writer");
    Run::from_output(o)
}

/// `nta read FILES -q [EXTRA]`, expecting exit 0; returns the events.
pub fn read_ok(files: &[&Path], extra: &[&str]) -> Vec<Value> {
    let mut args: Vec<String> = vec!["read".into(), "-q".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = nta(&args);
    run.expect_code(0);
    run.events()
}

/// The `flow` events.
pub fn flows(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["event_type"] == "flow")
        .collect()
}

/// The last `stats` event, asserting there is one and that it is the last event.
pub fn final_stats(events: &[Value]) -> &Value {
    let last = events.last().expect("no events at all");
    assert_eq!(
        last["event_type"], "stats",
        "the last event should be the final stats event: {last}"
    );
    &last["stats"]
}

/// Flow events as canonical JSON lines, sorted: a multiset comparable across runs.
pub fn sorted_flow_lines(events: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = flows(events).iter().map(|f| f.to_string()).collect();
    v.sort();
    v
}

/// `src_ip:src_port -> dest_ip:dest_port proto` of a flow, for messages and lookups.
pub fn flow_label(f: &Value) -> String {
    format!(
        "{}:{} -> {}:{} {}",
        f["src_ip"].as_str().unwrap_or("?"),
        f["src_port"],
        f["dest_ip"].as_str().unwrap_or("?"),
        f["dest_port"],
        f["proto"].as_str().unwrap_or("?")
    )
}

/// The flows whose client and server addresses are `a` and `b` (either way round).
pub fn flows_between<'a>(events: &'a [Value], a: &str, b: &str) -> Vec<&'a Value> {
    let (a, b): (IpAddr, IpAddr) = (a.parse().expect("addr"), b.parse().expect("addr"));
    flows(events)
        .into_iter()
        .filter(|f| {
            let s: Option<IpAddr> = f["src_ip"].as_str().and_then(|s| s.parse().ok());
            let d: Option<IpAddr> = f["dest_ip"].as_str().and_then(|s| s.parse().ok());
            (s == Some(a) && d == Some(b)) || (s == Some(b) && d == Some(a))
        })
        .collect()
}

/// Reads a nested counter such as `decoder.event.ipv4.truncated` from a stats object.
pub fn counter(stats: &Value, dotted: &str) -> u64 {
    let mut v = stats;
    for part in dotted.split('.') {
        v = &v[part];
    }
    v.as_u64().unwrap_or(0)
}

/// `../shared/data` relative to the workspace root, or `None` after printing why the caller
/// skips.
pub fn data_dir() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if p.is_dir() {
        Some(p)
    } else {
        println!("SKIPPED: test data directory {} is absent", p.display());
        None
    }
}

/// The zeek test captures, sorted by name (None after printing why when absent).
pub fn zeek_pcaps() -> Option<Vec<PathBuf>> {
    captures_in("pcaps/zeek")
}

/// The captures (`.pcap`, `.pcapng`) of a folder of the shared data, sorted.
pub fn captures_in(folder: &str) -> Option<Vec<PathBuf>> {
    let dir = data_dir()?.join(folder);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no captures in {}", dir.display());
    Some(v)
}

/// A file of the zeek captures by stem (`Teredo`, `gre-sample`, ...).
pub fn zeek_pcap(stem: &str) -> Option<PathBuf> {
    let p = data_dir()?.join("pcaps/zeek").join(format!("{stem}.pcap"));
    assert!(
        p.is_file(),
        "{} missing from the data directory",
        p.display()
    );
    Some(p)
}

/// Whether an executable is on PATH.
pub fn have_tool(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            let p = d.join(name);
            p.is_file()
                && std::fs::metadata(&p)
                    .map(|m| {
                        use std::os::unix::fs::PermissionsExt;
                        m.permissions().mode() & 0o111 != 0
                    })
                    .unwrap_or(false)
        })
    })
}

/// Whether this process runs with effective uid 0.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Writes `nta gen` output to `path`.
pub fn gen_pcap(path: &Path, packets: u64, flows: u64, extra: &[&str]) {
    let p = path.display().to_string();
    let packets = packets.to_string();
    let flows = flows.to_string();
    let mut args = vec![
        "gen",
        "--pcap",
        &p,
        "--packets",
        &packets,
        "--flows",
        &flows,
    ];
    args.extend_from_slice(extra);
    nta(&args).expect_code(0);
}

/// Counts of flows keyed by a label; handy in assertion messages.
pub fn label_counts(fs: &[&Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for f in fs {
        *m.entry(flow_label(f)).or_insert(0) += 1;
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Capture files.

/// LINKTYPE numbers used in tests.
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const RAW: u32 = 101;
    pub const LINUX_SLL: u32 = 113;
}

/// A classic pcap file (microsecond timestamps, little-endian) built in memory.
#[derive(Clone, Debug)]
pub struct Pcap {
    bytes: Vec<u8>,
    /// File offset of each record header.
    pub record_offsets: Vec<usize>,
}

impl Pcap {
    pub fn new(linktype: u32) -> Pcap {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&0i32.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&262_144u32.to_le_bytes());
        bytes.extend_from_slice(&linktype.to_le_bytes());
        Pcap {
            bytes,
            record_offsets: Vec::new(),
        }
    }

    /// Adds a frame captured whole at `ts_us` microseconds since the epoch.
    pub fn packet(&mut self, ts_us: u64, frame: &[u8]) -> &mut Pcap {
        self.packet_orig(ts_us, frame, frame.len() as u32)
    }

    /// Adds a frame whose original length on the wire was `orig_len`.
    pub fn packet_orig(&mut self, ts_us: u64, frame: &[u8], orig_len: u32) -> &mut Pcap {
        self.record_offsets.push(self.bytes.len());
        self.bytes
            .extend_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&orig_len.to_le_bytes());
        self.bytes.extend_from_slice(frame);
        self
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn write(&self, path: &Path) {
        std::fs::write(path, &self.bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// A pcapng file built block by block (little-endian, microsecond timestamps).
#[derive(Clone, Debug, Default)]
pub struct Pcapng {
    bytes: Vec<u8>,
}

impl Pcapng {
    fn block(&mut self, kind: u32, body: &[u8]) {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        self.bytes.extend_from_slice(&kind.to_le_bytes());
        self.bytes.extend_from_slice(&total.to_le_bytes());
        self.bytes.extend_from_slice(body);
        self.bytes.resize(self.bytes.len() + padded - body.len(), 0);
        self.bytes.extend_from_slice(&total.to_le_bytes());
    }

    /// A section header block.
    pub fn new() -> Pcapng {
        let mut p = Pcapng::default();
        let mut body = Vec::new();
        body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
        p.block(0x0a0d_0d0a, &body);
        p
    }

    /// An interface description block (interfaces are numbered in order from 0).
    pub fn interface(&mut self, linktype: u32) -> &mut Pcapng {
        let mut body = Vec::new();
        body.extend_from_slice(&(linktype as u16).to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&262_144u32.to_le_bytes());
        self.block(1, &body);
        self
    }

    /// An enhanced packet block on interface `if_id` at `ts_us` microseconds.
    pub fn packet(&mut self, if_id: u32, ts_us: u64, frame: &[u8]) -> &mut Pcapng {
        let mut body = Vec::new();
        body.extend_from_slice(&if_id.to_le_bytes());
        body.extend_from_slice(&((ts_us >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts_us as u32).to_le_bytes());
        body.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        body.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        body.extend_from_slice(frame);
        body.resize(body.len().div_ceil(4) * 4, 0);
        self.block(6, &body);
        self
    }

    pub fn write(&self, path: &Path) {
        std::fs::write(path, &self.bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

// ---------------------------------------------------------------------------------------------
// Frames.

pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
pub const ETH_IPV4: u16 = 0x0800;
pub const ETH_VLAN: u16 = 0x8100;
pub const ETH_QINQ: u16 = 0x88a8;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

/// TCP flag bits.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// An Ethernet II frame.
pub fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An 802.1Q/802.1ad tag (TCI with VLAN id `vid`) followed by `ethertype` and `payload`:
/// the payload of an Ethernet frame of type 0x8100 or 0x88a8.
pub fn vlan_tag(vid: u16, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(4 + payload.len());
    f.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// IPv4 header fields a test may want to vary.
#[derive(Clone, Copy, Debug)]
pub struct Ipv4 {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub proto: u8,
    pub id: u16,
    pub ttl: u8,
    /// Fragment offset in bytes (a multiple of 8).
    pub frag_offset: usize,
    pub more_fragments: bool,
    /// Overrides the total length field.
    pub total_len: Option<u16>,
}

impl Ipv4 {
    pub fn new(src: [u8; 4], dst: [u8; 4], proto: u8) -> Ipv4 {
        Ipv4 {
            src,
            dst,
            proto,
            id: 1,
            ttl: 64,
            frag_offset: 0,
            more_fragments: false,
            total_len: None,
        }
    }

    /// The IPv4 packet carrying `payload`.
    pub fn build(&self, payload: &[u8]) -> Vec<u8> {
        let total = self.total_len.unwrap_or((20 + payload.len()) as u16);
        let frag = ((self.frag_offset / 8) as u16) | if self.more_fragments { 0x2000 } else { 0 };
        let mut h = vec![0x45, 0];
        h.extend_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&self.id.to_be_bytes());
        h.extend_from_slice(&frag.to_be_bytes());
        h.extend_from_slice(&[self.ttl, self.proto, 0, 0]);
        h.extend_from_slice(&self.src);
        h.extend_from_slice(&self.dst);
        let c = checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h.extend_from_slice(payload);
        h
    }
}

/// A UDP datagram (checksum 0: none, allowed over IPv4).
pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::with_capacity(8 + payload.len());
    d.extend_from_slice(&sport.to_be_bytes());
    d.extend_from_slice(&dport.to_be_bytes());
    d.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    d
}

/// A TCP segment with a 20-byte header (checksum left 0).
pub fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::with_capacity(20 + payload.len());
    d.extend_from_slice(&sport.to_be_bytes());
    d.extend_from_slice(&dport.to_be_bytes());
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&ack.to_be_bytes());
    d.extend_from_slice(&[5 << 4, flags]);
    d.extend_from_slice(&65535u16.to_be_bytes());
    d.extend_from_slice(&[0, 0, 0, 0]);
    d.extend_from_slice(payload);
    d
}

/// Ethernet + IPv4 + UDP.
pub fn eth_udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let ip = Ipv4::new(src, dst, PROTO_UDP).build(&udp(sport, dport, payload));
    eth(MAC_B, MAC_A, ETH_IPV4, &ip)
}

/// Ethernet + IPv4 + TCP.
pub fn eth_tcp(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let ip = Ipv4::new(src, dst, PROTO_TCP).build(&tcp(sport, dport, 1000, 0, flags, payload));
    eth(MAC_B, MAC_A, ETH_IPV4, &ip)
}

/// A small deterministic PRNG (xorshift64*), so fuzz inputs are reproducible.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}
