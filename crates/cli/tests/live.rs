//! `nta capture` on real packets: each test creates a network namespace with a veth pair
//! (one end inside it), captures on the host end, sends known traffic from inside the namespace
//! to the host end only, stops nta with SIGINT and checks what it wrote. The namespace and
//! veth pair are always removed (a drop guard), and packets only ever go between the two veth
//! ends.
//!
//! Needs root and `ip netns`; prints `SKIPPED: <reason>` otherwise. ICMP echo and UDP are sent
//! with python3 (raw and datagram sockets), so python3 is needed too.
//!
//! An idle capture only notices SIGINT when a packet arrives (the ignored test
//! `idle_capture_stops_on_sigint_and_writes_stats`), so after SIGINT the tests send "nudge"
//! datagrams to a port of their own until nta exits, and leave those flows out of the checks.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Packets sent by [`send_traffic`]: 5 echo requests, 5 replies, 3 datagrams.
const ECHOES: u64 = 5;
const DATAGRAMS: u64 = 3;

fn ip_cmd(args: &[&str]) -> Result<(), String> {
    let o = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    }
}

/// A network namespace holding one end of a veth pair; the other end is in the test's
/// namespace. Removed on drop.
struct VethPair {
    ns: String,
    host_if: String,
    peer_if: String,
    host_ip: Ipv4Addr,
    peer_ip: Ipv4Addr,
}

impl VethPair {
    /// Test `index` (0..64) gets its own namespace, interfaces and /30.
    fn create(index: u8) -> Result<VethPair, String> {
        assert!(index < 64);
        let pid = std::process::id();
        let x = (pid % 250) as u8 + 1;
        let base = index * 4;
        let pair = VethPair {
            ns: format!("nta-t{pid}-{index}"),
            host_if: format!("nta{pid}h{index}"),
            peer_if: format!("nta{pid}p{index}"),
            host_ip: Ipv4Addr::new(10, 199, x, base + 1),
            peer_ip: Ipv4Addr::new(10, 199, x, base + 2),
        };
        ip_cmd(&["netns", "add", &pair.ns])?;
        // From here on the guard removes whatever was created.
        ip_cmd(&[
            "link",
            "add",
            &pair.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &pair.peer_if,
            "netns",
            &pair.ns,
        ])?;
        // No IPv6 on either end, so the kernel sends nothing of its own (router solicitations,
        // MLD reports) while we capture.
        let _ = Command::new("sysctl")
            .args([
                "-qw",
                &format!("net.ipv6.conf.{}.disable_ipv6=1", pair.host_if),
            ])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "exec", &pair.ns, "sysctl", "-qw"])
            .arg(format!("net.ipv6.conf.{}.disable_ipv6=1", pair.peer_if))
            .status();
        let host_cidr = format!("{}/30", pair.host_ip);
        let peer_cidr = format!("{}/30", pair.peer_ip);
        ip_cmd(&["addr", "add", &host_cidr, "dev", &pair.host_if])?;
        ip_cmd(&["link", "set", &pair.host_if, "up"])?;
        ip_cmd(&[
            "-n",
            &pair.ns,
            "addr",
            "add",
            &peer_cidr,
            "dev",
            &pair.peer_if,
        ])?;
        ip_cmd(&["-n", &pair.ns, "link", "set", &pair.peer_if, "up"])?;
        ip_cmd(&["-n", &pair.ns, "link", "set", "lo", "up"])?;
        Ok(pair)
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        // Deleting the namespace deletes the peer end and with it the pair; delete the host end
        // too in case the pair was never moved.
        let _ = ip_cmd(&["netns", "del", &self.ns]);
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .stderr(Stdio::null())
            .status();
    }
}

/// Creates the pair, or prints why the test is skipped.
fn setup(index: u8) -> Option<VethPair> {
    if !is_root() {
        println!("SKIPPED: live capture on a veth pair needs root");
        return None;
    }
    if !have_tool("ip") {
        println!("SKIPPED: iproute2 (`ip`) not installed");
        return None;
    }
    if !have_tool("python3") {
        println!("SKIPPED: python3 (used to send ICMP echo and UDP) not installed");
        return None;
    }
    match VethPair::create(index) {
        Ok(p) => Some(p),
        Err(e) => {
            println!("SKIPPED: cannot create a network namespace with a veth pair: {e}");
            None
        }
    }
}

/// Runs `nta capture` until [`Capture::stop`].
struct Capture {
    child: Child,
    stderr: mpsc::Receiver<String>,
    stderr_seen: Vec<String>,
}

impl Capture {
    /// Starts nta and waits until it says it is capturing.
    fn start(args: &[&str]) -> Capture {
        let mut child = Command::new(NTA)
            .arg("capture")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting nta capture");
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut c = Capture {
            child,
            stderr: rx,
            stderr_seen: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match c.stderr.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(line) => {
                    let ready = line.contains("capturing on");
                    c.stderr_seen.push(line);
                    if ready {
                        return c;
                    }
                }
                Err(_) => {
                    let _ = c.child.kill();
                    let _ = c.child.wait();
                    panic!(
                        "nta capture did not start within 20 s; stderr:\n{}",
                        c.stderr_seen.join("\n")
                    );
                }
            }
        }
    }

    /// Waits (up to 20 s) for a line of stderr containing `text`.
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.stderr_seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!(
                    "no `{text}` on stderr within 20 s:\n{}",
                    self.stderr_seen.join("\n")
                ),
            }
        }
    }

    /// Sends SIGINT and waits for the exit code; returns it with everything on stderr.
    ///
    /// `nudge` is called every 300 ms while nta has not exited: an idle capture only notices
    /// SIGINT when a packet arrives (see [`idle_capture_stops_on_sigint_and_writes_stats`]).
    fn stop(mut self, mut nudge: impl FnMut()) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "could not send SIGINT to nta ({pid})");
        let started = Instant::now();
        let mut next_nudge = started + Duration::from_millis(300);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("waiting for nta") {
                break s;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("nta did not stop within 20 s of SIGINT");
            }
            if Instant::now() >= next_nudge {
                nudge();
                next_nudge = Instant::now() + Duration::from_millis(300);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // The stderr thread ends at EOF once nta has exited.
        while let Ok(l) = self.stderr.recv_timeout(Duration::from_secs(2)) {
            self.stderr_seen.push(l);
        }
        (status.code(), self.stderr_seen.join("\n"))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

const SENDER: &str = r#"
import socket, struct, sys, time
host, port, echoes, datagrams = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s > 0xffff:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

ident = 0x4e54
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
icmp.settimeout(3)
for seq in range(echoes):
    data = b"nta live test"
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + data), ident, seq) + data
    icmp.sendto(pkt, (host, 0))
    while True:
        r = icmp.recv(2048)
        ihl = (r[0] & 15) * 4
        t, _, _, rid, rseq = struct.unpack("!BBHHH", r[ihl:ihl + 8])
        if t == 0 and rid == ident and rseq == seq:
            break
    time.sleep(0.2)

udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(datagrams):
    udp.sendto(b"nta datagram %d" % i, (host, port))
    time.sleep(0.05)
"#;

/// From inside the namespace to the host end only: ICMP echo (answered by the host kernel)
/// and UDP datagrams to `port`, received by a socket of this test.
fn send_traffic(pair: &VethPair, port: u16) {
    let rx = UdpSocket::bind((pair.host_ip, port)).expect("binding the UDP receiver");
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let o = Command::new("ip")
        .args(["netns", "exec", &pair.ns, "python3", "-c", SENDER])
        .arg(pair.host_ip.to_string())
        .arg(port.to_string())
        .arg(ECHOES.to_string())
        .arg(DATAGRAMS.to_string())
        .output()
        .expect("running the sender");
    assert!(
        o.status.success(),
        "sender failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut buf = [0u8; 256];
    for i in 0..DATAGRAMS {
        let (n, from) = rx.recv_from(&mut buf).expect("receiving a datagram");
        assert_eq!(from.ip(), pair.peer_ip);
        assert_eq!(&buf[..n], format!("nta datagram {i}").as_bytes());
    }
}

fn read_eve(path: &Path) -> Vec<Value> {
    parse_events(&std::fs::read_to_string(path).expect("reading eve.json"))
}

fn port_for(pair: &VethPair) -> u16 {
    40_000 + (std::process::id() % 10_000) as u16 + u16::from(pair.host_ip.octets()[3])
}

/// Sends one datagram from the namespace to `nudge_port` on the host end, so that a capture
/// blocked on an idle interface wakes up and sees SIGINT. Works around the bug tested by
/// [`idle_capture_stops_on_sigint_and_writes_stats`]; harmless once it is fixed.
struct Nudger {
    ns: String,
    host_ip: Ipv4Addr,
    port: u16,
    /// Bound so the host does not answer with ICMP port unreachable.
    _rx: UdpSocket,
}

impl Nudger {
    fn new(pair: &VethPair) -> Nudger {
        let port = port_for(pair) + 1000;
        Nudger {
            ns: pair.ns.clone(),
            host_ip: pair.host_ip,
            port,
            _rx: UdpSocket::bind((pair.host_ip, port)).expect("binding the nudge receiver"),
        }
    }

    fn nudge(&self) {
        let script = format!(
            "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'nudge', ('{}', {}))",
            self.host_ip, self.port
        );
        let _ = Command::new("ip")
            .args(["netns", "exec", &self.ns, "python3", "-c", &script])
            .status();
    }
}

/// The flows of the test traffic, without the nudges.
fn test_flows(events: &[Value], nudge_port: u16) -> Vec<&Value> {
    flows(events)
        .into_iter()
        .filter(|f| f["dest_port"] != nudge_port)
        .collect()
}

/// The ICMP echo flow and the UDP flow the sender made, checked.
fn check_flows(events: &[Value], pair: &VethPair, port: u16, nudge_port: u16, icmp: bool) {
    let (h, p) = (pair.host_ip.to_string(), pair.peer_ip.to_string());
    for f in flows(events) {
        assert!(
            f["src_ip"] == p.as_str() && f["dest_ip"] == h.as_str(),
            "only traffic between the veth ends, started from the namespace: {f}"
        );
        assert_eq!(f["flow"]["reason"], "shutdown", "still open at SIGINT: {f}");
    }
    let fs = test_flows(events, nudge_port);
    let udp: Vec<&&Value> = fs.iter().filter(|f| f["proto"] == "UDP").collect();
    assert_eq!(udp.len(), 1, "{:?}", label_counts(&fs));
    let u = &udp[0];
    assert_eq!(u["dest_port"], port);
    assert_eq!(u["flow"]["pkts_toserver"], DATAGRAMS, "{u}");
    assert_eq!(u["flow"]["pkts_toclient"], 0, "{u}");
    // 14 (Ethernet) + 20 (IPv4) + 8 (UDP) + "nta datagram N".
    assert_eq!(u["flow"]["bytes_toserver"], DATAGRAMS * (42 + 14), "{u}");
    let echo: Vec<&&Value> = fs.iter().filter(|f| f["proto"] == "ICMP").collect();
    if icmp {
        assert_eq!(echo.len(), 1, "{:?}", label_counts(&fs));
        let e = &echo[0];
        assert_eq!(e["icmp_type"], 8);
        assert_eq!(e["flow"]["pkts_toserver"], ECHOES, "{e}");
        assert_eq!(e["flow"]["pkts_toclient"], ECHOES, "{e}");
        assert_eq!(e["flow"]["state"], "established");
        assert_eq!(fs.len(), 2, "{:?}", label_counts(&fs));
    } else {
        assert!(echo.is_empty(), "filtered out: {echo:?}");
        assert_eq!(fs.len(), 1, "{:?}", label_counts(&fs));
    }
}

#[test]
fn capture_on_veth_reports_flows_and_stats() {
    let Some(pair) = setup(0) else { return };
    let nudger = Nudger::new(&pair);
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    let eve_s = eve.display().to_string();
    let db = dir.path().join("live.sqlite");
    let db_s = db.display().to_string();
    let cap = Capture::start(&[
        "-i",
        &pair.host_if,
        "-o",
        &eve_s,
        "--stats-interval",
        "1",
        "--workers",
        "2",
        "--store",
        &db_s,
    ]);
    let port = port_for(&pair);
    send_traffic(&pair, port);
    let (code, stderr) = cap.stop(|| nudger.nudge());
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert!(stderr.contains("kernel:"), "summary on stderr: {stderr}");

    let events = read_eve(&eve);
    check_flows(&events, &pair, port, nudger.port, true);
    let stats = final_stats(&events);
    let sent = 2 * ECHOES + DATAGRAMS;
    assert!(
        counter(stats, "capture.kernel_packets") >= sent,
        "kernel_packets >= {sent}: {}",
        stats["capture"]
    );
    assert!(
        stats["capture"]["kernel_drops"].is_u64(),
        "kernel_drops present: {}",
        stats["capture"]
    );
    assert!(stats["capture"]["kernel_ifdrops"].is_u64());
    assert!(
        counter(stats, "decoder.pkts") >= sent,
        "{}",
        stats["decoder"]
    );
    // The echoes alone take over a second, with packets arriving all along.
    let periodic: Vec<&Value> = events[..events.len() - 1]
        .iter()
        .filter(|e| e["event_type"] == "stats")
        .collect();
    assert!(!periodic.is_empty(), "no periodic stats event");
    for s in &periodic {
        assert!(s["stats"]["capture"]["kernel_packets"].is_u64(), "{s}");
        assert!(s["stats"]["store"]["events"].is_u64(), "{s}");
    }
    // The live store holds the same flows as the EVE file, nothing dropped.
    let run = common::nta(&[
        "history", "flows", "--store", &db_s, "--json", "--limit", "10000",
    ]);
    run.expect_code(0);
    let stored = run.events();
    let eve_flows = events.iter().filter(|e| e["event_type"] == "flow").count();
    assert_eq!(stored.len(), eve_flows);
    assert_eq!(counter(stats, "store.dropped"), 0);
}

#[test]
fn capture_writes_a_pcap_that_reads_back_the_same() {
    let Some(pair) = setup(1) else { return };
    let nudger = Nudger::new(&pair);
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    let out = dir.path().join("out.pcap");
    let (eve_s, out_s) = (eve.display().to_string(), out.display().to_string());
    let cap = Capture::start(&[
        "-i",
        &pair.host_if,
        "-o",
        &eve_s,
        "-w",
        &out_s,
        "--workers",
        "1",
    ]);
    let port = port_for(&pair);
    send_traffic(&pair, port);
    let (code, stderr) = cap.stop(|| nudger.nudge());
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    let live = read_eve(&eve);
    check_flows(&live, &pair, port, nudger.port, true);

    let replay = read_ok(&[&out], &[]);
    assert_eq!(
        sorted_flow_lines(&live),
        sorted_flow_lines(&replay),
        "nta read of the -w file gives the flows seen live"
    );
    assert_eq!(
        counter(final_stats(&live), "decoder.pkts"),
        counter(final_stats(&replay), "decoder.pkts"),
        "every captured packet was written"
    );
}

#[test]
fn capture_filter_keeps_only_matching_packets() {
    let Some(pair) = setup(2) else { return };
    let nudger = Nudger::new(&pair);
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    let eve_s = eve.display().to_string();
    let cap = Capture::start(&["-i", &pair.host_if, "-f", "udp", "-o", &eve_s]);
    let port = port_for(&pair);
    send_traffic(&pair, port);
    let (code, stderr) = cap.stop(|| nudger.nudge());
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert!(stderr.contains("filter \"udp\""), "{stderr}");
    let events = read_eve(&eve);
    check_flows(&events, &pair, port, nudger.port, false);
    let stats = final_stats(&events);
    let nudges: u64 = flows(&events)
        .iter()
        .filter(|f| f["dest_port"] == nudger.port)
        .map(|f| f["flow"]["pkts_toserver"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        counter(stats, "decoder.pkts"),
        DATAGRAMS + nudges,
        "only UDP reached nta: {}",
        stats["decoder"]
    );
    assert_eq!(counter(stats, "decoder.icmpv4"), 0);
    assert_eq!(counter(stats, "decoder.arp"), 0);
}

#[test]
fn idle_capture_stops_on_sigint_and_writes_stats() {
    let Some(pair) = setup(3) else { return };
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    let eve_s = eve.display().to_string();
    let cap = Capture::start(&["-i", &pair.host_if, "-o", &eve_s, "--stats-interval", "1"]);
    std::thread::sleep(Duration::from_millis(2500));
    let periodic = std::fs::read_to_string(&eve)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"event_type\":\"stats\""))
        .count();
    let started = Instant::now();
    // No nudging: nothing is sent on the veth.
    let (code, stderr) = cap.stop(|| {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "nta did not stop within 3 s of SIGINT on an idle interface"
        )
    });
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        periodic >= 1,
        "no periodic stats event in 2.5 s of an idle capture with --stats-interval 1"
    );

    // --duration ends an idle capture too.
    let started = Instant::now();
    let mut child = Command::new(NTA)
        .args([
            "capture",
            "-q",
            "-i",
            &pair.host_if,
            "--duration",
            "1",
            "-o",
            &eve_s,
        ])
        .spawn()
        .expect("starting nta");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.is_some_and(|s| s.success()),
        "--duration 1 on an idle interface did not end nta within 5 s"
    );
}

#[test]
fn capture_matches_rules_and_reloads_them() {
    let Some(pair) = setup(4) else { return };
    let nudger = Nudger::new(&pair);
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    let rules = dir.path().join("local.rules");
    let pidfile = dir.path().join("nta.pid");
    std::fs::write(
        &rules,
        "alert udp any any -> any any (msg:\"before\"; content:\"nta datagram\"; sid:1;)\n",
    )
    .unwrap();
    let (eve_s, rules_s, pid_s) = (
        eve.display().to_string(),
        rules.display().to_string(),
        pidfile.display().to_string(),
    );
    let mut cap = Capture::start(&[
        "-i",
        &pair.host_if,
        "-o",
        &eve_s,
        "-S",
        &rules_s,
        "--pidfile",
        &pid_s,
        "--workers",
        "2",
    ]);
    assert!(pidfile.is_file(), "the pid file is written");
    let port = port_for(&pair);
    send_traffic(&pair, port);

    std::fs::write(
        &rules,
        "alert icmp any any -> any any (msg:\"echo\"; itype:8; sid:2;)\n\
         alert udp any any -> any any (msg:\"after\"; content:\"nta datagram\"; sid:3;)\n",
    )
    .unwrap();
    let out = Command::new(NTA)
        .args(["rules", "reload", "--pidfile", &pid_s])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    cap.wait_for("rules reloaded: 2 in force");
    // Workers take the new rules at their next tick (at most a second when idle).
    std::thread::sleep(Duration::from_millis(1500));
    send_traffic(&pair, port);
    let (code, stderr) = cap.stop(|| nudger.nudge());
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert!(!pidfile.exists(), "the pid file is removed at exit");

    let events = read_eve(&eve);
    let count = |sid: u64| {
        events
            .iter()
            .filter(|e| e["event_type"] == "alert" && e["alert"]["signature_id"] == sid)
            .count() as u64
    };
    // The first rules on the first round only, the new ones on the second only.
    assert_eq!(count(1), DATAGRAMS, "{stderr}");
    assert_eq!(count(2), ECHOES);
    assert_eq!(count(3), DATAGRAMS);
    let stats = final_stats(&events);
    assert!(counter(stats, "detect.reloads") >= 1, "{}", stats["detect"]);
    assert_eq!(counter(stats, "detect.alert"), 2 * DATAGRAMS + ECHOES);
}
