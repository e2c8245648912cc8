//! Non-payload conditions.

use crate::tests_util::{assert_err, cond, err, err_in, ok, ok_in};
use crate::{
    tcp_flags, AppLayerName, AppLayerProtocol, AppProto, BitsCommand, Condition, CustomField,
    FieldTest, FlagsModifier, Flow, FlowDirection, FlowState, Flowbits, Flowint, FlowintOp,
    FlowintValue, Fragbits, IntCmp, IpOption, SslVersion, StreamSide, StreamSize, TcpFlags, Urilen,
    Xbits, XbitsTrack,
};

#[test]
fn flow() {
    assert_eq!(
        cond("flow:established,to_server;"),
        Condition::Flow(Flow {
            direction: Some(FlowDirection::ToServer),
            state: Some(FlowState::Established),
            stream: None,
            frag: None,
        })
    );
    assert_eq!(
        cond("flow: from_server, not_established, only_stream, no_frag;"),
        Condition::Flow(Flow {
            direction: Some(FlowDirection::ToClient),
            state: Some(FlowState::NotEstablished),
            stream: Some(true),
            frag: Some(false),
        })
    );
    assert_eq!(
        cond("flow:stateless,from_client,no_stream,only_frag;"),
        Condition::Flow(Flow {
            direction: Some(FlowDirection::ToServer),
            state: Some(FlowState::Stateless),
            stream: Some(false),
            frag: Some(true),
        })
    );
    assert_err(
        &err("flow:to_server,to_client;"),
        "conflicting keywords",
        "contradicts the direction",
    );
    assert_err(
        &err("flow:established,stateless;"),
        "conflicting keywords",
        "contradicts the state",
    );
    assert_err(
        &err("flow:only_stream,no_stream;"),
        "conflicting keywords",
        "only_stream and no_stream",
    );
    assert_err(
        &err("flow:sideways;"),
        "invalid value: flow",
        "unknown flow option `sideways`",
    );
    assert_err(
        &err("flow:to_server; flow:established;"),
        "conflicting keywords",
        "`flow` is given twice",
    );
}

#[test]
fn flowbits() {
    assert_eq!(
        cond("flowbits:set,ET.foo;"),
        Condition::Flowbits(Flowbits {
            command: BitsCommand::Set,
            names: vec!["ET.foo".into()],
            any: false
        })
    );
    assert_eq!(
        cond("flowbits:isset,a&b;"),
        Condition::Flowbits(Flowbits {
            command: BitsCommand::IsSet,
            names: vec!["a".into(), "b".into()],
            any: false
        })
    );
    assert_eq!(
        cond("flowbits:isnotset, a | b;"),
        Condition::Flowbits(Flowbits {
            command: BitsCommand::IsNotSet,
            names: vec!["a".into(), "b".into()],
            any: true
        })
    );
    for (cmd, want) in [
        ("unset", BitsCommand::Unset),
        ("toggle", BitsCommand::Toggle),
    ] {
        let Condition::Flowbits(f) = cond(&format!("flowbits:{cmd},x;")) else {
            panic!()
        };
        assert_eq!(f.command, want);
    }
    let r = ok("flowbits:set,x; flowbits:noalert;");
    assert!(r.noalert);
    assert_eq!(r.conditions.len(), 1);
    assert!(BitsCommand::IsSet.is_test() && !BitsCommand::Set.is_test());
    assert_err(
        &err("flowbits:flip,x;"),
        "invalid value: flowbits",
        "unknown flowbits command `flip`",
    );
    assert_err(
        &err("flowbits:set;"),
        "invalid value: flowbits",
        "needs a name",
    );
    assert_err(
        &err("flowbits:isset,a&b|c;"),
        "invalid value: flowbits",
        "cannot mix",
    );
    assert_err(
        &err("flowbits:isset,a&;"),
        "invalid value: flowbits",
        "invalid flowbits name",
    );
}

#[test]
fn flowint() {
    assert_eq!(
        cond("flowint:count,+,1;"),
        Condition::Flowint(Flowint {
            name: "count".into(),
            op: FlowintOp::Add,
            value: Some(FlowintValue::Int(1))
        })
    );
    assert_eq!(
        cond("flowint: count, >=, other;"),
        Condition::Flowint(Flowint {
            name: "count".into(),
            op: FlowintOp::Ge,
            value: Some(FlowintValue::Var("other".into()))
        })
    );
    assert_eq!(
        cond("flowint:count,isset;"),
        Condition::Flowint(Flowint {
            name: "count".into(),
            op: FlowintOp::IsSet,
            value: None
        })
    );
    for (op, want) in [
        ("=", FlowintOp::Set),
        ("-", FlowintOp::Sub),
        ("==", FlowintOp::Eq),
        ("!=", FlowintOp::Ne),
        ("<", FlowintOp::Lt),
        ("<=", FlowintOp::Le),
        (">", FlowintOp::Gt),
    ] {
        let Condition::Flowint(f) = cond(&format!("flowint:c,{op},2;")) else {
            panic!()
        };
        assert_eq!(f.op, want);
    }
    let Condition::Flowint(f) = cond("flowint:c,notset;") else {
        panic!()
    };
    assert_eq!(f.op, FlowintOp::NotSet);
    assert_err(
        &err("flowint:c,**,1;"),
        "invalid value: flowint",
        "unknown flowint operator `**`",
    );
    assert_err(
        &err("flowint:c,+;"),
        "invalid value: flowint",
        "needs a value",
    );
    assert_err(
        &err("flowint:c,isset,1;"),
        "invalid value: flowint",
        "take no value",
    );
    assert_err(
        &err("flowint:c;"),
        "invalid value: flowint",
        "name,operator",
    );
}

#[test]
fn xbits() {
    assert_eq!(
        cond("xbits:set,ET.IBMDRM1,track ip_dst, expire 10;"),
        Condition::Xbits(Xbits {
            command: BitsCommand::Set,
            names: vec!["ET.IBMDRM1".into()],
            any: false,
            track: XbitsTrack::IpDst,
            expire: Some(10)
        })
    );
    let Condition::Xbits(x) = cond("xbits:isset,a,track ip_pair;") else {
        panic!()
    };
    assert_eq!(
        (x.command, x.track, x.expire),
        (BitsCommand::IsSet, XbitsTrack::IpPair, None)
    );
    assert_err(
        &err("xbits:set,a;"),
        "invalid value: xbits",
        "needs `command,name,track",
    );
    assert_err(
        &err("xbits:set,a,track nowhere;"),
        "invalid value: xbits",
        "unknown xbits track",
    );
    assert_err(
        &err("xbits:set,a,expire 5;"),
        "invalid value: xbits",
        "needs `track`",
    );
}

#[test]
fn tcp_flags_and_fragbits() {
    assert_eq!(
        cond("flags:S,12;"),
        Condition::Flags(TcpFlags {
            flags: tcp_flags::SYN,
            modifier: FlagsModifier::Exact,
            ignore: tcp_flags::CWR | tcp_flags::ECE
        })
    );
    assert_eq!(
        cond("flags:SUF+;"),
        Condition::Flags(TcpFlags {
            flags: tcp_flags::SYN | tcp_flags::URG | tcp_flags::FIN,
            modifier: FlagsModifier::All,
            ignore: 0
        })
    );
    let Condition::Flags(f) = cond("flags:*AP;") else {
        panic!()
    };
    assert_eq!(
        (f.flags, f.modifier),
        (tcp_flags::ACK | tcp_flags::PSH, FlagsModifier::Any)
    );
    let Condition::Flags(f) = cond("flags:!R;") else {
        panic!()
    };
    assert_eq!((f.flags, f.modifier), (tcp_flags::RST, FlagsModifier::Not));
    let Condition::Flags(f) = cond("flags:0;") else {
        panic!()
    };
    assert_eq!(f.flags, 0);
    let Condition::Flags(f) = cond("flags:CE;") else {
        panic!()
    };
    assert_eq!(f.flags, tcp_flags::CWR | tcp_flags::ECE);
    assert_err(
        &err("flags:SX;"),
        "invalid value: flags",
        "unknown TCP flag `X`",
    );
    assert_err(&err("flags:+*S;"), "invalid value: flags", "two modifiers");
    assert_err(
        &err("flags:S,Z;"),
        "invalid value: flags",
        "unknown TCP flag `Z`",
    );
    assert_eq!(
        cond("fragbits:!D;"),
        Condition::Fragbits(Fragbits {
            bits: crate::frag_bits::DONT_FRAGMENT,
            modifier: FlagsModifier::Not
        })
    );
    let Condition::Fragbits(f) = cond("fragbits:MR+;") else {
        panic!()
    };
    assert_eq!(
        (f.bits, f.modifier),
        (
            crate::frag_bits::MORE_FRAGMENTS | crate::frag_bits::RESERVED,
            FlagsModifier::All
        )
    );
    assert_err(
        &err("fragbits:Q;"),
        "invalid value: fragbits",
        "unknown `fragbits` letter `Q`",
    );
}

#[test]
fn integer_comparisons() {
    assert_eq!(cond("dsize:10;"), Condition::Dsize(IntCmp::Eq(10)));
    assert_eq!(cond("dsize:<20;"), Condition::Dsize(IntCmp::Lt(20)));
    assert_eq!(cond("dsize: > 20;"), Condition::Dsize(IntCmp::Gt(20)));
    assert_eq!(cond("dsize:<=20;"), Condition::Dsize(IntCmp::Le(20)));
    assert_eq!(cond("dsize:>=20;"), Condition::Dsize(IntCmp::Ge(20)));
    assert_eq!(cond("dsize:=20;"), Condition::Dsize(IntCmp::Eq(20)));
    assert_eq!(cond("dsize:!20;"), Condition::Dsize(IntCmp::Ne(20)));
    assert_eq!(cond("dsize:!=20;"), Condition::Dsize(IntCmp::Ne(20)));
    assert_eq!(
        cond("dsize:9<>18;"),
        Condition::Dsize(IntCmp::Between(9, 18))
    );
    assert_eq!(
        cond("dsize:!9<>18;"),
        Condition::Dsize(IntCmp::NotBetween(9, 18))
    );
    // Suricata: `N-M` is the same exclusive range as `N<>M` (docs
    // rules/integer-keywords.rst: "a range between 1 and 4 will match 2 and 3").
    assert_eq!(
        cond("dsize:9-18;"),
        Condition::Dsize(IntCmp::Between(9, 18))
    );
    assert_eq!(
        cond("dsize:!9-18;"),
        Condition::Dsize(IntCmp::NotBetween(9, 18))
    );
    assert_eq!(
        cond("dsize: 9 - 18 ;"),
        Condition::Dsize(IntCmp::Between(9, 18))
    );
    assert!(IntCmp::Between(9, 18).matches(10) && IntCmp::Between(9, 18).matches(17));
    assert!(!IntCmp::Between(9, 18).matches(9) && !IntCmp::Between(9, 18).matches(18));
    assert!(IntCmp::NotBetween(9, 18).matches(18) && IntCmp::NotBetween(9, 18).matches(9));
    assert!(!IntCmp::NotBetween(9, 18).matches(10));
    assert_eq!(cond("icode:1-3;"), Condition::Icode(IntCmp::Between(1, 3)));
    // A range with no value strictly inside is an error, as in Suricata (uint.rs).
    for empty in ["18<>9", "18-9", "9<>9", "9-10", "!9<>10"] {
        assert_err(
            &err(&format!("dsize:{empty};")),
            "invalid value: dsize",
            "is empty",
        );
    }
    assert_err(
        &err("dsize:70000;"),
        "invalid value: dsize",
        "out of range (0 to 65535)",
    );
    assert_err(
        &err("dsize:big;"),
        "invalid value: dsize",
        "expects a number",
    );
    assert_err(&err("dsize;"), "invalid value: dsize", "needs a value");
    assert_eq!(cond("itype:8;"), Condition::Itype(IntCmp::Eq(8)));
    assert_eq!(cond("icode:>0;"), Condition::Icode(IntCmp::Gt(0)));
    assert_eq!(cond("icode:1<>5;"), Condition::Icode(IntCmp::Between(1, 5)));
    assert_eq!(cond("icmp_id:666 ;"), Condition::IcmpId(666));
    assert_eq!(cond("icmp_seq:0;"), Condition::IcmpSeq(0));
    assert_eq!(cond("ttl:>220;"), Condition::Ttl(IntCmp::Gt(220)));
    assert_eq!(cond("tos:!0x10;"), Condition::Tos(IntCmp::Ne(16)));
    assert_eq!(cond("id:13330;"), Condition::Id(13330));
    assert_eq!(cond("ack:0;"), Condition::Ack(0));
    assert_eq!(cond("seq:4294967295;"), Condition::Seq(u32::MAX));
    assert_eq!(cond("window:!0;"), Condition::Window(IntCmp::Ne(0)));
    assert_eq!(cond("window:65535;"), Condition::Window(IntCmp::Eq(65535)));
    assert_eq!(
        cond("fragoffset: >0;"),
        Condition::Fragoffset(IntCmp::Gt(0))
    );
    assert_err(&err("itype:256;"), "invalid value: itype", "out of range");
    assert_err(
        &err("icmp_id:-1;"),
        "invalid value: icmp_id",
        "out of range",
    );
    assert_err(
        &err("seq:4294967296;"),
        "invalid value: seq",
        "out of range",
    );
}

#[test]
fn ip_proto_and_ipopts() {
    assert_eq!(cond("ip_proto:2;"), Condition::IpProto(IntCmp::Eq(2)));
    assert_eq!(cond("ip_proto:>134;"), Condition::IpProto(IntCmp::Gt(134)));
    assert_eq!(cond("ip_proto:gre;"), Condition::IpProto(IntCmp::Eq(47)));
    assert_eq!(cond("ip_proto:!TCP;"), Condition::IpProto(IntCmp::Ne(6)));
    assert_eq!(
        cond("ip_proto:ipv6-icmp;"),
        Condition::IpProto(IntCmp::Eq(58))
    );
    assert_err(
        &err("ip_proto:bogus;"),
        "invalid value: ip_proto",
        "expects a number",
    );
    for (name, want) in [
        ("rr", IpOption::Rr),
        ("eol", IpOption::Eol),
        ("nop", IpOption::Nop),
        ("ts", IpOption::Ts),
        ("sec", IpOption::Sec),
        ("esec", IpOption::Esec),
        ("lsrr", IpOption::Lsrr),
        ("lsrre", IpOption::Lsrre),
        ("ssrr", IpOption::Ssrr),
        ("satid", IpOption::Satid),
        ("any", IpOption::Any),
    ] {
        assert_eq!(cond(&format!("ipopts:{name} ;")), Condition::Ipopts(want));
    }
    assert_err(
        &err("ipopts:xyz;"),
        "invalid value: ipopts",
        "unknown ipopts `xyz`",
    );
}

#[test]
fn stream_size_and_urilen() {
    assert_eq!(
        cond("stream_size:server,=,10;"),
        Condition::StreamSize(StreamSize {
            side: StreamSide::Server,
            cmp: IntCmp::Eq(10)
        })
    );
    for (side, want) in [
        ("client", StreamSide::Client),
        ("both", StreamSide::Both),
        ("either", StreamSide::Either),
    ] {
        for (op, cmp) in [
            ("<", IntCmp::Lt(5)),
            ("<=", IntCmp::Le(5)),
            (">", IntCmp::Gt(5)),
            (">=", IntCmp::Ge(5)),
            ("!=", IntCmp::Ne(5)),
        ] {
            assert_eq!(
                cond(&format!("stream_size:{side},{op},5;")),
                Condition::StreamSize(StreamSize { side: want, cmp })
            );
        }
    }
    assert_err(
        &err("stream_size:server,=;"),
        "invalid value: stream_size",
        "side,operator,bytes",
    );
    assert_err(
        &err("stream_size:middle,=,1;"),
        "invalid value: stream_size",
        "server, client, both or either",
    );
    assert_err(
        &err("stream_size:server,~,1;"),
        "invalid value: stream_size",
        "unknown stream_size operator",
    );
    assert_eq!(
        cond("urilen:>50;"),
        Condition::Urilen(Urilen {
            cmp: IntCmp::Gt(50),
            raw: false
        })
    );
    assert_eq!(
        cond("urilen:5<>10,raw;"),
        Condition::Urilen(Urilen {
            cmp: IntCmp::Between(5, 10),
            raw: true
        })
    );
    assert_eq!(
        cond("urilen:7,norm;"),
        Condition::Urilen(Urilen {
            cmp: IntCmp::Eq(7),
            raw: false
        })
    );
    assert_err(
        &err("urilen:7,cooked;"),
        "invalid value: urilen",
        "norm or raw",
    );
}

#[test]
fn app_layer_keywords() {
    assert_eq!(
        cond("app-layer-protocol:!http;"),
        Condition::AppLayerProtocol(AppLayerProtocol {
            negated: true,
            protocol: AppLayerName::Known(AppProto::Http)
        })
    );
    assert_eq!(
        cond("app-layer-protocol:failed;"),
        Condition::AppLayerProtocol(AppLayerProtocol {
            negated: false,
            protocol: AppLayerName::Failed
        })
    );
    let Condition::AppLayerProtocol(p) = cond("app-layer-protocol:unknown;") else {
        panic!()
    };
    assert_eq!(p.protocol, AppLayerName::Unknown);
    assert_err(
        &err("app-layer-protocol:gopher;"),
        "invalid value: app-layer-protocol",
        "unknown application protocol `gopher`",
    );
    assert_eq!(
        cond("app-layer-event:http.uri_delim_non_compliant;"),
        Condition::AppLayerEvent("http.uri_delim_non_compliant".into())
    );
    assert_err(
        &err("app-layer-event:a b;"),
        "invalid value: app-layer-event",
        "protocol.event",
    );
    assert_eq!(cond("tls.version:1.2;"), Condition::TlsVersion(0x0303));
    assert_eq!(cond("tls.version:0x7f12;"), Condition::TlsVersion(0x7f12));
    assert_err(
        &err("tls.version:9.9;"),
        "invalid value: tls.version",
        "must be 1.0",
    );
    assert_eq!(
        cond("ssl_version:sslv3,!tls1.2;"),
        Condition::SslVersion(vec![(false, SslVersion::Sslv3), (true, SslVersion::Tls12)])
    );
    assert_err(
        &err("ssl_version:tls9;"),
        "invalid value: ssl_version",
        "unknown ssl_version `tls9`",
    );
    assert_eq!(cond("dns.opcode:!4;"), Condition::DnsOpcode(IntCmp::Ne(4)));
}

#[test]
fn custom_field_keyword() {
    assert_eq!(
        cond("custom_field: modbus_tcp.function_code, 3;"),
        Condition::CustomField(CustomField {
            protocol: "modbus_tcp".into(),
            field: "function_code".into(),
            test: FieldTest::Int(IntCmp::Eq(3))
        })
    );
    assert_eq!(
        cond("custom_field:modbus_tcp.registers.value,>=1000;"),
        Condition::CustomField(CustomField {
            protocol: "modbus_tcp".into(),
            field: "registers.value".into(),
            test: FieldTest::Int(IntCmp::Ge(1000))
        })
    );
    assert_eq!(
        cond("custom_field:sensor.temperature,-40--10;"),
        Condition::CustomField(CustomField {
            protocol: "sensor".into(),
            field: "temperature".into(),
            test: FieldTest::Int(IntCmp::Between(-40, -10))
        })
    );
    assert_eq!(
        cond("custom_field:sensor.temperature,-40<>-10;"),
        Condition::CustomField(CustomField {
            protocol: "sensor".into(),
            field: "temperature".into(),
            test: FieldTest::Int(IntCmp::Between(-40, -10))
        })
    );
    assert_eq!(
        cond(r#"custom_field:hello.command,!"HE\"LLO";"#),
        Condition::CustomField(CustomField {
            protocol: "hello".into(),
            field: "command".into(),
            test: FieldTest::Str {
                value: "HE\"LLO".into(),
                negated: true
            }
        })
    );
    assert_err(
        &err("custom_field:modbus_tcp,3;"),
        "invalid value: custom_field",
        "is not `protocol.field`",
    );
    assert_err(
        &err("custom_field:Modbus.f,3;"),
        "invalid value: custom_field",
        "is not `protocol.field`",
    );
    assert_err(
        &err("custom_field:modbus.f;"),
        "invalid value: custom_field",
        "needs `protocol.field, value`",
    );
    assert_err(
        &err("custom_field:modbus.f,\"x;"),
        "invalid value: custom_field",
        "unterminated",
    );
    assert_err(
        &err("custom_field:modbus.f,lots;"),
        "invalid value: custom_field",
        "expects a number",
    );
    assert_err(
        &err_in("modbus", "custom_field:modbus_tcp.f,1;"),
        "conflicting keywords",
        "use `tcp`, `udp` or `ip` in the header",
    );
    ok_in("udp", "custom_field:dnp.f,1;");
}

#[test]
fn more_condition_errors() {
    assert_err(
        &err("flags:,12;"),
        "invalid value: flags",
        "flags needs at least one flag",
    );
    assert_err(
        &err("flowint:c,+,a b;"),
        "invalid value: flowint",
        "invalid flowint value `a b`",
    );
    assert_err(
        &err("flowint:c,+,1,2;"),
        "invalid value: flowint",
        "too many flowint arguments",
    );
    assert_err(
        &err("xbits:set,a,track ip_src,forever;"),
        "invalid value: xbits",
        "unknown xbits option `forever`",
    );
    assert_err(
        &err("flow:only_frag,no_frag;"),
        "conflicting keywords",
        "flow has both only_frag and no_frag",
    );
}
