//! Payload keywords: what is looked for in a buffer.

use super::{Buffer, IntCmp, Value};

/// One payload keyword and the buffer it inspects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The buffer (sticky buffer in force, content modifier, or pcre buffer flag).
    pub buffer: Buffer,
    /// What is tested.
    pub test: Test,
}

/// A payload test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Test {
    /// `content` with its modifiers.
    Content(Content),
    /// `pcre`.
    Pcre(Pcre),
    /// `isdataat`.
    IsDataAt(IsDataAt),
    /// `byte_test`.
    ByteTest(ByteTest),
    /// `byte_jump`.
    ByteJump(ByteJump),
    /// `byte_extract`: defines a variable for later keywords.
    ByteExtract(ByteExtract),
    /// `bsize`: the buffer's size.
    Bsize(IntCmp<u64>),
    /// `base64_decode`: decodes part of the buffer into [`Buffer::Base64Data`].
    Base64Decode(Base64Decode),
}

/// A `content` and the modifiers that follow it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Content {
    /// The bytes, with `|hex|` decoded and escapes removed.
    pub pattern: Vec<u8>,
    /// `content:!"…"`: the buffer must not contain the pattern (within the limits).
    pub negated: bool,
    /// `nocase`.
    pub nocase: bool,
    /// `rawbytes` (accepted for compatibility; Suricata ignores it).
    pub rawbytes: bool,
    /// `offset`: start looking this many bytes into the buffer.
    pub offset: Option<Value<u32>>,
    /// `depth`: look only in this many bytes from `offset`.
    pub depth: Option<Value<u32>>,
    /// `distance`: start this many bytes after the previous match (may be negative).
    pub distance: Option<Value<i32>>,
    /// `within`: the pattern ends within this many bytes after the previous match.
    pub within: Option<Value<i32>>,
    /// `startswith`: the pattern is at the start of the buffer.
    pub startswith: bool,
    /// `endswith`: the pattern is at the end of the buffer.
    pub endswith: bool,
    /// `fast_pattern`, if given.
    pub fast_pattern: Option<FastPattern>,
}

impl Content {
    /// Whether the content is placed relative to the previous match (`distance`/`within`).
    pub fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }
}

/// `fast_pattern`: which content the multi-pattern prefilter uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FastPattern {
    /// `fast_pattern`.
    Yes,
    /// `fast_pattern:only` (a prefilter hit is enough for this content).
    Only,
    /// `fast_pattern:offset,length`: use this slice of the pattern.
    Chop {
        /// Start in the pattern.
        offset: u16,
        /// Length.
        length: u16,
    },
}

/// `pcre:"/regex/flags"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pcre {
    /// The regex between the slashes, as written (PCRE syntax).
    pub pattern: String,
    /// `pcre:!"…"`.
    pub negated: bool,
    /// Matching flags; buffer flags (`U`, `H`, `P`, …) are in [`Match::buffer`].
    pub flags: PcreFlags,
    /// Which Rust engine compiled [`Pcre::rust_pattern`] at load.
    pub engine: RegexEngine,
}

/// The matching flags of a pcre.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PcreFlags {
    /// `i`
    pub caseless: bool,
    /// `s`: `.` matches newlines.
    pub dotall: bool,
    /// `m`: `^`/`$` at line boundaries.
    pub multiline: bool,
    /// `x`: whitespace and `#` comments ignored.
    pub extended: bool,
    /// `A`: the match must start where the search starts.
    pub anchored: bool,
    /// `E`: `$` matches only at the very end.
    pub dollar_endonly: bool,
    /// `G`: quantifiers are lazy by default.
    pub ungreedy: bool,
    /// `R`: relative to the previous match in the buffer.
    pub relative: bool,
    /// `B`: raw bytes (Snort compatibility).
    pub rawbytes: bool,
    /// `O`: override the configured match limits.
    pub match_limit: bool,
}

/// Which crate a pcre needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegexEngine {
    /// The `regex` crate (`regex::bytes`, Unicode off) compiles it.
    Regex,
    /// Only `fancy-regex` compiles it (lookaround, backreferences, atomic groups).
    Fancy,
}

/// `isdataat:[!]n[,relative][,rawbytes]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsDataAt {
    /// Position (or variable).
    pub position: Value<u32>,
    /// `!`: there must be no data there.
    pub negated: bool,
    /// `relative`: counted from the end of the previous match.
    pub relative: bool,
    /// `rawbytes`.
    pub rawbytes: bool,
}

/// Byte order of extracted numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Endian {
    /// Big-endian (the default).
    #[default]
    Big,
    /// Little-endian.
    Little,
    /// As the DCE/RPC header says (`dce`).
    Dce,
}

/// `string,<base>`: the bytes are a number written as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumBase {
    /// `hex`
    Hex,
    /// `dec`
    Dec,
    /// `oct`
    Oct,
}

/// byte_test operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOp {
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `=`
    Eq,
    /// `<=`
    Le,
    /// `>=`
    Ge,
    /// `&` (bitwise and is non-zero)
    And,
    /// `^` (bitwise xor is non-zero)
    Xor,
}

/// `byte_test:bytes,[!]op,value,offset[,relative][,endian][,string,base][,dce][,bitmask m]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByteTest {
    /// Bytes to read (1..=8, or up to 23 as a string; 0 as a string reads the digits that
    /// are there).
    pub bytes: u8,
    /// `!op` (`!=` is `Eq` negated).
    pub negated: bool,
    /// Operator.
    pub op: ByteOp,
    /// Value compared with.
    pub value: Value<u64>,
    /// Where to read.
    pub offset: Value<i32>,
    /// `relative`.
    pub relative: bool,
    /// Byte order.
    pub endian: Endian,
    /// `string,base`.
    pub string: Option<NumBase>,
    /// `bitmask`: applied (and shifted down) before comparing.
    pub bitmask: Option<u32>,
}

/// Where `byte_jump` counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum JumpFrom {
    /// The read position (default).
    #[default]
    Current,
    /// `from_beginning`: the start of the buffer.
    Beginning,
    /// `from_end`: the end of the buffer.
    End,
}

/// `byte_jump:bytes,offset[,relative][,multiplier n][,endian][,string,base][,align]
/// [,from_beginning|from_end][,post_offset n][,dce][,bitmask m]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByteJump {
    /// Bytes to read (1..=8, or up to 23 as a string; 0 as a string reads the digits that
    /// are there).
    pub bytes: u8,
    /// Where to read.
    pub offset: Value<i32>,
    /// `relative`.
    pub relative: bool,
    /// `multiplier`.
    pub multiplier: Option<u32>,
    /// Byte order.
    pub endian: Endian,
    /// `string,base`.
    pub string: Option<NumBase>,
    /// `align`: round the jump up to a multiple of 4.
    pub align: bool,
    /// `from_beginning` / `from_end`.
    pub from: JumpFrom,
    /// `post_offset`: added after the jump.
    pub post_offset: Option<i32>,
    /// `bitmask`.
    pub bitmask: Option<u32>,
}

/// `byte_extract:bytes,offset,name[,relative][,multiplier n][,endian][,string[,base]]
/// [,align n][,dce]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByteExtract {
    /// Bytes to read (1..=8, or up to 23 as a string; 0 as a string reads the digits that
    /// are there).
    pub bytes: u8,
    /// Where to read.
    pub offset: i32,
    /// The variable's name, usable by later keywords of the rule.
    pub name: String,
    /// `relative`.
    pub relative: bool,
    /// `multiplier`.
    pub multiplier: Option<u32>,
    /// Byte order.
    pub endian: Endian,
    /// `string[,base]` (dec when the base is not given).
    pub string: Option<NumBase>,
    /// `align 2|4`.
    pub align: Option<u8>,
}

/// `base64_decode[:bytes n][,offset n][,relative]`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Base64Decode {
    /// Bytes to decode at most.
    pub bytes: Option<u32>,
    /// Where to start.
    pub offset: Option<u32>,
    /// `relative`.
    pub relative: bool,
}
