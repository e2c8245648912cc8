//! Metadata keywords (msg, sid, rev, gid, classtype, priority, reference, metadata,
//! target) and what happens after a match (noalert, threshold, detection_filter, tag).

use super::values::{comma_parts, int, num};
use super::{need_value, no_value, State};
use crate::ast::{
    DetectionFilter, Reference, Tag, TagDirection, TagMetric, TagScope, Target, Threshold,
    ThresholdKind, Track,
};
use crate::error::RuleError;
use crate::lexer::{string_value, RawOption};

/// Handles these keywords; `Ok(false)` when `name` is not one.
pub(crate) fn option(st: &mut State, name: &str, o: &RawOption<'_>) -> Result<bool, RuleError> {
    let at = o.value_at;
    match name {
        "msg" => {
            st.once("msg", o.name_at)?;
            st.rule.meta.msg = string_value(name, need_value(o)?, at)?;
        }
        "sid" => {
            st.once("sid", o.name_at)?;
            let sid: u32 = num(name, need_value(o)?, at)?;
            if sid == 0 {
                return Err(RuleError::value(name, at, "sid must be at least 1"));
            }
            st.rule.meta.sid = sid;
        }
        "rev" => {
            st.once("rev", o.name_at)?;
            st.rule.meta.rev = num(name, need_value(o)?, at)?;
        }
        "gid" => {
            st.once("gid", o.name_at)?;
            st.rule.meta.gid = num(name, need_value(o)?, at)?;
        }
        "classtype" => {
            st.once("classtype", o.name_at)?;
            let v = need_value(o)?;
            if !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(RuleError::value(
                    name,
                    at,
                    format!("invalid classtype `{v}`"),
                ));
            }
            st.rule.meta.classtype = Some(v.to_string());
        }
        "priority" => {
            st.once("priority", o.name_at)?;
            let p: u8 = num(name, need_value(o)?, at)?;
            if p == 0 {
                return Err(RuleError::value(name, at, "priority must be 1 to 255"));
            }
            st.rule.meta.priority = Some(p);
        }
        "reference" => {
            let v = need_value(o)?;
            let (system, id) = v
                .split_once(',')
                .map(|(s, i)| (s.trim(), i.trim()))
                .filter(|(s, i)| !s.is_empty() && !i.is_empty())
                .ok_or_else(|| {
                    RuleError::value(
                        name,
                        at,
                        format!("reference must be `system,id`, found `{v}`"),
                    )
                })?;
            st.rule.meta.references.push(Reference {
                system: system.to_ascii_lowercase(),
                id: id.to_string(),
            });
        }
        "metadata" => {
            for (_, entry) in comma_parts(need_value(o)?) {
                if entry.is_empty() {
                    continue;
                }
                let (k, v) = match entry.split_once(char::is_whitespace) {
                    Some((k, v)) => (k, v.trim()),
                    None => (entry, ""),
                };
                st.rule.meta.metadata.push((k.to_string(), v.to_string()));
            }
        }
        "target" => {
            st.once("target", o.name_at)?;
            st.rule.meta.target = Some(match need_value(o)? {
                "src_ip" => Target::Source,
                "dest_ip" => Target::Destination,
                v => {
                    return Err(RuleError::value(
                        name,
                        at,
                        format!("target must be src_ip or dest_ip, found `{v}`"),
                    ))
                }
            });
        }
        "noalert" => {
            no_value(o)?;
            st.rule.noalert = true;
        }
        "threshold" => {
            st.once("threshold", o.name_at)?;
            st.rule.threshold = Some(threshold(need_value(o)?, at, true)?);
        }
        "detection_filter" => {
            st.once("detection_filter", o.name_at)?;
            let t = threshold(need_value(o)?, at, false)?;
            st.rule.detection_filter = Some(DetectionFilter {
                track: t.track,
                count: t.count,
                seconds: t.seconds,
            });
        }
        "tag" => {
            let t = tag(need_value(o)?, at)?;
            st.rule.tags.push(t);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `threshold` (with `type`) or `detection_filter` (without): `key value` pairs.
fn threshold(v: &str, at: usize, with_type: bool) -> Result<Threshold, RuleError> {
    let kw = if with_type {
        "threshold"
    } else {
        "detection_filter"
    };
    let bad = |off: usize, m: String| RuleError::value(kw, at + off, m);
    let (mut kind, mut track, mut count, mut seconds) = (None, None, None, None);
    for (off, part) in comma_parts(v) {
        let (k, val) = part
            .split_once(char::is_whitespace)
            .map(|(k, v)| (k, v.trim()))
            .ok_or_else(|| bad(off, format!("`{part}` is not `key value`")))?;
        match k {
            "type" if with_type => {
                kind = Some(match val {
                    "limit" => ThresholdKind::Limit,
                    "threshold" => ThresholdKind::Threshold,
                    "both" => ThresholdKind::Both,
                    _ => {
                        return Err(bad(
                            off,
                            format!(
                                "threshold type must be limit, threshold or both, found `{val}`"
                            ),
                        ))
                    }
                })
            }
            "track" => {
                track = Some(match val {
                    "by_src" => Track::BySrc,
                    "by_dst" => Track::ByDst,
                    "by_rule" => Track::ByRule,
                    "by_both" => Track::ByBoth,
                    "by_flow" => Track::ByFlow,
                    _ => {
                        return Err(bad(
                            off,
                            format!(
                        "track must be by_src, by_dst, by_rule, by_both or by_flow, found `{val}`"
                    ),
                        ))
                    }
                })
            }
            "count" => count = Some(num::<u32>(kw, val, at + off)?),
            "seconds" => seconds = Some(num::<u32>(kw, val, at + off)?),
            _ => return Err(bad(off, format!("unknown {kw} key `{k}`"))),
        }
    }
    let missing = |what: &str| bad(0, format!("{kw} needs `{what}`"));
    let t = Threshold {
        kind: if with_type {
            kind.ok_or_else(|| missing("type"))?
        } else {
            ThresholdKind::Threshold
        },
        track: track.ok_or_else(|| missing("track"))?,
        count: count.ok_or_else(|| missing("count"))?,
        seconds: seconds.ok_or_else(|| missing("seconds"))?,
    };
    Ok(t)
}

fn tag(v: &str, at: usize) -> Result<Tag, RuleError> {
    let parts = comma_parts(v);
    let bad = |off: usize, m: String| RuleError::value("tag", at + off, m);
    let scope = match parts[0].1 {
        "session" => TagScope::Session,
        "host" => TagScope::Host,
        s => {
            return Err(bad(
                0,
                format!("tag must start with session or host, found `{s}`"),
            ))
        }
    };
    let mut t = Tag {
        scope,
        count: None,
        metric: None,
        direction: None,
    };
    let mut rest = &parts[1..];
    if let [(off, c), (moff, m), tail @ ..] = rest {
        if int(c).is_some() {
            t.count = Some(num("tag", c, at + off)?);
            t.metric = Some(match *m {
                "packets" => TagMetric::Packets,
                "seconds" => TagMetric::Seconds,
                "bytes" => TagMetric::Bytes,
                _ => {
                    return Err(bad(
                        *moff,
                        format!("tag metric must be packets, seconds or bytes, found `{m}`"),
                    ))
                }
            });
            rest = tail;
        }
    }
    match rest {
        [] => {}
        [(off, d)] => {
            t.direction = Some(match *d {
                "src" => TagDirection::Src,
                "dst" => TagDirection::Dst,
                _ => return Err(bad(*off, format!("unexpected tag option `{d}`"))),
            })
        }
        [(off, x), ..] => return Err(bad(*off, format!("unexpected tag option `{x}`"))),
    }
    Ok(t)
}
