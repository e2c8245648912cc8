//! Evaluating a [`BufferProgram`] against a buffer: a port of Suricata's
//! `DetectEngineContentInspectionInternal`, keyword by keyword.
//!
//! Each keyword returns [`Outcome::Match`] (the rest of the list matched too),
//! [`Outcome::NoMatch`] (an earlier keyword may retry) or [`Outcome::GiveUp`] (Suricata's
//! `-1`: stop the whole inspection). The cursor (Suricata's `det_ctx->buffer_offset`) is
//! passed down by value; byte_extract values go to [`Vars`].
//!
//! Arithmetic follows Suricata's C types where they decide the result (32-bit wrapping
//! of `distance`/`within` sums, the signed 32-bit comparison of `within`), and is otherwise
//! done in wider integers so that no value from the rule or the packet can overflow.

use nta_rules::{ByteOp, IntCmp, JumpFrom};

use crate::bytes::{read_number, read_start};
use crate::pcre::{Latin1, Search};
use crate::program::{
    BufferProgram, ByteExtractStep, ByteJumpStep, ByteTestStep, ContentStep, IsDataAtStep, Num,
    PcreStep, Place, Step,
};
use crate::Vars;

/// Suricata's limit on byte_extract values used by isdataat (larger: no data there).
const ISDATAAT_MAX_VAR: u64 = 100_000_000;

/// The result of one inspection, with its cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inspection {
    /// Whether the keywords matched.
    pub matched: bool,
    /// Keyword evaluations made (at most the recursion limit).
    pub evaluations: u32,
    /// The recursion limit was reached (the inspection gave up: no match).
    pub limit_hit: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Match,
    NoMatch,
    GiveUp,
}

use Outcome::{GiveUp, Match, NoMatch};

struct Cx<'a, 'v> {
    buf: &'a [u8],
    len: u32,
    vars: &'v mut Vars,
    count: u32,
    limit: u32,
    limit_hit: bool,
    latin1: Latin1,
}

impl Cx<'_, '_> {
    fn var(&self, name: &str) -> Option<u64> {
        self.vars.get(name)
    }

    /// A number as Suricata casts it to `int32_t` (variables keep their low 32 bits).
    fn i32_of(&self, n: &Num<i32>) -> Option<i32> {
        match n {
            Num::Lit(v) => Some(*v),
            Num::Var(name) => self.var(name).map(|v| v as u32 as i32),
        }
    }

    fn u64_of(&self, n: &Num<u64>) -> Option<u64> {
        match n {
            Num::Lit(v) => Some(*v),
            Num::Var(name) => self.var(name),
        }
    }
}

impl BufferProgram {
    /// Whether the keywords match `buf`. `vars` receives byte_extract values (and provides
    /// those of earlier buffers of the same rule).
    pub fn inspect(&self, buf: &[u8], vars: &mut Vars) -> bool {
        self.inspect_counted(buf, vars).matched
    }

    /// [`BufferProgram::inspect`], with the number of evaluations and whether the recursion
    /// limit was reached (for statistics).
    pub fn inspect_counted(&self, buf: &[u8], vars: &mut Vars) -> Inspection {
        // Suricata's buffer lengths are 32-bit; a longer buffer is inspected up to 4 GiB.
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let buf = buf.get(..len as usize).unwrap_or(buf);
        let mut cx = Cx {
            buf,
            len,
            vars,
            count: 0,
            limit: self.recursion_limit.max(1),
            limit_hit: false,
            latin1: Latin1::default(),
        };
        let matched = self.steps.is_empty() || self.run(&mut cx, 0, 0) == Match;
        Inspection {
            matched,
            evaluations: cx.count,
            limit_hit: cx.limit_hit,
        }
    }

    /// Evaluates the keyword `idx` and, when it matches, the rest of the list.
    fn run(&self, cx: &mut Cx<'_, '_>, idx: usize, cursor: u32) -> Outcome {
        cx.count = cx.count.saturating_add(1);
        if cx.count >= cx.limit {
            cx.limit_hit = true;
            return GiveUp;
        }
        let Some(step) = self.steps.get(idx) else {
            return Match;
        };
        match step {
            Step::Content(c) => self.content(cx, idx, c, cursor),
            Step::Pcre(p) => self.pcre(cx, idx, p, cursor),
            Step::IsDataAt(d) => self.isdataat(cx, idx, d, cursor),
            Step::ByteTest(t) => {
                if byte_test(cx, t, cursor) {
                    self.next(cx, idx, cursor)
                } else {
                    NoMatch
                }
            }
            Step::ByteJump(j) => match byte_jump(cx, j, cursor) {
                Some(c) => self.next(cx, idx, c),
                None => NoMatch,
            },
            Step::ByteExtract(e) => match byte_extract(cx, e, cursor) {
                Some(c) => self.next(cx, idx, c),
                None => NoMatch,
            },
            Step::Bsize(cmp) => {
                if cmp.matches(u64::from(cx.len)) {
                    self.next(cx, idx, cursor)
                } else if matches!(cmp, IntCmp::Ne(_) | IntCmp::NotBetween(..)) {
                    NoMatch
                } else {
                    // The buffer is complete: no later keyword can change its size.
                    GiveUp
                }
            }
        }
    }

    /// Keyword `idx` matched with the cursor at `cursor`: the rest of the list.
    fn next(&self, cx: &mut Cx<'_, '_>, idx: usize, cursor: u32) -> Outcome {
        if idx + 1 >= self.steps.len() {
            Match
        } else {
            self.run(cx, idx + 1, cursor)
        }
    }

    fn content(&self, cx: &mut Cx<'_, '_>, idx: usize, c: &ContentStep, cursor: u32) -> Outcome {
        let len = cx.len;
        let prev_buffer_offset = cursor;
        // Start of the next search after a failed attempt (Suricata's `prev_offset`).
        let mut retry_from: u32 = 0;
        loop {
            let mut depth = len;
            let mut offset: u32 = 0;
            match &c.place {
                Place::Relative { distance, within } => {
                    offset = prev_buffer_offset;
                    let mut dist: i32 = 0;
                    if let Some(d) = distance {
                        let Some(v) = cx.i32_of(d) else {
                            return NoMatch;
                        };
                        dist = v;
                        if dist < 0 && dist.unsigned_abs() > offset {
                            offset = 0;
                        } else {
                            offset = offset.wrapping_add(dist as u32);
                        }
                    }
                    if let Some(w) = within {
                        let Some(w) = cx.i32_of(w) else {
                            return NoMatch;
                        };
                        let end = prev_buffer_offset
                            .wrapping_add(w as u32)
                            .wrapping_add(dist as u32);
                        if (depth as i32) > (end as i32) {
                            depth = end;
                        }
                    }
                }
                Place::Fixed { offset: o, end } => {
                    offset = *o;
                    if let Some(e) = end {
                        if *e != 0 {
                            depth = *e;
                        }
                    }
                }
                Place::Variable {
                    offset: o,
                    depth: d,
                } => {
                    if let Some(name) = d {
                        let Some(v) = cx.var(name) else {
                            return NoMatch;
                        };
                        depth = v as u32;
                    }
                    if let Some(name) = o {
                        let Some(v) = cx.var(name) else {
                            return NoMatch;
                        };
                        offset = v as u32;
                    }
                    depth = depth.wrapping_add(offset);
                }
            }
            if retry_from != 0 {
                offset = retry_from;
            }
            depth = depth.min(len);
            if offset > depth || depth == 0 {
                return if c.negated {
                    self.next(cx, idx, cursor)
                } else {
                    NoMatch
                };
            }
            let window = cx.buf.get(offset as usize..depth as usize).unwrap_or(&[]);
            let found = if c.ends_with && depth < len || c.len as usize > window.len() {
                None
            } else {
                c.searcher.find(window)
            };
            let Some(at) = found else {
                if c.negated {
                    return self.next(cx, idx, cursor);
                }
                // An absolute content that is not there cannot appear later.
                return if matches!(c.place, Place::Relative { .. }) {
                    NoMatch
                } else {
                    GiveUp
                };
            };
            // `at < window.len() <= u32::MAX` and the match ends inside the buffer.
            let match_offset = offset.saturating_add(at as u32).saturating_add(c.len);
            if c.negated {
                // Suricata compares the window length with the absolute match end.
                if c.ends_with && depth - offset != match_offset {
                    return self.next(cx, idx, cursor);
                }
                return if c.single { GiveUp } else { NoMatch };
            }
            if !c.ends_with || match_offset == len {
                match self.next(cx, idx, match_offset) {
                    Match => return Match,
                    GiveUp => return GiveUp,
                    NoMatch => {}
                }
                if !c.within_next {
                    return GiveUp;
                }
            }
            // Next occurrence: one byte after this one's start.
            retry_from = match_offset - (c.len - 1);
        }
    }

    fn pcre(&self, cx: &mut Cx<'_, '_>, idx: usize, p: &PcreStep, cursor: u32) -> Outcome {
        let subject = if p.relative { cursor } else { 0 };
        // Absolute position one past the start of the last match (Suricata's
        // `pcre_match_start_offset`); 0 before the first match.
        let mut start_after: u32 = 0;
        loop {
            let start = if start_after != 0 {
                start_after.saturating_sub(subject)
            } else {
                0
            };
            let found = p
                .regex
                .search(cx.buf, subject as usize, start as usize, &mut cx.latin1);
            let new_cursor = match (found, p.negated) {
                (Search::Found(s, e), false) => {
                    let s = u32::try_from(s).unwrap_or(u32::MAX);
                    let e = u32::try_from(e).unwrap_or(u32::MAX);
                    start_after = subject.saturating_add(s).saturating_add(1);
                    subject.saturating_add(e).min(cx.len)
                }
                (Search::None, true) => cursor,
                _ => return NoMatch,
            };
            if !p.relative_next {
                return self.next(cx, idx, new_cursor);
            }
            match self.next(cx, idx, new_cursor) {
                Match => return Match,
                GiveUp => return GiveUp,
                NoMatch => {}
            }
            if start_after == 0 {
                // A negated pcre has no "next match".
                return NoMatch;
            }
        }
    }

    fn isdataat(&self, cx: &mut Cx<'_, '_>, idx: usize, d: &IsDataAtStep, cursor: u32) -> Outcome {
        let from_var = matches!(d.position, Num::Var(_));
        let at = match &d.position {
            Num::Lit(v) => u64::from(*v),
            Num::Var(name) => {
                let Some(v) = cx.var(name) else {
                    return NoMatch;
                };
                if v >= ISDATAAT_MAX_VAR {
                    return if d.negated {
                        self.next(cx, idx, cursor)
                    } else {
                        NoMatch
                    };
                }
                v
            }
        };
        let len = u64::from(cx.len);
        let data_there = if d.relative {
            u64::from(cursor) + at <= len
        } else {
            at < len
        };
        let fail = if from_var { NoMatch } else { GiveUp };
        match (data_there, d.negated) {
            (true, false) | (false, true) => self.next(cx, idx, cursor),
            // Suricata: a relative isdataat that is there but must not be returns "no match"
            // (an earlier keyword may retry); the absolute one gives up.
            (true, true) if d.relative => NoMatch,
            _ => fail,
        }
    }
}

/// The number a byte_* keyword reads at `start`.
fn read(cx: &Cx<'_, '_>, start: u32, f: crate::program::NumberFormat) -> Option<(u64, u32)> {
    read_number(cx.buf, start, f.bytes, f.text_base, f.big_endian)
}

fn byte_test(cx: &Cx<'_, '_>, t: &ByteTestStep, cursor: u32) -> bool {
    let Some(offset) = cx.i32_of(&t.offset) else {
        return false;
    };
    let Some(value) = cx.u64_of(&t.value) else {
        return false;
    };
    let Some(start) = read_start(cx.len, cursor, offset, t.relative, t.format.bytes, true) else {
        return false;
    };
    let Some((mut v, _)) = read(cx, start, t.format) else {
        return false;
    };
    if let Some((mask, shift)) = t.bitmask {
        v &= mask;
        if v != 0 && shift != 0 {
            v >>= shift;
        }
    }
    let hit = match t.op {
        ByteOp::Eq => v == value,
        ByteOp::Lt => v < value,
        ByteOp::Gt => v > value,
        ByteOp::Le => v <= value,
        ByteOp::Ge => v >= value,
        ByteOp::And => v & value != 0,
        ByteOp::Xor => v ^ value != 0,
    };
    hit != t.negated
}

/// The new cursor, or `None` when the jump fails.
fn byte_jump(cx: &Cx<'_, '_>, j: &ByteJumpStep, cursor: u32) -> Option<u32> {
    let offset = cx.i32_of(&j.offset)?;
    let nbytes = j.format.bytes;
    let start = read_start(cx.len, cursor, offset, j.relative, nbytes, nbytes != 0)?;
    let (mut v, used) = read(cx, start, j.format)?;
    v = v.wrapping_mul(j.multiplier);
    if j.align && v % 4 != 0 {
        v = v.wrapping_add(4 - v % 4);
    }
    v = v.wrapping_add(i64::from(j.post_offset) as u64);
    // Suricata adds the value as a signed 64-bit number to a pointer.
    let jump = i128::from(v as i64);
    let to = match j.from {
        JumpFrom::Beginning => jump,
        JumpFrom::End => i128::from(cx.len) + jump,
        JumpFrom::Current => i128::from(start) + jump + i128::from(used),
    };
    if to < 0 {
        // Before the buffer start: the start (Suricata ≥ 7.0.2, issue 4624).
        return Some(0);
    }
    if to > i128::from(cx.len) {
        return None;
    }
    u32::try_from(to).ok()
}

/// The new cursor after storing the value, or `None` when the keyword fails.
fn byte_extract(cx: &mut Cx<'_, '_>, e: &ByteExtractStep, cursor: u32) -> Option<u32> {
    let start = read_start(cx.len, cursor, e.offset, e.relative, e.format.bytes, true)?;
    let (mut v, used) = read(cx, start, e.format)?;
    v = v.wrapping_mul(e.multiplier);
    if e.align != 0 && v % e.align != 0 {
        v = v.wrapping_add(e.align - v % e.align);
    }
    cx.vars.set(&e.name, v);
    Some(start.saturating_add(used).min(cx.len))
}
