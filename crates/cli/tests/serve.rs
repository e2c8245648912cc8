//! `nta serve` end to end: the binary on a free port over a replayed capture; the setup link
//! makes the first admin, `nta user add` another user, the API serves the history to each as
//! their role allows, and SIGTERM stops it cleanly.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Server {
    child: Child,
    addr: String,
    token: String,
    lines: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &Path) -> Server {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nta"))
        .args(["serve", "--fast", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .arg("--pcap")
        .arg(cases.join("http.pcap"))
        .arg("-S")
        .arg(cases.join("rules/cases.rules"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running nta serve");
    let (tx, lines) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let (mut addr, mut token) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    while addr.is_none() || token.is_none() {
        let l = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("nta serve said where it listens");
        if let Some(t) = l.split("setup?token=").nth(1) {
            token = Some(t.trim().to_string());
        }
        if let Some(a) = l.split("listening on http://").nth(1) {
            addr = Some(a.trim().to_string());
        }
    }
    Server {
        child,
        addr: addr.unwrap(),
        token: token.unwrap(),
        lines,
    }
}

/// One HTTP/1.1 request: (status, headers, body).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connecting");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut r = rest;
        while let Some((size, tail)) = r.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 || tail.len() < n {
                break;
            }
            out.push_str(&tail[..n]);
            r = tail[n..].trim_start_matches("\r\n");
        }
        out
    } else {
        rest.to_string()
    };
    (status, head.to_string(), body)
}

struct Session {
    cookie: String,
    csrf: String,
}

fn login(addr: &str, name: &str, password: &str) -> Session {
    let (status, head, body) = http(
        addr,
        "POST",
        "/api/v1/session",
        &[],
        Some(&json!({"name": name, "password": password})),
    );
    assert_eq!(status, 200, "{body}");
    let cookie = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().split(';').next().unwrap().to_string())
        .expect("a session cookie");
    assert!(
        head.contains("HttpOnly") && head.contains("SameSite=Strict"),
        "{head}"
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    Session {
        cookie,
        csrf: v["csrf"].as_str().unwrap().to_string(),
    }
}

fn get(addr: &str, s: &Session, path: &str) -> Value {
    let (status, _, body) = http(addr, "GET", path, &[("Cookie", &s.cookie)], None);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn serve_replays_a_capture_and_serves_its_history_by_role() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut srv = start(&data);
    let addr = srv.addr.clone();

    let (status, _, body) = http(&addr, "GET", "/healthz", &[], None);
    assert_eq!(status, 200, "{body}");
    let (status, _, page) = http(
        &addr,
        "GET",
        &format!("/setup?token={}", srv.token),
        &[],
        None,
    );
    assert_eq!(status, 200);
    assert!(page.contains("Create the administrator"));

    // The setup link's token makes the first admin, once.
    let admin = json!({"token": srv.token, "name": "ana", "password": "a long enough password"});
    let (status, _, body) = http(&addr, "POST", "/api/v1/setup", &[], Some(&admin));
    assert_eq!(status, 201, "{body}");
    let (status, _, _) = http(&addr, "POST", "/api/v1/setup", &[], Some(&admin));
    assert_eq!(status, 400);

    // Another user from the shell, while the server runs.
    let mut add = Command::new(env!("CARGO_BIN_EXE_nta"))
        .args([
            "user",
            "add",
            "vic",
            "--role",
            "viewer",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(&data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"viewer password 1\n")
        .unwrap();
    assert!(add.wait().unwrap().success());
    let run = common::nta(&["user", "list", "--data-dir", data.to_str().unwrap()]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("ana") && run.stdout.contains("vic"),
        "{}",
        run.stdout
    );

    // The capture's flows and alerts reach the history once the replay is done.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !srv
        .lines
        .try_iter()
        .any(|l| l.contains("the capture is done"))
    {
        assert!(Instant::now() < deadline, "the replay never finished");
        std::thread::sleep(Duration::from_millis(100));
    }
    let a = login(&addr, "ana", "a long enough password");
    let deadline = Instant::now() + Duration::from_secs(30);
    let flows = loop {
        let f = get(&addr, &a, "/api/v1/flows?app_proto=http");
        if !f["flows"].as_array().unwrap().is_empty() || Instant::now() > deadline {
            break f;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(flows["flows"][0]["dest_port"], 8080, "{flows}");
    let alerts = get(&addr, &a, "/api/v1/alerts");
    let list = alerts["alerts"].as_array().unwrap();
    assert!(!list.is_empty(), "{alerts}");
    let id = list[0]["id"].as_i64().unwrap();

    // The viewer reads but may not triage; the admin may.
    let v = login(&addr, "vic", "viewer password 1");
    assert!(!get(&addr, &v, "/api/v1/alerts")["alerts"]
        .as_array()
        .unwrap()
        .is_empty());
    let path = format!("/api/v1/alerts/{id}/status");
    let ack = json!({"status": "acknowledged"});
    let (status, _, body) = http(
        &addr,
        "POST",
        &path,
        &[("Cookie", &v.cookie), ("x-csrf-token", &v.csrf)],
        Some(&ack),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("triage_alerts"), "{body}");
    let (status, _, body) = http(
        &addr,
        "POST",
        &path,
        &[("Cookie", &a.cookie), ("x-csrf-token", &a.csrf)],
        Some(&ack),
    );
    assert_eq!(status, 204, "{body}");
    let one = get(&addr, &a, &format!("/api/v1/alerts/{id}"));
    assert_eq!(one["alert"]["status"], "acknowledged");
    assert_eq!(one["alert"]["status_by"], "ana");

    // Metrics and the audit log.
    let (status, _, metrics) = http(&addr, "GET", "/metrics", &[], None);
    assert_eq!(status, 200);
    assert!(metrics.contains("nta_packets_total "), "{metrics}");
    let audit = get(&addr, &a, "/api/v1/audit");
    let actions: Vec<&str> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"login") && actions.contains(&"user_added"),
        "{actions:?}"
    );

    // SIGTERM: a clean stop.
    let pid = nix::unistd::Pid::from_raw(srv.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = srv.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn serve_refuses_bad_arguments_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for (args, want) in [
        (
            vec!["serve", "--data-dir", d, "--demo", "--pcap", "x.pcap"],
            "--demo",
        ),
        (
            vec!["serve", "--data-dir", d, "--listen", "localhost"],
            "--listen",
        ),
        (
            vec!["serve", "--data-dir", d, "--pcap", "/nonexistent.pcap"],
            "nonexistent",
        ),
        (
            vec!["serve", "--data-dir", d, "--demo", "--tls-cert", "c.pem"],
            "--tls-key",
        ),
        (
            vec![
                "serve",
                "--data-dir",
                d,
                "--demo",
                "--tls-cert",
                "/nonexistent.pem",
                "--tls-key",
                "/nonexistent.key",
            ],
            "--tls-cert /nonexistent.pem",
        ),
    ] {
        let run = common::nta(&args);
        assert_ne!(run.code, Some(0), "{args:?}");
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }
    // A password is never an argument, and a terminal or --password-stdin is needed.
    let run = common::nta(&["user", "add", "x", "--data-dir", d]);
    assert_ne!(run.code, Some(0));
    assert!(run.stderr.contains("--password-stdin"), "{}", run.stderr);
    let run = common::nta_stdin(
        &["user", "add", "shorty", "--password-stdin", "--data-dir", d],
        b"short\n",
    );
    assert!(
        run.stderr.contains("at least 10 characters"),
        "{}",
        run.stderr
    );
}

/// `openssl s_client` as the TLS client: the raw answer to one request.
fn tls_request(addr: &str, ca: &Path, request: &str) -> String {
    let mut c = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-verify_return_error",
            "-connect",
            addr,
        ])
        .arg("-CAfile")
        .arg(ca)
        .args(["-servername", "localhost"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("running openssl s_client");
    c.stdin
        .take()
        .unwrap()
        .write_all(request.as_bytes())
        .unwrap();
    let out = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn serve_speaks_tls_with_secure_cookies() {
    if !common::have_tool("openssl") {
        println!("skipped: openssl not installed (needed to make a certificate and to connect)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    common::nta_stdin(
        &[
            "user",
            "add",
            "ana",
            "--role",
            "admin",
            "--password-stdin",
            "--data-dir",
            d,
        ],
        b"a long enough password\n",
    )
    .expect_code(0);
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nta"))
        .args([
            "serve",
            "--fast",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            d,
            "--pcap",
        ])
        .arg(cases.join("dns.pcap"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let l = lines
            .next()
            .expect("nta serve said where it listens")
            .unwrap();
        if let Some(a) = l.split("listening on https://").nth(1) {
            break a.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let health = tls_request(
        &addr,
        &cert,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains(r#""status":"ok""#), "{health}");
    let body = r#"{"name":"ana","password":"a long enough password"}"#;
    let login = tls_request(
        &addr,
        &cert,
        &format!(
            "POST /api/v1/session HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    let cookie = login
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {login}"));
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // Plain HTTP on the TLS port gets nothing useful.
    let (status, _, _) = http(&addr, "GET", "/healthz", &[], None);
    assert_ne!(status, 200);
    let _ = child.kill();
    let _ = child.wait();
}
