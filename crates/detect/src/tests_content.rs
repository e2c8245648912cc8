//! content and its modifiers, backtracking, isdataat, bsize, the recursion limit, the
//! load-time analysis.

use nta_rules::Buffer;

use crate::tests_util::{hit, matches_of, prog, rule, rule_in, try_prog, try_prog_in};
use crate::{compile, Vars, DEFAULT_RECURSION_LIMIT};

const GET: &[u8] =
    b"GET /index.php?id=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\n\r\n";

#[test]
fn plain_content() {
    assert!(hit(r#"content:"index.php";"#, GET));
    assert!(hit(r#"content:"|0d 0a 0d 0a|";"#, GET));
    assert!(!hit(r#"content:"INDEX.php";"#, GET));
    assert!(!hit(r#"content:"wget";"#, GET));
    assert!(!hit(r#"content:"a";"#, b""));
}

#[test]
fn nocase_folds_ascii_only() {
    assert!(hit(r#"content:"INDEX.PHP"; nocase;"#, GET));
    assert!(hit(r#"content:"user-agent|3a| CURL"; nocase;"#, GET));
    // 0xC9 and 0xE9 are É and é in Latin-1: not folded.
    assert!(!hit(r#"content:"|c9|"; nocase;"#, b"caf\xe9"));
    assert!(hit(r#"content:"|e9|"; nocase;"#, b"caf\xe9"));
}

#[test]
fn negated_content() {
    assert!(hit(r#"content:!"wget";"#, GET));
    assert!(!hit(r#"content:!"curl";"#, GET));
    assert!(hit(r#"content:"GET"; content:!"POST";"#, GET));
    // An empty buffer holds no pattern.
    assert!(hit(r#"content:!"x";"#, b""));
}

#[test]
fn offset_and_depth() {
    assert!(hit(r#"content:"GET"; depth:3;"#, GET));
    assert!(!hit(r#"content:"GET"; offset:1;"#, GET));
    assert!(hit(r#"content:"/index"; offset:4; depth:6;"#, GET));
    // depth counts from offset: the window [5, 11) misses "/index" at 4.
    assert!(!hit(r#"content:"/index"; offset:5; depth:6;"#, GET));
    assert!(hit(
        r#"content:"/index"; offset:5; depth:6;"#,
        b"GET  /index"
    ));
    assert!(hit(r#"content:"b"; offset:2; depth:1;"#, b"aab"));
    assert!(hit(r#"content:"b"; offset:2; depth:1;"#, b"abb"));
    assert!(!hit(r#"content:"b"; offset:2; depth:1;"#, b"aaab"));
    // An offset past the buffer end cannot match, and a negated content then matches.
    assert!(!hit(r#"content:"a"; offset:10;"#, b"aaaa"));
    assert!(hit(r#"content:!"a"; offset:10;"#, b"aaaa"));
    assert!(!hit(r#"content:!"a"; offset:1; depth:2;"#, b"xxax"));
    assert!(hit(r#"content:!"a"; offset:1; depth:1;"#, b"xxax"));
}

#[test]
fn startswith_and_endswith() {
    assert!(hit(r#"content:"GET "; startswith;"#, GET));
    assert!(!hit(r#"content:"GET "; startswith;"#, b" GET /"));
    assert!(hit(r#"content:".php"; endswith;"#, b"/a.php"));
    assert!(!hit(r#"content:".php"; endswith;"#, b"/a.php?x=1"));
    // The last occurrence is found after an earlier one that does not end the buffer.
    assert!(hit(r#"content:".php"; endswith;"#, b"/a.php/b.php"));
    assert!(hit(r#"content:"abc"; startswith; endswith;"#, b"abc"));
    assert!(!hit(r#"content:"abc"; startswith; endswith;"#, b"abcabc"));
    // endswith with a depth shorter than the buffer cannot match.
    assert!(!hit(r#"content:"ab"; depth:2; endswith;"#, b"abab"));
    assert!(hit(r#"content:"ab"; depth:4; endswith;"#, b"abab"));
}

#[test]
fn negated_endswith_checks_the_first_occurrence_only() {
    // Suricata: a negated endswith content found, but not at the end, matches.
    assert!(hit(r#"content:!".exe"; endswith;"#, b"a.exe.txt"));
    assert!(!hit(r#"content:!".exe"; endswith;"#, b"a.exe"));
    // Only the first occurrence is compared with the end: "a.exe.exe" ends with .exe,
    // yet Suricata reports a match.
    assert!(hit(r#"content:!".exe"; endswith;"#, b"a.exe.exe"));
}

#[test]
fn distance_and_within() {
    assert!(hit(
        r#"content:"Host|3a| "; content:"example"; distance:0; within:7;"#,
        GET
    ));
    assert!(!hit(
        r#"content:"Host|3a| "; content:"example"; distance:1; within:7;"#,
        GET
    ));
    assert!(hit(
        r#"content:"GET"; content:"HTTP/1."; distance:10;"#,
        GET
    ));
    assert!(!hit(
        r#"content:"GET"; content:"HTTP/1."; distance:20;"#,
        GET
    ));
    // within counts from the previous match end, including the distance.
    assert!(hit(
        r#"content:"a"; content:"b"; distance:2; within:3;"#,
        b"axxbz"
    ));
    assert!(hit(
        r#"content:"a"; content:"b"; distance:2; within:2;"#,
        b"axxxb"
    ));
    assert!(!hit(
        r#"content:"a"; content:"b"; distance:2; within:2;"#,
        b"axxxxb"
    ));
    assert!(hit(r#"content:"a"; content:"b"; within:1;"#, b"ab"));
    assert!(!hit(r#"content:"a"; content:"b"; within:1;"#, b"a b"));
}

#[test]
fn negative_distance() {
    // Suricata's documentation example.
    let rule = r#"content:"User-Agent|3a| Mozilla/5.0 |28|Windows|3b| "; content:"Firefox/3."; distance:0; content:!"Firefox/3.6.13"; distance:-10;"#;
    let old = b"User-Agent: Mozilla/5.0 (Windows; U; en) Gecko Firefox/3.5.1\r\n";
    let current = b"User-Agent: Mozilla/5.0 (Windows; U; en) Gecko Firefox/3.6.13\r\n";
    assert!(hit(rule, old));
    assert!(!hit(rule, current));
    // The window start is clamped to the buffer start.
    assert!(hit(
        r#"content:"bc"; content:"ab"; distance:-100; within:102;"#,
        b"abc"
    ));
    // Overlapping: "b" starts one byte before the end of "ab".
    assert!(hit(
        r#"content:"ab"; content:"bc"; distance:-1; within:2;"#,
        b"abc"
    ));
    assert!(!hit(
        r#"content:"ab"; content:"bc"; distance:-1; within:2;"#,
        b"abxbc"
    ));
}

#[test]
fn within_with_negative_sum_searches_the_whole_buffer() {
    // prev 1 + within 2 + distance -5 < 0: Suricata's 32-bit arithmetic turns the bound
    // into "the buffer end" (and the start is clamped to 0).
    assert!(hit(
        r#"content:"a"; content:"zz"; distance:-5; within:2;"#,
        b"a...........zz"
    ));
}

#[test]
fn backtracking_on_within() {
    let r = r#"content:"a"; content:"b"; within:1;"#;
    assert!(hit(r, b"axxab"));
    assert!(!hit(r, b"axxa"));
    assert!(!hit(r, b"ba"));
    // A chain: the second "a" is the one followed by "b" then "c".
    let chain =
        r#"content:"a"; content:"b"; distance:0; within:2; content:"c"; distance:0; within:1;"#;
    assert!(hit(chain, b"abxabc"));
    assert!(hit(chain, b"axbc"));
    assert!(!hit(chain, b"abxab c"));
}

#[test]
fn backtracking_on_relative_keywords() {
    // A relative byte_test/isdataat/pcre after a content makes it retry (Suricata's
    // RELATIVE_NEXT includes WITHIN_NEXT).
    assert!(hit(
        r#"content:"a"; byte_test:1,=,0x59,0,relative;"#,
        b"aXaY"
    ));
    assert!(hit(r#"content:"=="; isdataat:!3,relative;"#, b"==abc==ab"));
    assert!(hit(r#"content:"id="; pcre:"/^[0-9]+&/R";"#, b"id=x&id=12&"));
    assert!(!hit(r#"content:"id="; pcre:"/^[0-9]+&/R";"#, b"id=x&id=12"));
}

#[test]
fn no_backtracking_after_distance_only() {
    // With distance alone the next content's window only shrinks on a later "a":
    // Suricata gives up, with the same result.
    let r = r#"content:"a"; content:"b"; distance:0;"#;
    assert!(hit(r, b"xxaxxb"));
    assert!(!hit(r, b"bxxa"));
    let p = prog(r);
    let i = p.inspect_counted(b"aaaaaaaaaa", &mut Vars::new());
    assert!(!i.matched);
    assert_eq!(i.evaluations, 2);
}

#[test]
fn absolute_content_failure_gives_up() {
    let p = prog(r#"content:"a"; content:"b"; within:1; content:"zz";"#);
    let i = p.inspect_counted(b"axaxaxab", &mut Vars::new());
    assert!(!i.matched);
    // "a", "b" (fail), "a", "b" (fail), …, then "zz" not found: give up at once.
    assert!(i.evaluations <= 9, "{i:?}");
}

#[test]
fn recursion_limit() {
    let r = r#"content:"a"; content:"b"; within:1;"#;
    let mut buf = vec![b'a'; 4000];
    buf.extend_from_slice(b"ab");
    let mut p = prog(r);
    assert_eq!(p.recursion_limit(), DEFAULT_RECURSION_LIMIT);
    let i = p.inspect_counted(&buf, &mut Vars::new());
    assert!(!i.matched);
    assert!(i.limit_hit);
    assert_eq!(i.evaluations, DEFAULT_RECURSION_LIMIT);
    p.set_recursion_limit(20_000);
    let i = p.inspect_counted(&buf, &mut Vars::new());
    assert!(i.matched);
    assert!(!i.limit_hit);
    p.set_recursion_limit(0);
    assert_eq!(p.recursion_limit(), 1);
}

#[test]
fn isdataat_absolute_and_relative() {
    // Suricata's documented table for an 8-byte buffer.
    let b = b"abcdefgh";
    assert!(hit("isdataat:7;", b));
    assert!(!hit("isdataat:8;", b));
    assert!(hit("isdataat:7,relative;", b));
    assert!(hit("isdataat:8,relative;", b));
    assert!(!hit("isdataat:9,relative;", b));
    assert!(hit(r#"content:"c"; isdataat:4,relative;"#, b));
    assert!(hit(r#"content:"c"; isdataat:5,relative;"#, b));
    assert!(!hit(r#"content:"c"; isdataat:6,relative;"#, b));
    assert!(hit("isdataat:!8;", b));
    assert!(!hit("isdataat:!7;", b));
    assert!(hit(r#"content:"g"; isdataat:!2,relative;"#, b));
    assert!(!hit(
        r#"content:"g"; isdataat:!1,relative; content:"x";"#,
        b
    ));
}

#[test]
fn isdataat_not_one_relative_becomes_endswith() {
    let p = prog(r#"content:".php"; isdataat:!1,relative;"#);
    assert_eq!(p.len(), 1);
    assert!(p.inspect(b"/a.php/b.php", &mut Vars::new()));
    assert!(!p.inspect(b"/a.php?", &mut Vars::new()));
    // After a byte_test the previous packet keyword is not the content: kept as isdataat.
    let p = prog(r#"content:"x"; byte_test:1,>,0,0; isdataat:!1,relative;"#);
    assert_eq!(p.len(), 3);
}

#[test]
fn sticky_and_modifier_readings() {
    // In a sticky buffer the previous keyword of a relative isdataat is the latest
    // content; after a content modifier it is the byte_test. The AST cannot tell: refused.
    let opts = r#"http.uri; content:"/a"; byte_test:1,>,0,0,relative; isdataat:!1,relative;"#;
    let err = try_prog_in("http", opts).unwrap_err();
    assert_eq!(err.keyword, "payload");
    // An absolute byte_test can only be in the URI buffer through a sticky buffer.
    let p = try_prog_in(
        "http",
        r#"http.uri; content:"/a"; byte_test:1,>,0,0; isdataat:!1,relative;"#,
    )
    .unwrap();
    assert_eq!(p.len(), 2);
    // Same rule without the ambiguity.
    assert!(try_prog_in("http", r#"http.uri; content:"/a"; isdataat:!1,relative;"#).is_ok());
    assert!(try_prog_in(
        "http",
        r#"http.uri; content:"/a"; byte_test:1,>,0,0,relative; isdataat:5,relative;"#
    )
    .is_ok());
    // isdataat:!1,relative first in a sticky buffer refers to another buffer's content.
    let r = rule_in("http", r#"content:"x"; http.uri; isdataat:!1,relative;"#);
    let err = compile(&matches_of(&r, &Buffer::HttpUri)).unwrap_err();
    assert_eq!(err.keyword, "isdataat");
}

#[test]
fn bsize() {
    let r = rule_in("dns", r#"dns.query; content:"google.com"; bsize:10;"#);
    let p = compile(&matches_of(&r, &Buffer::DnsQuery)).unwrap();
    assert_eq!(p.buffer(), Some(&Buffer::DnsQuery));
    assert!(p.inspect(b"google.com", &mut Vars::new()));
    assert!(!p.inspect(b"google.com.evil", &mut Vars::new()));
    let cases: &[(&str, &[u8], bool)] = &[
        ("bsize:<25;", b"google.com", true),
        ("bsize:>10;", b"google.com", false),
        ("bsize:>=10;", b"google.com", true),
        ("bsize:8<>20;", b"google.com", true),
        ("bsize:10<>20;", b"google.com", false),
        ("bsize:!10;", b"google.com", false),
        ("bsize:0;", b"", true),
    ];
    for (kw, buf, want) in cases {
        let r = rule_in("dns", &format!("dns.query; {kw}"));
        let p = compile(&matches_of(&r, &Buffer::DnsQuery)).unwrap();
        assert_eq!(p.inspect(buf, &mut Vars::new()), *want, "{kw}");
    }
}

#[test]
fn variables_in_positions() {
    // Suricata's documentation example: the distance comes from the packet.
    let r = r#"content:"Alice"; byte_extract:2,0,size; content:"Bob"; distance:size; within:3;"#;
    // The absolute byte_extract leaves the cursor after the two bytes it read (2), so
    // "Bob" is looked for in [2 + size, 2 + size + 3).
    assert!(hit(r, b"\x00\x03xxxBobAlice"));
    assert!(!hit(r, b"\x00\x02xxxBobAlice"));
    assert!(!hit(r, b"\x00\x03xxxBob"));
    // byte_extract moves the cursor past what it read.
    assert!(hit(
        r#"byte_extract:1,0,n; content:"x"; distance:0; within:1;"#,
        b"\x05x"
    ));
    assert!(hit(
        r#"byte_extract:1,0,off; byte_extract:1,1,dep; content:"abc"; offset:off; depth:dep;"#,
        b"\x04\x03xxabcx"
    ));
    assert!(!hit(
        r#"byte_extract:1,0,off; byte_extract:1,1,dep; content:"abc"; offset:off; depth:dep;"#,
        b"\x05\x03xxabcx"
    ));
    assert!(hit(r#"byte_extract:1,0,n; isdataat:n;"#, b"\x03abc"));
    assert!(!hit(r#"byte_extract:1,0,n; isdataat:n;"#, b"\x04abc"));
    // A huge variable: Suricata says there is no data there.
    assert!(hit(
        r#"byte_extract:4,0,n; isdataat:!n;"#,
        b"\x10\x00\x00\x00abc"
    ));
}

#[test]
fn offset_and_depth_mixing_a_variable_and_a_number() {
    let e = try_prog(r#"byte_extract:1,0,n; content:"a"; offset:n; depth:4;"#).unwrap_err();
    assert_eq!(e.keyword, "content");
}

#[test]
fn vars_from_an_earlier_buffer() {
    let r = rule_in(
        "http",
        r#"http.method; byte_extract:1,0,m; http.uri; byte_test:1,=,m,0;"#,
    );
    let method = compile(&matches_of(&r, &Buffer::HttpMethod)).unwrap();
    let uri = compile(&matches_of(&r, &Buffer::HttpUri)).unwrap();
    let mut vars = Vars::new();
    assert!(method.inspect(b"GET", &mut vars));
    assert_eq!(vars.get("m"), Some(u64::from(b'G')));
    assert!(uri.inspect(b"G/", &mut vars));
    assert!(!uri.inspect(b"/G", &mut vars));
    vars.clear();
    assert_eq!(vars.get("m"), None);
    // Unset: the keyword fails.
    assert!(!uri.inspect(b"G/", &mut vars));
}

#[test]
fn compile_rejects_mixed_buffers_and_base64() {
    let r = rule_in("http", r#"content:"a"; http.uri; content:"b";"#);
    let all: Vec<_> = r.matches.iter().collect();
    assert_eq!(compile(&all).unwrap_err().keyword, "buffer");
    let e = try_prog(r#"content:"a"; base64_decode:relative; base64_data; content:"b";"#);
    assert_eq!(e.unwrap_err().keyword, "base64_decode");
    // An empty list matches.
    let p = compile(&[]).unwrap();
    assert!(p.is_empty());
    assert!(p.inspect(b"", &mut Vars::new()));
}

#[test]
fn fast_pattern_and_rawbytes_change_nothing() {
    let a = r#"content:"index"; fast_pattern; content:"php"; rawbytes;"#;
    assert!(hit(a, GET));
    assert!(!hit(a, b"index only"));
    assert!(hit(r#"content:"index.php"; fast_pattern:6,3;"#, GET));
}

#[test]
fn single_negated_content_gives_up() {
    // A negated content with no position that is found ends the search; with a later
    // relative keyword (not single) it only fails this attempt. Same result either way.
    let p = prog(r#"content:"a"; content:"b"; within:1; content:!"zz";"#);
    let i = p.inspect_counted(b"ababzz", &mut Vars::new());
    assert!(!i.matched);
    assert_eq!(i.evaluations, 3);
    let rule = rule(r#"content:!"zz"; content:"q"; distance:0;"#);
    assert_eq!(rule.matches.len(), 2);
    assert!(!hit(r#"content:!"zz"; content:"q"; distance:0;"#, b"zzq"));
}
