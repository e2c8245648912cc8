//! The test rig of the API tests: a store with history and users, the server running for
//! real on 127.0.0.1, and a small HTTP/1.1 client (cookie, CSRF header, bearer token,
//! server-sent events).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nta_alert::{Alerting, AlertingConfig, ChannelConfig};
use nta_server::{users, AppState, Live, ServerOptions, SessionLimits};
use nta_store::{Filter, Ingest, IngestConfig, Page, Store};
use serde_json::{json, Value};

/// Every rig user's password.
pub const PW: &str = "correct horse battery";

/// The rig's users: (name, role, data scope).
pub const USERS: [(&str, &str, Option<&str>); 4] = [
    ("admin", "admin", None),
    ("analyst", "analyst", None),
    ("viewer", "viewer", None),
    ("scoped", "viewer", Some("10.1.0.0/16")),
];

/// The network of the scoped viewer, and another one.
pub const NET_IN: &str = "10.1.0.0/16";
pub const NET_OUT: &str = "10.2.0.0/16";

/// Signatures of the rig's alerts: 10.1 → 10.2 (in scope), 10.2 → 10.2 (out of scope),
/// 10.1 → 10.1 (in scope).
pub const SID_IN: u32 = 1001;
pub const SID_OUT: u32 = 1002;
pub const SID_IN2: u32 = 1003;

/// Session timeouts of the rig's server.
pub const LIMITS: SessionLimits = SessionLimits {
    idle_us: 30 * 60 * 1_000_000,
    absolute_us: 12 * 3600 * 1_000_000,
};

/// An EVE timestamp `offset_s` seconds after `base_us`.
pub fn eve_ts(base_us: i64, offset_s: i64) -> String {
    nta_event::format_timestamp(((base_us + offset_s * 1_000_000) * 1000) as u64)
}

#[allow(clippy::too_many_arguments)]
pub fn flow_line(
    base: i64,
    flow_id: u64,
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    app: &str,
    bytes: u64,
) -> String {
    let (start, end) = (eve_ts(base, 0), eve_ts(base, 20));
    format!(
        r#"{{"timestamp":"{end}","flow_id":{flow_id},"event_type":"flow","src_ip":"{src}","src_port":{sport},"dest_ip":"{dst}","dest_port":{dport},"proto":"TCP","app_proto":"{app}","flow":{{"pkts_toserver":5,"pkts_toclient":5,"bytes_toserver":{bytes},"bytes_toclient":{bytes},"start":"{start}","end":"{end}","age":20,"state":"closed","reason":"timeout","alerted":false}}}}"#
    )
}

pub fn http_line(base: i64, flow_id: u64, src: &str, dst: &str, host: &str) -> String {
    let ts = eve_ts(base, 1);
    format!(
        r#"{{"timestamp":"{ts}","flow_id":{flow_id},"event_type":"http","src_ip":"{src}","src_port":40000,"dest_ip":"{dst}","dest_port":80,"proto":"TCP","tx_id":0,"app_proto":"http","http":{{"hostname":"{host}","url":"/index.html","status":200}}}}"#
    )
}

pub fn alert_line(ts: &str, sid: u32, sev: u8, src: &str, dst: &str) -> String {
    format!(
        r#"{{"timestamp":"{ts}","flow_id":7,"event_type":"alert","src_ip":"{src}","src_port":1234,"dest_ip":"{dst}","dest_port":80,"proto":"TCP","alert":{{"action":"allowed","gid":1,"signature_id":{sid},"rev":2,"signature":"test sig {sid}","category":"Misc","severity":{sev},"source":"rule"}},"app_proto":"http","http":{{"hostname":"evil.example","url":"/x"}},"payload":"R0VUIC94IEhUVFAvMS4x","payload_printable":"GET /x HTTP/1.1"}}"#
    )
}

/// The rig's history: 4 flows (2 touching 10.1.0.0/16), 2 http events (1 in it), 3 alerts
/// (2 in it).
fn history(base: i64) -> Vec<String> {
    let t = |s| eve_ts(base, s);
    vec![
        flow_line(base, 11, "10.1.0.5", 40000, "10.2.0.9", 80, "http", 1000),
        flow_line(base, 12, "10.1.0.6", 40001, "10.1.0.7", 443, "tls", 2000),
        flow_line(base, 13, "10.2.0.5", 40002, "10.2.0.9", 53, "dns", 500),
        flow_line(base, 14, "10.2.0.6", 40003, "10.2.0.10", 22, "ssh", 3000),
        http_line(base, 11, "10.1.0.5", "10.2.0.9", "www.inside.example"),
        http_line(base, 13, "10.2.0.5", "10.2.0.9", "www.outside.example"),
        alert_line(&t(2), SID_IN, 1, "10.1.0.5", "10.2.0.9"),
        alert_line(&t(3), SID_OUT, 2, "10.2.0.6", "10.2.0.10"),
        alert_line(&t(4), SID_IN2, 3, "10.1.0.6", "10.1.0.7"),
    ]
}

/// The store every rig starts from, built once per test binary (argon2 takes ~0.5 s per
/// password in a debug build): history through the writer and the alert pipeline, and the
/// users added with `users::add_user`. Kept as bytes (a `VACUUM INTO` snapshot).
fn template() -> &'static [u8] {
    static T: OnceLock<Vec<u8>> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.sqlite")).unwrap();
        let (alerting, hook) = Alerting::start(&store, &AlertingConfig::default()).unwrap();
        let ingest = Ingest::start(&store, IngestConfig::default(), Some(hook)).unwrap();
        let mut input = ingest.input();
        // Whole minutes, half an hour ago.
        let now = nta_store::now_us();
        let base = now - now.rem_euclid(60_000_000) - 30 * 60_000_000;
        for l in history(base) {
            input.write_all(l.as_bytes()).unwrap();
            input.write_all(b"\n").unwrap();
        }
        drop(input);
        ingest.finish().unwrap();
        alerting.stop();
        users::ensure_roles(store.conn()).unwrap();
        for (name, role, net) in USERS {
            let nets = net.map(|n| vec![nta_store::parse_net(n).unwrap()]);
            users::add_user(store.conn(), name, PW, role, nets).unwrap();
        }
        let snap = dir.path().join("snap.sqlite");
        store
            .conn()
            .execute("VACUUM INTO ?1", [snap.to_str().unwrap()])
            .unwrap();
        std::fs::read(&snap).unwrap()
    })
}

/// A store, its alert pipeline, the live bus and the server on them.
pub struct Rig {
    pub server: Server,
    pub live: Arc<Live>,
    pub alerting: Alerting,
    pub store: Store,
    pub db: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Rig {
    /// The rig with history and users.
    pub fn new() -> Rig {
        Rig::build(true)
    }

    /// A rig with an empty store: no history, no users.
    pub fn empty() -> Rig {
        Rig::build(false)
    }

    fn build(filled: bool) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("nta.sqlite");
        if filled {
            std::fs::write(&db, template()).unwrap();
        }
        let store = Store::open(&db).unwrap();
        let (alerting, _hook) = Alerting::start(&store, &AlertingConfig::default()).unwrap();
        let live = Arc::new(Live::default());
        let server = Server::start(&db, LIMITS, Some(alerting.clone()), Arc::clone(&live));
        Rig {
            server,
            live,
            alerting,
            store,
            db,
            dir,
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Another server on the same store, with other session timeouts.
    pub fn server_with(&self, limits: SessionLimits) -> Server {
        Server::start(
            &self.db,
            limits,
            Some(self.alerting.clone()),
            Arc::clone(&self.live),
        )
    }

    /// The id of the alert of `sid`.
    pub fn alert_id(&self, sid: u32) -> i64 {
        let f = Filter {
            sid: Some(sid),
            include_suppressed: true,
            ..Filter::default()
        };
        let rows = self.store.alerts(&f, &Page::default()).unwrap();
        assert_eq!(rows.len(), 1, "alerts of sid {sid}");
        rows[0].id
    }

    /// A user's id.
    pub fn user_id(&self, name: &str) -> i64 {
        users::user(self.store.conn(), name).unwrap().unwrap().id
    }

    /// A file channel, added behind the API's back.
    pub fn add_channel(&self, name: &str) {
        self.alerting.add_channel(self.file_channel(name)).unwrap();
    }

    /// A file channel's configuration (the file in the rig's directory).
    pub fn file_channel(&self, name: &str) -> ChannelConfig {
        serde_json::from_value(self.file_channel_json(name)).unwrap()
    }

    /// A file channel as the API takes it.
    pub fn file_channel_json(&self, name: &str) -> Value {
        json!({
            "name": name,
            "type": "file",
            "path": self.dir.path().join(format!("{name}.jsonl")),
        })
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.server.stop();
        self.alerting.stop();
    }
}

/// `nta_server::serve` on a runtime of its own, on 127.0.0.1 (an ephemeral port).
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(
        db: &std::path::Path,
        limits: SessionLimits,
        alerting: Option<Alerting>,
        live: Arc<Live>,
    ) -> Server {
        let state = AppState::new(
            ServerOptions {
                db: db.to_path_buf(),
                secure_cookies: false,
                limits,
                config: json!({ "store": { "retention": "7d" }, "smtp_password": "********" }),
            },
            alerting,
            live,
        )
        .map_err(|e| e.message)
        .unwrap();
        // Real rule files: one given file and the server's own directory beside the store.
        let dir = db.parent().unwrap();
        let given = dir.join("given.rules");
        if !given.exists() {
            std::fs::write(
                &given,
                "alert tcp any any -> any 80 (msg:\"web probe\"; content:\"GET\"; sid:7000001; rev:1;)\n\
                 alert udp any any -> any 53 (msg:\"dns probe\"; content:\"x\"; sid:7000002; rev:1;)\n",
            )
            .unwrap();
        }
        let rules = nta_server::rules::FileRules::start(
            &nta_engine::Config::default(),
            vec![given],
            dir.join("rules"),
        )
        .unwrap();
        let state = state.with_rules(rules);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("test-http".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let (hard_tx, hard_rx) = tokio::sync::oneshot::channel::<()>();
                    let shutdown = async move {
                        let _ = rx.await;
                        let _ = hard_tx.send(());
                    };
                    let serve =
                        nta_server::serve(nta_server::router(state), listener, None, shutdown);
                    // Graceful shutdown waits for open connections (event streams): at most
                    // 2 s.
                    tokio::select! {
                        r = serve => r.expect("serve"),
                        _ = async {
                            let _ = hard_rx.await;
                            tokio::time::sleep(Duration::from_secs(2)).await;
                        } => {}
                    }
                });
                rt.shutdown_timeout(Duration::from_secs(1));
            })
            .unwrap();
        Server {
            addr,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// Stops the server and waits for it.
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("the server thread panicked");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---- the client --------------------------------------------------------------------------

/// An answer.
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    /// A header's value (the first).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (panics, showing the answer, if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }

    /// The `error` of a JSON error body, else the whole body.
    pub fn error(&self) -> String {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(v) if v["error"].is_string() => v["error"].as_str().unwrap().to_string(),
            _ => self.text(),
        }
    }
}

impl std::fmt::Display for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.text())
    }
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sends one request (`Connection: close`) and reads the status line and headers.
fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
) -> (u16, Vec<(String, String)>, BufReader<TcpStream>) {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            head.push_str("Content-Type: application/json\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    let mut data = head.into_bytes();
    data.extend_from_slice(body.unwrap_or_default());
    // A large body is written beside the reading: the server may answer (413) before it has
    // read it all.
    let writer = {
        let mut w = stream.try_clone().unwrap();
        if data.len() > 64 * 1024 {
            Some(std::thread::spawn(move || {
                let _ = w.write_all(&data);
            }))
        } else {
            w.write_all(&data).unwrap();
            None
        }
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"));
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: bad status line {line:?}"));
    let mut hs = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            hs.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    if let Some(w) = writer {
        let _ = w.join();
    }
    (status, hs, reader)
}

fn is_chunked(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    })
}

/// One chunk of a chunked body (`None` at the end).
fn read_chunk(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
        .map_err(|_| std::io::Error::other(format!("bad chunk size {line:?}")))?;
    if size == 0 {
        return Ok(None);
    }
    let mut buf = vec![0; size + 2];
    r.read_exact(&mut buf)?;
    buf.truncate(size);
    Ok(Some(buf))
}

fn read_body(r: &mut BufReader<TcpStream>, headers: &[(String, String)]) -> Vec<u8> {
    let mut body = Vec::new();
    if is_chunked(headers) {
        while let Some(c) = read_chunk(r).unwrap() {
            body.extend_from_slice(&c);
        }
    } else if let Some((_, n)) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        body.resize(n.parse().unwrap(), 0);
        r.read_exact(&mut body).unwrap();
    } else {
        r.read_to_end(&mut body).unwrap();
    }
    body
}

/// A server-sent event stream being read.
pub struct EventStream {
    reader: BufReader<TcpStream>,
    /// Everything received so far.
    pub text: String,
}

impl EventStream {
    /// Reads until `needle` is in what was received, or `timeout`; whether it came.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.text.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.reader.get_ref().set_read_timeout(Some(left)).unwrap();
            match read_chunk(&mut self.reader) {
                Ok(Some(c)) => self.text.push_str(&String::from_utf8_lossy(&c)),
                Ok(None) | Err(_) => return false,
            }
        }
        true
    }

    /// The `data` of the events received so far of `kind`.
    pub fn events(&self, kind: &str) -> Vec<Value> {
        self.text
            .split("\n\n")
            .filter(|frame| frame.lines().any(|l| l == format!("event: {kind}")))
            .filter_map(|frame| {
                frame
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .and_then(|d| serde_json::from_str(d).ok())
            })
            .collect()
    }
}

/// An API client: anonymous, with a session (cookie and CSRF token) or with an API token.
#[derive(Clone)]
pub struct Client {
    pub addr: SocketAddr,
    /// The session cookie's value.
    pub cookie: Option<String>,
    /// Sent in `x-csrf-token` with every POST, PUT, PATCH, DELETE.
    pub csrf: Option<String>,
    /// `Authorization: Bearer`.
    pub bearer: Option<String>,
}

impl Client {
    pub fn anon(addr: SocketAddr) -> Client {
        Client {
            addr,
            cookie: None,
            csrf: None,
            bearer: None,
        }
    }

    pub fn with_token(addr: SocketAddr, token: &str) -> Client {
        Client {
            bearer: Some(token.to_string()),
            ..Client::anon(addr)
        }
    }

    /// Logs in: the answer, and the client with the session if it worked.
    pub fn try_login(addr: SocketAddr, name: &str, password: &str) -> (Resp, Option<Client>) {
        let r = Client::anon(addr).post(
            "/api/v1/session",
            &json!({ "name": name, "password": password }),
        );
        if r.status != 200 {
            return (r, None);
        }
        let cookie = r
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .and_then(|c| c.trim().strip_prefix("nta_session="))
            .unwrap_or_else(|| panic!("login without a session cookie: {:?}", r.headers))
            .to_string();
        let csrf = r.json()["csrf"].as_str().expect("csrf").to_string();
        let c = Client {
            addr,
            cookie: Some(cookie),
            csrf: Some(csrf),
            bearer: None,
        };
        (r, Some(c))
    }

    /// Logs in (it must work).
    pub fn login(addr: SocketAddr, name: &str, password: &str) -> Client {
        let (r, c) = Client::try_login(addr, name, password);
        c.unwrap_or_else(|| panic!("login as {name}: {r}"))
    }

    fn headers(&self, method: &str) -> Vec<(String, String)> {
        let mut h = Vec::new();
        if let Some(c) = &self.cookie {
            h.push(("Cookie".into(), format!("nta_session={c}")));
        }
        if let Some(t) = &self.bearer {
            h.push(("Authorization".into(), format!("Bearer {t}")));
        }
        if let Some(t) = &self.csrf {
            if !matches!(method, "GET" | "HEAD") {
                h.push(("x-csrf-token".into(), t.clone()));
            }
        }
        h
    }

    /// Any request; `body` is sent as JSON.
    pub fn send(&self, method: &str, path: &str, body: Option<&[u8]>) -> Resp {
        let headers = self.headers(method);
        let (status, headers, mut reader) = exchange(self.addr, method, path, &headers, body);
        let body = read_body(&mut reader, &headers);
        Resp {
            status,
            headers,
            body,
        }
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None)
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.send("POST", path, Some(body.to_string().as_bytes()))
    }

    pub fn put(&self, path: &str, body: &Value) -> Resp {
        self.send("PUT", path, Some(body.to_string().as_bytes()))
    }

    pub fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send("PATCH", path, Some(body.to_string().as_bytes()))
    }

    /// A GET of an event stream: the stream once its headers came (200), else the answer.
    pub fn stream(&self, path: &str) -> Result<EventStream, Resp> {
        let headers = self.headers("GET");
        let (status, headers, mut reader) = exchange(self.addr, "GET", path, &headers, None);
        let sse = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("content-type") && v.starts_with("text/event-stream")
        });
        if status == 200 && sse {
            return Ok(EventStream {
                reader,
                text: String::new(),
            });
        }
        let body = read_body(&mut reader, &headers);
        Err(Resp {
            status,
            headers,
            body,
        })
    }
}
