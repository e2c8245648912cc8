//! MQTT tests: an MQTT 3.1 session and an MQTT 3.1.1 CONNECT from nDPI's `mqtt.pcap`, and an
//! MQTT 5 session captured between mosquitto_sub / mosquitto_pub 2.0 and mosquitto on the
//! loopback; each constant is the TCP payload of one packet.

use super::*;
use crate::testing::{hostile, probe_input, Harness};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// MQTT 3.1 CONNECT (client id, user name, password).
const V31_CONNECT: &str = concat!(
    "104000064d514973647003c20014001663626161626362616261636262626262616161616162000c30324435",
    "3035303232334433000c303244353035303232334433",
);
/// SUBSCRIBE, QoS 1.
const V31_SUBSCRIBE: &str = "821e00010019617374722f733732302f3032443530353032323344332f393900";
/// CONNACK.
const V31_CONNACK: &str = "20020000";
/// SUBACK.
const V31_SUBACK: &str = "9003000100";
/// PUBLISH from the client, QoS 0.
const V31_PUBLISH_UP: &str = concat!(
    "3085030012617374722f61646d696e2f6f7461757064387b202275223a202230324435303530323233443322",
    "2c202250223a2022303244353035303232334433222c202264223a2022303244353035303232334433222c20",
    "2276223a2022352e322e34222c20226474223a207b2022617374223a20312c2022676d72223a20312c202261",
    "7a616e223a20322c2022757074696d65223a20222031323a34363a343920757020323520646179732c203135",
    "3a31382c20206c6f616420617665726167653a20302e30302c20302e30332c20302e3031222c20226d656d22",
    "3a2022222c20227364223a2022222c20226578745f6970223a202238352e3135342e3139382e3730222c2022",
    "746f706963223a202239363839393338363936355f31363039393433383936222c202267736d5f6e77223a20",
    "226e773d3b7369673d2d313b637265673d222c2022736c61766573223a205b20223430413545464230444645",
    "32222c2022343041354546423044433832222c202234304135454642304441453222205d207d207d",
);
/// PUBLISH from the server, QoS 0.
const V31_PUBLISH_DOWN: &str = concat!(
    "30570019617374722f733732302f3032443530353032323344332f39397b2273223a3230342c2278223a2222",
    "2c22737563636573735f6d7367223a22557064617465206e6f742070757368656420666f7220617265612e22",
    "7d",
);
/// DISCONNECT.
const V31_DISCONNECT: &str = "e000";
/// MQTT 3.1.1 CONNECT to an Azure IoT hub (user name, SAS token as password).
const V311_CONNECT: &str = concat!(
    "109a0200044d51545404c00258001050343737373549443137305732313230004a696f74617a6577706d6c69",
    "746875622e617a7572652d646576696365732e6e65742f503437373735494431373057323132302f3f617069",
    "2d76657273696f6e3d323031382d30362d333000b05368617265644163636573735369676e61747572652073",
    "69673d4b5534556942546657652532467873253242675447355751444c767a72507834553632485470536c66",
    "6b66787266512533442673653d313634333031373934372673723d696f74617a6577706d6c69746875622e61",
    "7a7572652d646576696365732e6e657425324650343737373549443137305732313230253246253346617069",
    "2d76657273696f6e253344323031382d30362d3330",
);
/// MQTT 5 CONNECT of mosquitto_sub (properties, user name, password).
const V5_SUB_CONNECT: &str =
    "102900044d51545405c2003c03210001000a7375622d636c69656e740005616c6963650006736563726574";
/// CONNACK with properties.
const V5_SUB_CONNACK: &str = "200900000622000a210014";
/// SUBSCRIBE to `sensors/+/temp`, QoS 1.
const V5_SUBSCRIBE: &str = "8214000100000e73656e736f72732f2b2f74656d7001";
/// SUBACK.
const V5_SUBACK: &str = "900400010001";
/// PUBLISH QoS 1 with a user property, from mosquitto_pub.
const V5_PUBLISH: &str = concat!(
    "322d001473656e736f72732f6b69746368656e2f74656d70000110260004756e6974000763656c7369757332",
    "312e35",
);
/// PUBACK.
const V5_PUBACK: &str = "40020001";

fn parser() -> Box<dyn Parser> {
    Box::<MqttParser>::default()
}

fn v31_session() -> Vec<(Dir, Vec<u8>)> {
    use Dir::{ToClient as C, ToServer as S};
    [
        (S, V31_CONNECT),
        (S, V31_SUBSCRIBE),
        (C, V31_CONNACK),
        (C, V31_SUBACK),
        (S, V31_PUBLISH_UP),
        (C, V31_PUBLISH_DOWN),
        (S, V31_DISCONNECT),
    ]
    .iter()
    .map(|&(d, m)| (d, unhex(m)))
    .collect()
}

fn v5_session() -> Vec<(Dir, Vec<u8>)> {
    use Dir::{ToClient as C, ToServer as S};
    [
        (S, V5_SUB_CONNECT),
        (C, V5_SUB_CONNACK),
        (S, V5_SUBSCRIBE),
        (C, V5_SUBACK),
        (C, V5_PUBLISH),
        (S, V5_PUBACK),
    ]
    .iter()
    .map(|&(d, m)| (d, unhex(m)))
    .collect()
}

fn run(flow: &[(Dir, Vec<u8>)], byte_at_a_time: bool) -> Vec<serde_json::Value> {
    let mut h = Harness::tcp(parser());
    for (d, m) in flow {
        if byte_at_a_time {
            for b in m {
                h.feed(*d, &[*b]);
            }
        } else {
            h.feed(*d, m);
        }
    }
    h.finish();
    h.events()
}

#[test]
fn mqtt_31_session() {
    for slow in [false, true] {
        let ev = run(&v31_session(), slow);
        assert_eq!(ev.len(), 4, "{ev:?}");
        let m: Vec<_> = ev.iter().map(|e| &e["mqtt"]).collect();
        let c = &m[0]["connect"];
        assert_eq!(c["protocol_string"], "MQIsdp");
        assert_eq!(c["protocol_version"], 3);
        assert_eq!(c["client_id"], "cbaabcbabacbbbbbaaaaab");
        assert_eq!(c["username"], "02D5050223D3");
        assert_eq!(c["flags"]["password"], true);
        assert_eq!(c["flags"]["clean_session"], true);
        assert!(c.get("password").is_none());
        assert_eq!(m[0]["connack"]["return_code"], 0);
        assert_eq!(m[0]["connack"]["session_present"], false);

        assert_eq!(m[1]["subscribe"]["message_id"], 1);
        assert_eq!(m[1]["subscribe"]["qos"], 1);
        assert_eq!(
            m[1]["subscribe"]["topics"][0]["topic"],
            "astr/s720/02D5050223D3/99"
        );
        assert_eq!(m[1]["subscribe"]["topics"][0]["qos"], 0);
        assert_eq!(m[1]["suback"]["message_id"], 1);
        assert_eq!(m[1]["suback"]["qos_granted"], serde_json::json!([0]));

        assert_eq!(m[2]["publish"]["topic"], "astr/admin/otaupd8");
        assert_eq!(m[2]["publish"]["qos"], 0);
        assert!(m[2]["publish"].get("message_id").is_none());
        assert!(m[2]["publish"]["message"]
            .as_str()
            .unwrap()
            .starts_with("{ \"u\": \"02D5050223D3\""));
        assert_eq!(ev[2]["to_server"], true);
        assert_eq!(m[3]["publish"]["topic"], "astr/s720/02D5050223D3/99");
        assert_eq!(ev[3]["to_server"], false);
        assert!(ev.iter().all(|e| e["event_type"] == "mqtt"));
    }
}

/// Suricata's shape: UNSUBSCRIBE topics are plain strings (no QoS), and UNSUBACK carries
/// the message id it acknowledges (and no `reason_codes` before MQTT 5).
#[test]
fn unsubscribe_topics_are_strings() {
    use Dir::{ToClient as C, ToServer as S};
    // UNSUBSCRIBE (QoS 1 flags) message id 2, topics `a/b` and `c`; UNSUBACK message id 2.
    let flow = [
        (S, unhex("a20a0002000361")),
        (S, unhex("2f620001" /* rest of `a/b`, then `c` */)),
        (S, unhex("63")),
        (C, unhex("b0020002")),
    ];
    let ev = run(&flow, false);
    assert_eq!(ev.len(), 1, "{ev:?}");
    let m = &ev[0]["mqtt"];
    assert_eq!(m["unsubscribe"]["message_id"], 2);
    assert_eq!(m["unsubscribe"]["topics"], serde_json::json!(["a/b", "c"]));
    assert_eq!(m["unsuback"]["message_id"], 2);
    assert!(m["unsuback"].get("reason_codes").is_none());
}

#[test]
fn mqtt_311_connect_without_answer() {
    let ev = run(&[(Dir::ToServer, unhex(V311_CONNECT))], false);
    assert_eq!(ev.len(), 1);
    let c = &ev[0]["mqtt"]["connect"];
    assert_eq!(c["protocol_string"], "MQTT");
    assert_eq!(c["protocol_version"], 4);
    assert_eq!(c["client_id"], "P47775ID170W2120");
    assert_eq!(
        c["username"],
        "iotazewpmlithub.azure-devices.net/P47775ID170W2120/?api-version=2018-06-30"
    );
    assert!(!c.to_string().contains("SharedAccessSignature"));
    assert!(ev[0]["mqtt"].get("connack").is_none());
}

#[test]
fn mqtt_5_properties_are_skipped() {
    let ev = run(&v5_session(), false);
    assert_eq!(ev.len(), 3, "{ev:?}");
    let m: Vec<_> = ev.iter().map(|e| &e["mqtt"]).collect();
    assert_eq!(m[0]["connect"]["protocol_version"], 5);
    assert_eq!(m[0]["connect"]["client_id"], "sub-client");
    assert_eq!(m[0]["connect"]["username"], "alice");
    assert!(!ev[0].to_string().contains("secret"));
    assert_eq!(m[1]["subscribe"]["topics"][0]["topic"], "sensors/+/temp");
    assert_eq!(m[1]["subscribe"]["topics"][0]["qos"], 1);
    assert_eq!(m[1]["suback"]["qos_granted"], serde_json::json!([1]));
    assert_eq!(m[2]["publish"]["topic"], "sensors/kitchen/temp");
    assert_eq!(m[2]["publish"]["message_id"], 1);
    assert_eq!(m[2]["publish"]["message"], "21.5");
}

#[test]
fn large_publish_is_skipped_not_buffered() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToServer, &unhex(V311_CONNECT));
    // PUBLISH QoS 0 to "t" with a 1 MB payload: remaining length 1_000_003.
    let len: usize = 1_000_003;
    let mut m = vec![
        0x30,
        (len & 0x7f) as u8 | 0x80,
        ((len >> 7) & 0x7f) as u8 | 0x80,
        (len >> 14) as u8,
    ];
    m.extend_from_slice(b"\x00\x01t");
    m.resize(4 + len, b'x');
    m.extend_from_slice(&unhex(V31_DISCONNECT));
    for chunk in m.chunks(1448) {
        h.feed(Dir::ToServer, chunk);
    }
    h.finish();
    let ev = h.events();
    // The publish, then at the end the CONNECT that got no CONNACK.
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["mqtt"]["publish"]["topic"], "t");
    assert_eq!(
        ev[0]["mqtt"]["publish"]["message"].as_str().unwrap().len(),
        MAX_MESSAGE
    );
    assert!(ev[1]["mqtt"].get("connect").is_some());
}

#[test]
fn events_are_capped() {
    let mut h = Harness::tcp(parser());
    let publish = b"\x30\x05\x00\x01tab";
    for _ in 0..MAX_EVENTS + 10 {
        h.feed(Dir::ToServer, publish);
    }
    assert_eq!(h.events().len() as u64, MAX_EVENTS);
}

#[test]
fn probes() {
    let p = |d, data: &[u8]| probe(&probe_input(d, data, Transport::Tcp, 1883));
    assert_eq!(p(Dir::ToServer, &unhex(V31_CONNECT)), Probe::Match);
    assert_eq!(p(Dir::ToServer, &unhex(V311_CONNECT)), Probe::Match);
    assert_eq!(p(Dir::ToServer, &unhex(V5_SUB_CONNECT)), Probe::Match);
    assert_eq!(p(Dir::ToServer, &unhex(V311_CONNECT)[..7]), Probe::NeedMore);
    assert_eq!(p(Dir::ToServer, &[0x10]), Probe::NeedMore);
    assert_eq!(p(Dir::ToClient, &unhex(V31_CONNACK)), Probe::NoMatch);
    assert_eq!(p(Dir::ToServer, &unhex(V31_PUBLISH_UP)), Probe::NoMatch);
    // Right name, unknown level.
    assert_eq!(
        p(
            Dir::ToServer,
            b"\x10\x10\x00\x04MQTT\x09\x02\x00\x3c\x00\x04abcd"
        ),
        Probe::NoMatch
    );
    assert_eq!(p(Dir::ToServer, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
    assert_eq!(
        p(
            Dir::ToServer,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
        ),
        Probe::NoMatch
    );
    assert_eq!(p(Dir::ToServer, b"\x10\x02\x00\x04"), Probe::NoMatch);
}

#[test]
fn hostile_input() {
    let v311 = vec![(Dir::ToServer, unhex(V311_CONNECT))];
    hostile(
        parser,
        probe,
        true,
        &[v31_session(), v5_session(), v311],
        3000,
    );
}
