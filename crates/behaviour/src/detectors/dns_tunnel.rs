//! sid 7, `dns_tunnel`: data carried in DNS query names (iodine, dnscat2, DNSExfiltrator…).
//!
//! A tunnel must put fresh data in every name — a repeated name would be answered by a cache —
//! so it sends many *distinct*, long or random-looking names under one domain it controls,
//! often with TXT or NULL queries, which carry the most data back. Per query:
//!
//! * the name is lower-cased (resolvers randomise case) and its trailing dot dropped;
//! * it is *suspicious* when longer than `max_name_len` characters, or when its longest label
//!   has at least `min_label_len` characters and a Shannon entropy above `min_entropy` bits
//!   per character (hex has at most 4; base32 data is about 4.5 to 5);
//! * its *domain* is the last two labels (`a.b.example.com` → `example.com`), or three when
//!   the last is a two-letter country code preceded by a generic second level such as `co` or
//!   `com` (`x.example.co.uk` → `example.co.uk`). No public-suffix list: simple and
//!   predictable, at the price of treating e.g. `foo.github.io` as `github.io`.
//!
//! Key: (source, domain). Two sets over the sliding window: distinct suspicious names, and
//! distinct TXT (16) or NULL (10) query names. Alert when the first reaches
//! `suspicious_names` or the second `txt_null_names`. Ordinary queries (neither suspicious
//! nor TXT/NULL) keep no state at all. Names under `ignore_domains` are skipped.
//! Source-centric: `networks` selects the querying client.

use std::hash::BuildHasher;
use std::net::IpAddr;

use super::{may_alert, truncate, Detector, UDP};
use crate::alert::{round3, Alert, DetectorInfo, DNS_TUNNEL};
use crate::config::{DnsTunnelConfig, Section, Timing, MAX_DISTINCT};
use crate::networks::Networks;
use crate::observation::Observation;
use crate::table::KeyTable;
use crate::window::DistinctSet;

/// Longest name looked at, bytes: 255 octets on the wire, up to 4 characters each when
/// non-printable octets are escaped (`\DDD`) in the text form, plus dots. Longer input is cut.
pub(crate) const MAX_NAME_LEN: usize = 1025;
/// Longest name quoted in the evidence.
const MAX_EXAMPLE_LEN: usize = 128;
/// Query types that carry the most data back: TXT and NULL.
const TXT: u16 = 16;
const NULL: u16 = 10;
/// Second-level labels under which registrations sit one level deeper in two-letter
/// country domains (`example.co.uk`, `example.com.au`).
const SECOND_LEVELS: &[&[u8]] = &[
    b"ac", b"co", b"com", b"edu", b"gob", b"gov", b"go", b"mil", b"ne", b"net", b"or", b"org",
];

pub(crate) struct DnsTunnel {
    suspicious_names: usize,
    txt_null_names: usize,
    max_name_len: usize,
    min_entropy: f64,
    min_label_len: usize,
    /// Lower-case, without trailing dots.
    ignore: Vec<Box<[u8]>>,
    timing: Timing,
    networks: Networks,
    /// Seeds the hashes of names and domains; random per process, so names cannot be chosen
    /// to collide.
    hasher: hashbrown::DefaultHashBuilder,
    /// (source, hash of the domain).
    table: KeyTable<(IpAddr, u64), State>,
}

struct State {
    domain: Box<str>,
    /// Hashes of suspicious names.
    suspicious: DistinctSet<u64>,
    /// Hashes of TXT/NULL names.
    txt_null: DistinctSet<u64>,
    quiet_until: u64,
    longest_name: usize,
    max_entropy: f64,
}

/// What one query name looks like.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct NameShape {
    /// Characters, without the trailing dot.
    pub(crate) len: usize,
    /// Characters of the longest label.
    pub(crate) longest_label: usize,
    /// Shannon entropy of the longest label, bits per character.
    pub(crate) entropy: f64,
}

impl DnsTunnel {
    pub(crate) fn new(
        cfg: &DnsTunnelConfig,
        max_tracked: usize,
    ) -> Result<Self, crate::ConfigError> {
        let s = Section {
            table: "dns_tunnel",
        };
        let mut ignore = Vec::with_capacity(cfg.ignore_domains.len());
        for d in &cfg.ignore_domains {
            let d = d.trim().trim_matches('.').to_ascii_lowercase();
            if d.is_empty() {
                return Err(s.inconsistent(
                    "ignore_domains",
                    "a list of domain names".into(),
                    "\"\"",
                ));
            }
            ignore.push(d.into_bytes().into_boxed_slice());
        }
        Ok(DnsTunnel {
            suspicious_names: s.range("suspicious_names", cfg.suspicious_names, 1, MAX_DISTINCT)?,
            txt_null_names: s.range("txt_null_names", cfg.txt_null_names, 1, MAX_DISTINCT)?,
            max_name_len: s.range("max_name_len", cfg.max_name_len, 1, 255)?,
            min_entropy: s.range("min_entropy", cfg.min_entropy, 0.0, 8.0)?,
            min_label_len: s.range("min_label_len", cfg.min_label_len, 1, 63)?,
            ignore,
            timing: s.timing(cfg.window_secs, cfg.cooldown_secs)?,
            networks: s.networks(&cfg.networks)?,
            hasher: hashbrown::DefaultHashBuilder::default(),
            table: KeyTable::new(s.max_tracked(cfg.max_tracked, max_tracked)?),
        })
    }

    fn ignored(&self, name: &[u8]) -> bool {
        self.ignore.iter().any(|d| {
            name == &**d
                || (name.len() > d.len()
                    && name.ends_with(d)
                    && name[name.len() - d.len() - 1] == b'.')
        })
    }
}

/// Length, longest label and its entropy of a lower-case name without trailing dot.
pub(crate) fn shape(name: &[u8], min_label_len: usize) -> NameShape {
    let longest = name
        .split(|&b| b == b'.')
        .max_by_key(|label| label.len())
        .unwrap_or_default();
    let entropy = if longest.len() >= min_label_len {
        entropy(longest)
    } else {
        0.0
    };
    NameShape {
        len: name.len(),
        longest_label: longest.len(),
        entropy,
    }
}

/// Shannon entropy of `bytes`, bits per byte (0 for an empty slice).
pub(crate) fn entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// The last `labels` labels of `name` (all of it if it has fewer).
fn last_labels(name: &[u8], labels: usize) -> &[u8] {
    let mut dots = 0;
    for (i, &b) in name.iter().enumerate().rev() {
        if b == b'.' {
            dots += 1;
            if dots == labels {
                return &name[i + 1..];
            }
        }
    }
    name
}

/// The registered domain of a lower-case name, as described in the module doc.
pub(crate) fn registered_domain(name: &[u8]) -> &[u8] {
    let two = last_labels(name, 2);
    let mut labels = two.split(|&b| b == b'.');
    match (labels.next(), labels.next()) {
        (Some(second), Some(tld)) if tld.len() == 2 && SECOND_LEVELS.contains(&second) => {
            last_labels(name, 3)
        }
        _ => two,
    }
}

impl Detector for DnsTunnel {
    fn info(&self) -> &'static DetectorInfo {
        &DNS_TUNNEL
    }

    fn observe(&mut self, obs: &Observation, now: u64, out: &mut Vec<Alert>) {
        let Observation::DnsQuery {
            ts_ns,
            src,
            dst,
            qname,
            qtype,
        } = obs
        else {
            return;
        };
        let (ts_ns, src, dst, qtype) = (*ts_ns, *src, *dst, *qtype);
        if !self.networks.allows(src) {
            return;
        }
        let raw = qname.as_bytes();
        let raw = &raw[..raw.len().min(MAX_NAME_LEN)];
        let mut buf = [0u8; MAX_NAME_LEN];
        let name = &mut buf[..raw.len()];
        name.copy_from_slice(raw);
        name.make_ascii_lowercase();
        let mut name = &*name;
        while let Some(rest) = name.strip_suffix(b".") {
            name = rest;
        }
        if name.is_empty() {
            return;
        }
        let shape = shape(name, self.min_label_len);
        let suspicious = shape.len > self.max_name_len
            || (shape.longest_label >= self.min_label_len && shape.entropy > self.min_entropy);
        let txt_null = qtype == TXT || qtype == NULL;
        if (!suspicious && !txt_null) || self.ignored(name) {
            return;
        }
        let domain = registered_domain(name);
        let key = (src, self.hasher.hash_one(domain));
        let name_hash = self.hasher.hash_one(name);
        let cutoff = now.saturating_sub(self.timing.window_ns);
        let state = self.table.touch(key, now, || State {
            domain: String::from_utf8_lossy(domain).into(),
            suspicious: DistinctSet::default(),
            txt_null: DistinctSet::default(),
            quiet_until: 0,
            longest_name: 0,
            max_entropy: 0.0,
        });
        let mut crossed = false;
        if suspicious {
            state.longest_name = state.longest_name.max(shape.len);
            state.max_entropy = state.max_entropy.max(shape.entropy);
            let n = state
                .suspicious
                .record(name_hash, ts_ns, cutoff, self.suspicious_names);
            crossed |= n >= self.suspicious_names;
        }
        if txt_null {
            let n = state
                .txt_null
                .record(name_hash, ts_ns, cutoff, self.txt_null_names);
            crossed |= n >= self.txt_null_names;
        }
        if !crossed || !may_alert(&mut state.quiet_until, now, self.timing.cooldown_ns) {
            return;
        }
        let n_suspicious = state.suspicious.count_since(cutoff);
        let n_txt = state.txt_null.count_since(cutoff);
        let w = self.timing.window_secs;
        let domain = &state.domain;
        let what = if n_suspicious >= self.suspicious_names {
            format!("{n_suspicious} long or random names")
        } else {
            format!("{n_txt} TXT/NULL names")
        };
        out.push(
            DNS_TUNNEL
                .alert(
                    ts_ns,
                    UDP,
                    src,
                    format!("NTA DNS tunnel from {src} via {domain}: {what} in {w} s"),
                )
                .to(dst)
                .with("domain", &**domain)
                .with("suspicious_names", n_suspicious)
                .with("txt_null_names", n_txt)
                .with("suspicious_threshold", self.suspicious_names)
                .with("txt_null_threshold", self.txt_null_names)
                .with("window_secs", w)
                .with("longest_name_len", state.longest_name)
                .with("max_label_entropy", round3(state.max_entropy))
                .with("example", truncate(qname, MAX_EXAMPLE_LEN))
                .with("qtype", qtype),
        );
    }

    fn expire(&mut self, now: u64) {
        self.table.expire(now.saturating_sub(self.timing.idle_ns()));
    }

    fn tracked(&self) -> usize {
        self.table.len()
    }

    fn evicted(&self) -> u64 {
        self.table.evicted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_domains() {
        let cases = [
            ("www.google.com", "google.com"),
            ("google.com", "google.com"),
            ("localhost", "localhost"),
            ("a.b.c.example.co.uk", "example.co.uk"),
            ("example.co.uk", "example.co.uk"),
            ("co.uk", "co.uk"),
            ("x.example.com.au", "example.com.au"),
            ("x.example.de", "example.de"),
            ("d1a2b3c4d5e6f7.cloudfront.net", "cloudfront.net"),
            ("a..b", ".b"),
            ("", ""),
        ];
        for (name, want) in cases {
            assert_eq!(
                registered_domain(name.as_bytes()),
                want.as_bytes(),
                "{name}"
            );
        }
    }

    #[test]
    fn entropy_and_shape() {
        assert_eq!(entropy(b""), 0.0);
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(
            (entropy(b"0123456789abcdef") - 4.0).abs() < 1e-9,
            "hex tops out at 4"
        );
        let s = shape(b"mxbq3k7vn2hdlc9w4pzrtfy8gs.t.example.com", 20);
        assert_eq!(s.longest_label, 26);
        assert!(s.entropy > 4.5, "{s:?}");
        let s = shape(b"www.google.com", 20);
        assert_eq!((s.len, s.longest_label, s.entropy), (14, 6, 0.0));
    }
}
