//! fast_pattern and Prefilter.

use crate::prefilter::pattern_strength;
use crate::tests_util::rule;
use crate::{fast_pattern, Prefilter};

fn fp(opts: &str) -> Option<(Vec<u8>, bool)> {
    let r = rule(opts);
    let m: Vec<_> = r.matches.iter().collect();
    fast_pattern(&m)
}

#[test]
fn explicit_fast_pattern_wins() {
    assert_eq!(
        fp(r#"content:"longer pattern"; content:"ab"; fast_pattern;"#),
        Some((b"ab".to_vec(), false))
    );
    assert_eq!(
        fp(r#"content:"index.php"; fast_pattern:6,3; nocase;"#),
        Some((b"php".to_vec(), true))
    );
    assert_eq!(
        fp(r#"content:"abc"; fast_pattern:only;"#),
        Some((b"abc".to_vec(), false))
    );
}

#[test]
fn longest_then_strongest() {
    assert_eq!(
        fp(r#"content:"ab"; content:"abcd"; content:"abc";"#),
        Some((b"abcd".to_vec(), false))
    );
    // Same length: "a|00|b|ff|" (3+4+3+4 = 14) beats "aaaa" (3+1+1+1 = 6).
    assert_eq!(
        fp(r#"content:"aaaa"; content:"a|00|b|ff|";"#),
        Some((b"a\x00b\xff".to_vec(), false))
    );
    // Equal strength: the first.
    assert_eq!(
        fp(r#"content:"abcd"; nocase; content:"wxyz";"#),
        Some((b"abcd".to_vec(), true))
    );
    // Negated contents are not used.
    assert_eq!(
        fp(r#"content:!"a long negated one"; content:"x";"#),
        Some((b"x".to_vec(), false))
    );
    assert_eq!(fp(r#"content:!"only negated";"#), None);
    assert_eq!(fp(r#"pcre:"/abc/";"#), None);
}

#[test]
fn suricata_pattern_strength() {
    assert_eq!(pattern_strength(b""), 0);
    assert_eq!(pattern_strength(b"aaaa"), 6);
    assert_eq!(pattern_strength(b"ab"), 6);
    assert_eq!(pattern_strength(b"1/"), 8);
    assert_eq!(pattern_strength(b"\x00\x01\xff"), 12);
    assert_eq!(pattern_strength(b"\x02\x80"), 12);
}

#[test]
fn prefilter_candidates() {
    let p = Prefilter::new([
        (b"he".to_vec(), false, 1),
        (b"she".to_vec(), false, 2),
        (b"hers".to_vec(), false, 3),
        (b"HIS".to_vec(), true, 4),
        (b"she".to_vec(), false, 5),
        (b"zzz".to_vec(), false, 6),
        (b"his".to_vec(), false, 1),
    ])
    .unwrap();
    assert_eq!(p.len(), 7);
    assert!(!p.is_empty());
    // Overlapping patterns are all found; each id once, in order.
    let ids: Vec<u32> = p.candidates(b"ushers and his").collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    let ids: Vec<u32> = p.candidates(b"Hi, HiS").collect();
    assert_eq!(ids, [4]);
    assert_eq!(p.candidates(b"").count(), 0);
    let many = vec![b'h'; 10_000]
        .into_iter()
        .chain(*b"e")
        .collect::<Vec<_>>();
    assert_eq!(p.candidates(&many).collect::<Vec<_>>(), [1]);
}

#[test]
fn empty_prefilter() {
    let p = Prefilter::new(Vec::new()).unwrap();
    assert!(p.is_empty());
    assert_eq!(p.candidates(b"anything").count(), 0);
}
