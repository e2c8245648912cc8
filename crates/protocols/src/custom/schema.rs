//! The definition file as written: its TOML shape, with the span kept on every key that is
//! checked later, so an error can point at it. `deny_unknown_fields` everywhere: a misspelt
//! key is an error, not a silently ignored line.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use crate::parser::Dir;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) protocol: RawProtocol,
    #[serde(rename = "match")]
    pub(super) matching: Option<RawMatch>,
    pub(super) framing: Option<RawFraming>,
    #[serde(default)]
    pub(super) field: Vec<Spanned<RawField>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProtocol {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) description: String,
    pub(super) transport: Spanned<TransportName>,
    #[serde(default)]
    pub(super) ports: Vec<Spanned<IntOrStr>>,
    #[serde(default)]
    pub(super) priority: Priority,
    #[serde(default)]
    pub(super) endian: Endian,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum TransportName {
    Tcp,
    Udp,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum Priority {
    High,
    #[default]
    Normal,
}

/// Byte order of an integer.
#[derive(Deserialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum Endian {
    #[default]
    Big,
    Little,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum DirName {
    ToServer,
    ToClient,
    Any,
}

impl DirName {
    pub(super) fn dir(self) -> Option<Dir> {
        match self {
            DirName::ToServer => Some(Dir::ToServer),
            DirName::ToClient => Some(Dir::ToClient),
            DirName::Any => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMatch {
    pub(super) offset: Option<Spanned<u64>>,
    pub(super) bytes: Option<Spanned<String>>,
    pub(super) regex: Option<Spanned<String>>,
    pub(super) min_length: Option<Spanned<u64>>,
    pub(super) direction: Option<DirName>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum FramingKind {
    Fixed,
    Length,
    Delimiter,
    Datagram,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFraming {
    pub(super) kind: Spanned<FramingKind>,
    pub(super) size: Option<Spanned<u64>>,
    pub(super) length_offset: Option<Spanned<u64>>,
    pub(super) length_size: Option<Spanned<u64>>,
    pub(super) endian: Option<Spanned<Endian>>,
    pub(super) length_adjust: Option<Spanned<i64>>,
    pub(super) delimiter: Option<Spanned<String>>,
    pub(super) max_message: Option<Spanned<u64>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub(super) enum FieldType {
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    Bytes,
    String,
    Skip,
    Group,
}

impl FieldType {
    /// Size and signedness of the integer types.
    pub(super) fn int(self) -> Option<(usize, bool)> {
        Some(match self {
            FieldType::U8 => (1, false),
            FieldType::U16 => (2, false),
            FieldType::U32 => (4, false),
            FieldType::U64 => (8, false),
            FieldType::I8 => (1, true),
            FieldType::I16 => (2, true),
            FieldType::I32 => (4, true),
            FieldType::I64 => (8, true),
            _ => return None,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawField {
    pub(super) name: Spanned<String>,
    #[serde(rename = "type")]
    pub(super) ty: Spanned<FieldType>,
    pub(super) endian: Option<Spanned<Endian>>,
    pub(super) values: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    pub(super) bits: Option<Spanned<BTreeMap<Spanned<String>, Spanned<IntOrStr>>>>,
    pub(super) length: Option<Spanned<u64>>,
    pub(super) length_from: Option<Spanned<String>>,
    pub(super) delimiter: Option<Spanned<String>>,
    pub(super) rest: Option<Spanned<bool>>,
    pub(super) count: Option<Spanned<u64>>,
    pub(super) count_from: Option<Spanned<String>>,
    pub(super) until_end: Option<Spanned<bool>>,
    pub(super) fields: Option<Spanned<Vec<Spanned<RawField>>>>,
    pub(super) when: Option<Spanned<BTreeMap<Spanned<String>, Spanned<IntList>>>>,
    pub(super) direction: Option<Spanned<DirName>>,
}

/// A port (`502`) or a port range (`"5020-5030"`), a bit mask (`0x80` or `"0x80"`).
pub(super) enum IntOrStr {
    Int(i64),
    Str(String),
}

impl<'de> Deserialize<'de> for IntOrStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IntOrStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntOrStr, E> {
                Ok(IntOrStr::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntOrStr, E> {
                i64::try_from(v)
                    .map(IntOrStr::Int)
                    .map_err(|_| E::custom("integer too large"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IntOrStr, E> {
                Ok(IntOrStr::Str(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One integer or a list of them (`when = { function = [3, 4] }` or `{ exception = 1 }`).
pub(super) struct IntList(pub(super) Vec<i64>);

impl<'de> Deserialize<'de> for IntList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IntList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a list of integers")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntList, E> {
                Ok(IntList(vec![v]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntList, E> {
                i64::try_from(v)
                    .map(|v| IntList(vec![v]))
                    .map_err(|_| E::custom("integer too large"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<IntList, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = s.next_element::<i64>()? {
                    v.push(x);
                }
                Ok(IntList(v))
            }
        }
        d.deserialize_any(V)
    }
}
