use serde_json::{json, Value};

use super::*;
use crate::testing::{hostile, probe_input, Harness};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `dig www.example.com A`: ID 0x1a2b, RD.
fn query() -> Vec<u8> {
    hex("1a2b 0100 0001 0000 0000 0000
         03777777 076578616d706c65 03636f6d 00  0001 0001")
}

/// Its answer: www.example.com CNAME cdn.example.com, cdn.example.com A 93.184.216.34, every
/// name compressed (the CNAME target points into the question, the A record's owner into
/// the CNAME's rdata at offset 45).
fn response() -> Vec<u8> {
    hex("1a2b 8180 0001 0002 0000 0000
         03777777 076578616d706c65 03636f6d 00  0001 0001
         c00c 0005 0001 00000e10 0006 0363646e c010
         c02d 0001 0001 0000003c 0004 5db8d822")
}

fn tcp(msg: &[u8]) -> Vec<u8> {
    let mut v = (msg.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(msg);
    v
}

fn udp_events(msgs: &[(Dir, Vec<u8>)]) -> Vec<Value> {
    let mut h = Harness::udp(Box::<Dns>::default());
    for (d, m) in msgs {
        h.feed(*d, m);
    }
    h.finish();
    h.events()
}

#[test]
fn query_and_answer_with_cname_and_compression() {
    let ev = udp_events(&[(Dir::ToServer, query()), (Dir::ToClient, response())]);
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["event_type"], "dns");
    assert_eq!(ev[0]["to_server"], true);
    assert_eq!(
        ev[0]["dns"],
        json!({"version": 2, "type": "query", "id": 0x1a2b, "rrname": "www.example.com",
               "rrtype": "A", "tx_id": 0, "opcode": 0})
    );
    let a = &ev[1]["dns"];
    assert_eq!(ev[1]["to_server"], false);
    assert_eq!(ev[1]["tx_id"], 0);
    assert_eq!(a["type"], "answer");
    assert_eq!(a["version"], 2);
    assert_eq!(a["id"], 0x1a2b);
    assert_eq!(a["flags"], "8180");
    assert_eq!(a["qr"], true);
    assert_eq!(a["rd"], true);
    assert_eq!(a["ra"], true);
    assert!(a.get("aa").is_none());
    assert_eq!(a["rcode"], "NOERROR");
    assert_eq!(a["rrname"], "www.example.com");
    assert_eq!(
        a["queries"],
        json!([{"rrname": "www.example.com", "rrtype": "A"}])
    );
    assert_eq!(
        a["answers"],
        json!([
            {"rrname": "www.example.com", "rrtype": "CNAME", "ttl": 3600, "rdata": "cdn.example.com"},
            {"rrname": "cdn.example.com", "rrtype": "A", "ttl": 60, "rdata": "93.184.216.34"}
        ])
    );
    assert_eq!(
        a["grouped"],
        json!({"CNAME": ["cdn.example.com"], "A": ["93.184.216.34"]})
    );
    assert!(a.get("authorities").is_none());
}

#[test]
fn query_names_go_to_detection_with_the_request() {
    // Suricata verify test dns-detect-query-01 asks the same of `dns_query; content:"google"`.
    let two = hex("0007 0100 0002 0000 0000 0000
         06676f6f676c6503636f6d00 0001 0001
         03777777c00c 001c 0001");
    let mut h = Harness::udp(Box::<Dns>::default());
    h.feed(Dir::ToServer, &two);
    h.feed(Dir::ToClient, &response());
    let ev = h.events();
    assert_eq!(ev.len(), 3);
    assert_eq!(ev[1]["dns"]["rrname"], "www.google.com");
    // Both names, dotted, without a trailing dot, sent to the server, with the query's first
    // event (the transaction); nothing with the second question's event or the answer.
    let names = vec![
        ("dns.query".to_string(), b"google.com".to_vec()),
        ("dns.query".to_string(), b"www.google.com".to_vec()),
    ];
    assert_eq!(h.buffers(), vec![names, Vec::new(), Vec::new()]);
    assert_eq!(
        h.buffer(0, Dir::ToServer, &crate::parser::Buffer::DnsQuery),
        ["google.com", "www.google.com"]
    );
}

#[test]
fn real_google_answer_with_edns() {
    // From dns-google-nsid.pcapng: www.ntop.org A via 8.8.4.4, with an OPT record carrying NSID.
    let q = hex("4d150120000100000000000103777777046e746f70036f72670000010001000029100000000000000400030000");
    let r = hex(
        "4d158180000100020000000103777777046e746f70036f72670000010001c00c0005000100000dad0014116e\
         746f702d6469676974616c6f6365616ec010c02a0001000100000e100004b23ec582000029020000000000000d\
         000300096770646e732d6d696c",
    );
    let ev = udp_events(&[(Dir::ToServer, q), (Dir::ToClient, r)]);
    assert_eq!(ev[0]["dns"]["rrname"], "www.ntop.org");
    let a = &ev[1]["dns"];
    assert_eq!(a["flags"], "8180");
    assert_eq!(
        a["grouped"],
        json!({"CNAME": ["ntop-digitalocean.ntop.org"], "A": ["178.62.197.130"]})
    );
    assert_eq!(a["answers"][0]["ttl"], 3501);
}

#[test]
fn nxdomain_with_soa_authority() {
    // From dns_ambiguous_names.pcap: *.teams.microsoft.com, NXDOMAIN, SOA in the authority
    // section.
    let r = hex(
        "b56281830001000000010001012a057465616d73096d6963726f736f667403636f6d0000010001c014000600\
         010000012b003e076e73312d32303509617a7572652d646e73c01e13617a757265646e732d686f73746d6173\
         746572c0140000000100000e100000012c0024ea000000012c0000290200000000000000",
    );
    let ev = udp_events(&[(Dir::ToClient, r)]);
    let a = &ev[0]["dns"];
    assert_eq!(a["rcode"], "NXDOMAIN");
    assert_eq!(a["rrname"], "*.teams.microsoft.com");
    assert!(a.get("answers").is_none());
    assert_eq!(
        a["authorities"],
        json!([{"rrname": "microsoft.com", "rrtype": "SOA", "ttl": 299, "soa": {
            "mname": "ns1-205.azure-dns.com", "rname": "azuredns-hostmaster.microsoft.com",
            "serial": 1, "refresh": 3600, "retry": 300, "expire": 2419200, "minimum": 300}}])
    );
}

#[test]
fn aaaa_mx_txt_srv_ns_ptr_and_https_records() {
    // A response to "example.com ANY" carrying one record of each type (names uncompressed
    // where it keeps the bytes readable).
    let r = hex("0007 8400 0001 0007 0000 0000
         076578616d706c6503636f6d00 00ff 0001
         c00c 001c 0001 0000012c 0010 20010db8000000000000000000000001
         c00c 000f 0001 0000012c 0009 000a 046d61696c c00c
         c00c 0010 0001 0000012c 000c 05763d737066 05207e616c6c
         c00c 0021 0001 0000012c 000c 000a 0005 01bd 03736970 c00c
         c00c 0002 0001 0000012c 0006 036e7331 c00c
         c00c 000c 0001 0000012c 0002 c00c
         c00c 0041 0001 0000012c 0015 0001 00 0001 0006 02683202683 3 0004 0004 c0000201");
    let ev = udp_events(&[(Dir::ToClient, r)]);
    let a = &ev[0]["dns"];
    assert_eq!(a["aa"], true);
    assert_eq!(a["rrtype"], "ANY");
    let rdata: Vec<&Value> = a["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.get("rdata").unwrap_or(x))
        .collect();
    assert_eq!(rdata[0], "2001:db8::1");
    assert_eq!(rdata[1], "mail.example.com");
    assert_eq!(rdata[2], "v=spf");
    assert_eq!(rdata[3], " ~all");
    assert_eq!(
        rdata[4]["srv"],
        json!({"priority": 10, "weight": 5, "port": 445, "name": "sip.example.com"})
    );
    assert_eq!(rdata[5], "ns1.example.com");
    assert_eq!(rdata[6], "example.com");
    assert_eq!(rdata[7], "1 . alpn=h2,h3 ipv4hint=192.0.2.1");
    assert_eq!(a["answers"][7]["rrtype"], "HTTPS");
    assert_eq!(a["grouped"]["TXT"], json!(["v=spf", " ~all"]));
    assert_eq!(a["grouped"]["SRV"][0]["port"], 445);
}

#[test]
fn unknown_types_are_logged_by_number() {
    let r = hex("0009 8180 0001 0001 0000 0000
         0161 00 fde8 0001
         c00c fde8 0001 00000001 0002 abcd");
    let ev = udp_events(&[(Dir::ToClient, r)]);
    let a = &ev[0]["dns"];
    assert_eq!(a["rrtype"], "65000");
    assert_eq!(
        a["answers"],
        json!([{"rrname": "a", "rrtype": "65000", "ttl": 1}])
    );
    assert!(a.get("grouped").is_none());
}

#[test]
fn pointer_loops_end() {
    // A question whose name points at itself: nothing readable, nothing logged.
    let q = hex("0001 0100 0001 0000 0000 0000 c00c 0001 0001");
    assert!(udp_events(&[(Dir::ToServer, q.clone())]).is_empty());
    assert_eq!(
        probe(&probe_input(Dir::ToServer, &q, Transport::Udp, 53)),
        Probe::NoMatch
    );
    // An answer whose owner is a label followed by a pointer back to that label
    // ("abc.abc.abc..."): the question is still logged, the looping record is not.
    let r = hex("0002 8180 0001 0001 0000 0000
         0161 00 0001 0001
         03616263 c013 0001 0001 00000001 0004 01020304");
    let ev = udp_events(&[(Dir::ToClient, r)]);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["dns"]["rrname"], "a");
    assert!(ev[0]["dns"].get("answers").is_none());
    // Two pointers pointing at each other.
    let r = hex("0003 8180 0001 0001 0000 0000
         0161 00 0001 0001
         c015 c013 0001 0001 00000001 0004 01020304");
    assert_eq!(udp_events(&[(Dir::ToClient, r)]).len(), 1);
}

#[test]
fn tcp_message_split_over_two_segments() {
    let q = tcp(&query());
    let r = tcp(&response());
    let mut h = Harness::tcp(Box::<Dns>::default());
    h.feed(Dir::ToServer, &q[..7]);
    assert!(h.events().is_empty());
    h.feed(Dir::ToServer, &q[7..]);
    assert_eq!(h.events().len(), 1);
    // The length prefix alone, then the rest.
    h.feed(Dir::ToClient, &r[..2]);
    h.feed(Dir::ToClient, &r[2..]);
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["dns"]["rrname"], "www.example.com");
    assert_eq!(ev[1]["dns"]["type"], "answer");
    assert_eq!(ev[1]["dns"]["grouped"]["A"], json!(["93.184.216.34"]));
    assert_eq!(ev[1]["tx_id"], 0);
}

#[test]
fn tcp_two_messages_in_one_segment_and_gap_resync() {
    let mut q2 = query();
    q2[0] = 0x77;
    let mut both = tcp(&query());
    both.extend_from_slice(&tcp(&q2));
    let mut h = Harness::tcp(Box::<Dns>::default());
    h.feed(Dir::ToServer, &both);
    assert_eq!(h.events().len(), 2);
    assert_eq!(h.events()[1]["tx_id"], 1);
    // Bytes lost mid-message: the tail is dropped, the next whole message is read.
    assert!(h.gap(Dir::ToServer, 10));
    h.feed(Dir::ToServer, &tcp(&query())[20..]);
    assert_eq!(h.events().len(), 2);
    h.feed(Dir::ToServer, &tcp(&query()));
    assert_eq!(h.events().len(), 3);
}

#[test]
fn tcp_query_without_flags_is_still_read_as_tcp() {
    // A secondary server's SOA query: no RD, an ID with its top bit set. Read from its first
    // byte it looks like a response without a question; the records that would follow do
    // not read.
    let q = hex("8001 0000 0001 0000 0000 0000 076578616d706c6503636f6d00 0006 0001");
    assert_eq!(
        plausible(&tcp(&q)),
        Probe::Match,
        "the ambiguous case this test is about"
    );
    let mut h = Harness::tcp(Box::<Dns>::default());
    h.feed(Dir::ToServer, &tcp(&q));
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["dns"]["rrname"], "example.com");
    assert_eq!(ev[0]["dns"]["rrtype"], "SOA");
}

#[test]
fn responses_pair_with_queries_by_id() {
    let mut q2 = query();
    q2[0..2].copy_from_slice(&[0x55, 0x66]);
    let mut r2 = response();
    r2[0..2].copy_from_slice(&[0x55, 0x66]);
    let ev = udp_events(&[
        (Dir::ToServer, query()),
        (Dir::ToServer, q2),
        (Dir::ToClient, r2),
        (Dir::ToClient, response()),
    ]);
    let tx: Vec<(u64, u64)> = ev
        .iter()
        .map(|e| {
            (
                e["dns"]["id"].as_u64().unwrap(),
                e["tx_id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(tx, vec![(0x1a2b, 0), (0x5566, 1), (0x5566, 1), (0x1a2b, 0)]);
    // A response nobody asked for gets a transaction of its own.
    let ev = udp_events(&[(Dir::ToClient, response()), (Dir::ToClient, response())]);
    assert_eq!(ev[0]["tx_id"], 0);
    assert_eq!(ev[1]["tx_id"], 1);
}

#[test]
fn probe_recognises_dns_only() {
    let p = |d: &[u8], t| probe(&probe_input(Dir::ToServer, d, t, 53));
    assert_eq!(p(&query(), Transport::Udp), Probe::Match);
    assert_eq!(p(&response(), Transport::Udp), Probe::Match);
    assert_eq!(p(&tcp(&query()), Transport::Tcp), Probe::Match);
    assert_eq!(p(&tcp(&response()), Transport::Tcp), Probe::Match);
    // Short prefixes: TCP waits, a UDP datagram is whole.
    assert_eq!(p(&tcp(&query())[..1], Transport::Tcp), Probe::NeedMore);
    assert_eq!(p(&tcp(&query())[..20], Transport::Tcp), Probe::NeedMore);
    assert_eq!(p(&query()[..20], Transport::Udp), Probe::NoMatch);
    // The framings do not read as each other.
    assert_eq!(p(&tcp(&query()), Transport::Udp), Probe::NoMatch);
    assert_eq!(p(&tcp(&response()), Transport::Udp), Probe::NoMatch);
    assert_eq!(p(&query(), Transport::Tcp), Probe::NoMatch);
    // Other protocols.
    let get = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    assert_eq!(p(get, Transport::Tcp), Probe::NoMatch);
    assert_eq!(p(get, Transport::Udp), Probe::NoMatch);
    let client_hello = hex("16030100c4010000c00303 5b1c2d3e4f506172");
    assert_eq!(p(&client_hello, Transport::Tcp), Probe::NoMatch);
    let ntp = hex("230207eb00000450000003ab83bc03dfd94f51c33165b860d944575530336fd0d944575531b4e978d94f51f42d26e2f4");
    assert_eq!(p(&ntp, Transport::Udp), Probe::NoMatch);
    let mut x: u32 = 12345;
    let random: Vec<u8> = (0..200)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    assert_eq!(p(&random, Transport::Udp), Probe::NoMatch);
    assert_eq!(p(&random, Transport::Tcp), Probe::NoMatch);
}

#[test]
fn probe_matches_the_ndpi_captures() {
    for q in [
        "9151012000010000000000010000020001000029100000000000001000030000000a0008ebe62a6cefbf86ae",
        "6631012000010000000000010a34312d636f75726965720470757368056170706c6503636f6d00000100010000291000000000000000",
        "ca1101200001000000000001037777770977696b6970656469610269740000010001000029100000000000000400030000",
    ] {
        let d = hex(q);
        assert_eq!(
            probe(&probe_input(Dir::ToServer, &d, Transport::Udp, 53)),
            Probe::Match,
            "{q}"
        );
    }
}

#[test]
fn hostile_input() {
    let flows = vec![
        vec![(Dir::ToServer, query()), (Dir::ToClient, response())],
        vec![(Dir::ToClient, response())],
    ];
    hostile(|| Box::<Dns>::default(), probe, false, &flows, 3000);
    let tcp_flows: Vec<Vec<(Dir, Vec<u8>)>> = flows
        .iter()
        .map(|f| f.iter().map(|(d, m)| (*d, tcp(m))).collect())
        .collect();
    hostile(|| Box::<Dns>::default(), probe, true, &tcp_flows, 3000);
}

/// Lengths and pointers at their limits, which random mutation seldom reaches: a pointer to
/// itself, TXT and SVCB lengths past their record, an empty SSHFP, an odd `mandatory` list.
/// Each message keeps what came before the fault and nothing panics.
#[test]
fn edge_lengths_and_pointer_loops() {
    let header = |an: u16| {
        let mut m = hex("abcd 8180 0001 0000 0000 0000");
        m[6..8].copy_from_slice(&an.to_be_bytes());
        m.extend_from_slice(&hex("03777777 00 0001 0001"));
        m
    };
    let record = |rrtype: &str, rdata: &str| {
        let rdata = hex(rdata);
        let mut r = hex(&format!("c00c {rrtype} 0001 0000003c"));
        r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        r.extend_from_slice(&rdata);
        r
    };
    let cases: Vec<Vec<u8>> = vec![
        // An answer whose owner name is a pointer to itself (offset 21).
        [header(1), hex("c015 0001 0001 00000001 0004 01020304")].concat(),
        // TXT: a character-string longer than the rdata.
        [header(1), record("0010", "05 6869")].concat(),
        // SVCB: a key length past the rdata; ALPN ids past the value; odd `mandatory`.
        [header(1), record("0040", "0001 00 0001 ffff 00")].concat(),
        [header(1), record("0041", "0001 00 0001 0003 05 6832")].concat(),
        [header(1), record("0041", "0001 00 0000 0003 000100")].concat(),
        // IPv6 hint of 15 bytes; ECH of zero bytes; an unknown key.
        [
            header(1),
            record(
                "0041",
                "0001 00 0006 000f 2001db800000000000000000000000 0005 0000 ff00 0001 aa",
            ),
        ]
        .concat(),
        // SSHFP without fingerprint, and with neither algorithm nor type.
        [header(2), record("002c", "0101"), record("002c", "")].concat(),
        // MX too short to hold a name; SRV cut in its fixed part.
        [header(2), record("000f", "0001"), record("0021", "000100")].concat(),
        // An answer count far past the records present.
        [header(0xffff), record("0001", "01020304")].concat(),
    ];
    for msg in cases {
        let ev = udp_events(&[(Dir::ToClient, msg.clone())]);
        assert_eq!(ev.len(), 1, "{}", hex_string(&msg));
        assert_eq!(ev[0]["dns"]["rrname"], "www");
        let mut h = Harness::tcp(Box::<Dns>::default());
        h.feed(Dir::ToClient, &tcp(&msg));
        h.finish();
        assert_eq!(h.events().len(), 1);
    }
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
