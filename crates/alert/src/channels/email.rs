//! Mail over SMTP (lettre): one multipart/alternative message (text and HTML) per batch.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use super::{severity_name, Channel, ChannelSpec, Notification, SmtpSecurity};

/// Sends each batch as one mail.
pub struct EmailChannel {
    transport: SmtpTransport,
    from: Mailbox,
    to: Vec<Mailbox>,
    /// `host:port`, for messages.
    server: String,
    /// Kept only to make sure it never appears in an error text.
    password: Option<String>,
}

impl std::fmt::Debug for EmailChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailChannel")
            .field("server", &self.server)
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl EmailChannel {
    /// Validates addresses, reads `ca_file` and builds the (reusable) SMTP transport.
    pub fn new(spec: &ChannelSpec) -> Result<Self, String> {
        let ChannelSpec::Email {
            server,
            port,
            security,
            username,
            password,
            from,
            to,
            ca_file,
            timeout_secs,
        } = spec
        else {
            return Err(format!("not an email channel: {}", spec.kind()));
        };
        let host = server.trim();
        if host.is_empty() {
            return Err("email: the SMTP server is empty".into());
        }
        let port = port.unwrap_or(match security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        });
        let label = format!("{host}:{port}");
        let from: Mailbox = from
            .trim()
            .parse()
            .map_err(|e| format!("email: invalid from address {from:?}: {e}"))?;
        if to.is_empty() {
            return Err("email: no recipient (to is empty)".into());
        }
        let to = to
            .iter()
            .map(|t| {
                t.trim()
                    .parse::<Mailbox>()
                    .map_err(|e| format!("email: invalid recipient {t:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;

        let tls = if *security == SmtpSecurity::None {
            Tls::None
        } else {
            let mut params = TlsParameters::builder(host.to_string());
            if let Some(path) = ca_file {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("email: cannot read ca_file {}: {e}", path.display()))?;
                if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                    return Err(format!(
                        "email: ca_file {} holds no PEM certificate",
                        path.display()
                    ));
                }
                let cert = Certificate::from_pem(&pem).map_err(|e| {
                    format!("email: invalid certificate in {}: {e}", path.display())
                })?;
                params = params.add_root_certificate(cert);
            }
            let params = params
                .build_rustls()
                .map_err(|e| format!("email {label}: TLS setup failed: {e}"))?;
            match security {
                SmtpSecurity::Tls => Tls::Wrapper(params),
                _ => Tls::Required(params),
            }
        };

        let mut builder = SmtpTransport::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(Duration::from_secs((*timeout_secs).max(1))));
        let password = match (username, password) {
            (Some(user), Some(pass)) => {
                builder =
                    builder.credentials(Credentials::new(user.clone(), pass.expose().to_string()));
                Some(pass.expose().to_string())
            }
            (Some(_), None) => return Err("email: username given without a password".into()),
            (None, Some(_)) => return Err("email: password given without a username".into()),
            (None, None) => None,
        };
        Ok(Self {
            transport: builder.build(),
            from,
            to,
            server: label,
            password,
        })
    }

    /// The message for a batch.
    fn message(&self, batch: &[Notification]) -> Result<Message, String> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject(batch))
            .message_id(None)
            .user_agent(concat!("nta/", env!("CARGO_PKG_VERSION")).to_string());
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                text_body(batch),
                html_body(batch),
            ))
            .map_err(|e| format!("email {}: cannot build the message: {e}", self.server))
    }

    /// An error text with the password (should a library ever echo it) hidden.
    fn scrub(&self, text: String) -> String {
        match &self.password {
            Some(p) if !p.is_empty() => text.replace(p.as_str(), "********"),
            _ => text,
        }
    }
}

impl Channel for EmailChannel {
    fn send(&mut self, batch: &[Notification]) -> Result<(), String> {
        if batch.is_empty() {
            return Ok(());
        }
        let message = self.message(batch)?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| self.scrub(format!("email {}: {e}", self.server)))
    }
}

/// Text on one line: control characters (CR, LF, …) become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `[NTA] high ET SCAN …` for one alert, `[NTA] 3 alerts: ET SCAN …` for more.
fn subject(batch: &[Notification]) -> String {
    let first = batch
        .first()
        .map(|n| one_line(&n.signature))
        .unwrap_or_default();
    let s = if batch.len() == 1 {
        format!("[NTA] {} {first}", severity_name(batch[0].severity))
    } else {
        format!("[NTA] {} alerts: {first}", batch.len())
    };
    if s.chars().count() > 200 {
        let mut cut: String = s.chars().take(199).collect();
        cut.push('…');
        cut
    } else {
        s
    }
}

/// `1 NTA alert`, `3 NTA alerts`.
fn title(n: usize) -> String {
    format!("{n} NTA alert{}", if n == 1 { "" } else { "s" })
}

fn endpoint(ip: &Option<String>, port: Option<u16>) -> String {
    match (ip, port) {
        (Some(ip), Some(p)) if ip.contains(':') => format!("[{ip}]:{p}"),
        (Some(ip), Some(p)) => format!("{ip}:{p}"),
        (Some(ip), None) => ip.clone(),
        (None, _) => "?".into(),
    }
}

fn text_body(batch: &[Notification]) -> String {
    let mut out = format!("{}\n\n", title(batch.len()));
    for n in batch {
        out.push_str(&one_line(&n.summary()));
        out.push('\n');
        out.push_str(&format!(
            "  time: {}  rule: {}:{}:{}  source: {}  alert id: {}\n",
            one_line(&n.timestamp),
            n.gid,
            n.sid,
            n.rev,
            one_line(&n.source),
            n.alert_id
        ));
        if let Some(c) = &n.category {
            out.push_str(&format!("  category: {}\n", one_line(c)));
        }
        if let Some(a) = &n.app_proto {
            out.push_str(&format!("  app: {}\n", one_line(a)));
        }
        out.push('\n');
    }
    out
}

/// `&`, `<`, `>`, `"` and `'` as HTML entities.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_body(batch: &[Notification]) -> String {
    let mut out =
        String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n");
    out.push_str(&format!("<h3>{}</h3>\n", html_escape(&title(batch.len()))));
    out.push_str(
        "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\" style=\"border-collapse:collapse\">\n\
         <tr><th>Time</th><th>Severity</th><th>Signature</th><th>Source</th>\
         <th>Destination</th><th>Protocol</th><th>Rule</th><th>Category</th></tr>\n",
    );
    for n in batch {
        let cells = [
            n.timestamp.clone(),
            severity_name(n.severity).to_string(),
            n.signature.clone(),
            endpoint(&n.src_ip, n.src_port),
            endpoint(&n.dest_ip, n.dest_port),
            match (&n.proto, &n.app_proto) {
                (Some(p), Some(a)) => format!("{p}/{a}"),
                (Some(p), None) => p.clone(),
                (None, Some(a)) => a.clone(),
                (None, None) => String::new(),
            },
            format!("{}:{}:{}", n.gid, n.sid, n.rev),
            n.category.clone().unwrap_or_default(),
        ];
        out.push_str("<tr>");
        for c in cells {
            out.push_str(&format!("<td>{}</td>", html_escape(&c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

    use serde_json::Value;

    use super::*;
    use crate::channels::Secret;

    const PYTHON: &str = "/usr/bin/python3";

    /// An aiosmtpd server that saves each message it receives (parsed by Python's `email`
    /// package) as `msg-N.json`.
    const SERVER_PY: &str = r#"
import email, email.policy, json, os, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, outdir, cert, key, user, password = sys.argv[1:7]

class Handler:
    def __init__(self):
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {}
        for part in msg.walk():
            if part.get_content_maintype() != "multipart":
                parts[part.get_content_type()] = part.get_content()
        rec = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "subject": str(msg["subject"]),
            "content_type": msg.get_content_type(),
            "parts": parts,
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
        }
        tmp = os.path.join(outdir, "msg-%d.tmp" % self.n)
        with open(tmp, "w") as f:
            json.dump(rec, f)
        os.rename(tmp, os.path.join(outdir, "msg-%d.json" % self.n))
        return "250 OK"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login == user.encode() and auth_data.password == password.encode())
    return AuthResult(success=ok, handled=False)

kwargs = {}
if cert != "-":
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    kwargs.update(tls_context=ctx, require_starttls=True)
if user != "-":
    kwargs.update(authenticator=authenticator, auth_required=True,
                  auth_require_tls=(cert != "-"))
controller = Controller(Handler(), hostname="127.0.0.1", port=int(port),
                        server_hostname="localhost", **kwargs)
controller.start()
open(os.path.join(outdir, "ready"), "w").close()
while True:
    time.sleep(3600)
"#;

    /// The running Python SMTP server, killed on drop.
    struct SmtpServer {
        child: Child,
        port: u16,
        dir: tempfile::TempDir,
    }

    impl Drop for SmtpServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl SmtpServer {
        /// The received messages, waiting up to 3 s for `n` of them.
        fn messages(&self, n: usize) -> Vec<Value> {
            let deadline = Instant::now() + Duration::from_secs(3);
            loop {
                let found: Vec<Value> = (1..=n)
                    .map_while(|i| {
                        let p = self.dir.path().join(format!("msg-{i}.json"));
                        std::fs::read(p)
                            .ok()
                            .map(|b| serde_json::from_slice(&b).unwrap())
                    })
                    .collect();
                if found.len() == n || Instant::now() > deadline {
                    return found;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Why the SMTP tests cannot run here, if they cannot.
    fn missing_tools(need_openssl: bool) -> Option<String> {
        let py = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !py.is_ok_and(|s| s.success()) {
            return Some(format!(
                "{PYTHON} with the aiosmtpd module is not available"
            ));
        }
        if need_openssl {
            let ok = Command::new("openssl")
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return Some("the openssl command is not available".into());
            }
        }
        None
    }

    /// A self-signed certificate for `localhost` / 127.0.0.1: (cert, key).
    fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        let out = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            // A server (end-entity) certificate: rustls refuses a CA certificate as one.
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (cert, key)
    }

    fn start_server(tls: Option<(&Path, &Path)>, auth: Option<(&str, &str)>) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("smtpd.py");
        std::fs::write(&script, SERVER_PY).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (cert, key) = tls
            .map(|(c, k)| (c.to_path_buf(), k.to_path_buf()))
            .unwrap_or_else(|| ("-".into(), "-".into()));
        let (user, pass) = auth.unwrap_or(("-", "-"));
        let child = Command::new(PYTHON)
            .arg(&script)
            .arg(port.to_string())
            .arg(dir.path())
            .arg(cert)
            .arg(key)
            .arg(user)
            .arg(pass)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut server = SmtpServer { child, port, dir };
        let ready = server.dir.path().join("ready");
        let deadline = Instant::now() + Duration::from_secs(4);
        loop {
            if ready.exists()
                && TcpStream::connect_timeout(
                    &([127, 0, 0, 1], port).into(),
                    Duration::from_millis(200),
                )
                .is_ok()
            {
                return server;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = server.child.stderr.take() {
                    std::io::Read::read_to_string(&mut e, &mut err).unwrap();
                }
                panic!("the SMTP server exited ({status}): {err}");
            }
            assert!(Instant::now() < deadline, "the SMTP server did not start");
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    use crate::channels::sample as notification;

    #[allow(clippy::too_many_arguments)]
    fn spec(
        port: u16,
        security: SmtpSecurity,
        server: &str,
        auth: Option<(&str, &str)>,
        ca_file: Option<PathBuf>,
        to: &[&str],
    ) -> ChannelSpec {
        ChannelSpec::Email {
            server: server.into(),
            port: Some(port),
            security,
            username: auth.map(|(u, _)| u.to_string()),
            password: auth.map(|(_, p)| Secret(p.to_string())),
            from: "NTA <nta@example.org>".into(),
            to: to.iter().map(|s| s.to_string()).collect(),
            ca_file,
            timeout_secs: 3,
        }
    }

    #[test]
    fn plain_delivery_with_text_and_html() {
        if let Some(why) = missing_tools(false) {
            eprintln!("skipped: {why}");
            return;
        }
        let server = start_server(None, None);
        let mut ch = EmailChannel::new(&spec(
            server.port,
            SmtpSecurity::None,
            "127.0.0.1",
            None,
            None,
            &["soc@example.org", "Oncall <oncall@example.net>"],
        ))
        .unwrap();
        let batch = [
            notification(1, 1, "XSS <script>alert(1)</script> & more"),
            notification(2, 3, "ET SCAN Nmap"),
        ];
        ch.send(&batch).unwrap();

        let msgs = server.messages(1);
        assert_eq!(msgs.len(), 1, "no message received");
        let m = &msgs[0];
        assert_eq!(m["mail_from"], "nta@example.org");
        assert_eq!(
            m["rcpt_tos"],
            serde_json::json!(["soc@example.org", "oncall@example.net"])
        );
        assert_eq!(
            m["subject"],
            "[NTA] 2 alerts: XSS <script>alert(1)</script> & more"
        );
        assert_eq!(m["content_type"], "multipart/alternative");
        let plain = m["parts"]["text/plain"].as_str().unwrap();
        assert!(plain.contains(&batch[0].summary()), "{plain}");
        assert!(plain.contains(&batch[1].summary()), "{plain}");
        assert!(plain.contains("rule: 1:2000002:1"), "{plain}");
        let html = m["parts"]["text/html"].as_str().unwrap();
        assert!(
            html.contains("XSS &lt;script&gt;alert(1)&lt;/script&gt; &amp; more"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("<td>10.0.0.1:1234</td>"), "{html}");
        assert_eq!(m["tls"], false);

        // One alert: severity in the subject.
        ch.send(&batch[1..]).unwrap();
        let msgs = server.messages(2);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[1]["subject"], "[NTA] low ET SCAN Nmap");
    }

    #[test]
    fn starttls_with_auth_and_private_ca() {
        if let Some(why) = missing_tools(true) {
            eprintln!("skipped: {why}");
            return;
        }
        let certs = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(certs.path());
        let password = "correct-horse-battery";
        let server = start_server(Some((&cert, &key)), Some(("nta", password)));
        let batch = [notification(7, 2, "ET POLICY something")];

        let mut ch = EmailChannel::new(&spec(
            server.port,
            SmtpSecurity::Starttls,
            "localhost",
            Some(("nta", password)),
            Some(cert.clone()),
            &["soc@example.org"],
        ))
        .unwrap();
        ch.send(&batch).unwrap();
        let msgs = server.messages(1);
        assert_eq!(msgs.len(), 1, "no message received");
        assert_eq!(msgs[0]["tls"], true);
        assert_eq!(msgs[0]["authenticated"], true);
        assert_eq!(msgs[0]["subject"], "[NTA] medium ET POLICY something");

        // A wrong password is refused, and the error does not show it.
        let wrong = "WRONG-pass-0451";
        let mut ch = EmailChannel::new(&spec(
            server.port,
            SmtpSecurity::Starttls,
            "localhost",
            Some(("nta", wrong)),
            Some(cert.clone()),
            &["soc@example.org"],
        ))
        .unwrap();
        let err = ch.send(&batch).unwrap_err();
        assert!(err.starts_with("email localhost:"), "{err}");
        eprintln!("wrong password: {err}");
        assert!(!err.contains(wrong), "{err}");

        // Without the private CA the server's certificate is not trusted.
        let mut ch = EmailChannel::new(&spec(
            server.port,
            SmtpSecurity::Starttls,
            "localhost",
            Some(("nta", password)),
            None,
            &["soc@example.org"],
        ))
        .unwrap();
        let err = ch.send(&batch).unwrap_err();
        eprintln!("untrusted certificate: {err}");
        assert!(!err.contains(password), "{err}");
        assert!(!server.dir.path().join("msg-2.json").exists());
    }

    #[test]
    fn validation() {
        let ok = spec(
            25,
            SmtpSecurity::None,
            "mail",
            None,
            None,
            &["a@example.org"],
        );
        assert!(EmailChannel::new(&ok).is_ok());
        let tls = spec(0, SmtpSecurity::Tls, "mail", None, None, &["a@example.org"]);
        assert!(EmailChannel::new(&tls).is_ok());
        assert!(EmailChannel::new(&spec(25, SmtpSecurity::None, "mail", None, None, &[])).is_err());
        let bad_to = spec(
            25,
            SmtpSecurity::None,
            "mail",
            None,
            None,
            &["not an address"],
        );
        assert!(EmailChannel::new(&bad_to)
            .unwrap_err()
            .contains("recipient"));
        let missing_ca = spec(
            587,
            SmtpSecurity::Starttls,
            "mail",
            None,
            Some("/nonexistent/ca.pem".into()),
            &["a@example.org"],
        );
        assert!(EmailChannel::new(&missing_ca)
            .unwrap_err()
            .contains("/nonexistent/ca.pem"));
        let file = ChannelSpec::File {
            path: "/tmp/x".into(),
        };
        assert!(EmailChannel::new(&file).is_err());
    }

    #[test]
    fn subjects_and_escaping() {
        assert_eq!(
            html_escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let one = [notification(1, 1, "line\r\nBcc: evil@example.org")];
        assert_eq!(subject(&one), "[NTA] high line  Bcc: evil@example.org");
    }
}
