//! RFC 5424 syslog over UDP (one datagram per alert) or TCP (RFC 6587 octet counting on one
//! persistent connection, reconnected when it breaks).

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use super::{Channel, ChannelSpec, Notification, SyslogFormat, SyslogTransport};

/// Seconds before a TCP connection attempt or a write is given up.
const NET_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest UDP message sent; longer ones are cut (IPv4 UDP payload limit is 65507).
const MAX_DATAGRAM: usize = 65_000;

/// Sends each alert as an RFC 5424 message to a syslog collector.
#[derive(Debug)]
pub struct SyslogChannel {
    address: String,
    transport: SyslogTransport,
    format: SyslogFormat,
    facility: u8,
    app_name: String,
    hostname: String,
    procid: u32,
    udp: Option<UdpSocket>,
    tcp: Option<TcpStream>,
}

impl SyslogChannel {
    /// Validates the spec (address shape, facility, APP-NAME); nothing is resolved yet.
    pub fn new(spec: &ChannelSpec) -> Result<Self, String> {
        let ChannelSpec::Syslog {
            address,
            transport,
            format,
            facility,
            app_name,
        } = spec
        else {
            return Err(format!("not a syslog channel: {}", spec.kind()));
        };
        let address = address.trim();
        let valid_address = address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !valid_address {
            return Err(format!(
                "syslog address {address:?} is not of the form host:port"
            ));
        }
        let facility = facility_code(facility)
            .ok_or_else(|| format!("unknown syslog facility {facility:?}"))?;
        let app_name = if app_name.is_empty() {
            "-".to_string()
        } else if app_name.len() <= 48 && app_name.bytes().all(|b| (33..=126).contains(&b)) {
            app_name.clone()
        } else {
            return Err(
                "syslog app_name must be at most 48 printable ASCII characters without spaces"
                    .into(),
            );
        };
        Ok(Self {
            address: address.to_string(),
            transport: *transport,
            format: *format,
            facility,
            app_name,
            hostname: local_hostname(),
            procid: std::process::id(),
            udp: None,
            tcp: None,
        })
    }

    /// The RFC 5424 message (without any framing) for one alert.
    fn message(&self, n: &Notification) -> String {
        let pri = u32::from(self.facility) * 8 + u32::from(syslog_severity(n.severity));
        let timestamp = rfc3339(&n.timestamp).unwrap_or_else(|| "-".into());
        let msg = match self.format {
            SyslogFormat::Json => serde_json::to_string(&n.event).unwrap_or_default(),
            SyslogFormat::Plain => n.summary(),
        };
        format!(
            "<{pri}>1 {timestamp} {} {} {} alert - {msg}",
            self.hostname, self.app_name, self.procid
        )
    }

    fn resolve(&self) -> Result<Vec<SocketAddr>, String> {
        let addrs: Vec<SocketAddr> = self
            .address
            .to_socket_addrs()
            .map_err(|e| format!("syslog {}: cannot resolve: {e}", self.address))?
            .collect();
        if addrs.is_empty() {
            return Err(format!("syslog {}: no address found", self.address));
        }
        Ok(addrs)
    }

    fn send_udp(&mut self, batch: &[Notification]) -> Result<(), String> {
        if self.udp.is_none() {
            let addr = self.resolve()?[0];
            let bind: SocketAddr = if addr.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                ([0u16; 8], 0).into()
            };
            let socket = UdpSocket::bind(bind)
                .and_then(|s| s.connect(addr).map(|()| s))
                .map_err(|e| format!("syslog udp {}: {e}", self.address))?;
            self.udp = Some(socket);
        }
        for n in batch {
            let msg = self.message(n);
            let bytes = truncate_bytes(&msg, MAX_DATAGRAM);
            let sent = self.udp.as_ref().map(|s| s.send(bytes.as_bytes()));
            if let Some(Err(e)) = sent {
                self.udp = None;
                return Err(format!("syslog udp {}: {e}", self.address));
            }
        }
        Ok(())
    }

    fn connect_tcp(&self) -> Result<TcpStream, String> {
        let mut last = None;
        for addr in self.resolve()? {
            match TcpStream::connect_timeout(&addr, NET_TIMEOUT) {
                Ok(s) => {
                    s.set_write_timeout(Some(NET_TIMEOUT))
                        .map_err(|e| format!("syslog tcp {}: {e}", self.address))?;
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(format!(
            "syslog tcp {}: cannot connect: {}",
            self.address,
            last.map(|e| e.to_string()).unwrap_or_default()
        ))
    }

    fn send_tcp(&mut self, batch: &[Notification]) -> Result<(), String> {
        // A collector never talks back: a readable end-of-stream or an error means the
        // connection is gone (collector restarted), so reconnect before writing into it.
        if self.tcp.as_ref().is_some_and(|s| !connection_alive(s)) {
            self.tcp = None;
        }
        if self.tcp.is_none() {
            self.tcp = Some(self.connect_tcp()?);
        }
        let mut frames = Vec::new();
        for n in batch {
            let msg = self.message(n);
            frames.extend_from_slice(format!("{} {msg}", msg.len()).as_bytes());
        }
        let written = match self.tcp.as_mut() {
            Some(s) => s.write_all(&frames).and_then(|()| s.flush()),
            None => Ok(()),
        };
        written.map_err(|e| {
            self.tcp = None;
            format!("syslog tcp {}: write failed: {e}", self.address)
        })
    }
}

impl Channel for SyslogChannel {
    fn send(&mut self, batch: &[Notification]) -> Result<(), String> {
        if batch.is_empty() {
            return Ok(());
        }
        match self.transport {
            SyslogTransport::Udp => self.send_udp(batch),
            SyslogTransport::Tcp => self.send_tcp(batch),
        }
    }
}

/// Whether a connection the peer never writes to is still open (no EOF, no error pending).
fn connection_alive(s: &TcpStream) -> bool {
    if s.set_nonblocking(true).is_err() {
        return false;
    }
    let mut buf = [0u8; 1];
    let alive = match s.peek(&mut buf) {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == io::ErrorKind::WouldBlock,
    };
    s.set_nonblocking(false).is_ok() && alive
}

/// The facility number of a facility name.
fn facility_code(name: &str) -> Option<u8> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "kern" => 0,
        "user" => 1,
        "mail" => 2,
        "daemon" => 3,
        "auth" => 4,
        "syslog" => 5,
        "lpr" => 6,
        "news" => 7,
        "uucp" => 8,
        "cron" => 9,
        "authpriv" => 10,
        "ftp" => 11,
        "local0" => 16,
        "local1" => 17,
        "local2" => 18,
        "local3" => 19,
        "local4" => 20,
        "local5" => 21,
        "local6" => 22,
        "local7" => 23,
        _ => return None,
    })
}

/// Syslog severity of an alert severity: 1 (high) → 2 crit, 2 → 3 err, 3 → 4 warning,
/// anything else → 5 notice.
fn syslog_severity(severity: u8) -> u8 {
    match severity {
        0 | 1 => 2,
        2 => 3,
        3 => 4,
        _ => 5,
    }
}

/// This machine's host name for the HOSTNAME field (`-` when unknown).
fn local_hostname() -> String {
    let from_proc = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    let from_env = std::env::var("HOSTNAME").ok();
    [from_proc, from_env]
        .into_iter()
        .flatten()
        .map(|h| h.trim().to_string())
        .find(|h| !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| (33..=126).contains(&b)))
        .unwrap_or_else(|| "-".into())
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// An EVE timestamp (`2026-01-01T00:00:00.000000+0000`) as RFC 3339
/// (`2026-01-01T00:00:00.000000+00:00`); `None` if it is not a timestamp. Fractions are
/// kept to at most 6 digits (RFC 5424's limit).
pub(super) fn rfc3339(ts: &str) -> Option<String> {
    let ts = ts.trim();
    let b = ts.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    // YYYY-MM-DDTHH:MM:SS
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't' | b' ')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return None;
    }
    let mut out = format!("{}T{}", &ts[..10], &ts[11..19]);
    let mut rest = &ts[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        out.push('.');
        out.push_str(&frac[..n.min(6)]);
        rest = &frac[n..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => out.push('Z'),
        [s @ (b'+' | b'-'), h1, h2, m1, m2] | [s @ (b'+' | b'-'), h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()) =>
        {
            out.push(char::from(*s));
            out.extend([
                char::from(*h1),
                char::from(*h2),
                ':',
                char::from(*m1),
                char::from(*m2),
            ]);
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;

    use super::*;

    use crate::channels::sample as notification;

    fn spec(address: String, transport: SyslogTransport, format: SyslogFormat) -> ChannelSpec {
        ChannelSpec::Syslog {
            address,
            transport,
            format,
            facility: "local0".into(),
            app_name: "nta-test".into(),
        }
    }

    /// Checks the RFC 5424 header and returns the MSG part.
    fn check_header(msg: &str, pri: u32) -> String {
        let parts: Vec<&str> = msg.splitn(8, ' ').collect();
        assert_eq!(parts.len(), 8, "{msg}");
        assert_eq!(parts[0], format!("<{pri}>1"));
        assert_eq!(parts[1], "2026-01-01T00:00:00.000000+00:00");
        assert!(!parts[2].is_empty() && parts[2].bytes().all(|b| (33..=126).contains(&b)));
        assert_eq!(parts[3], "nta-test");
        assert_eq!(parts[4], std::process::id().to_string());
        assert_eq!(parts[5], "alert");
        assert_eq!(parts[6], "-");
        parts[7].to_string()
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            rfc3339("2026-01-01T00:00:00.000000+0000").as_deref(),
            Some("2026-01-01T00:00:00.000000+00:00")
        );
        assert_eq!(
            rfc3339("2026-03-04T05:06:07.123456789-0130").as_deref(),
            Some("2026-03-04T05:06:07.123456-01:30")
        );
        assert_eq!(
            rfc3339("2026-03-04T05:06:07+02:00").as_deref(),
            Some("2026-03-04T05:06:07+02:00")
        );
        assert_eq!(
            rfc3339("2026-03-04T05:06:07Z").as_deref(),
            Some("2026-03-04T05:06:07Z")
        );
        assert_eq!(rfc3339("yesterday"), None);
        assert_eq!(rfc3339("2026-03-04T05:06:07.+0000"), None);
        assert_eq!(rfc3339("2026-03-04T05:06:07+00"), None);
    }

    #[test]
    fn validation() {
        let ok = spec(
            "127.0.0.1:514".into(),
            SyslogTransport::Udp,
            SyslogFormat::Json,
        );
        assert!(SyslogChannel::new(&ok).is_ok());
        let mut bad = ok.clone();
        if let ChannelSpec::Syslog { facility, .. } = &mut bad {
            *facility = "local9".into();
        }
        assert!(SyslogChannel::new(&bad).unwrap_err().contains("local9"));
        let mut bad = ok.clone();
        if let ChannelSpec::Syslog { app_name, .. } = &mut bad {
            *app_name = "has space".into();
        }
        assert!(SyslogChannel::new(&bad).is_err());
        let mut bad = ok.clone();
        if let ChannelSpec::Syslog { address, .. } = &mut bad {
            *address = "no-port".into();
        }
        assert!(SyslogChannel::new(&bad).is_err());
        let file = ChannelSpec::File {
            path: "/tmp/x".into(),
        };
        assert!(SyslogChannel::new(&file).is_err());
        for (name, code) in [("kern", 0), ("authpriv", 10), ("local7", 23), ("ftp", 11)] {
            assert_eq!(facility_code(name), Some(code));
        }
        assert_eq!(
            [1, 2, 3, 4].map(syslog_severity),
            [2, 3, 4, 5],
            "crit, err, warning, notice"
        );
    }

    #[test]
    fn udp_json_and_plain() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        let addr = server.local_addr().unwrap().to_string();
        let batch = [
            notification(1, 1, "ET SCAN one"),
            notification(2, 3, "ET SCAN two"),
        ];

        let mut ch = SyslogChannel::new(&spec(
            addr.clone(),
            SyslogTransport::Udp,
            SyslogFormat::Json,
        ))
        .unwrap();
        ch.send(&batch).unwrap();
        let mut buf = [0u8; 65536];
        for (n, pri) in batch.iter().zip([130, 132]) {
            let len = server.recv(&mut buf).unwrap();
            let msg = std::str::from_utf8(&buf[..len]).unwrap();
            let body = check_header(msg, pri);
            let event: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(event, n.event);
        }

        let mut ch =
            SyslogChannel::new(&spec(addr, SyslogTransport::Udp, SyslogFormat::Plain)).unwrap();
        ch.send(&batch[..1]).unwrap();
        let len = server.recv(&mut buf).unwrap();
        let msg = std::str::from_utf8(&buf[..len]).unwrap();
        assert!(msg.starts_with("<130>1 "), "{msg}");
        assert_eq!(check_header(msg, 130), batch[0].summary());
    }

    /// Reads one octet-counted frame.
    fn read_frame(r: &mut impl BufRead) -> String {
        let mut len = Vec::new();
        r.read_until(b' ', &mut len).unwrap();
        assert_eq!(
            len.pop(),
            Some(b' '),
            "frame length must be followed by a space"
        );
        let len: usize = std::str::from_utf8(&len).unwrap().parse().unwrap();
        let mut msg = vec![0u8; len];
        r.read_exact(&mut msg).unwrap();
        String::from_utf8(msg).unwrap()
    }

    fn accept(listener: &TcpListener) -> BufReader<TcpStream> {
        let (s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        BufReader::new(s)
    }

    #[test]
    fn tcp_octet_counting_and_reconnect() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut ch = SyslogChannel::new(&spec(
            addr.to_string(),
            SyslogTransport::Tcp,
            SyslogFormat::Json,
        ))
        .unwrap();

        let batch = [
            notification(1, 1, "ET SCAN one"),
            notification(2, 2, "ET SCAN two"),
        ];
        ch.send(&batch).unwrap();
        let mut conn = accept(&listener);
        for (n, pri) in batch.iter().zip([130, 131]) {
            let body = check_header(&read_frame(&mut conn), pri);
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&body).unwrap(),
                n.event
            );
        }

        // The collector restarts on the same port: the next send reconnects.
        drop(conn);
        drop(listener);
        let listener = TcpListener::bind(addr).unwrap();
        ch.send(&batch[1..]).unwrap();
        let mut conn = accept(&listener);
        check_header(&read_frame(&mut conn), 131);

        // The collector is down: the send fails; once it is back, the retry is delivered.
        drop(conn);
        drop(listener);
        let err = ch.send(&batch[..1]).unwrap_err();
        assert!(err.contains("syslog tcp"), "{err}");
        let listener = TcpListener::bind(addr).unwrap();
        ch.send(&batch[..1]).unwrap();
        let mut conn = accept(&listener);
        check_header(&read_frame(&mut conn), 130);

        // Plain format on TCP.
        let mut ch = SyslogChannel::new(&spec(
            addr.to_string(),
            SyslogTransport::Tcp,
            SyslogFormat::Plain,
        ))
        .unwrap();
        ch.send(&batch[1..]).unwrap();
        let mut conn2 = accept(&listener);
        assert_eq!(
            check_header(&read_frame(&mut conn2), 131),
            batch[1].summary()
        );
        drop(conn);
    }
}
