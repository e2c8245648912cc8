//! content and its modifiers, and the buffers payload keywords attach to.

use crate::tests_util::{assert_err, content, contents, err, err_in, ok, ok_in, one_match};
use crate::{Buffer, Content, FastPattern, Test, Value};

#[test]
fn content_text_hex_and_escapes() {
    assert_eq!(content(r#"content:"abc";"#).pattern, b"abc");
    assert_eq!(content(r#"content:"a|0D 0a|b|41|";"#).pattern, b"a\r\nbA");
    assert_eq!(
        content(r#"content:"|de ad be ef|";"#).pattern,
        [0xde, 0xad, 0xbe, 0xef]
    );
    assert_eq!(
        content(r#"content:"a\"b\;c\\d\:e";"#).pattern,
        br#"a"b;c\d:e"#
    );
    assert_eq!(content(r#"content:"|3a|a";"#).pattern, b":a");
    assert_eq!(content("content:unquoted;").pattern, b"unquoted");
    let c = content(r#"content:!"evil";"#);
    assert!(c.negated);
    assert_eq!(c.pattern, b"evil");
    let c = content(r#"content: ! "evil";"#);
    assert!(c.negated);
    assert_eq!(
        content(r#"content:"x";"#),
        Content {
            pattern: b"x".to_vec(),
            ..Content::default()
        }
    );
}

#[test]
fn content_errors() {
    assert_err(
        &err(r#"content:"";"#),
        "invalid value: content",
        "empty content",
    );
    assert_err(
        &err(r#"content:"|4|";"#),
        "invalid value: content",
        "odd number of hex digits",
    );
    assert_err(
        &err(r#"content:"|4g|";"#),
        "invalid value: content",
        "invalid hex digit `g`",
    );
    assert_err(
        &err(r#"content:"a|41";"#),
        "invalid value: content",
        "unclosed `|`",
    );
    assert_err(
        &err(r#"content:"a\nb";"#),
        "invalid value: content",
        "invalid escape `\\n`",
    );
    assert_err(
        &err(r#"content:"abc;"#),
        "invalid value: content",
        "unterminated quoted content",
    );
    assert_err(
        &err(r#"content:"a" nocase;"#),
        "invalid value: content",
        "unexpected `nocase` after the closing quote",
    );
    assert_err(
        &err("content;"),
        "invalid value: content",
        "`content` needs a value",
    );
    let e = err(r#"content:"ab|zz|";"#);
    // `alert tcp any any -> any any (content:"ab|zz|"` : value at 38, `z` at 38+4.
    assert_eq!(e.offset, 42);
}

#[test]
fn content_modifiers() {
    let c = content(r#"content:"abc"; nocase; offset:2; depth:10; rawbytes; fast_pattern;"#);
    assert_eq!(
        c,
        Content {
            pattern: b"abc".to_vec(),
            nocase: true,
            rawbytes: true,
            offset: Some(Value::Lit(2)),
            depth: Some(Value::Lit(10)),
            fast_pattern: Some(FastPattern::Yes),
            ..Content::default()
        }
    );
    let r = ok(r#"content:"a"; content:"bc"; distance:-1; within:5;"#);
    let c = &contents(&r)[1].1;
    assert_eq!(c.distance, Some(Value::Lit(-1)));
    assert_eq!(c.within, Some(Value::Lit(5)));
    assert!(c.is_relative());
    let c = content(r#"content:"GET"; startswith; endswith;"#);
    assert!(c.startswith && c.endswith);
    assert_eq!(
        content(r#"content:"abcdef"; fast_pattern:only;"#).fast_pattern,
        Some(FastPattern::Only)
    );
    assert_eq!(
        content(r#"content:"abcdef"; fast_pattern:1,3;"#).fast_pattern,
        Some(FastPattern::Chop {
            offset: 1,
            length: 3
        })
    );
}

#[test]
fn content_modifier_errors() {
    assert_err(
        &err("nocase;"),
        "syntax error",
        "`nocase` needs a content before it",
    );
    assert_err(&err("depth:3;"), "syntax error", "`depth` needs a content");
    assert_err(
        &err(r#"content:"a"; nocase; nocase;"#),
        "conflicting keywords",
        "`nocase` is given twice",
    );
    assert_err(
        &err(r#"content:"a"; depth:3; depth:4;"#),
        "conflicting keywords",
        "`depth` is given twice",
    );
    assert_err(
        &err(r#"content:"a"; depth:3; distance:0;"#),
        "conflicting keywords",
        "mixes relative",
    );
    assert_err(
        &err(r#"content:"a"; within:3; offset:1;"#),
        "conflicting keywords",
        "mixes relative",
    );
    assert_err(
        &err(r#"content:"abcd"; depth:3;"#),
        "invalid value: depth",
        "depth 3 is smaller than the content's length 4",
    );
    assert_err(
        &err(r#"content:"abcd"; within:2;"#),
        "invalid value: within",
        "within 2 is smaller",
    );
    assert_err(
        &err(r#"content:"a"; startswith; offset:1;"#),
        "conflicting keywords",
        "cannot be combined with `startswith`",
    );
    assert_err(
        &err(r#"content:"a"; offset:1; startswith;"#),
        "conflicting keywords",
        "`startswith` cannot be combined",
    );
    assert_err(
        &err(r#"content:"a"; depth:x;"#),
        "unknown byte variable: x",
        "no byte_extract before it defines",
    );
    assert_err(
        &err(r#"content:"a"; depth:-;"#),
        "invalid value: depth",
        "expects a number or a byte_extract variable",
    );
    assert_err(
        &err(r#"content:"a"; offset:99999999999;"#),
        "invalid value: offset",
        "out of range",
    );
    assert_err(
        &err(r#"content:"a"; nocase:1;"#),
        "invalid value: nocase",
        "takes no value",
    );
}

#[test]
fn fast_pattern_errors() {
    assert_err(
        &err(r#"content:"ab"; fast_pattern; content:"cd"; fast_pattern;"#),
        "conflicting keywords",
        "more than one content",
    );
    assert_err(
        &err(r#"content:"abc"; fast_pattern:2,5;"#),
        "invalid value: fast_pattern",
        "outside the content's 3 bytes",
    );
    assert_err(
        &err(r#"content:"abc"; fast_pattern:1;"#),
        "invalid value: fast_pattern",
        "takes no value, `only`, or `offset,length`",
    );
    assert_err(
        &err(r#"content:"abc"; fast_pattern:only; depth:5;"#),
        "conflicting keywords",
        "`fast_pattern:only` cannot be used",
    );
    assert_err(
        &err(r#"content:!"abc"; fast_pattern:only;"#),
        "conflicting keywords",
        "`fast_pattern:only` cannot be used",
    );
    assert_err(
        &err(r#"content:!"abc"; fast_pattern; depth:5;"#),
        "conflicting keywords",
        "negated content",
    );
}

#[test]
fn sticky_buffers_in_dotted_spelling() {
    let cases = [
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
        ("http.content_len", Buffer::HttpContentLen),
        ("http.request_body", Buffer::HttpRequestBody),
        ("http.response_body", Buffer::HttpResponseBody),
        ("http.request_line", Buffer::HttpRequestLine),
        ("http.response_line", Buffer::HttpResponseLine),
        ("http.protocol", Buffer::HttpProtocol),
        ("http.start", Buffer::HttpStart),
        ("http.accept", Buffer::HttpAccept),
        ("http.accept_enc", Buffer::HttpAcceptEnc),
        ("http.accept_lang", Buffer::HttpAcceptLang),
        ("http.referer", Buffer::HttpReferer),
        ("http.location", Buffer::HttpLocation),
        ("http.server", Buffer::HttpServer),
        ("http.connection", Buffer::HttpConnection),
        ("http.header_names", Buffer::HttpHeaderNames),
        ("file.data", Buffer::FileData),
        ("file_data", Buffer::FileData),
        ("file.name", Buffer::FileName),
        ("dns.query", Buffer::DnsQuery),
        ("tls.sni", Buffer::TlsSni),
        ("tls.cert_subject", Buffer::TlsCertSubject),
        ("tls.subject", Buffer::TlsCertSubject),
        ("tls.cert_issuer", Buffer::TlsCertIssuer),
        ("tls.cert_serial", Buffer::TlsCertSerial),
        ("tls.cert_fingerprint", Buffer::TlsCertFingerprint),
        ("ja3.hash", Buffer::Ja3Hash),
        ("ja3.string", Buffer::Ja3String),
        ("ja3s.hash", Buffer::Ja3sHash),
        ("ja3s.string", Buffer::Ja3sString),
        ("ja4.hash", Buffer::Ja4Hash),
        ("ssh.software", Buffer::SshSoftware),
        ("ssh.proto", Buffer::SshProto),
        ("ssh.hassh", Buffer::SshHassh),
        ("ssh.hassh.server", Buffer::SshHasshServer),
        ("smtp.helo", Buffer::SmtpHelo),
        ("smtp.mail_from", Buffer::SmtpMailFrom),
        ("smtp.rcpt_to", Buffer::SmtpRcptTo),
        ("ftp.command", Buffer::FtpCommand),
        ("base64_data", Buffer::Base64Data),
    ];
    for (kw, buffer) in cases {
        let r = ok(&format!(
            r#"{kw}; content:"x"; nocase; pcre:"/y/R"; isdataat:1,relative;"#
        ));
        assert!(
            r.matches.iter().all(|m| m.buffer == buffer),
            "{kw}: {:?}",
            r.matches
        );
        assert_eq!(r.matches.len(), 3);
        assert_eq!(Buffer::from_sticky(&buffer.name()), Some(buffer), "{kw}");
    }
}

#[test]
fn content_modifiers_and_sticky_buffers_give_the_same_buffer() {
    let cases = [
        ("http_uri", "http.uri"),
        ("http_raw_uri", "http.uri.raw"),
        ("http_method", "http.method"),
        ("http_header", "http.header"),
        ("http_raw_header", "http.header.raw"),
        ("http_cookie", "http.cookie"),
        ("http_client_body", "http.request_body"),
        ("http_server_body", "http.response_body"),
        ("http_stat_code", "http.stat_code"),
        ("http_stat_msg", "http.stat_msg"),
        ("http_user_agent", "http.user_agent"),
        ("http_host", "http.host"),
        ("http_raw_host", "http.host.raw"),
    ];
    for (modifier, sticky) in cases {
        let a = ok(&format!(r#"content:"x"; {modifier}; nocase;"#));
        let b = ok(&format!(r#"{sticky}; content:"x"; nocase;"#));
        assert_eq!(a.matches, b.matches, "{modifier} vs {sticky}");
    }
    // Suricata's older sticky spellings.
    for (old, sticky) in [
        ("dns_query", "dns.query"),
        ("tls_sni", "tls.sni"),
        ("tls_cert_subject", "tls.cert_subject"),
        ("tls_cert_issuer", "tls.cert_issuer"),
        ("ja3_hash", "ja3.hash"),
        ("ssh_proto", "ssh.proto"),
        ("ssh_software", "ssh.software"),
        ("http_header_names", "http.header_names"),
        ("http_start", "http.start"),
        ("http_content_type", "http.content_type"),
    ] {
        let a = ok(&format!(r#"{old}; content:"x";"#));
        let b = ok(&format!(r#"{sticky}; content:"x";"#));
        assert_eq!(a.matches, b.matches, "{old} vs {sticky}");
    }
}

#[test]
fn buffers_attach_in_order() {
    let r = ok(
        r#"content:"a"; http_uri; content:"b"; file_data; content:"c"; content:"d"; pkt_data; content:"e"; uricontent:"f";"#,
    );
    let bufs: Vec<(Buffer, Vec<u8>)> = contents(&r)
        .into_iter()
        .map(|(b, c)| (b, c.pattern))
        .collect();
    assert_eq!(
        bufs,
        vec![
            (Buffer::HttpUri, b"a".to_vec()),
            (Buffer::Packet, b"b".to_vec()),
            (Buffer::FileData, b"c".to_vec()),
            (Buffer::FileData, b"d".to_vec()),
            (Buffer::Packet, b"e".to_vec()),
            (Buffer::HttpUri, b"f".to_vec()),
        ]
    );
    assert_eq!(
        r.buffers(),
        vec![&Buffer::HttpUri, &Buffer::Packet, &Buffer::FileData]
    );
    assert_eq!(r.matches_in(&Buffer::HttpUri).count(), 2);
}

#[test]
fn relative_keywords_follow_the_previous_match_buffer() {
    let r = ok(
        r#"content:"a"; http_uri; isdataat:!1,relative; byte_test:1,=,1,0,relative; isdataat:5;"#,
    );
    let b: Vec<&Buffer> = r.matches.iter().map(|m| &m.buffer).collect();
    assert_eq!(
        b,
        vec![
            &Buffer::HttpUri,
            &Buffer::HttpUri,
            &Buffer::HttpUri,
            &Buffer::Packet
        ]
    );
}

#[test]
fn buffer_errors() {
    assert_err(
        &err("http_uri;"),
        "syntax error",
        "`http_uri` needs a content before it",
    );
    assert_err(
        &err(r#"file_data; content:"a"; http_uri;"#),
        "conflicting keywords",
        "while the sticky buffer `file.data` is in force",
    );
    assert_err(
        &err(r#"content:"a"; http_uri; http_header;"#),
        "conflicting keywords",
        "already in `http.uri`",
    );
    assert_err(
        &err(r#"http.uri; uricontent:"a";"#),
        "conflicting keywords",
        "`uricontent` cannot be used",
    );
    assert_err(
        &err(r#"http.uri:"x"; content:"a";"#),
        "invalid value: http.uri",
        "sticky buffer and takes no value",
    );
    assert_err(
        &err(r#"http.uri; content:"a"; file_data; nocase;"#),
        "syntax error",
        "`nocase` needs a content",
    );
    assert_err_in_dns();
    assert_err(
        &err(r#"http.uri; content:"a"; dns.query; content:"b";"#),
        "conflicting keywords",
        "`http.uri` and `dns.query` belong to different protocols",
    );
    assert_err(
        &err("custom.bad; content:\"a\";"),
        "syntax error",
        "invalid custom buffer `custom.bad`",
    );
}

fn assert_err_in_dns() {
    let e = err_in("dns", r#"http.uri; content:"a";"#);
    assert_err(
        &e,
        "conflicting keywords",
        "`http.uri` cannot be inspected in a `dns` rule",
    );
    // file_data is fine in SMTP and HTTP rules, and tls.sni in a TLS one.
    ok_in("smtp", r#"file_data; content:"a";"#);
    ok_in("http", r#"file_data; content:"a";"#);
    ok_in("tls", r#"tls.sni; content:"a";"#);
}

#[test]
fn legacy_tls_subject_value_is_a_content() {
    let m = one_match(r#"tls.subject:"CN=evil";"#);
    assert_eq!(m.buffer, Buffer::TlsCertSubject);
    let Test::Content(c) = m.test else { panic!() };
    assert_eq!(c.pattern, b"CN=evil");
}

#[test]
fn custom_protocol_field_buffer() {
    let m = one_match(r#"custom.modbus_tcp.function; content:"read";"#);
    assert_eq!(
        m.buffer,
        Buffer::Custom {
            protocol: "modbus_tcp".into(),
            field: "function".into()
        }
    );
    assert_eq!(m.buffer.name(), "custom.modbus_tcp.function");
    let m = one_match(r#"custom.modbus_tcp.registers.value; content:"7";"#);
    assert_eq!(
        m.buffer,
        Buffer::Custom {
            protocol: "modbus_tcp".into(),
            field: "registers.value".into()
        }
    );
    assert_err(
        &err_in("http", r#"custom.hello.command; content:"x";"#),
        "conflicting keywords",
        "cannot be inspected in a `http` rule",
    );
}

#[test]
fn more_content_errors() {
    assert_err(
        &crate::tests_util::err_text(r"alert tcp any any -> any any (sid:1; content:abc\)"),
        "invalid value: content",
        "content ends with a lone `\\`",
    );
    assert_err(
        &err(r#"content:a"b;"#),
        "invalid value: content",
        "unescaped `\"` inside content",
    );
    let long = format!("content:\"{}\";", "a".repeat(crate::MAX_CONTENT_LEN + 1));
    assert_err(
        &err(&long),
        "invalid value: content",
        "content is longer than 16384 bytes",
    );
    assert_err(
        &err(r#"uricontent:"|41"#),
        "invalid value: uricontent",
        "unterminated quoted uricontent",
    );
}
