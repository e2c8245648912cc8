//! pcre: flags, relative and anchored matching, PCRE's `$`, the fancy-regex Latin-1 path.

use nta_rules::{Pcre, PcreFlags, RegexEngine, Test};

use crate::pcre::{CompiledPcre, Latin1, Search};
use crate::tests_util::{hit, rule, try_prog};

/// The pcre of a one-pcre rule.
fn pcre_of(opts: &str) -> Pcre {
    let r = rule(opts);
    match &r.matches[0].test {
        Test::Pcre(p) => p.clone(),
        t => panic!("not a pcre: {t:?}"),
    }
}

fn search(opts: &str, buf: &[u8], subject: usize, start: usize) -> Search {
    let re = CompiledPcre::compile(&pcre_of(opts)).unwrap();
    re.search(buf, subject, start, &mut Latin1::default())
}

#[test]
fn plain_and_flags() {
    assert!(hit(
        r#"pcre:"/GET \/[a-z]+\.php/";"#,
        b"GET /index.php HTTP/1.1"
    ));
    assert!(!hit(r#"pcre:"/get/";"#, b"GET /"));
    assert!(hit(r#"pcre:"/get/i";"#, b"GET /"));
    assert!(!hit(r#"pcre:"/a.b/";"#, b"a\nb"));
    assert!(hit(r#"pcre:"/a.b/s";"#, b"a\nb"));
    assert!(hit(r#"pcre:"/^Host: x$/m";"#, b"GET /\nHost: x\nAccept: *"));
    assert!(!hit(r#"pcre:"/^Host: x$/";"#, b"GET /\nHost: x\nAccept: *"));
    assert!(hit(r#"pcre:"/a b c # comment/x";"#, b"xxabcxx"));
    assert!(hit(r#"pcre:"/\x2f\d{3}\s/";"#, b"GET /123 HTTP"));
}

#[test]
fn negated() {
    assert!(hit(r#"pcre:!"/curl/i";"#, b"User-Agent: Wget"));
    assert!(!hit(r#"pcre:!"/curl/i";"#, b"User-Agent: CURL"));
    assert!(hit(
        r#"content:"User-Agent"; pcre:!"/^: curl/R";"#,
        b"User-Agent: wget"
    ));
}

#[test]
fn relative_starts_the_subject_at_the_cursor() {
    // ^ matches at the cursor with R.
    assert!(hit(r#"content:"id="; pcre:"/^\d+/R";"#, b"GET /?id=42"));
    assert!(!hit(r#"content:"id="; pcre:"/^\d+/R";"#, b"GET /?id=x42"));
    // Lookbehind cannot see before the cursor.
    assert!(!hit(r#"content:"id="; pcre:"/(?<==)4/R";"#, b"id=42"));
    assert!(hit(r#"content:"id"; pcre:"/(?<==)4/R";"#, b"id=42"));
    // Without R the whole buffer is searched.
    assert!(hit(r#"content:"id="; pcre:"/GET/";"#, b"GET /?id=42"));
}

#[test]
fn match_end_is_the_new_cursor() {
    assert!(hit(r#"pcre:"/a+/"; content:"b"; within:1;"#, b"xaaab"));
    assert!(!hit(r#"pcre:"/a+/"; content:"b"; distance:1;"#, b"xaaab"));
    // G: lazy by default, the match (and the cursor) ends earlier.
    assert!(hit(r#"pcre:"/a.+b/G"; content:"Y"; within:1;"#, b"aXbYb"));
    assert!(!hit(r#"pcre:"/a.+b/"; content:"Y"; within:1;"#, b"aXbYb"));
}

#[test]
fn pcre_retries_its_next_match() {
    // The first "a." is "ab", not followed by Z; the next one is "ac".
    assert!(hit(r#"pcre:"/a./"; content:"Z"; within:1;"#, b"abacZ"));
    assert!(!hit(r#"pcre:"/a./"; content:"Z"; within:1;"#, b"abacY"));
    // Overlapping candidates: one byte after the previous match's start.
    assert!(hit(r#"pcre:"/aa/"; content:"b"; within:1;"#, b"aaab"));
}

#[test]
fn relative_pcre_retries_within_its_subject() {
    let opts = r#"content:"a"; pcre:"/b./R"; content:"Z"; within:1;"#;
    assert!(hit(opts, b"a b1 b2Z"));
    assert!(!hit(opts, b"b2Z a b1"));
}

#[test]
fn ignored_flags() {
    // O (match limit override) and B (raw bytes) do not change matching.
    assert!(hit(r#"pcre:"/abc/O";"#, b"xabcx"));
    assert!(hit(r#"pcre:"/abc/B";"#, b"xabcx"));
    assert!(!hit(r#"pcre:"/abd/OB";"#, b"xabcx"));
}

#[test]
fn anchored() {
    assert!(hit(r#"pcre:"/GET/A";"#, b"GET /"));
    assert!(!hit(r#"pcre:"/GET/A";"#, b" GET /"));
    assert!(hit(r#"content:"id="; pcre:"/\d+/RA";"#, b"id=42"));
    assert!(!hit(r#"content:"id="; pcre:"/\d+/RA";"#, b"id=x42"));
    assert_eq!(
        search(r#"pcre:"/b/A";"#, b"abab", 0, 1),
        Search::Found(1, 2)
    );
    assert_eq!(search(r#"pcre:"/b/A";"#, b"abab", 0, 2), Search::None);
}

#[test]
fn dollar_matches_before_a_final_newline() {
    // PCRE: `$` is the end, or before a final newline.
    assert!(hit(r#"pcre:"/\.php$/";"#, b"/a.php"));
    assert!(hit(r#"pcre:"/\.php$/";"#, b"/a.php\n"));
    assert!(!hit(r#"pcre:"/\.php$/";"#, b"/a.php\n\n"));
    assert!(!hit(r#"pcre:"/\.php$/";"#, b"/a.php?x"));
    // The newline is not part of the match: the cursor stays before it.
    assert!(hit(
        r#"pcre:"/php$/"; content:"|0a|"; within:1;"#,
        b"a.php\n"
    ));
    assert_eq!(
        search(r#"pcre:"/php$/";"#, b"a.php\n", 0, 0),
        Search::Found(2, 5)
    );
    // `E`: only the very end.
    assert!(!hit(r#"pcre:"/\.php$/E";"#, b"/a.php\n"));
    assert!(hit(r#"pcre:"/\.php$/E";"#, b"/a.php"));
    // `\Z` is the same assertion.
    assert!(hit(r#"pcre:"/php\Z/";"#, b"a.php\n"));
    assert_eq!(
        search(r#"pcre:"/php\Z/";"#, b"a.php\n", 0, 0),
        Search::Found(2, 5)
    );
    // Not at the end of the pattern: fancy-regex with a lookahead.
    assert!(hit(r#"pcre:"/(php$|asp)/";"#, b"a.php\n"));
    assert!(hit(r#"pcre:"/php$|asp/";"#, b"a.php\n"));
    assert!(!hit(r#"pcre:"/php$|asp/";"#, b"a.php\nx"));
    let re = CompiledPcre::compile(&pcre_of(r#"pcre:"/php$|asp/";"#)).unwrap();
    assert!(re.is_fancy());
    let re = CompiledPcre::compile(&pcre_of(r#"pcre:"/\.php$/";"#)).unwrap();
    assert!(!re.is_fancy());
    // With `m`, the regex crate's own multi-line `$`.
    assert!(hit(r#"pcre:"/php$/m";"#, b"a.php\nx"));
    // A `$` inside a class or escaped is a literal.
    assert!(hit(r#"pcre:"/a[$]b/";"#, b"a$b"));
    assert!(hit(r#"pcre:"/a\$b/";"#, b"a$b"));
}

#[test]
fn fancy_regex_on_latin1() {
    // A backreference needs fancy-regex; bytes above 0x7F before the match must not shift
    // the positions.
    let opts = r#"pcre:"/(a)\1/"; content:"|ff|Z"; within:2;"#;
    assert!(hit(opts, b"\xff\xfeaa\xffZ"));
    assert!(!hit(opts, b"\xff\xfeaa\xff\xffZ"));
    assert_eq!(
        search(r#"pcre:"/(a)\1/";"#, b"\xe9\xe9aa", 0, 0),
        Search::Found(2, 4)
    );
    // A subject starting after high bytes: lookbehind cannot see before it, and the
    // positions are relative to it.
    let b = b"\xe9\xe9b\xe9b";
    for start in 0..=2 {
        assert_eq!(
            search(r#"pcre:"/(?<=\xe9)b/";"#, b, 2, start),
            Search::Found(2, 3)
        );
    }
    assert_eq!(search(r#"pcre:"/(?<=\xe9)b/";"#, b, 2, 3), Search::None);
    assert_eq!(
        search(r#"pcre:"/(?<=\xe9)b/";"#, b, 1, 0),
        Search::Found(1, 2)
    );
    assert_eq!(search(r#"pcre:"/(?<=x)b/";"#, b"xb", 0, 3), Search::Error);
}

#[test]
fn case_folding_is_ascii_only() {
    // PCRE without UTF folds ASCII only: \xe9 (é) does not match \xc9 (É).
    assert!(!hit(r#"pcre:"/\xe9/i";"#, b"\xc9"));
    assert!(hit(r#"pcre:"/\xe9/i";"#, b"\xe9"));
    assert!(!hit(r#"pcre:"/(?=x)x\xe9/i";"#, b"X\xc9"));
    assert!(hit(r#"pcre:"/(?=x)x\xe9/i";"#, b"X\xe9"));
    // A Latin-1 letter in a class under i with fancy-regex: refused.
    let e = try_prog(r#"pcre:"/(?=x)[\xe0-\xef]/i";"#).unwrap_err();
    assert_eq!(e.keyword, "pcre");
    assert!(try_prog(r#"pcre:"/[\xe0-\xef]/i";"#).is_ok());
}

#[test]
fn word_boundaries_are_ascii() {
    // 0xE9 is not a word character for PCRE (no UTF): a boundary between it and 'f'.
    assert!(hit(r#"pcre:"/\bfoo/";"#, b"\xe9foo"));
    assert!(hit(r#"pcre:"/(?<=\xe9)\bfoo/";"#, b"\xe9foo"));
    assert!(!hit(r#"pcre:"/(?<=a)\bfoo/";"#, b"afoo"));
    assert!(hit(r#"pcre:"/(?<=a)\Bfoo/";"#, b"afoo"));
    assert!(!hit(r#"pcre:"/(?<=\xe9)\Bfoo/";"#, b"\xe9foo"));
}

#[test]
fn non_ascii_pattern_characters_are_bytes() {
    // "é+" in PCRE (no UTF) is C3 followed by A9 repeated.
    let opts = "pcre:\"/\u{e9}+/\"; isdataat:!1,relative;";
    assert!(hit(opts, b"\xc3\xa9\xa9"));
    assert!(!hit(opts, b"\xc3\xa9\xa9x"));
    assert!(hit("pcre:\"/[\u{e9}]/\";", b"\xa9"));
}

#[test]
fn engine_choice() {
    let p = Pcre {
        pattern: "a(?=b)".to_string(),
        negated: false,
        flags: PcreFlags::default(),
        engine: RegexEngine::Fancy,
    };
    let re = CompiledPcre::compile(&p).unwrap();
    assert!(re.is_fancy());
    assert_eq!(
        re.search(b"acab", 0, 0, &mut Latin1::default()),
        Search::Found(2, 3)
    );
}
