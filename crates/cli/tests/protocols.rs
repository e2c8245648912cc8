//! What the parsers find in real traffic: `tests/cases/*.pcap` were recorded over loopback
//! from real clients and servers (curl and Python's http.server, openssl s_client/s_server,
//! dig and a dnslib server, OpenSSH, smtplib and aiosmtpd, curl and pyftpdlib; see
//! `tests/cases/make-captures.sh`). The expected values come from those programs and from
//! independent tools (tshark's JA3, the `ja4plus` reference implementation, `openssl x509
//! -fingerprint`), not from NTA.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/cases")
        .join(name)
}

fn events_of(name: &str) -> Vec<Value> {
    read_ok(&[&case(name)], &[])
}

fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event_type"] == t).collect()
}

fn app_protos(events: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = flows(events)
        .iter()
        .map(|f| f["app_proto"].as_str().unwrap_or("(none)").to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn http_on_port_8080_with_keep_alive_post_404_and_chunked() {
    let ev = events_of("http.pcap");
    assert_eq!(app_protos(&ev), ["http"; 5]);
    let http = of_type(&ev, "http");
    let by_url = |u: &str| {
        http.iter()
            .find(|e| e["http"]["url"] == u)
            .unwrap_or_else(|| panic!("no http event for {u}"))
    };
    let first = &by_url("/index.html")["http"];
    assert_eq!(first["hostname"], "www.nta.test");
    assert_eq!(first["http_port"], 8080);
    assert_eq!(first["http_user_agent"], "NTA-Test-Agent/1.0");
    assert_eq!(first["http_refer"], "http://referer.nta.test/start.html");
    assert_eq!(first["status"], 200);
    assert_eq!(first["length"], 82);
    // Two requests on one connection: one flow, tx 0 and 1.
    let (a, b) = (by_url("/a.txt"), by_url("/b.txt"));
    assert_eq!(a["flow_id"], b["flow_id"]);
    assert_eq!(
        (a["tx_id"].as_u64(), b["tx_id"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(
        (a["http"]["length"].as_u64(), b["http"]["length"].as_u64()),
        (Some(40), Some(41))
    );
    let post = &by_url("/submit")["http"];
    assert_eq!(post["http_method"], "POST");
    assert_eq!(post["request_body_length"], 17);
    assert_eq!(by_url("/missing.html")["http"]["status"], 404);
    let chunked = &by_url("/chunked")["http"];
    assert_eq!(
        chunked["length"],
        "chunk one\nchunk two\nthe last chunk\n".len()
    );
}

#[test]
fn tls_versions_sni_fingerprints_and_certificate() {
    let ev = events_of("tls.pcap");
    assert_eq!(app_protos(&ev), ["tls", "tls"]);
    let tls = of_type(&ev, "tls");
    let v12 = &tls
        .iter()
        .find(|e| e["tls"]["version"] == "TLS 1.2")
        .unwrap()["tls"];
    let v13 = &tls
        .iter()
        .find(|e| e["tls"]["version"] == "TLS 1.3")
        .unwrap()["tls"];
    for t in [v12, v13] {
        assert_eq!(t["sni"], "test.example");
        assert_eq!(t["client_alpns"], serde_json::json!(["h2", "http/1.1"]));
    }
    // tshark's tls.handshake.ja3 / ja3s and the ja4plus reference implementation.
    assert_eq!(v12["ja3"]["hash"], "22558766122974704364c9c75c5cce0a");
    assert_eq!(v12["ja3s"]["hash"], "895252f3ce80cebf7a8837be83ec8e16");
    assert_eq!(v12["ja4"], "t12d2808h2_d943125447b4_e7e480e5a997");
    assert_eq!(v13["ja3"]["hash"], "5a1edc7f170af1014fc65c994878e63c");
    assert_eq!(v13["ja3s"]["hash"], "15af977ce25de452b96affa2addb1036");
    assert_eq!(v13["ja4"], "t13d3111h2_e8f1e7e78f70_1f22a2ca17c4");
    // openssl x509 -noout -subject -issuer -serial -fingerprint -sha1 on the server's cert.
    assert_eq!(v12["subject"], "C=US, O=NTA Test, CN=test.example");
    assert_eq!(v12["issuerdn"], "C=US, O=NTA Test, CN=test.example");
    assert_eq!(v12["serial"], "4E:54:41");
    assert_eq!(
        v12["fingerprint"],
        "45:9d:f8:25:bb:03:8e:48:68:6b:a7:66:d1:54:f4:6d:6a:76:33:25"
    );
    assert_eq!(v12["notbefore"], "2026-11-25T10:03:53");
    assert_eq!(v12["server_alpns"], serde_json::json!(["http/1.1"]));
    // TLS 1.3 encrypts the certificate.
    assert!(v13.get("subject").is_none());
}

#[test]
fn dns_queries_and_answers_over_udp_and_tcp() {
    let ev = events_of("dns.pcap");
    assert_eq!(app_protos(&ev), ["dns"; 7]);
    let answers: Vec<&Value> = of_type(&ev, "dns")
        .into_iter()
        .filter(|e| e["dns"]["type"] == "answer")
        .collect();
    let find = |name: &str, ty: &str| {
        answers
            .iter()
            .find(|e| e["dns"]["rrname"] == name && e["dns"]["rrtype"] == ty)
            .map(|e| &e["dns"])
            .unwrap_or_else(|| panic!("no answer for {name} {ty}"))
    };
    assert_eq!(
        find("www.nta.test", "A")["grouped"]["A"],
        serde_json::json!(["192.0.2.10"])
    );
    assert_eq!(
        find("www.nta.test", "AAAA")["grouped"]["AAAA"],
        serde_json::json!(["2001:db8::10"])
    );
    let alias = find("alias.nta.test", "A");
    assert_eq!(
        alias["grouped"]["CNAME"],
        serde_json::json!(["www.nta.test"])
    );
    assert_eq!(alias["grouped"]["A"], serde_json::json!(["192.0.2.10"]));
    assert_eq!(
        find("nta.test", "MX")["grouped"]["MX"],
        serde_json::json!(["mail.nta.test"])
    );
    let txt = find("nta.test", "TXT")["grouped"]["TXT"].to_string();
    assert!(txt.contains("v=spf1 -all"), "{txt}");
    let nx = find("missing.nta.test", "A");
    assert_eq!(nx["rcode"], "NXDOMAIN");
    assert_eq!(nx["authorities"][0]["soa"]["mname"], "ns1.nta.test");
    let tcp = answers
        .iter()
        .find(|e| e["dns"]["rrname"] == "tcp.nta.test")
        .expect("the dig +tcp answer");
    assert_eq!(tcp["proto"], "TCP");
    assert_eq!(
        tcp["dns"]["grouped"]["A"],
        serde_json::json!(["192.0.2.53"])
    );
    let queries = of_type(&ev, "dns")
        .into_iter()
        .filter(|e| e["dns"]["type"] == "query")
        .count();
    assert_eq!(queries, 7);
}

#[test]
fn ssh_banners_and_hassh_on_a_non_standard_port() {
    let ev = events_of("ssh.pcap");
    assert_eq!(app_protos(&ev), ["ssh"]);
    let ssh = &of_type(&ev, "ssh")[0];
    assert_eq!(ssh["dest_port"], 2222);
    for side in ["client", "server"] {
        assert_eq!(ssh["ssh"][side]["proto_version"], "2.0");
        assert_eq!(ssh["ssh"][side]["software_version"], "OpenSSH_9.2p1");
    }
    assert_eq!(
        ssh["ssh"]["client"]["hassh"]["hash"],
        "472b5de333ad665af5cbf10ff892c4df"
    );
    assert_eq!(
        ssh["ssh"]["server"]["hassh"]["hash"],
        "425d29fe50d8e4f5e37efb6e24bcf660"
    );
}

#[test]
fn smtp_transaction() {
    let ev = events_of("smtp.pcap");
    assert_eq!(app_protos(&ev), ["smtp"]);
    let smtp = &of_type(&ev, "smtp")[0]["smtp"];
    assert_eq!(smtp["helo"], "client.nta.test");
    assert_eq!(smtp["mail_from"], "<alice@nta.test>");
    assert_eq!(
        smtp["rcpt_to"],
        serde_json::json!(["<bob@nta.test>", "<carol@nta.test>"])
    );
}

#[test]
fn ftp_commands_and_announced_data_connections() {
    let ev = events_of("ftp.pcap");
    // Three control connections, and the three data connections they announced (EPSV, PASV
    // and EPRT) recognised as such.
    assert_eq!(
        app_protos(&ev),
        ["ftp", "ftp", "ftp", "ftp-data", "ftp-data", "ftp-data"]
    );
    let ftp = of_type(&ev, "ftp");
    let cmd = |c: &str| {
        ftp.iter()
            .find(|e| e["ftp"]["command"] == c)
            .map(|e| &e["ftp"])
            .unwrap_or_else(|| panic!("no {c}"))
    };
    assert_eq!(cmd("USER")["command_data"], "anonymous");
    assert_eq!(cmd("EPSV")["mode"], "passive");
    assert_eq!(cmd("PASV")["completion_code"], serde_json::json!(["227"]));
    assert_eq!(cmd("EPRT")["mode"], "active");
    assert_eq!(cmd("EPRT")["dynamic_port"], 50000);
    assert_eq!(
        cmd("RETR")["completion_code"],
        serde_json::json!(["125", "226"])
    );
    let stats = final_stats(&ev);
    assert_eq!(counter(stats, "app_layer.flow.ftp-data"), 3);
}
