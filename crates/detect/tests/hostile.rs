//! Hostile inputs: random keyword lists with extreme numbers, random buffers. Compiling
//! either succeeds or says Unsupported; inspecting never panics and never exceeds its
//! evaluation budget.

use nta_detect::{compile, fast_pattern, Prefilter, Vars, DEFAULT_RECURSION_LIMIT};
use nta_rules::{
    parse_rule, Buffer, ByteExtract, ByteJump, ByteOp, ByteTest, Content, Endian, FastPattern,
    IntCmp, IsDataAt, JumpFrom, Match, NumBase, Test, Value, Vars as RuleVars,
};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }

    fn u32(&mut self) -> u32 {
        let r = self.next() as u32;
        self.pick(&[
            0,
            1,
            2,
            3,
            4,
            7,
            8,
            255,
            65_535,
            100_000_000,
            u32::MAX - 1,
            u32::MAX,
            r % 16,
            r,
        ])
    }

    fn i32(&mut self) -> i32 {
        let r = self.next() as i32;
        self.pick(&[
            i32::MIN,
            i32::MIN + 1,
            -65_535,
            -100,
            -4,
            -1,
            0,
            1,
            2,
            5,
            100,
            65_535,
            i32::MAX,
            r % 16,
            r,
        ])
    }

    fn u64(&mut self) -> u64 {
        let r = self.next();
        self.pick(&[
            0,
            1,
            2,
            0x41,
            0xff,
            u64::from(u32::MAX),
            u64::MAX,
            r % 256,
            r,
        ])
    }

    fn bytes(&mut self, max: u64) -> Vec<u8> {
        let n = self.below(max + 1) as usize;
        (0..n)
            .map(|_| match self.below(8) {
                0 => b'a',
                1 => b'b',
                2 => 0,
                3 => 0xff,
                4 => b'0' + self.below(10) as u8,
                5 => b'\n',
                6 => 0xe9,
                _ => self.next() as u8,
            })
            .collect()
    }

    fn var(&mut self) -> String {
        format!("v{}", self.below(3))
    }

    fn value_u32(&mut self) -> Value<u32> {
        if self.below(5) == 0 {
            Value::Var(self.var())
        } else {
            Value::Lit(self.u32())
        }
    }

    fn value_i32(&mut self) -> Value<i32> {
        if self.below(5) == 0 {
            Value::Var(self.var())
        } else {
            Value::Lit(self.i32())
        }
    }
}

const PCRES: &[&str] = &[
    r#"pcre:"/a+b/";"#,
    r#"pcre:"/^a/R";"#,
    r#"pcre:"/b$/";"#,
    r#"pcre:"/(a|b)\1/";"#,
    r#"pcre:"/(?<=a)b/R";"#,
    r#"pcre:!"/\x00\xff/";"#,
    r#"pcre:"/[0-9]{2,}/A";"#,
    r#"pcre:"/(a+)+$/";"#,
    r#"pcre:"/.*?b/sG";"#,
    r#"pcre:"/\bab\b/i";"#,
    r#"pcre:"/a(?=b)|\Z/";"#,
];

fn random_content(rng: &mut Rng) -> Content {
    let mut c = Content {
        pattern: rng.bytes(4),
        negated: rng.below(4) == 0,
        nocase: rng.bool(),
        ..Content::default()
    };
    if c.pattern.is_empty() {
        c.pattern.push(b'a');
    }
    match rng.below(6) {
        0 => {
            c.offset = rng.bool().then(|| rng.value_u32());
            c.depth = rng.bool().then(|| rng.value_u32());
        }
        1 | 2 => {
            c.distance = rng.bool().then(|| rng.value_i32());
            c.within = rng.bool().then(|| rng.value_i32());
            if c.distance.is_none() && c.within.is_none() {
                c.distance = Some(Value::Lit(0));
            }
        }
        3 => c.startswith = true,
        _ => {}
    }
    c.endswith = rng.below(4) == 0;
    if rng.below(8) == 0 {
        c.fast_pattern = Some(FastPattern::Chop {
            offset: rng.below(8) as u16,
            length: rng.below(8) as u16,
        });
    }
    c
}

fn random_test(rng: &mut Rng) -> Test {
    let endian = |rng: &mut Rng| rng.pick(&[Endian::Big, Endian::Little, Endian::Big, Endian::Dce]);
    let base = |rng: &mut Rng| {
        rng.pick(&[
            None,
            None,
            Some(NumBase::Dec),
            Some(NumBase::Hex),
            Some(NumBase::Oct),
        ])
    };
    match rng.below(9) {
        0..=2 => Test::Content(random_content(rng)),
        3 => Test::IsDataAt(IsDataAt {
            position: rng.value_u32(),
            negated: rng.bool(),
            relative: rng.bool(),
            rawbytes: false,
        }),
        4 => Test::ByteTest(ByteTest {
            bytes: rng.below(10) as u8,
            negated: rng.bool(),
            op: rng.pick(&[
                ByteOp::Lt,
                ByteOp::Gt,
                ByteOp::Eq,
                ByteOp::Le,
                ByteOp::Ge,
                ByteOp::And,
                ByteOp::Xor,
            ]),
            value: if rng.below(4) == 0 {
                Value::Var(rng.var())
            } else {
                Value::Lit(rng.u64())
            },
            offset: rng.value_i32(),
            relative: rng.bool(),
            endian: endian(rng),
            string: base(rng),
            bitmask: rng.bool().then(|| rng.u32()),
        }),
        5 => Test::ByteJump(ByteJump {
            bytes: rng.below(10) as u8,
            offset: rng.value_i32(),
            relative: rng.bool(),
            multiplier: rng.bool().then(|| rng.u32()),
            endian: endian(rng),
            string: base(rng),
            align: rng.bool(),
            from: rng.pick(&[JumpFrom::Current, JumpFrom::Beginning, JumpFrom::End]),
            post_offset: rng.bool().then(|| rng.i32()),
            bitmask: (rng.below(8) == 0).then(|| rng.u32()),
        }),
        6 => Test::ByteExtract(ByteExtract {
            bytes: rng.below(10) as u8,
            offset: rng.i32(),
            name: rng.var(),
            relative: rng.bool(),
            multiplier: rng.bool().then(|| rng.u32()),
            endian: endian(rng),
            string: base(rng),
            align: rng.pick(&[None, Some(2), Some(4)]),
        }),
        7 => {
            let (a, b) = (rng.u64(), rng.u64());
            let cmps = [
                IntCmp::Eq(a),
                IntCmp::Lt(a),
                IntCmp::Ge(a),
                IntCmp::Between(a, b),
                IntCmp::Ne(a),
            ];
            Test::Bsize(rng.pick(&cmps))
        }
        _ => {
            // A content first: nta-rules wants one before a relative pcre.
            let text = format!(
                "alert tcp any any -> any any (content:\"a\"; {} sid:1;)",
                rng.pick(PCRES)
            );
            let rule = parse_rule(&text, &RuleVars::default()).unwrap();
            rule.matches[1].test.clone()
        }
    }
}

#[test]
fn random_programs_on_random_buffers() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut compiled, mut unsupported, mut matched) = (0, 0, 0);
    for _ in 0..3000 {
        let n = 1 + rng.below(8) as usize;
        let matches: Vec<Match> = (0..n)
            .map(|_| Match {
                buffer: Buffer::Packet,
                test: random_test(&mut rng),
            })
            .collect();
        let refs: Vec<&Match> = matches.iter().collect();
        let _ = fast_pattern(&refs);
        let program = match compile(&refs) {
            Ok(p) => p,
            Err(e) => {
                assert!(!e.reason.is_empty());
                unsupported += 1;
                continue;
            }
        };
        compiled += 1;
        let mut vars = Vars::new();
        for _ in 0..4 {
            let buf = rng.bytes(200);
            if rng.bool() {
                vars.clear();
            }
            if rng.below(3) == 0 {
                vars.set(&rng.var(), rng.u64());
            }
            let i = program.inspect_counted(&buf, &mut vars);
            assert!(i.evaluations <= DEFAULT_RECURSION_LIMIT);
            matched += u32::from(i.matched);
        }
    }
    // The generator exercises both outcomes.
    assert!(
        compiled > 1000,
        "{compiled} compiled, {unsupported} unsupported"
    );
    assert!(unsupported > 50);
    assert!(matched > 100);
}

#[test]
fn pathological_searches_stay_within_budget() {
    let big = vec![b'a'; 64 * 1024];
    let cases = [
        r#"content:"a"; content:"a"; within:1; content:"a"; within:1; content:"b"; within:1;"#,
        r#"pcre:"/a/"; pcre:"/a/R"; content:"b"; within:1;"#,
        r#"content:"a"; isdataat:!1,relative; content:"b";"#,
        r#"content:"aa"; endswith; content:!"a"; distance:-1;"#,
        r#"pcre:"/(a+)+$/"; content:"b";"#,
        r#"pcre:"/(?=a)(a*)*b/";"#,
        r#"content:"a"; byte_jump:1,0,relative,post_offset -2; content:"b"; within:1;"#,
    ];
    for opts in cases {
        let text = format!("alert tcp any any -> any any ({opts} sid:1;)");
        let rule = parse_rule(&text, &RuleVars::default()).unwrap();
        let matches: Vec<_> = rule.matches_in(&Buffer::Packet).collect();
        let program = compile(&matches).unwrap();
        let i = program.inspect_counted(&big, &mut Vars::new());
        assert!(!i.matched, "{opts}");
        assert!(i.evaluations <= DEFAULT_RECURSION_LIMIT, "{opts}");
    }
}

#[test]
fn prefilter_on_random_patterns() {
    let mut rng = Rng(42);
    let patterns: Vec<(Vec<u8>, bool, u32)> = (0..500)
        .map(|i| (rng.bytes(6), rng.bool(), i % 97))
        .collect();
    let p = Prefilter::new(patterns.clone()).unwrap();
    for _ in 0..50 {
        let buf = rng.bytes(2000);
        let got: Vec<u32> = p.candidates(&buf).collect();
        // Every returned id has a pattern that occurs; every occurring pattern's id is there.
        let mut want: Vec<u32> = patterns
            .iter()
            .filter(|(pat, nocase, _)| {
                if *nocase {
                    let lower: Vec<u8> = buf.to_ascii_lowercase();
                    let pl = pat.to_ascii_lowercase();
                    pl.is_empty() || lower.windows(pl.len()).any(|w| w == pl.as_slice())
                } else {
                    pat.is_empty() || buf.windows(pat.len()).any(|w| w == pat.as_slice())
                }
            })
            .map(|(_, _, id)| *id)
            .collect();
        want.sort_unstable();
        want.dedup();
        assert_eq!(got, want);
    }
}
