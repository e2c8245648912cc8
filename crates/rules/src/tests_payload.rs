//! pcre, isdataat, byte_test, byte_jump, byte_extract, bsize, base64_decode.

use crate::tests_util::{assert_err, err, ok, one_match, pcre};
use crate::{
    Base64Decode, Buffer, ByteExtract, ByteJump, ByteOp, ByteTest, Endian, ErrorKind, IntCmp,
    IsDataAt, JumpFrom, NumBase, PcreFlags, RegexEngine, Test, Value,
};

#[test]
fn pcre_flags_and_buffers() {
    let (b, p) = pcre(r#"content:"x"; pcre:"/a.b/ismxAEGRBO";"#);
    assert_eq!(b, Buffer::Packet);
    assert_eq!(p.pattern, "a.b");
    assert_eq!(
        p.flags,
        PcreFlags {
            caseless: true,
            dotall: true,
            multiline: true,
            extended: true,
            anchored: true,
            dollar_endonly: true,
            ungreedy: true,
            relative: true,
            rawbytes: true,
            match_limit: true,
        }
    );
    let (_, p) = pcre(r#"content:"x"; pcre:!"/b/R";"#);
    assert!(p.negated && p.flags.relative);
    for (letter, buffer) in [
        ('U', Buffer::HttpUri),
        ('I', Buffer::HttpUriRaw),
        ('P', Buffer::HttpRequestBody),
        ('Q', Buffer::HttpResponseBody),
        ('H', Buffer::HttpHeader),
        ('D', Buffer::HttpHeaderRaw),
        ('M', Buffer::HttpMethod),
        ('C', Buffer::HttpCookie),
        ('S', Buffer::HttpStatCode),
        ('Y', Buffer::HttpStatMsg),
        ('V', Buffer::HttpUserAgent),
        ('W', Buffer::HttpHost),
        ('Z', Buffer::HttpHostRaw),
    ] {
        let (b, _) = pcre(&format!(r#"pcre:"/x/{letter}i";"#));
        assert_eq!(b, buffer, "{letter}");
    }
    let (b, _) = pcre(r#"http.uri; pcre:"/x/";"#);
    assert_eq!(b, Buffer::HttpUri);
    let (b, _) = pcre(r#"http.uri; pcre:"/x/U";"#);
    assert_eq!(b, Buffer::HttpUri);
    let (b, _) = pcre(r#"file_data; pcre:"/x/Q";"#);
    assert_eq!(b, Buffer::FileData);
    // An unescaped quote inside the regex, as in ET rules.
    let (_, p) = pcre(r#"content:"x"; pcre:"/[\x22\x27]u"/Rsi";"#);
    assert_eq!(p.pattern, r#"[\x22\x27]u""#);
}

#[test]
fn pcre_errors() {
    assert_err(
        &err(r#"pcre:"/a/q";"#),
        "invalid value: pcre",
        "unknown pcre modifier `q`",
    );
    assert_err(
        &err(r#"pcre:"/a/UH";"#),
        "conflicting keywords",
        "`U` and `H` select different buffers",
    );
    assert_err(
        &err(r#"pcre:"/a/BU";"#),
        "conflicting keywords",
        "`B` (raw bytes) cannot be combined",
    );
    assert_err(
        &err(r#"http.uri; pcre:"/a/H";"#),
        "conflicting keywords",
        "while the sticky buffer `http.uri` is in force",
    );
    assert_err(
        &err(r#"pcre:"/a/R";"#),
        "syntax error",
        "needs a content or pcre before it",
    );
    assert_err(
        &err("pcre:/a/;"),
        "invalid value: pcre",
        "pcre must be quoted",
    );
    assert_err(&err(r#"pcre:"a";"#), "invalid value: pcre", "/regex/flags");
    assert_err(
        &err(r#"pcre:"/a";"#),
        "invalid value: pcre",
        "no closing `/`",
    );
    assert_err(&err(r#"pcre:"//";"#), "invalid value: pcre", "empty regex");
    let e = err(r#"pcre:"/a(/";"#);
    assert_eq!(e.kind, ErrorKind::PcreUnsupported);
    assert_err(&e, "pcre: unsupported regex feature", "does not compile");
    assert_err(
        &err(r#"pcre:"/(?C1)x/";"#),
        "pcre: unsupported regex feature",
        "`/(?C1)x/`",
    );
}

#[test]
fn pcre_engines() {
    assert_eq!(
        pcre(r#"pcre:"/^GET\s+\/[a-z]{2,}/i";"#).1.engine,
        RegexEngine::Regex
    );
    for fancy in [
        r"(?<!x)y",
        r"(?=a)a",
        r"(a)\1",
        r"(?P<v>a)(?P=v)",
        r"(?>a|b)c",
        r"a++b",
        r"([a-z])\g{1}",
        r"(?P<v>a)\k{v}",
    ] {
        let (_, p) = pcre(&format!(r#"pcre:"/{fancy}/";"#));
        assert_eq!(p.engine, RegexEngine::Fancy, "{fancy}");
    }
}

/// The translation keeps PCRE's meaning: checked by running the `regex` crate on it.
#[test]
fn pcre_translation() {
    let cases: &[(&str, &str, &[u8], bool)] = &[
        (r"^a\/b$", "", b"a/b", true),
        (r"a\x41\x4", "", b"aA\x04", true),
        (r"\0\012", "", b"\x00\n", true),
        (r"a{,3}", "", b"a{,3}", true),
        (r"a{2}", "", b"aa", true),
        (r"[]a]+", "", b"]a]", true),
        (r"[[x]", "", b"[", true),
        (r"[a&&b]", "", b"&", true),
        (r"x\Z", "", b"x\n", true),
        (r"\h\v", "", b" \n", true),
        (r"\Qa.b\E", "", b"a.b", true),
        (r"\Qa.b\E", "", b"axb", false),
        (r"a(?#comment)b", "", b"ab", true),
        (r"[ a]", "x", b" ", true),
        (r"a b", "x", b"ab", true),
        (r"\w+\d", "", b"\xe9a1", true),
        (r"^\w$", "", "é".as_bytes(), false),
        (r"\e\cA", "", b"\x1b\x01", true),
        (r"ABC", "i", b"abc", true),
        (r"a.b", "s", b"a\nb", true),
        (r"a.b", "", b"a\nb", false),
        (r"^b", "m", b"a\nb", true),
        (r"\xff", "", b"\xff", true),
        (r"[\x80-\xff]", "", b"\x90", true),
    ];
    for &(pat, flags, input, expect) in cases {
        let (_, p) = pcre(&format!(r#"pcre:"/{pat}/{flags}";"#));
        let rust = p.rust_pattern();
        let re = regex::bytes::RegexBuilder::new(&rust)
            .unicode(false)
            .build()
            .unwrap_or_else(|e| panic!("{pat} -> {rust}: {e}"));
        assert_eq!(re.is_match(input), expect, "{pat} -> {rust} on {input:?}");
    }
}

#[test]
fn isdataat_forms() {
    let m = one_match("isdataat:10;");
    assert_eq!(m.buffer, Buffer::Packet);
    assert_eq!(
        m.test,
        Test::IsDataAt(IsDataAt {
            position: Value::Lit(10),
            negated: false,
            relative: false,
            rawbytes: false
        })
    );
    let r = ok(r#"content:"a"; isdataat:!1, relative, rawbytes;"#);
    assert_eq!(
        r.matches[1].test,
        Test::IsDataAt(IsDataAt {
            position: Value::Lit(1),
            negated: true,
            relative: true,
            rawbytes: true
        })
    );
    assert_err(
        &err("isdataat:1,backwards;"),
        "invalid value: isdataat",
        "unknown isdataat option `backwards`",
    );
    assert_err(
        &err("isdataat:x;"),
        "unknown byte variable: x",
        "`isdataat` uses `x`",
    );
}

#[test]
fn byte_test_forms() {
    let m = one_match("byte_test:4,>,1000,0,relative,little;");
    assert_eq!(
        m.test,
        Test::ByteTest(ByteTest {
            bytes: 4,
            negated: false,
            op: ByteOp::Gt,
            value: Value::Lit(1000),
            offset: Value::Lit(0),
            relative: true,
            endian: Endian::Little,
            string: None,
            bitmask: None,
        })
    );
    for (op, neg, want) in [
        ("<", false, ByteOp::Lt),
        ("=", false, ByteOp::Eq),
        ("<=", false, ByteOp::Le),
        (">=", false, ByteOp::Ge),
        ("&", false, ByteOp::And),
        ("^", false, ByteOp::Xor),
        ("!&", true, ByteOp::And),
        ("!=", true, ByteOp::Eq),
        ("!", true, ByteOp::Eq),
    ] {
        let Test::ByteTest(t) = one_match(&format!("byte_test:1,{op},1,0;")).test else {
            panic!()
        };
        assert_eq!((t.negated, t.op), (neg, want), "{op}");
    }
    let Test::ByteTest(t) =
        one_match("byte_test:3, =, 0x10, -2, string, hex, bitmask 0xff00;").test
    else {
        panic!()
    };
    assert_eq!(t.string, Some(NumBase::Hex));
    assert_eq!(t.value, Value::Lit(16));
    assert_eq!(t.offset, Value::Lit(-2));
    assert_eq!(t.bitmask, Some(0xff00));
    let Test::ByteTest(t) = one_match("byte_test:0,>,100,0,string,dec;").test else {
        panic!()
    };
    assert_eq!((t.bytes, t.string), (0, Some(NumBase::Dec)));
    let Test::ByteTest(t) = one_match("byte_test:2,=,1,0,dce;").test else {
        panic!()
    };
    assert_eq!(t.endian, Endian::Dce);
}

#[test]
fn byte_test_errors() {
    assert_err(
        &err("byte_test:4,>,1;"),
        "invalid value: byte_test",
        "needs bytes, operator",
    );
    assert_err(
        &err("byte_test:9,>,1,0;"),
        "invalid value: byte_test",
        "reads 1 to 8 bytes, found 9",
    );
    assert_err(
        &err("byte_test:24,>,1,0,string;"),
        "invalid value: byte_test",
        "reads 1 to 23 bytes as a string",
    );
    assert_err(
        &err("byte_test:0,>,1,0;"),
        "invalid value: byte_test",
        "found 0",
    );
    assert_err(
        &err("byte_test:4,~,1,0;"),
        "invalid value: byte_test",
        "unknown byte_test operator `~`",
    );
    assert_err(
        &err("byte_test:4,>,1,0,hex;"),
        "invalid value: byte_test",
        "need `string`",
    );
    assert_err(
        &err("byte_test:4,>,1,0,big,little;"),
        "invalid value: byte_test",
        "two byte orders",
    );
    assert_err(
        &err("byte_test:4,>,1,0,sideways;"),
        "invalid value: byte_test",
        "unknown `byte_test` option `sideways`",
    );
    assert_err(
        &err("byte_test:4,>,1,0,string,dce;"),
        "invalid value: byte_test",
        "cannot be combined",
    );
    assert_err(
        &err("byte_test:4,>,1,0,align;"),
        "invalid value: byte_test",
        "unknown `byte_test` option `align`",
    );
}

#[test]
fn byte_jump_forms() {
    let m = one_match(
        "byte_jump:4,-2,relative,multiplier 2,little,align,from_beginning,post_offset -3,bitmask 0x0f;",
    );
    assert_eq!(
        m.test,
        Test::ByteJump(ByteJump {
            bytes: 4,
            offset: Value::Lit(-2),
            relative: true,
            multiplier: Some(2),
            endian: Endian::Little,
            string: None,
            align: true,
            from: JumpFrom::Beginning,
            post_offset: Some(-3),
            bitmask: Some(0x0f),
        })
    );
    let Test::ByteJump(j) = one_match("byte_jump:2,0,from_end,string,oct;").test else {
        panic!()
    };
    assert_eq!((j.from, j.string), (JumpFrom::End, Some(NumBase::Oct)));
    assert_err(
        &err("byte_jump:4;"),
        "invalid value: byte_jump",
        "needs bytes and offset",
    );
    assert_err(
        &err("byte_jump:4,0,align 4;"),
        "invalid value: byte_jump",
        "unknown `byte_jump` option `align 4`",
    );
}

#[test]
fn byte_extract_forms() {
    let r = ok(
        r#"content:"len"; byte_extract:2,0,len,relative,little,multiplier 4,align 4; byte_extract:3,1,n,string,hex; content:"x"; distance:n; within:len; byte_test:1,>,len,n; byte_jump:1,n; isdataat:len,relative;"#,
    );
    assert_eq!(
        r.matches[1].test,
        Test::ByteExtract(ByteExtract {
            bytes: 2,
            offset: 0,
            name: "len".into(),
            relative: true,
            multiplier: Some(4),
            endian: Endian::Little,
            string: None,
            align: Some(4),
        })
    );
    let Test::ByteExtract(e) = &r.matches[2].test else {
        panic!()
    };
    assert_eq!(e.string, Some(NumBase::Hex));
    let Test::Content(c) = &r.matches[3].test else {
        panic!()
    };
    assert_eq!(c.distance, Some(Value::Var("n".into())));
    assert_eq!(c.within, Some(Value::Var("len".into())));
    let Test::ByteTest(t) = &r.matches[4].test else {
        panic!()
    };
    assert_eq!(
        (t.value.clone(), t.offset.clone()),
        (Value::Var("len".into()), Value::Var("n".into()))
    );
    let Test::ByteJump(j) = &r.matches[5].test else {
        panic!()
    };
    assert_eq!(j.offset, Value::Var("n".into()));
    let Test::IsDataAt(d) = &r.matches[6].test else {
        panic!()
    };
    assert_eq!(d.position, Value::Var("len".into()));
}

#[test]
fn byte_extract_errors() {
    assert_err(
        &err(r#"content:"a"; distance:n; byte_extract:1,0,n;"#),
        "unknown byte variable: n",
        "`distance` uses `n`",
    );
    assert_err(
        &err("byte_extract:1,0,n; byte_extract:1,0,n;"),
        "conflicting keywords",
        "`n` is defined twice",
    );
    assert_err(
        &err("byte_extract:1,0,9n;"),
        "invalid value: byte_extract",
        "invalid byte_extract variable name `9n`",
    );
    assert_err(
        &err("byte_extract:1,0;"),
        "invalid value: byte_extract",
        "needs bytes, offset and a variable name",
    );
    assert_err(
        &err("byte_extract:1,0,n,align 3;"),
        "invalid value: byte_extract",
        "align must be 2 or 4",
    );
    assert_err(
        &err("byte_extract:1,0,n,bitmask 1;"),
        "invalid value: byte_extract",
        "unknown `byte_extract` option `bitmask 1`",
    );
}

#[test]
fn bsize_and_base64() {
    let m = one_match("http.uri; bsize:<10;");
    assert_eq!(
        (m.buffer, m.test),
        (Buffer::HttpUri, Test::Bsize(IntCmp::Lt(10)))
    );
    let r = ok(r#"content:"a"; http_uri; bsize:5<>9;"#);
    assert_eq!(r.matches[1].buffer, Buffer::HttpUri);
    assert_eq!(r.matches[1].test, Test::Bsize(IntCmp::Between(5, 9)));
    assert_err(
        &err("bsize:10;"),
        "conflicting keywords",
        "`bsize` needs a sticky buffer",
    );
    let r = ok(
        r#"content:"a"; base64_decode:bytes 100, offset 2, relative; base64_data; content:"b";"#,
    );
    assert_eq!(
        r.matches[1].test,
        Test::Base64Decode(Base64Decode {
            bytes: Some(100),
            offset: Some(2),
            relative: true
        })
    );
    assert_eq!(r.matches[2].buffer, Buffer::Base64Data);
    assert_eq!(
        one_match("base64_decode;").test,
        Test::Base64Decode(Base64Decode::default())
    );
    assert_err(
        &err("base64_decode:bytes;"),
        "invalid value: base64_decode",
        "unknown base64_decode option `bytes`",
    );
}
