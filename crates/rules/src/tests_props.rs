//! Property tests: random text and mutated real rules give `Ok` or `Err`, never a panic, and
//! an error's offset is inside the rule. Deterministic (a fixed-seed xorshift generator).

use std::path::Path;

use crate::{parse_rule, RuleSet, Vars};

/// xorshift64*: small, deterministic, good enough to shuffle bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Real rules (ET Open style) covering most keyword families.
const SEEDS: &[&str] = &[
    r#"alert http $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (msg:"ET TROJAN Win32/Foo CnC"; flow:established,to_server; content:"POST"; http_method; content:"/gate.php"; http_uri; fast_pattern; content:"User-Agent|3a 20|Mozilla"; http_header; pcre:"/^id=[0-9a-f]{16}&/P"; reference:url,example.com; classtype:trojan-activity; sid:2020001; rev:3; metadata:created_at 2020_01_01, updated_at 2020_02_02;)"#,
    r#"alert dns $HOME_NET any -> any any (msg:"ET DNS Query to .top"; dns_query; content:".top"; nocase; endswith; isdataat:!1,relative; threshold:type limit, track by_src, count 1, seconds 60; sid:2020002; rev:1;)"#,
    r#"alert tls $EXTERNAL_NET 443 -> $HOME_NET any (msg:"ET TLS bad cert"; flow:established,to_client; tls_cert_subject; content:"CN=evil"; nocase; tls.cert_issuer; content:"O=Bad"; flowbits:isset,ET.tls; sid:2020003; rev:2;)"#,
    r#"alert tcp $EXTERNAL_NET any -> $HOME_NET 445 (msg:"ET NETBIOS"; flow:to_server,established; content:"|FF|SMB|25|"; offset:4; depth:5; byte_test:2,>,1000,0,relative,little; byte_jump:4,-2,relative,from_beginning,little; content:"|05 00|"; within:2; distance:0; isdataat:100,relative; sid:2020004; rev:5;)"#,
    r#"alert udp any any -> any 53 (msg:"x"; content:"|01 00 00 01|"; depth:4; offset:2; byte_extract:1,0,len,relative; content:"a"; within:len; dsize:<512; sid:2020005;)"#,
    r#"alert icmp any any -> any any (msg:"ICMP"; itype:8; icode:0; icmp_id:0; icmp_seq:1; dsize:9<>18; ttl:>220; sid:2020006; rev:1;)"#,
    r#"alert tcp any any -> any any (msg:"flags"; flags:S,12; window:2048; ack:0; seq:0; id:666; fragbits:!D; ip_proto:6; tos:0; sameip; stream_size:server,=,10; sid:2020007;)"#,
    r#"alert http any any -> any any (msg:"sticky"; http.uri; content:"/x"; startswith; bsize:<100; http.host; content:"example.com"; http.user_agent; pcre:"/curl\/[0-9.]+$/"; file.data; content:"MZ"; depth:2; sid:2020008;)"#,
    r#"alert tcp any any -> any any (msg:"flowint"; flowint:count,+,1; flowint:count,>,5; xbits:set,ET.x,track ip_src,expire 30; tag:session,5,packets; detection_filter:track by_dst,count 4,seconds 20; sid:2020009;)"#,
    r#"alert http any any -> any any (msg:"pcre fancy"; content:"a"; pcre:"/(?<=foo)(bar)(?!baz)\1/Rsi"; urilen:>50; app-layer-event:http.uri_delim_non_compliant; sid:2020010;)"#,
    r#"alert tcp any any -> any 502 (msg:"custom"; custom.modbus_tcp.function; content:"read"; custom_field:modbus_tcp.function_code,3; sid:2020011;)"#,
    r#"drop tcp [10.0.0.0/8,!10.1.0.0/16] [1024:,!8080] <> ![$HOME_NET,192.0.2.1] :1023 (msg:"groups"; content:!"x\;y\"z"; base64_decode:bytes 10,offset 2,relative; base64_data; content:"b"; sid:2020012; gid:3; priority:1; target:dest_ip;)"#,
];

/// Characters that matter to the grammar, and some that do not.
const ALPHABET: &[u8] = b" \t;:,()[]!$|\"\\/<>-=+*&^#.0123456789abcdefxyzAZ_\n\rcontentpcrmsgid";

/// Parses; true when the rule is accepted.
fn check(text: &str, vars: &Vars) -> bool {
    match parse_rule(text, vars) {
        Ok(_) => true,
        Err(e) => {
            assert!(
                e.offset <= text.len(),
                "{text:?}: offset {} > {}",
                e.offset,
                text.len()
            );
            assert!(!e.category().is_empty());
            assert!(!e.message.is_empty());
            false
        }
    }
}

fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut b: Vec<u8> = seed.as_bytes().to_vec();
    // Mostly one mutation (the rest of the rule stays valid), sometimes several.
    let rounds = if rng.below(3) == 0 {
        2 + rng.below(4)
    } else {
        1
    };
    for _ in 0..rounds {
        let len = b.len();
        match rng.below(7) {
            0 if len > 0 => {
                // delete a range
                let at = rng.below(len);
                let n = rng.below(12).min(len - at);
                b.drain(at..at + n);
            }
            1 => {
                // insert grammar characters
                let at = rng.below(len + 1);
                for _ in 0..=rng.below(4) {
                    b.insert(at, *rng.pick(ALPHABET));
                }
            }
            2 if len > 0 => {
                // overwrite a byte (sometimes with a non-ASCII one)
                let at = rng.below(len);
                b[at] = if rng.below(8) == 0 {
                    0x80 | (rng.next() as u8)
                } else {
                    *rng.pick(ALPHABET)
                };
            }
            3 if len > 0 => {
                // duplicate a slice elsewhere
                let at = rng.below(len);
                let n = rng.below(40).min(len - at);
                let piece = b[at..at + n].to_vec();
                let to = rng.below(b.len() + 1);
                b.splice(to..to, piece);
            }
            4 if len > 0 => b.truncate(rng.below(len)),
            5 => {
                // splice in part of another seed
                let other = rng.pick(SEEDS).as_bytes();
                let at = rng.below(other.len());
                let n = rng.below(60).min(other.len() - at);
                let to = rng.below(b.len() + 1);
                b.splice(to..to, other[at..at + n].iter().copied());
            }
            _ => {
                // swap two options
                let s = String::from_utf8_lossy(&b).into_owned();
                let parts: Vec<&str> = s.split("; ").collect();
                if parts.len() > 2 {
                    let mut p: Vec<&str> = parts.clone();
                    let (i, j) = (rng.below(p.len()), rng.below(p.len()));
                    p.swap(i, j);
                    b = p.join("; ").into_bytes();
                }
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

#[test]
fn seeds_parse() {
    let vars = Vars::default();
    for s in SEEDS {
        parse_rule(s, &vars).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

#[test]
fn random_text_never_panics() {
    let vars = Vars::default();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..10_000 {
        let n = rng.below(160);
        let s: Vec<u8> = (0..n)
            .map(|_| {
                if rng.below(16) == 0 {
                    rng.next() as u8
                } else {
                    *rng.pick(ALPHABET)
                }
            })
            .collect();
        let s = String::from_utf8_lossy(&s).into_owned();
        if i % 2 == 0 {
            check(&s, &vars);
        } else {
            check(&format!("alert tcp any any -> any any ({s})"), &vars);
        }
    }
}

#[test]
fn mutated_rules_never_panic() {
    let vars = Vars::default();
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut accepted = 0;
    for _ in 0..12_000 {
        let seed = *rng.pick(SEEDS);
        accepted += usize::from(check(&mutate(&mut rng, seed), &vars));
    }
    // Mutations must leave many rules valid, or the keyword parsers are not reached.
    assert!(accepted > 1_000, "only {accepted} mutated rules parsed");
}

#[test]
fn mutated_files_never_panic() {
    let vars = Vars::default();
    let mut rng = Rng(42);
    for _ in 0..500 {
        let mut text = String::new();
        for _ in 0..rng.below(6) {
            let seed = *rng.pick(SEEDS);
            text.push_str(&mutate(&mut rng, seed));
            const SEPARATORS: [&str; 5] = ["\n", "\\\n", "\r\n", "\n#", "\n\n"];
            let sep: &&str = rng.pick(&SEPARATORS);
            text.push_str(sep);
        }
        let mut set = RuleSet::new();
        set.add_text(Path::new("f.rules"), &text, &vars, None);
        for s in &set.skipped {
            assert!(s.line >= 1 && s.column >= 1, "{s}");
        }
        let _ = set.report().to_text();
    }
}
