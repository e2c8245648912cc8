//! What TCP sessions say: scripts of [`Message`]s for HTTP, HTTPS, SSH and
//! SMTP, sized so a session comes out near a target packet count.

use crate::content::{close_len, open_len, Fill, Message};
use crate::rng::SplitMix64;
use crate::tls;

/// Interactive SSH exchanges beyond this become one bulk transfer, which
/// bounds the number of messages (memory) a single long session holds.
const MAX_SSH_ROUNDS: u64 = 256;

const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "curl/8.5.0",
];
const HTTP_SERVERS: [&str; 3] = ["nginx/1.24.0", "Apache/2.4.58 (Ubuntu)", "cloudflare"];

/// The application a TCP session speaks, chosen by server port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Http,
    Https,
    Ssh,
    Smtp,
}

impl Service {
    /// 45% HTTPS, 35% HTTP, 10% SSH, 10% SMTP.
    pub(crate) fn pick(rng: &mut SplitMix64) -> Self {
        match rng.below(100) {
            0..45 => Service::Https,
            45..80 => Service::Http,
            80..90 => Service::Ssh,
            _ => Service::Smtp,
        }
    }

    pub(crate) fn port(self) -> u16 {
        match self {
            Service::Http => 80,
            Service::Https => 443,
            Service::Ssh => 22,
            Service::Smtp => 25,
        }
    }
}

/// What the session is about: who talks to whom, and how big it should be.
pub(crate) struct Session {
    pub(crate) service: Service,
    /// Desired packets for the whole session, handshake and teardown included.
    pub(crate) target_packets: u64,
    pub(crate) mss: u32,
    /// Server number, used in host names.
    pub(crate) site: u64,
    /// Client host number, used in host names.
    pub(crate) client: u64,
}

impl Session {
    pub(crate) fn script(&self, rng: &mut SplitMix64) -> Vec<Message> {
        match self.service {
            Service::Http => self.http(rng),
            Service::Https => self.https(rng),
            Service::Ssh => self.ssh(rng),
            Service::Smtp => self.smtp(rng),
        }
    }

    /// Segments of a bulk transfer that bring the session to its target,
    /// given `fixed` packets for everything else. A receiver acknowledges
    /// every second segment, so each segment costs 1.5 packets.
    fn bulk_segments(&self, fixed: u64) -> u64 {
        (self.target_packets.saturating_sub(fixed) * 2 / 3).max(1)
    }

    /// Bytes filling `segments` segments, the last one partially.
    fn bulk_bytes(&self, rng: &mut SplitMix64, segments: u64) -> u32 {
        let mss = u64::from(self.mss);
        let bytes = (segments - 1) * mss + rng.range(1, mss);
        bytes.min(u64::from(u32::MAX / 2)) as u32
    }

    fn http(&self, rng: &mut SplitMix64) -> Vec<Message> {
        let host = format!("www.site{}.example.com", self.site);
        let (path, content_type, fill) = match rng.below(5) {
            0 => ("/".to_string(), "text/html; charset=utf-8", Fill::Text),
            1 => (
                format!("/static/js/app.{:08x}.js", rng.next_u32()),
                "application/javascript",
                Fill::Text,
            ),
            // Opaque download: random bytes are not a valid image, so do not
            // label them as one.
            2 => (
                format!("/downloads/update-{}.bin", rng.below(10_000)),
                "application/octet-stream",
                Fill::Binary,
            ),
            3 => (
                format!("/api/v1/items/{}", rng.below(100_000)),
                "application/json",
                Fill::Text,
            ),
            _ => (
                format!("/docs/page{}.html", rng.below(1000)),
                "text/html; charset=utf-8",
                Fill::Text,
            ),
        };
        let post = rng.chance(10);
        let user_agent = USER_AGENTS[rng.below(USER_AGENTS.len() as u64) as usize];
        let method = if post { "POST" } else { "GET" };
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\n\
             Accept: */*\r\nAccept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate\r\n"
        );
        if rng.chance(60) {
            request.push_str("Cookie: session=");
            for _ in 0..rng.range(2, 12) {
                request.push_str(&format!("{:016x}", rng.next_u64()));
            }
            request.push_str("\r\n");
        }
        let form = if post {
            format!(
                "id={}&action=update&token={:016x}",
                rng.below(100_000),
                rng.next_u64()
            )
        } else {
            String::new()
        };
        if post {
            request.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                form.len()
            ));
        }
        request.push_str("Connection: close\r\n\r\n");
        request.push_str(&form);

        let server = HTTP_SERVERS[rng.below(HTTP_SERVERS.len() as u64) as usize];
        // Handshake 3 + request 1 + teardown 3.
        let total = self.bulk_bytes(rng, self.bulk_segments(7));
        let (status, content_type, fill, body_len) = if rng.chance(5) {
            let len = rng.range(150, 450) as u32;
            ("404 Not Found", "text/html; charset=utf-8", Fill::Text, len)
        } else {
            // Response headers are about 150 bytes; tiny bodies are implausible.
            let len = total.saturating_sub(150).max(rng.range(40, 400) as u32);
            ("200 OK", content_type, fill, len)
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nServer: {server}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {body_len}\r\nConnection: close\r\n\r\n"
        );
        vec![
            Message::new(true, request.into_bytes()),
            Message::new(false, head.into_bytes()).with_fill(fill, body_len),
        ]
    }

    fn https(&self, rng: &mut SplitMix64) -> Vec<Message> {
        let sni = match rng.below(3) {
            0 => format!("api.site{}.example.com", self.site),
            _ => format!("www.site{}.example.com", self.site),
        };
        let session_id = rng.bytes::<32>();
        let client_hello = tls::client_hello(rng, &sni, &session_id);
        if rng.below(2) == 0 {
            // TLS 1.2: the certificate goes in the clear.
            let server_hello = tls::server_hello_tls12(rng, &session_id);
            // ClientKeyExchange, ChangeCipherSpec, Finished; then the server's.
            let client_flight = rng.range(120, 200) as u32;
            let response = self.bulk_bytes(rng, self.bulk_segments(12));
            return vec![
                Message::new(true, client_hello),
                Message::new(false, server_hello),
                Message::new(true, Vec::new()).with_fill(Fill::TlsRecords, client_flight),
                Message::new(false, tls::CHANGE_CIPHER_SPEC.to_vec())
                    .with_fill(Fill::TlsRecords, 60),
                Message::new(false, Vec::new()).with_fill(Fill::TlsRecords, response),
            ];
        }
        let server_hello = tls::server_hello(rng, &session_id);
        // EncryptedExtensions, Certificate, CertificateVerify, Finished.
        let server_flight = rng.range(2000, 4500) as u32;
        // Client Finished plus the first request.
        let client_flight = rng.range(250, 650) as u32;
        // Handshake 3 + ClientHello 1 + server flight ~4 + client flight 1 + teardown 3.
        let response = self.bulk_bytes(rng, self.bulk_segments(12));
        vec![
            Message::new(true, client_hello),
            Message::new(false, server_hello).with_fill(Fill::TlsRecords, server_flight),
            Message::new(true, tls::CHANGE_CIPHER_SPEC.to_vec())
                .with_fill(Fill::TlsRecords, client_flight),
            Message::new(false, Vec::new()).with_fill(Fill::TlsRecords, response),
        ]
    }

    fn ssh(&self, rng: &mut SplitMix64) -> Vec<Message> {
        let encrypted = |from_client, len: u64| {
            Message::new(from_client, Vec::new()).with_fill(Fill::Binary, len as u32)
        };
        let mut script = vec![
            Message::new(
                false,
                b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n".to_vec(),
            ),
            Message::new(true, b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()),
            Message::new(true, ssh_kexinit(rng)),
            Message::new(false, ssh_kexinit(rng)),
            // KEX_ECDH_INIT, then the server's reply with host key and NEWKEYS.
            encrypted(true, 48),
            encrypted(false, rng.range(500, 1100)),
            // NEWKEYS + service request, userauth, and their answers.
            encrypted(true, rng.range(60, 110)),
            encrypted(false, rng.range(44, 60)),
            encrypted(true, rng.range(100, 200)),
            encrypted(false, rng.range(44, 60)),
        ];
        // Handshake 3 + 10 messages + 2 acks + teardown 3; each round is a
        // keystroke-sized write and its echo (acks ride on the replies).
        let rounds = (self.target_packets.saturating_sub(18) / 2).max(1);
        for _ in 0..rounds.min(MAX_SSH_ROUNDS) {
            script.push(encrypted(true, rng.range(36, 100)));
            script.push(encrypted(false, rng.range(36, 300)));
        }
        if rounds > MAX_SSH_ROUNDS {
            // The rest of the budget as a download (scp/sftp-like).
            let segments = ((rounds - MAX_SSH_ROUNDS) * 2 * 2 / 3).max(1);
            let bytes = self.bulk_bytes(rng, segments);
            script.push(encrypted(false, u64::from(bytes)));
        }
        script
    }

    fn smtp(&self, rng: &mut SplitMix64) -> Vec<Message> {
        let server = format!("mx{}.example.net", self.site);
        let sender = format!("user{}@corp.example.org", self.client);
        let rcpt = format!("rcpt{}@example.net", rng.below(5000));
        let text = |from_client, s: String| Message::new(from_client, s.into_bytes());
        let headers = format!(
            "From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: Weekly report {}\r\n\
             Message-ID: <{:016x}@corp.example.org>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/html; charset=utf-8\r\n\r\n",
            rng.below(1000),
            rng.next_u64()
        );
        // Handshake 3 + 12 short messages + ~2 acks + teardown 3.
        let body = self.bulk_bytes(rng, self.bulk_segments(20));
        let body = body.saturating_sub(headers.len() as u32).max(1);
        vec![
            text(false, format!("220 {server} ESMTP Postfix\r\n")),
            text(true, format!("EHLO ws{}.corp.example.org\r\n", self.client)),
            text(
                false,
                format!(
                    "250-{server}\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n\
                     250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 DSN\r\n"
                ),
            ),
            text(true, format!("MAIL FROM:<{sender}>\r\n")),
            text(false, "250 2.1.0 Ok\r\n".to_string()),
            text(true, format!("RCPT TO:<{rcpt}>\r\n")),
            text(false, "250 2.1.5 Ok\r\n".to_string()),
            text(true, "DATA\r\n".to_string()),
            text(false, "354 End data with <CR><LF>.<CR><LF>\r\n".to_string()),
            Message::new(true, headers.into_bytes())
                .with_fill(Fill::Text, body)
                .with_tail(b"\r\n.\r\n"),
            text(
                false,
                format!("250 2.0.0 Ok: queued as {:010X}\r\n", rng.below(1 << 40)),
            ),
            text(true, "QUIT\r\n".to_string()),
            text(false, "221 2.0.0 Bye\r\n".to_string()),
        ]
    }
}

/// SSH_MSG_KEXINIT in a binary packet (RFC 4253 §7.1), unencrypted as it is
/// on the wire.
fn ssh_kexinit(rng: &mut SplitMix64) -> Vec<u8> {
    const MSG_KEXINIT: u8 = 20;
    const BLOCK: usize = 8;
    const NAME_LISTS: [&str; 10] = [
        "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group14-sha256,ext-info-c",
        "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
        "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
        "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
        "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256",
        "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256",
        "none,zlib@openssh.com",
        "none,zlib@openssh.com",
        "",
        "",
    ];
    let mut payload = vec![MSG_KEXINIT];
    payload.extend_from_slice(&rng.bytes::<16>());
    for list in NAME_LISTS {
        let at = open_len(&mut payload, 4);
        payload.extend_from_slice(list.as_bytes());
        close_len(&mut payload, at, 4);
    }
    // first_kex_packet_follows, reserved.
    payload.extend_from_slice(&[0, 0, 0, 0, 0]);
    let mut padding = BLOCK - (4 + 1 + payload.len()) % BLOCK;
    if padding < 4 {
        padding += BLOCK;
    }
    let mut packet = Vec::with_capacity(5 + payload.len() + padding);
    packet.extend_from_slice(&((1 + payload.len() + padding) as u32).to_be_bytes());
    packet.push(padding as u8);
    packet.extend_from_slice(&payload);
    packet.resize(packet.len() + padding, 0);
    packet
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::message_bytes;

    fn session(service: Service, target_packets: u64) -> Session {
        Session {
            service,
            target_packets,
            mss: 1460,
            site: 3,
            client: 9,
        }
    }

    #[test]
    fn http_content_length_matches_body() {
        for seed in 0..50 {
            let mut rng = SplitMix64::new(seed);
            let script = session(Service::Http, 5 + seed * 3).script(&mut rng);
            let response = message_bytes(&script[1], 17);
            let text = String::from_utf8_lossy(&response);
            let head_end = text.find("\r\n\r\n").map(|i| i + 4).unwrap();
            let length: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap();
            assert_eq!(response.len() - head_end, length, "seed {seed}");
            let request = message_bytes(&script[0], 0);
            assert!(request.starts_with(b"GET ") || request.starts_with(b"POST "));
            assert!(request.len() < 1460, "request fits one segment");
        }
    }

    #[test]
    fn ssh_kexinit_is_block_aligned() {
        let packet = ssh_kexinit(&mut SplitMix64::new(1));
        let len = u32::from_be_bytes([packet[0], packet[1], packet[2], packet[3]]) as usize;
        assert_eq!(len + 4, packet.len());
        assert_eq!(packet.len() % 8, 0);
        assert_eq!(packet[5], 20);
    }

    #[test]
    fn smtp_data_ends_with_the_marker() {
        let script = session(Service::Smtp, 40).script(&mut SplitMix64::new(2));
        let data = message_bytes(&script[9], 5);
        assert!(data.ends_with(b"\r\n.\r\n"));
        assert_eq!(data.windows(5).filter(|w| w == b"\r\n.\r\n").count(), 1);
    }

    #[test]
    fn long_ssh_sessions_stay_bounded() {
        let script = session(Service::Ssh, 100_000).script(&mut SplitMix64::new(3));
        assert!(script.len() <= 10 + 2 * MAX_SSH_ROUNDS as usize + 1);
    }
}
