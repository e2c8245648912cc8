//! The buffers a payload keyword inspects, and the two spellings that select them: sticky
//! buffers (`http.uri; content:"x";`) and the older content modifiers
//! (`content:"x"; http_uri;`). Both become one [`Buffer`].

use std::fmt;

/// What a content, pcre, isdataat, byte_test… looks at.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Buffer {
    /// The packet payload, or the reassembled stream (`pkt_data`, the default).
    Packet,
    /// File data: HTTP response bodies (decoded), SMTP attachments, … (`file.data`, `file_data`).
    FileData,
    /// The data decoded by `base64_decode`.
    Base64Data,
    /// Normalised request URI.
    HttpUri,
    /// Request URI as sent.
    HttpUriRaw,
    /// Request method.
    HttpMethod,
    /// Normalised (lowercase) Host header value.
    HttpHost,
    /// Host header as sent.
    HttpHostRaw,
    /// User-Agent header value.
    HttpUserAgent,
    /// Normalised headers (without request/status line and cookies).
    HttpHeader,
    /// Headers as sent.
    HttpHeaderRaw,
    /// Cookie / Set-Cookie header values.
    HttpCookie,
    /// Response status code.
    HttpStatCode,
    /// Response status message.
    HttpStatMsg,
    /// Content-Type header value.
    HttpContentType,
    /// Content-Length header value.
    HttpContentLen,
    /// Request body (dechunked, decompressed).
    HttpRequestBody,
    /// Response body (dechunked, decompressed).
    HttpResponseBody,
    /// The whole request line.
    HttpRequestLine,
    /// The whole response (status) line.
    HttpResponseLine,
    /// Protocol field of the request line (`HTTP/1.1`).
    HttpProtocol,
    /// Request or response line plus headers, as sent.
    HttpStart,
    /// Accept header value.
    HttpAccept,
    /// Accept-Encoding header value.
    HttpAcceptEnc,
    /// Accept-Language header value.
    HttpAcceptLang,
    /// Referer header value.
    HttpReferer,
    /// Location header value.
    HttpLocation,
    /// Server header value.
    HttpServer,
    /// Connection header value.
    HttpConnection,
    /// Header names, each preceded by `\r\n`, the list ending with `\r\n\r\n`.
    HttpHeaderNames,
    /// Name of a transferred file.
    FileName,
    /// A DNS query name.
    DnsQuery,
    /// TLS Server Name Indication.
    TlsSni,
    /// Server certificate subject.
    TlsCertSubject,
    /// Server certificate issuer.
    TlsCertIssuer,
    /// Server certificate serial.
    TlsCertSerial,
    /// Server certificate SHA-1 fingerprint.
    TlsCertFingerprint,
    /// JA3 client fingerprint (MD5 hex).
    Ja3Hash,
    /// JA3 client fingerprint string.
    Ja3String,
    /// JA3S server fingerprint (MD5 hex).
    Ja3sHash,
    /// JA3S server fingerprint string.
    Ja3sString,
    /// JA4 client fingerprint.
    Ja4Hash,
    /// SSH software version.
    SshSoftware,
    /// SSH protocol version.
    SshProto,
    /// HASSH client fingerprint (MD5 hex).
    SshHassh,
    /// HASSH client fingerprint string.
    SshHasshString,
    /// HASSH server fingerprint (MD5 hex).
    SshHasshServer,
    /// HASSH server fingerprint string.
    SshHasshServerString,
    /// SMTP HELO/EHLO argument.
    SmtpHelo,
    /// SMTP MAIL FROM argument.
    SmtpMailFrom,
    /// SMTP RCPT TO argument (each recipient).
    SmtpRcptTo,
    /// FTP command.
    FtpCommand,
    /// A field of a user-defined protocol (`custom.<protocol>.<field>`), as it is logged:
    /// strings as text, bytes as raw bytes, integers and named values as decimal text and
    /// name. `field` may be a dotted path into groups (`registers.value`).
    Custom {
        /// The user-defined protocol's name.
        protocol: String,
        /// The field name or dotted path.
        field: String,
    },
}

/// Which application protocol a buffer belongs to (to detect a rule whose header protocol
/// cannot have that buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferFamily {
    /// Packet or stream data: any protocol.
    Any,
    /// File data: HTTP, SMTP, FTP, SMB, NFS, HTTP/2.
    File,
    /// HTTP/1 or HTTP/2.
    Http,
    /// DNS.
    Dns,
    /// TLS (and QUIC for JA3/JA4).
    Tls,
    /// SSH.
    Ssh,
    /// SMTP.
    Smtp,
    /// FTP.
    Ftp,
    /// A user-defined protocol.
    Custom,
}

/// Sticky-buffer keywords: the buffer applies to the payload keywords that follow, until the
/// next sticky buffer or `pkt_data`. Underscore names are Suricata's older sticky spellings
/// (in Suricata, `dns_query`, `tls_sni`, `file_data`, … have always been sticky).
const STICKY: &[(&str, Buffer)] = &[
    ("pkt_data", Buffer::Packet),
    ("file.data", Buffer::FileData),
    ("file_data", Buffer::FileData),
    ("base64_data", Buffer::Base64Data),
    ("http.uri", Buffer::HttpUri),
    ("http.uri.raw", Buffer::HttpUriRaw),
    ("http.method", Buffer::HttpMethod),
    ("http.host", Buffer::HttpHost),
    ("http.host.raw", Buffer::HttpHostRaw),
    ("http.user_agent", Buffer::HttpUserAgent),
    ("http.header", Buffer::HttpHeader),
    ("http.header.raw", Buffer::HttpHeaderRaw),
    ("http.cookie", Buffer::HttpCookie),
    ("http.stat_code", Buffer::HttpStatCode),
    ("http.stat_msg", Buffer::HttpStatMsg),
    ("http.content_type", Buffer::HttpContentType),
    ("http_content_type", Buffer::HttpContentType),
    ("http.content_len", Buffer::HttpContentLen),
    ("http_content_len", Buffer::HttpContentLen),
    ("http.request_body", Buffer::HttpRequestBody),
    ("http.response_body", Buffer::HttpResponseBody),
    ("http.request_line", Buffer::HttpRequestLine),
    ("http_request_line", Buffer::HttpRequestLine),
    ("http.response_line", Buffer::HttpResponseLine),
    ("http_response_line", Buffer::HttpResponseLine),
    ("http.protocol", Buffer::HttpProtocol),
    ("http_protocol", Buffer::HttpProtocol),
    ("http.start", Buffer::HttpStart),
    ("http_start", Buffer::HttpStart),
    ("http.accept", Buffer::HttpAccept),
    ("http_accept", Buffer::HttpAccept),
    ("http.accept_enc", Buffer::HttpAcceptEnc),
    ("http_accept_enc", Buffer::HttpAcceptEnc),
    ("http.accept_lang", Buffer::HttpAcceptLang),
    ("http_accept_lang", Buffer::HttpAcceptLang),
    ("http.referer", Buffer::HttpReferer),
    ("http_referer", Buffer::HttpReferer),
    ("http.location", Buffer::HttpLocation),
    ("http.server", Buffer::HttpServer),
    ("http.connection", Buffer::HttpConnection),
    ("http_connection", Buffer::HttpConnection),
    ("http.header_names", Buffer::HttpHeaderNames),
    ("http_header_names", Buffer::HttpHeaderNames),
    ("file.name", Buffer::FileName),
    ("dns.query", Buffer::DnsQuery),
    ("dns_query", Buffer::DnsQuery),
    ("tls.sni", Buffer::TlsSni),
    ("tls_sni", Buffer::TlsSni),
    ("tls.cert_subject", Buffer::TlsCertSubject),
    ("tls_cert_subject", Buffer::TlsCertSubject),
    ("tls.subject", Buffer::TlsCertSubject),
    ("tls.cert_issuer", Buffer::TlsCertIssuer),
    ("tls_cert_issuer", Buffer::TlsCertIssuer),
    ("tls.issuerdn", Buffer::TlsCertIssuer),
    ("tls.cert_serial", Buffer::TlsCertSerial),
    ("tls_cert_serial", Buffer::TlsCertSerial),
    ("tls.cert_fingerprint", Buffer::TlsCertFingerprint),
    ("tls_cert_fingerprint", Buffer::TlsCertFingerprint),
    ("ja3.hash", Buffer::Ja3Hash),
    ("ja3_hash", Buffer::Ja3Hash),
    ("ja3.string", Buffer::Ja3String),
    ("ja3_string", Buffer::Ja3String),
    ("ja3s.hash", Buffer::Ja3sHash),
    ("ja3s.string", Buffer::Ja3sString),
    ("ja4.hash", Buffer::Ja4Hash),
    ("ssh.software", Buffer::SshSoftware),
    ("ssh_software", Buffer::SshSoftware),
    ("ssh.proto", Buffer::SshProto),
    ("ssh_proto", Buffer::SshProto),
    ("ssh.hassh", Buffer::SshHassh),
    ("ssh.hassh.string", Buffer::SshHasshString),
    ("ssh.hassh.server", Buffer::SshHasshServer),
    ("ssh.hassh.server.string", Buffer::SshHasshServerString),
    ("smtp.helo", Buffer::SmtpHelo),
    ("smtp.mail_from", Buffer::SmtpMailFrom),
    ("smtp.rcpt_to", Buffer::SmtpRcptTo),
    ("ftp.command", Buffer::FtpCommand),
];

/// Content modifiers: the older spelling, placed after a `content`, moving that content into
/// the buffer.
const MODIFIERS: &[(&str, Buffer)] = &[
    ("http_uri", Buffer::HttpUri),
    ("http_raw_uri", Buffer::HttpUriRaw),
    ("http_method", Buffer::HttpMethod),
    ("http_header", Buffer::HttpHeader),
    ("http_raw_header", Buffer::HttpHeaderRaw),
    ("http_cookie", Buffer::HttpCookie),
    ("http_client_body", Buffer::HttpRequestBody),
    ("http_server_body", Buffer::HttpResponseBody),
    ("http_stat_code", Buffer::HttpStatCode),
    ("http_stat_msg", Buffer::HttpStatMsg),
    ("http_user_agent", Buffer::HttpUserAgent),
    ("http_host", Buffer::HttpHost),
    ("http_raw_host", Buffer::HttpHostRaw),
];

/// Longest custom protocol or field name (as for user-defined protocols).
pub const MAX_CUSTOM_NAME_LEN: usize = 32;

impl Buffer {
    /// The buffer a sticky-buffer keyword selects (`http.uri`, `dns_query`, `pkt_data`,
    /// `custom.modbus_tcp.function`, …).
    pub fn from_sticky(keyword: &str) -> Option<Buffer> {
        if let Some(rest) = keyword.strip_prefix("custom.") {
            return Buffer::custom_path(rest);
        }
        STICKY
            .iter()
            .find(|(k, _)| *k == keyword)
            .map(|(_, b)| b.clone())
    }

    /// The buffer a content-modifier keyword selects (`http_uri`, `http_client_body`, …).
    pub fn from_modifier(keyword: &str) -> Option<Buffer> {
        MODIFIERS
            .iter()
            .find(|(k, _)| *k == keyword)
            .map(|(_, b)| b.clone())
    }

    /// `protocol.field[.sub…]` as a custom buffer, if the names are valid.
    pub fn custom_path(path: &str) -> Option<Buffer> {
        let (protocol, field) = path.split_once('.')?;
        if !valid_custom_protocol(protocol) || !field.split('.').all(valid_custom_field) {
            return None;
        }
        Some(Buffer::Custom {
            protocol: protocol.to_string(),
            field: field.to_string(),
        })
    }

    /// The canonical (dotted) keyword of the buffer.
    pub fn name(&self) -> String {
        match self {
            Buffer::Packet => "pkt_data".to_string(),
            Buffer::Custom { protocol, field } => format!("custom.{protocol}.{field}"),
            b => STICKY
                .iter()
                .find(|(k, v)| v == b && k.contains('.'))
                .or_else(|| STICKY.iter().find(|(_, v)| v == b))
                .map_or_else(|| format!("{b:?}"), |(k, _)| (*k).to_string()),
        }
    }

    /// The protocol family the buffer belongs to.
    pub fn family(&self) -> BufferFamily {
        use Buffer::*;
        match self {
            Packet | Base64Data => BufferFamily::Any,
            FileData | FileName => BufferFamily::File,
            HttpUri | HttpUriRaw | HttpMethod | HttpHost | HttpHostRaw | HttpUserAgent
            | HttpHeader | HttpHeaderRaw | HttpCookie | HttpStatCode | HttpStatMsg
            | HttpContentType | HttpContentLen | HttpRequestBody | HttpResponseBody
            | HttpRequestLine | HttpResponseLine | HttpProtocol | HttpStart | HttpAccept
            | HttpAcceptEnc | HttpAcceptLang | HttpReferer | HttpLocation | HttpServer
            | HttpConnection | HttpHeaderNames => BufferFamily::Http,
            DnsQuery => BufferFamily::Dns,
            TlsSni | TlsCertSubject | TlsCertIssuer | TlsCertSerial | TlsCertFingerprint
            | Ja3Hash | Ja3String | Ja3sHash | Ja3sString | Ja4Hash => BufferFamily::Tls,
            SshSoftware | SshProto | SshHassh | SshHasshString | SshHasshServer
            | SshHasshServerString => BufferFamily::Ssh,
            SmtpHelo | SmtpMailFrom | SmtpRcptTo => BufferFamily::Smtp,
            FtpCommand => BufferFamily::Ftp,
            Custom { .. } => BufferFamily::Custom,
        }
    }
}

impl fmt::Display for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A user-defined protocol name: lowercase letters, digits, `_`, `-`, starting with a letter.
pub(crate) fn valid_custom_protocol(s: &str) -> bool {
    s.len() <= MAX_CUSTOM_NAME_LEN
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A user-defined field name: lowercase letters, digits, `_`, starting with a letter.
pub(crate) fn valid_custom_field(s: &str) -> bool {
    s.len() <= MAX_CUSTOM_NAME_LEN
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
