//! Metadata, threshold, detection_filter, tag, noalert, and unsupported keywords.

use crate::tests_util::{assert_err, cond, err, err_text, ok};
use crate::{
    parse_rule, Condition, DetectionFilter, ErrorKind, Reference, Tag, TagDirection, TagMetric,
    TagScope, Target, Threshold, ThresholdKind, Track, Vars,
};

#[test]
fn metadata_keywords() {
    let r = parse_rule(
        r#"alert tcp any any -> any any (msg:"ET TROJAN \"x\" \; done"; reference:url,example.com/a,b; reference:CVE,2020-1234; classtype:trojan-activity; priority:2; gid:3; sid:2000001; rev:7; metadata:former_category MALWARE, updated_at 2020_01_01, flag; target:dest_ip;)"#,
        &Vars::default(),
    )
    .unwrap();
    let m = &r.meta;
    assert_eq!(m.msg, r#"ET TROJAN "x" ; done"#);
    assert_eq!((m.gid, m.sid, m.rev), (3, 2000001, 7));
    assert_eq!(m.classtype.as_deref(), Some("trojan-activity"));
    assert_eq!(m.priority, Some(2));
    assert_eq!(
        m.references,
        vec![
            Reference {
                system: "url".into(),
                id: "example.com/a,b".into()
            },
            Reference {
                system: "cve".into(),
                id: "2020-1234".into()
            }
        ]
    );
    assert_eq!(
        m.metadata,
        vec![
            ("former_category".into(), "MALWARE".into()),
            ("updated_at".into(), "2020_01_01".into()),
            ("flag".into(), String::new()),
        ]
    );
    assert_eq!(m.target, Some(Target::Destination));
    assert_eq!(r.severity(), 2);
    let d = ok("");
    assert_eq!((d.meta.gid, d.meta.rev, d.severity()), (1, 0, 3));
    assert_eq!(ok("target:src_ip;").meta.target, Some(Target::Source));
}

#[test]
fn metadata_errors() {
    let e = err_text("alert tcp any any -> any any (msg:\"x\";)");
    assert_eq!(e.kind, ErrorKind::MissingSid);
    assert_eq!(e.category(), "missing sid");
    assert_err(
        &err("sid:2;"),
        "conflicting keywords",
        "`sid` is given twice",
    );
    assert_err(
        &err_text("alert tcp any any -> any any (sid:0;)"),
        "invalid value: sid",
        "at least 1",
    );
    assert_err(
        &err_text("alert tcp any any -> any any (sid:abc;)"),
        "invalid value: sid",
        "expects a number, found `abc`",
    );
    assert_err(&err("rev:-1;"), "invalid value: rev", "out of range");
    assert_err(&err("priority:0;"), "invalid value: priority", "1 to 255");
    assert_err(
        &err("priority:256;"),
        "invalid value: priority",
        "out of range",
    );
    assert_err(
        &err("reference:cve;"),
        "invalid value: reference",
        "`system,id`",
    );
    assert_err(
        &err("classtype:a b;"),
        "invalid value: classtype",
        "invalid classtype",
    );
    assert_err(
        &err("target:both;"),
        "invalid value: target",
        "src_ip or dest_ip",
    );
    assert_err(
        &err("msg:\"a\"; msg:\"b\";"),
        "conflicting keywords",
        "`msg` is given twice",
    );
    assert_err(&err("msg:\"abc;"), "invalid value: msg", "unterminated");
}

#[test]
fn threshold_and_detection_filter() {
    let r = ok("threshold: type limit, count 1, seconds 60, track by_src;");
    assert_eq!(
        r.threshold,
        Some(Threshold {
            kind: ThresholdKind::Limit,
            track: Track::BySrc,
            count: 1,
            seconds: 60
        })
    );
    for (ty, kind) in [
        ("threshold", ThresholdKind::Threshold),
        ("both", ThresholdKind::Both),
    ] {
        for (tr, track) in [
            ("by_dst", Track::ByDst),
            ("by_rule", Track::ByRule),
            ("by_both", Track::ByBoth),
            ("by_flow", Track::ByFlow),
        ] {
            let t = ok(&format!(
                "threshold:type {ty},track {tr},count 5,seconds 2;"
            ))
            .threshold
            .unwrap();
            assert_eq!((t.kind, t.track), (kind, track));
        }
    }
    assert_eq!(
        ok("detection_filter:track by_dst, count 4, seconds 20;").detection_filter,
        Some(DetectionFilter {
            track: Track::ByDst,
            count: 4,
            seconds: 20
        })
    );
    assert_err(
        &err("threshold:type limit,count 1,seconds 60;"),
        "invalid value: threshold",
        "needs `track`",
    );
    assert_err(
        &err("threshold:type often,track by_src,count 1,seconds 1;"),
        "invalid value: threshold",
        "limit, threshold or both",
    );
    assert_err(
        &err("threshold:type limit,track by_src,count x,seconds 1;"),
        "invalid value: threshold",
        "expects a number",
    );
    assert_err(
        &err("threshold:type limit,track by_src,count 1,seconds 1,burst 3;"),
        "invalid value: threshold",
        "unknown threshold key `burst`",
    );
    assert_err(
        &err("threshold:limit;"),
        "invalid value: threshold",
        "not `key value`",
    );
    assert_err(
        &err("detection_filter:type limit,track by_src,count 1,seconds 1;"),
        "invalid value: detection_filter",
        "unknown detection_filter key `type`",
    );
    assert_err(&err("detection_filter:track by_src,count 1,seconds 1; detection_filter:track by_src,count 1,seconds 1;"), "conflicting keywords", "given twice");
}

#[test]
fn tag_noalert_sameip() {
    let r = ok("tag:session,5,packets; tag:host,300,seconds,src; tag:session;");
    assert_eq!(
        r.tags,
        vec![
            Tag {
                scope: TagScope::Session,
                count: Some(5),
                metric: Some(TagMetric::Packets),
                direction: None
            },
            Tag {
                scope: TagScope::Host,
                count: Some(300),
                metric: Some(TagMetric::Seconds),
                direction: Some(TagDirection::Src)
            },
            Tag {
                scope: TagScope::Session,
                count: None,
                metric: None,
                direction: None
            },
        ]
    );
    assert_eq!(
        ok("tag:host,10,bytes,dst;").tags[0].metric,
        Some(TagMetric::Bytes)
    );
    assert_err(&err("tag:flow;"), "invalid value: tag", "session or host");
    assert_err(
        &err("tag:session,5,hours;"),
        "invalid value: tag",
        "packets, seconds or bytes",
    );
    assert_err(
        &err("tag:host,5,packets,up;"),
        "invalid value: tag",
        "unexpected tag option `up`",
    );
    assert!(ok("noalert;").noalert);
    assert_err(
        &err("noalert:1;"),
        "invalid value: noalert",
        "takes no value",
    );
    assert_eq!(cond("sameip;"), Condition::SameIp);
}

#[test]
fn unsupported_keywords_name_themselves() {
    for kw in [
        "lua",
        "luajit",
        "dataset",
        "datarep",
        "iprep",
        "geoip",
        "ftpbounce",
        "asn1",
        "ssl_state",
        "replace",
        "filestore",
        "byte_math",
        "to_lowercase",
    ] {
        let e = err(&format!("{kw}:x;"));
        assert_eq!(e.kind, ErrorKind::UnsupportedKeyword(kw.into()), "{kw}");
        assert_eq!(e.category(), format!("unsupported keyword: {kw}"));
        assert_eq!(e.message, format!("unsupported keyword `{kw}`"));
        // `alert tcp any any -> any any (` is 30 bytes.
        assert_eq!(e.offset, 30);
    }
    let e = err("LUA:x;");
    assert_eq!(e.category(), "unsupported keyword: lua");
}
