//! The fields of a message: checked and compiled from `[[field]]` tables. Names are scoped
//! (a group's fields see their own level and the levels around it), references
//! (`length_from`, `count_from`, `when`) must name an earlier integer field, and fields that
//! share a name are alternatives of the same type.

use std::ops::Range;

use toml::Spanned;

use super::definition::{fail, limited, SpanError};
use super::schema::{Endian, FieldType, IntOrStr, RawField};
use super::{MAX_DEPTH, MAX_FIELDS, MAX_FIELDS_PER_LEVEL, MAX_MESSAGE_LIMIT, MAX_NAME_LEN};
use crate::parser::Dir;

/// One field.
pub(super) struct Field {
    pub(super) name: String,
    /// Index (in its level) of the first field of the same name: fields sharing a name are
    /// alternatives, the first whose condition holds is decoded.
    pub(super) alt_of: usize,
    pub(super) direction: Option<Dir>,
    /// Every (slot, allowed values) must hold.
    pub(super) when: Vec<(usize, Vec<i128>)>,
    pub(super) kind: Kind,
}

/// What a field is.
pub(super) enum Kind {
    Int(IntField),
    Bytes(Len),
    Str(Len),
    Skip(Len),
    Group {
        count: Count,
        fields: Vec<Field>,
        /// The slots of the group's own fields (and of groups within): cleared before each
        /// entry, so an entry never sees a value left by the one before.
        slots: Range<usize>,
    },
}

/// An integer field.
pub(super) struct IntField {
    pub(super) size: usize,
    pub(super) signed: bool,
    pub(super) endian: Endian,
    pub(super) slot: usize,
    /// Named values, sorted by value; with `code_name`, logged as `<name>_code`.
    pub(super) values: Vec<(i128, String)>,
    pub(super) code_name: String,
    pub(super) bits: Vec<BitField>,
}

/// A bit field of an integer: `(value & mask) >> shift`.
pub(super) struct BitField {
    pub(super) name: String,
    pub(super) mask: u64,
    pub(super) shift: u32,
    pub(super) slot: usize,
}

/// How long a bytes or string field is.
pub(super) enum Len {
    Fixed(usize),
    From(usize),
    Rest,
    Delimiter(Vec<u8>),
}

/// How many times a group repeats.
pub(super) enum Count {
    Fixed(u64),
    From(usize),
    UntilEnd,
}

fn valid_field_name(s: &str) -> bool {
    s.len() <= MAX_NAME_LEN
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks and compiles the message's fields; also returns the number of integer slots they
/// use. `default_endian`: the protocol's `endian`.
pub(super) fn compile(
    raw: &[Spanned<RawField>],
    default_endian: Endian,
) -> Result<(Vec<Field>, usize), SpanError> {
    let mut c = Compiler {
        slots: 0,
        fields: 0,
        default_endian,
        scopes: Vec::new(),
    };
    let fields = c.level(raw, 0, true)?;
    Ok((fields, c.slots))
}

/// A name visible to later fields of a level (and of the groups inside it).
struct Binding {
    name: String,
    /// The slot of an integer (or bit field); `None` for other types.
    slot: Option<usize>,
    /// The field that owns the name (its first alternative), in this level.
    owner: usize,
    /// The field's type when the name is a field's own; `None` for a bit field's or a `_code`.
    field: Option<FieldType>,
    /// Whether every field of this name so far has a condition.
    conditional: bool,
}

struct Compiler {
    slots: usize,
    fields: usize,
    default_endian: Endian,
    /// The levels being compiled, outermost first.
    scopes: Vec<Vec<Binding>>,
}

impl Compiler {
    fn level(
        &mut self,
        raw: &[Spanned<RawField>],
        depth: usize,
        top: bool,
    ) -> Result<Vec<Field>, SpanError> {
        self.scopes.push(Vec::new());
        let mut out = Vec::new();
        for rf in raw {
            if out.len() >= MAX_FIELDS_PER_LEVEL {
                return fail(
                    rf.span(),
                    format!("at most {MAX_FIELDS_PER_LEVEL} fields in one table or group"),
                );
            }
            self.fields += 1;
            if self.fields > MAX_FIELDS {
                return fail(rf.span(), format!("at most {MAX_FIELDS} fields in all"));
            }
            let f = self.field(rf.get_ref(), out.len(), depth, top)?;
            out.push(f);
        }
        self.scopes.pop();
        Ok(out)
    }

    /// Finds an earlier integer field (or bit field) visible from here.
    fn int_ref(&self, field: &str, r: &Spanned<String>) -> Result<usize, SpanError> {
        let name = r.get_ref();
        for scope in self.scopes.iter().rev() {
            if let Some(b) = scope.iter().find(|b| &b.name == name) {
                if let Some(slot) = b.slot {
                    return Ok(slot);
                }
                break;
            }
        }
        fail(
            r.span(),
            format!("field `{field}` refers to `{name}`, which is not an earlier integer field"),
        )
    }

    fn scope(&mut self) -> &mut Vec<Binding> {
        if self.scopes.is_empty() {
            self.scopes.push(Vec::new());
        }
        let last = self.scopes.len() - 1;
        &mut self.scopes[last]
    }

    /// Binds a name written by field number `owner` of this level (a bit field's or a code's).
    fn bind_extra(
        &mut self,
        name: &str,
        span: Range<usize>,
        owner: usize,
        slot: Option<usize>,
        top: bool,
    ) -> Result<Option<usize>, SpanError> {
        if top && (name == "protocol" || name == "truncated") {
            return fail(
                span,
                format!("`{name}` is logged by NTA itself: choose another name"),
            );
        }
        let scope = self.scope();
        if let Some(b) = scope.iter().find(|b| b.name == name) {
            // An alternative repeats the bit fields of the first one: same name, same slot.
            if b.owner == owner && b.field.is_none() {
                return Ok(b.slot);
            }
            return fail(
                span,
                format!("`{name}` is already the name of an earlier field"),
            );
        }
        scope.push(Binding {
            name: name.to_string(),
            slot,
            owner,
            field: None,
            conditional: false,
        });
        Ok(slot)
    }

    fn new_slot(&mut self) -> usize {
        self.slots += 1;
        self.slots - 1
    }

    fn field(
        &mut self,
        rf: &RawField,
        index: usize,
        depth: usize,
        top: bool,
    ) -> Result<Field, SpanError> {
        let name = rf.name.get_ref().clone();
        let ty = *rf.ty.get_ref();
        if !valid_field_name(&name) {
            return fail(
                rf.name.span(),
                format!(
                    "field name `{name}` must be 1 to {MAX_NAME_LEN} characters of a-z, 0-9 and \
                     `_`, starting with a letter"
                ),
            );
        }
        if top && (name == "protocol" || name == "truncated") {
            return fail(
                rf.name.span(),
                format!("`{name}` is logged by NTA itself: choose another name"),
            );
        }

        // Conditions refer to earlier fields: resolve them before this one is bound.
        let mut when = Vec::new();
        if let Some(w) = &rf.when {
            if w.get_ref().is_empty() {
                return fail(w.span(), "`when` needs at least one `field = value`");
            }
            for (k, v) in w.get_ref() {
                let slot = self.int_ref(&name, k)?;
                if v.get_ref().0.is_empty() {
                    return fail(v.span(), "`when` needs at least one value per field");
                }
                when.push((slot, v.get_ref().0.iter().map(|&x| i128::from(x)).collect()));
            }
        }
        let direction = rf.direction.as_ref().and_then(|d| d.get_ref().dir());
        let conditional = !when.is_empty() || direction.is_some();

        // The same name again: an alternative of the earlier field.
        let mut alt_of = index;
        let mut slot = None;
        if let Some(b) = self.scope().iter().find(|b| b.name == name) {
            match b.field {
                Some(t) if t == ty => {
                    if !b.conditional {
                        return fail(
                            rf.name.span(),
                            format!(
                                "field `{name}` is defined earlier without a condition (`when` or \
                                 `direction`), so this one would never be decoded"
                            ),
                        );
                    }
                    alt_of = b.owner;
                    slot = b.slot;
                }
                Some(_) => {
                    return fail(
                        rf.name.span(),
                        format!(
                            "field `{name}` is defined earlier with another type (fields sharing \
                             a name are alternatives and must have the same type)"
                        ),
                    )
                }
                None => {
                    return fail(
                        rf.name.span(),
                        format!("`{name}` is already the name of an earlier field"),
                    )
                }
            }
        }

        // Keys that do not apply to this type are errors rather than silently ignored.
        let int = ty.int();
        let is_len = matches!(ty, FieldType::Bytes | FieldType::String | FieldType::Skip);
        only(
            &[
                ("endian", at(&rf.endian)),
                ("values", at(&rf.values)),
                ("bits", at(&rf.bits)),
            ],
            int.is_some(),
            "integer",
        )?;
        only(
            &[
                ("length", at(&rf.length)),
                ("length_from", at(&rf.length_from)),
                ("rest", at(&rf.rest)),
            ],
            is_len,
            "bytes, string or skip",
        )?;
        only(
            &[("delimiter", at(&rf.delimiter))],
            ty == FieldType::String,
            "string",
        )?;
        only(
            &[
                ("count", at(&rf.count)),
                ("count_from", at(&rf.count_from)),
                ("until_end", at(&rf.until_end)),
                ("fields", at(&rf.fields)),
            ],
            ty == FieldType::Group,
            "group",
        )?;

        let kind = if let Some((size, signed)) = int {
            let slot = match slot {
                Some(s) => s,
                None => self.new_slot(),
            };
            self.bind_field(&name, Some(slot), alt_of, ty, conditional);
            let mut values = Vec::new();
            let mut code_name = String::new();
            if let Some(v) = &rf.values {
                code_name = format!("{name}_code");
                self.bind_extra(&code_name, v.span(), alt_of, None, top)?;
                for (k, label) in v.get_ref() {
                    let n = parse_int(k.get_ref()).ok_or_else(|| SpanError {
                        span: k.span(),
                        message: format!("`{}` is not an integer (decimal or 0x…)", k.get_ref()),
                    })?;
                    if !fits(n, size, signed) {
                        return fail(
                            k.span(),
                            format!("{n} does not fit in a {ty:?}").to_lowercase(),
                        );
                    }
                    values.push((n, label.get_ref().clone()));
                }
                values.sort_by_key(|(n, _)| *n);
            }
            let mut bits = Vec::new();
            if let Some(b) = &rf.bits {
                for (bit_name, mask) in b.get_ref() {
                    if !valid_field_name(bit_name.get_ref()) {
                        return fail(
                            bit_name.span(),
                            format!(
                                "bit field name `{}` must be like a field name",
                                bit_name.get_ref()
                            ),
                        );
                    }
                    let m = match mask.get_ref() {
                        IntOrStr::Int(n) => i128::from(*n),
                        IntOrStr::Str(s) => parse_int(s).ok_or_else(|| SpanError {
                            span: mask.span(),
                            message: format!("`{s}` is not a mask (an integer, like 0x80)"),
                        })?,
                    };
                    if m <= 0 || !fits(m, size, false) {
                        return fail(
                            mask.span(),
                            format!("mask must be a non-zero value of {} bits", size * 8),
                        );
                    }
                    let m = m as u64;
                    let new = self.new_slot();
                    let slot = self.bind_extra(
                        bit_name.get_ref(),
                        bit_name.span(),
                        alt_of,
                        Some(new),
                        top,
                    )?;
                    bits.push(BitField {
                        name: bit_name.get_ref().clone(),
                        mask: m,
                        shift: m.trailing_zeros(),
                        slot: slot.unwrap_or(new),
                    });
                }
            }
            Kind::Int(IntField {
                size,
                signed,
                endian: rf
                    .endian
                    .as_ref()
                    .map_or(self.default_endian, |e| *e.get_ref()),
                slot,
                values,
                code_name,
                bits,
            })
        } else if is_len {
            let len = self.len(&name, rf, ty)?;
            self.bind_field(&name, None, alt_of, ty, conditional);
            match ty {
                FieldType::Bytes => Kind::Bytes(len),
                FieldType::String => Kind::Str(len),
                _ => Kind::Skip(len),
            }
        } else {
            if depth >= MAX_DEPTH {
                return fail(
                    rf.ty.span(),
                    format!("groups nest at most {MAX_DEPTH} deep"),
                );
            }
            let count = self.count(&name, rf)?;
            let Some(sub) = &rf.fields else {
                return fail(rf.ty.span(), "a group needs `fields`");
            };
            if sub.get_ref().is_empty() {
                return fail(sub.span(), "a group needs at least one field");
            }
            let first_slot = self.slots;
            let fields = self.level(sub.get_ref(), depth + 1, false)?;
            self.bind_field(&name, None, alt_of, ty, conditional);
            Kind::Group {
                count,
                fields,
                slots: first_slot..self.slots,
            }
        };

        Ok(Field {
            name,
            alt_of,
            direction,
            when,
            kind,
        })
    }

    fn bind_field(
        &mut self,
        name: &str,
        slot: Option<usize>,
        owner: usize,
        ty: FieldType,
        cond: bool,
    ) {
        let scope = self.scope();
        if let Some(b) = scope.iter_mut().find(|b| b.name == name) {
            b.conditional &= cond;
            return;
        }
        scope.push(Binding {
            name: name.to_string(),
            slot,
            owner,
            field: Some(ty),
            conditional: cond,
        });
    }

    fn len(&self, name: &str, rf: &RawField, ty: FieldType) -> Result<Len, SpanError> {
        let mut given = Vec::new();
        if let Some(l) = &rf.length {
            given.push((
                l.span(),
                Len::Fixed(limited(l, MAX_MESSAGE_LIMIT as u64, "length")?),
            ));
        }
        if let Some(r) = &rf.length_from {
            given.push((r.span(), Len::From(self.int_ref(name, r)?)));
        }
        if let Some(d) = &rf.delimiter {
            let b = d.get_ref().as_bytes();
            if b.is_empty() || b.len() > 16 {
                return fail(d.span(), "`delimiter` must be 1 to 16 bytes");
            }
            given.push((d.span(), Len::Delimiter(b.to_vec())));
        }
        if let Some(r) = &rf.rest {
            if !*r.get_ref() {
                return fail(r.span(), "`rest` can only be true (leave it out otherwise)");
            }
            given.push((r.span(), Len::Rest));
        }
        let what = if ty == FieldType::String {
            "`length`, `length_from`, `delimiter` or `rest = true`"
        } else {
            "`length`, `length_from` or `rest = true`"
        };
        let mut it = given.into_iter();
        match (it.next(), it.next()) {
            (Some((_, len)), None) => Ok(len),
            (None, _) => fail(rf.ty.span(), format!("field `{name}` needs one of {what}")),
            (Some(_), Some((span, _))) => {
                fail(span, format!("field `{name}` takes only one of {what}"))
            }
        }
    }

    fn count(&self, name: &str, rf: &RawField) -> Result<Count, SpanError> {
        let mut given = Vec::new();
        if let Some(c) = &rf.count {
            given.push((c.span(), Count::Fixed(*c.get_ref())));
        }
        if let Some(r) = &rf.count_from {
            given.push((r.span(), Count::From(self.int_ref(name, r)?)));
        }
        if let Some(u) = &rf.until_end {
            if !*u.get_ref() {
                return fail(
                    u.span(),
                    "`until_end` can only be true (leave it out otherwise)",
                );
            }
            given.push((u.span(), Count::UntilEnd));
        }
        let what = "`count`, `count_from` or `until_end = true`";
        let mut it = given.into_iter();
        match (it.next(), it.next()) {
            (Some((_, c)), None) => Ok(c),
            (None, _) => fail(rf.ty.span(), format!("group `{name}` needs one of {what}")),
            (Some(_), Some((span, _))) => {
                fail(span, format!("group `{name}` takes only one of {what}"))
            }
        }
    }
}

/// Where an optional key is.
fn at<T>(v: &Option<Spanned<T>>) -> Option<Range<usize>> {
    v.as_ref().map(Spanned::span)
}

/// An error at the first of `keys` present when they do not apply (`ok` is false): a key
/// that does not apply would otherwise be silently ignored.
fn only(keys: &[(&str, Option<Range<usize>>)], ok: bool, types: &str) -> Result<(), SpanError> {
    match keys.iter().find(|(_, at)| at.is_some()) {
        Some((key, Some(at))) if !ok => {
            fail(at.clone(), format!("`{key}` is only for {types} fields"))
        }
        _ => Ok(()),
    }
}

/// `3`, `-1`, `0x83`.
fn parse_int(s: &str) -> Option<i128> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i128::from_str_radix(h, 16).ok()?
    } else {
        body.parse::<i128>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Whether `n` fits in an integer of `size` bytes.
fn fits(n: i128, size: usize, signed: bool) -> bool {
    let bits = (size * 8) as u32;
    if signed {
        let half = 1i128 << (bits - 1);
        -half <= n && n < half
    } else {
        0 <= n && n < (1i128 << bits)
    }
}
