//! Compiling the payload keywords of one buffer into a [`BufferProgram`].
//!
//! Besides compiling regexes and patterns, this applies what Suricata decides when it loads
//! a rule and that changes matching: which content retries its next occurrence when a later
//! keyword fails (`WITHIN_NEXT`), which pcre does (`RELATIVE_NEXT`), which negated content
//! ends the search when found (`DETECT_CONTENT_IS_SINGLE`), and the rewrite of
//! `isdataat:!1,relative` after a content into `endswith`.
//!
//! Suricata attaches a relative isdataat/byte_* keyword to "the previous keyword": with a
//! sticky buffer, the latest content or pcre; otherwise (packet data, content modifiers) the
//! latest payload keyword of any kind. The AST does not say which spelling selected a
//! non-packet buffer, so both readings are computed and a rule whose meaning differs
//! between them is [`Unsupported`].

use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem::Finder;
use nta_rules::{
    Buffer, ByteOp, Content, Endian, IntCmp, IsDataAt, JumpFrom, Match, NumBase, Test, Value,
};

use crate::pcre::CompiledPcre;
use crate::{Unsupported, DEFAULT_RECURSION_LIMIT};

/// Most keywords in one buffer. The evaluation recurses once per keyword, so this bounds
/// its stack depth; real rules have a few dozen at most.
pub const MAX_STEPS: usize = 256;

/// The compiled payload keywords of one buffer of a rule. Built once by [`compile`], then
/// [`BufferProgram::inspect`] for each buffer instance.
pub struct BufferProgram {
    pub(crate) buffer: Option<Buffer>,
    pub(crate) steps: Vec<Step>,
    pub(crate) recursion_limit: u32,
}

impl std::fmt::Debug for BufferProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferProgram")
            .field("buffer", &self.buffer)
            .field("steps", &self.steps.len())
            .field("recursion_limit", &self.recursion_limit)
            .finish()
    }
}

impl BufferProgram {
    /// The buffer the keywords inspect (`None` for an empty program).
    pub fn buffer(&self) -> Option<&Buffer> {
        self.buffer.as_ref()
    }

    /// Number of keywords evaluated (after Suricata's rewrites).
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether there is no keyword (the program matches every buffer).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The regex of a leading, absolute, non-negated pcre (`regex` crate syntax, Unicode
    /// off): the program cannot match a buffer the regex does not match.
    pub(crate) fn leading_regex(&self) -> Option<&str> {
        match self.steps.first()? {
            Step::Pcre(p) if !p.negated && !p.relative => p.regex.bytes_pattern(),
            _ => None,
        }
    }

    /// Sets the evaluation budget (at least 1; default [`DEFAULT_RECURSION_LIMIT`]).
    pub fn set_recursion_limit(&mut self, limit: u32) {
        self.recursion_limit = limit.max(1);
    }

    /// The evaluation budget.
    pub fn recursion_limit(&self) -> u32 {
        self.recursion_limit
    }
}

/// A number from the rule or a byte_extract variable.
#[derive(Clone, Debug)]
pub(crate) enum Num<T> {
    Lit(T),
    Var(Box<str>),
}

impl<T: Copy> Num<T> {
    fn from_value(v: &Value<T>) -> Num<T> {
        match v {
            Value::Lit(x) => Num::Lit(*x),
            Value::Var(n) => Num::Var(n.as_str().into()),
        }
    }
}

pub(crate) enum Step {
    Content(Box<ContentStep>),
    Pcre(PcreStep),
    IsDataAt(IsDataAtStep),
    ByteTest(ByteTestStep),
    ByteJump(ByteJumpStep),
    ByteExtract(ByteExtractStep),
    Bsize(IntCmp<u64>),
}

/// Finds the first occurrence of a pattern.
pub(crate) enum Searcher {
    Exact(Box<Finder<'static>>),
    /// ASCII case-insensitive.
    Caseless(AhoCorasick),
}

impl Searcher {
    pub(crate) fn find(&self, hay: &[u8]) -> Option<usize> {
        match self {
            Searcher::Exact(f) => f.find(hay),
            Searcher::Caseless(ac) => ac.find(hay).map(|m| m.start()),
        }
    }
}

/// Where a content is looked for.
pub(crate) enum Place {
    /// `offset`/`depth` numbers: the window `[offset, end)`, `end` = offset + depth (the
    /// buffer end without depth). Also plain contents (offset 0, no end).
    Fixed { offset: u32, end: Option<u32> },
    /// `offset`/`depth` from variables (Suricata adds them at match time).
    Variable {
        offset: Option<Box<str>>,
        depth: Option<Box<str>>,
    },
    /// `distance`/`within`.
    Relative {
        distance: Option<Num<i32>>,
        within: Option<Num<i32>>,
    },
}

pub(crate) struct ContentStep {
    pub(crate) len: u32,
    pub(crate) searcher: Searcher,
    pub(crate) negated: bool,
    pub(crate) place: Place,
    pub(crate) ends_with: bool,
    /// Retry the next occurrence when a later keyword fails.
    pub(crate) within_next: bool,
    /// Suricata's `DETECT_CONTENT_IS_SINGLE`: a negated content found gives up the search.
    pub(crate) single: bool,
}

pub(crate) struct PcreStep {
    pub(crate) regex: CompiledPcre,
    pub(crate) negated: bool,
    pub(crate) relative: bool,
    /// Retry the next match when a later keyword fails.
    pub(crate) relative_next: bool,
}

pub(crate) struct IsDataAtStep {
    pub(crate) position: Num<u32>,
    pub(crate) negated: bool,
    pub(crate) relative: bool,
}

/// How a byte_* keyword reads its number.
#[derive(Clone, Copy)]
pub(crate) struct NumberFormat {
    pub(crate) bytes: u8,
    /// `string,<base>`: 8, 10 or 16.
    pub(crate) text_base: Option<u32>,
    pub(crate) big_endian: bool,
}

pub(crate) struct ByteTestStep {
    pub(crate) format: NumberFormat,
    pub(crate) op: ByteOp,
    pub(crate) negated: bool,
    pub(crate) value: Num<u64>,
    pub(crate) offset: Num<i32>,
    pub(crate) relative: bool,
    /// Mask and its trailing zeros.
    pub(crate) bitmask: Option<(u64, u32)>,
}

pub(crate) struct ByteJumpStep {
    pub(crate) format: NumberFormat,
    pub(crate) offset: Num<i32>,
    pub(crate) relative: bool,
    pub(crate) multiplier: u64,
    pub(crate) align: bool,
    pub(crate) from: JumpFrom,
    pub(crate) post_offset: i32,
}

pub(crate) struct ByteExtractStep {
    pub(crate) format: NumberFormat,
    pub(crate) offset: i32,
    pub(crate) relative: bool,
    pub(crate) multiplier: u64,
    /// Round up to a multiple of this (0: no alignment).
    pub(crate) align: u64,
    pub(crate) name: Box<str>,
}

/// Compiles the payload keywords of one buffer, in rule order (for example
/// `rule.matches_in(&buffer).collect::<Vec<_>>()`).
///
/// Fails with [`Unsupported`] for a keyword that cannot be evaluated exactly (see the crate
/// documentation), for matches of more than one buffer, and past [`MAX_STEPS`] keywords.
pub fn compile(matches: &[&Match]) -> Result<BufferProgram, Unsupported> {
    let buffer = matches.first().map(|m| m.buffer.clone());
    if let Some(b) = &buffer {
        if matches.iter().any(|m| &m.buffer != b) {
            return Err(Unsupported::new(
                "buffer",
                "the matches given to compile belong to more than one buffer",
            ));
        }
    }
    if matches.len() > MAX_STEPS {
        return Err(Unsupported::new(
            "payload",
            format!("more than {MAX_STEPS} payload keywords in one buffer"),
        ));
    }
    for m in matches {
        if matches!(m.test, Test::Base64Decode(_)) || m.buffer == Buffer::Base64Data {
            return Err(Unsupported::new(
                "base64_decode",
                "base64 decoding (base64_decode/base64_data) is not implemented: Suricata's decoder rules changed between versions and are not reproduced yet",
            ));
        }
    }
    let packet = buffer.as_ref().is_none_or(|b| *b == Buffer::Packet);
    let items: Vec<Item> = matches.iter().map(|m| Item::of(&m.test)).collect();
    let analysis = analyse(&items, packet)?;

    let mut steps = Vec::with_capacity(matches.len());
    for (i, m) in matches.iter().enumerate() {
        if analysis.dropped.get(i).copied().unwrap_or(false) {
            continue;
        }
        let flag = |v: &Vec<bool>| v.get(i).copied().unwrap_or(false);
        let step = match &m.test {
            Test::Content(c) => Step::Content(Box::new(content(
                c,
                flag(&analysis.ends_with),
                flag(&analysis.within_next),
                flag(&analysis.within_next) || flag(&analysis.distance_next),
            )?)),
            Test::Pcre(p) => Step::Pcre(PcreStep {
                regex: CompiledPcre::compile(p)?,
                negated: p.negated,
                relative: p.flags.relative,
                relative_next: flag(&analysis.pcre_next),
            }),
            Test::IsDataAt(d) => Step::IsDataAt(IsDataAtStep {
                position: Num::from_value(&d.position),
                negated: d.negated,
                relative: d.relative,
            }),
            Test::ByteTest(t) => Step::ByteTest(ByteTestStep {
                format: format("byte_test", t.bytes, t.string, t.endian)?,
                op: t.op,
                negated: t.negated,
                value: Num::from_value(&t.value),
                offset: Num::from_value(&t.offset),
                relative: t.relative,
                bitmask: t
                    .bitmask
                    .map(|m| (u64::from(m), if m == 0 { 0 } else { m.trailing_zeros() })),
            }),
            Test::ByteJump(j) => {
                if j.bitmask.is_some() {
                    return Err(Unsupported::new(
                        "byte_jump",
                        "bitmask: documented by Suricata but not implemented there (the rule does not load)",
                    ));
                }
                Step::ByteJump(ByteJumpStep {
                    format: format("byte_jump", j.bytes, j.string, j.endian)?,
                    offset: Num::from_value(&j.offset),
                    relative: j.relative,
                    multiplier: u64::from(j.multiplier.unwrap_or(1)),
                    align: j.align,
                    from: j.from,
                    post_offset: j.post_offset.unwrap_or(0),
                })
            }
            Test::ByteExtract(e) => Step::ByteExtract(ByteExtractStep {
                format: format("byte_extract", e.bytes, e.string, e.endian)?,
                offset: e.offset,
                relative: e.relative,
                multiplier: u64::from(e.multiplier.unwrap_or(1)),
                align: u64::from(e.align.unwrap_or(0)),
                name: e.name.as_str().into(),
            }),
            Test::Bsize(c) => Step::Bsize(*c),
            Test::Base64Decode(_) => {
                return Err(Unsupported::new("base64_decode", "not implemented"));
            }
        };
        steps.push(step);
    }
    Ok(BufferProgram {
        buffer,
        steps,
        recursion_limit: DEFAULT_RECURSION_LIMIT,
    })
}

fn format(
    keyword: &'static str,
    bytes: u8,
    string: Option<NumBase>,
    endian: Endian,
) -> Result<NumberFormat, Unsupported> {
    if endian == Endian::Dce {
        return Err(Unsupported::new(
            keyword,
            "dce: the byte order comes from the DCE/RPC header, which is not tracked",
        ));
    }
    let text_base = string.map(|b| match b {
        NumBase::Hex => 16,
        NumBase::Dec => 10,
        NumBase::Oct => 8,
    });
    if text_base.is_none() && bytes > 8 || bytes > 23 {
        return Err(Unsupported::new(
            keyword,
            format!("reads {bytes} bytes (at most 8, or 23 as a string)"),
        ));
    }
    Ok(NumberFormat {
        bytes,
        text_base,
        big_endian: endian != Endian::Little,
    })
}

fn content(
    c: &Content,
    ends_with: bool,
    within_next: bool,
    relative_next: bool,
) -> Result<ContentStep, Unsupported> {
    if c.pattern.is_empty() {
        return Err(Unsupported::new("content", "empty pattern"));
    }
    let len = u32::try_from(c.pattern.len())
        .map_err(|_| Unsupported::new("content", "pattern too long"))?;
    let searcher = if c.nocase {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build([&c.pattern])
            .map_err(|e| Unsupported::new("content", e.to_string()))?;
        Searcher::Caseless(ac)
    } else {
        Searcher::Exact(Box::new(Finder::new(&c.pattern).into_owned()))
    };
    let place = if c.is_relative() {
        Place::Relative {
            distance: c.distance.as_ref().map(Num::from_value),
            within: c.within.as_ref().map(Num::from_value),
        }
    } else if c.startswith {
        Place::Fixed {
            offset: 0,
            end: Some(len),
        }
    } else {
        match (&c.offset, &c.depth) {
            (Some(Value::Var(_)), Some(Value::Lit(_)))
            | (Some(Value::Lit(_)), Some(Value::Var(_))) => {
                return Err(Unsupported::new(
                    "content",
                    "offset and depth mix a byte_extract variable and a number (Suricata's result depends on their order)",
                ));
            }
            (Some(Value::Var(_)), _) | (_, Some(Value::Var(_))) => Place::Variable {
                offset: match &c.offset {
                    Some(Value::Var(n)) => Some(n.as_str().into()),
                    _ => None,
                },
                depth: match &c.depth {
                    Some(Value::Var(n)) => Some(n.as_str().into()),
                    _ => None,
                },
            },
            (o, d) => {
                let offset = match o {
                    Some(Value::Lit(v)) => *v,
                    _ => 0,
                };
                let end = match d {
                    Some(Value::Lit(v)) => Some(offset.saturating_add(*v)),
                    _ => None,
                };
                Place::Fixed { offset, end }
            }
        }
    };
    let single = !(c.is_relative()
        || relative_next
        || c.depth.is_some()
        || c.startswith
        || c.offset.is_some());
    Ok(ContentStep {
        len,
        searcher,
        negated: c.negated,
        place,
        ends_with: c.endswith || ends_with,
        within_next,
        single,
    })
}

/// What the load-time analysis needs to know of a keyword.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Content,
    Pcre,
    /// isdataat, byte_test, byte_jump, byte_extract.
    Other,
    /// bsize: never "the previous keyword" of a relative one.
    Bsize,
}

#[derive(Clone, Copy)]
struct Item {
    kind: Kind,
    relative: bool,
    within: bool,
    distance: bool,
    negated: bool,
    /// `isdataat:!1,relative`, which Suricata turns into `endswith` on a content before it.
    ends_with_candidate: bool,
    /// A negated content with no position of its own (so `single` depends on later keywords).
    plain_negated: bool,
}

impl Item {
    fn of(t: &Test) -> Item {
        let mut it = Item {
            kind: Kind::Other,
            relative: false,
            within: false,
            distance: false,
            negated: false,
            ends_with_candidate: false,
            plain_negated: false,
        };
        match t {
            Test::Content(c) => {
                it.kind = Kind::Content;
                it.within = c.within.is_some();
                it.distance = c.distance.is_some();
                it.negated = c.negated;
                it.plain_negated = c.negated
                    && !c.is_relative()
                    && c.offset.is_none()
                    && c.depth.is_none()
                    && !c.startswith;
            }
            Test::Pcre(p) => {
                it.kind = Kind::Pcre;
                it.relative = p.flags.relative;
            }
            Test::IsDataAt(IsDataAt {
                position,
                negated,
                relative,
                ..
            }) => {
                it.relative = *relative;
                it.ends_with_candidate = *negated && *relative && matches!(position, Value::Lit(1));
            }
            Test::ByteTest(b) => it.relative = b.relative,
            Test::ByteJump(b) => it.relative = b.relative,
            Test::ByteExtract(b) => it.relative = b.relative,
            Test::Bsize(_) => it.kind = Kind::Bsize,
            Test::Base64Decode(d) => it.relative = d.relative,
        }
        it
    }
}

/// The two readings of "the previous keyword" of a relative isdataat/byte_* keyword.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Sticky buffer: the latest content or pcre.
    Sticky,
    /// Packet data or content modifier: the latest payload keyword of any kind.
    Modifier,
}

/// Suricata's load-time flags, per keyword.
#[derive(PartialEq, Eq, Debug)]
struct Analysis {
    /// An `isdataat:!1,relative` turned into `endswith` on the content before it.
    dropped: Vec<bool>,
    /// A content given `endswith` by that rewrite.
    ends_with: Vec<bool>,
    /// Content `DETECT_CONTENT_WITHIN_NEXT`: retries its next occurrence.
    within_next: Vec<bool>,
    /// Content `DETECT_CONTENT_DISTANCE_NEXT` (only makes a negated content not single).
    distance_next: Vec<bool>,
    /// Pcre `DETECT_PCRE_RELATIVE_NEXT`: retries its next match.
    pcre_next: Vec<bool>,
}

impl Analysis {
    fn new(n: usize) -> Analysis {
        Analysis {
            dropped: vec![false; n],
            ends_with: vec![false; n],
            within_next: vec![false; n],
            distance_next: vec![false; n],
            pcre_next: vec![false; n],
        }
    }

    /// Marks keyword `p` as having a relative keyword after it (Suricata's
    /// `DETECT_CONTENT_RELATIVE_NEXT`, which is `WITHIN_NEXT | DISTANCE_NEXT`, or
    /// `DETECT_PCRE_RELATIVE_NEXT`).
    fn relative_next(&mut self, items: &[Item], p: usize) {
        if items[p].kind == Kind::Content {
            self.within_next[p] = true;
            self.distance_next[p] = true;
        } else {
            self.pcre_next[p] = true;
        }
    }

    /// What changes matching (`distance_next` only through `single`).
    fn behaviour(&self, items: &[Item]) -> Vec<(bool, bool, bool, bool, bool)> {
        items
            .iter()
            .enumerate()
            .map(|(i, it)| {
                let not_single = it.plain_negated && (self.within_next[i] || self.distance_next[i]);
                (
                    self.dropped[i],
                    self.ends_with[i],
                    self.within_next[i],
                    self.pcre_next[i],
                    not_single,
                )
            })
            .collect()
    }
}

/// Suricata's load-time flags under each possible reading; an error when the readings
/// disagree or the rewrite depends on another buffer.
fn analyse(items: &[Item], packet: bool) -> Result<Analysis, Unsupported> {
    let readings: &[Reading] = if packet {
        &[Reading::Modifier]
    } else {
        &[Reading::Sticky, Reading::Modifier]
    };
    let mut results: Vec<Analysis> = Vec::new();
    for &r in readings {
        if let Some(a) = analyse_reading(items, r, packet)? {
            results.push(a);
        }
    }
    let mut it = results.into_iter();
    let first = it
        .next()
        .ok_or_else(|| Unsupported::new("payload", "relative keyword with nothing before it"))?;
    for other in it {
        if other.behaviour(items) != first.behaviour(items) {
            return Err(Unsupported::new(
                "payload",
                "a relative isdataat/byte_* keyword follows another byte_*/isdataat keyword: Suricata attaches it differently for a sticky buffer and a content modifier, which the rule AST does not record",
            ));
        }
    }
    Ok(first)
}

/// `Ok(None)` when the reading is impossible for this list.
fn analyse_reading(
    items: &[Item],
    reading: Reading,
    packet: bool,
) -> Result<Option<Analysis>, Unsupported> {
    let mut a = Analysis::new(items.len());
    let mut appended: Vec<usize> = Vec::with_capacity(items.len());
    let last_cp = |app: &[usize]| {
        app.iter()
            .rev()
            .copied()
            .find(|&j| matches!(items[j].kind, Kind::Content | Kind::Pcre))
    };
    let last_any = |app: &[usize]| {
        app.iter()
            .rev()
            .copied()
            .find(|&j| items[j].kind != Kind::Bsize)
    };
    // An absolute isdataat/byte_* keyword only lands in a non-packet buffer under a sticky
    // buffer, which then holds for the keywords after it.
    let mut sticky_seen = false;
    for (i, it) in items.iter().enumerate() {
        match it.kind {
            Kind::Other if !it.relative && !packet => sticky_seen = true,
            Kind::Other
                if it.relative && !packet && reading == Reading::Modifier && sticky_seen =>
            {
                return Ok(None);
            }
            _ => {}
        }
        match it.kind {
            Kind::Content => {
                if it.within || it.distance {
                    if let Some(p) = last_cp(&appended) {
                        if items[p].kind == Kind::Content {
                            if it.within {
                                a.within_next[p] = true;
                            }
                            if it.distance && it.negated {
                                a.relative_next(items, p);
                            } else if it.distance {
                                a.distance_next[p] = true;
                            }
                        } else {
                            a.pcre_next[p] = true;
                        }
                    }
                }
            }
            Kind::Pcre => {
                if it.relative {
                    if let Some(p) = last_cp(&appended) {
                        a.relative_next(items, p);
                    }
                }
            }
            Kind::Other if it.relative => {
                // `None`: the previous keyword is in another buffer (or there is none).
                let prev = match reading {
                    Reading::Sticky => last_cp(&appended),
                    Reading::Modifier => match last_any(&appended) {
                        Some(p) => Some(p),
                        // A relative keyword goes to the previous keyword's buffer: first
                        // in a non-packet buffer, it must have come from a sticky buffer.
                        None if !packet => return Ok(None),
                        None => None,
                    },
                };
                if it.ends_with_candidate {
                    match prev {
                        Some(p) if items[p].kind == Kind::Content => {
                            a.ends_with[p] = true;
                            a.dropped[i] = true;
                            continue;
                        }
                        None if reading == Reading::Sticky => {
                            return Err(Unsupported::new(
                                "isdataat",
                                "isdataat:!1,relative with no content or pcre before it in its buffer: Suricata rewrites it against the previous buffer's content",
                            ));
                        }
                        _ => {}
                    }
                }
                if let Some(p) = prev {
                    if matches!(items[p].kind, Kind::Content | Kind::Pcre) {
                        a.relative_next(items, p);
                    }
                }
            }
            Kind::Other | Kind::Bsize => {}
        }
        appended.push(i);
    }
    Ok(Some(a))
}
