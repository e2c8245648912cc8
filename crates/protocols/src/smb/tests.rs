//! SMB tests on messages captured from smbclient 4.17 talking to Samba 4.17 on the loopback
//! (`smbclient //127.0.0.1/public -N -c 'ls; get readme.txt'`, SMB 3.1.1 and, with
//! `-m NT1`, SMB1), each the TCP payload of one packet: an NBSS header and the SMB message.

use super::*;
use crate::testing::{hostile, probe_input, Harness};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// SMB2 NEGOTIATE request.
const NEGOTIATE_REQ: &str = concat!(
    "000000e2fe534d42400000000000000000001f00000000000000000000000000000000000000000000000000",
    "00000000000000000000000000000000000000000000000024000500010000007f000000cb32f627eb9aac43",
    "bead5b2c3ec9d306700000000400000002021002000302031103000001002600000000000100200001000461",
    "0b571bff7a4a138ebead84bb2878e40d865c23f249676e22038092df1328000002000a000000000004000200",
    "0100040003000000000000000800080000000000030002000100000005001200000000003100320037002e00",
    "30002e0030002e003100",
);
/// SMB2 NEGOTIATE response.
const NEGOTIATE_RSP: &str = concat!(
    "0000011cfe534d42400000000000000000000100010000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000004100010011030300766d00000000000000000000",
    "000000000f000000000080000000800000008000de0f98b0c27cdd01000000000000000080004a00d0000000",
    "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f6465",
    "66696e65645f696e5f5246433431373840706c656173655f69676e6f72650000000000000100260000000000",
    "0100200001009281657135acbe02c2adea9f343558e5c284736d099287bc8e61e0942297cb8b000002000400",
    "000000000100020000000000080004000000000001000200",
);
/// SMB2 SESSION_SETUP request (NTLMSSP_AUTH).
const SESSION_REQ: &str = concat!(
    "000000fefe534d42400001000000000001000020100000000000000002000000000000000000000000000000",
    "38cc697f00000000000000000000000000000000000000001900000101000000000000005800a60000000000",
    "00000000a181a33081a0a281890481864e544c4d535350000300000000000000580000000000000058000000",
    "1200120058000000080008006a0000000400040072000000100010007600000015820062060100000000000f",
    "feb5b4f26d50f24a13404af205dbb00557004f0052004b00470052004f005500500072006f006f0074005600",
    "4d006eb123231be01007d79b6ea2e060c7cea312041001000000702de2a3ba84e9dacfde94a8",
);
/// SMB2 SESSION_SETUP response.
const SESSION_RSP: &str = concat!(
    "00000051fe534d42400001000000000001000020110000000000000002000000000000000000000000000000",
    "38cc697f00000000000000000000000000000000000000000900010048000900a1073005a0030a0100",
);
/// SMB2 TREE_CONNECT request for `\\127.0.0.1\public`.
const TREE_REQ: &str = concat!(
    "0000006cfe534d42400001000000000003000100100000000000000006000000000000000000000000000000",
    "38cc697f000000000000000000000000000000000000000009000000480024005c005c003100320037002e00",
    "30002e0030002e0031005c007000750062006c0069006300",
);
/// SMB2 TREE_CONNECT response.
const TREE_RSP: &str = concat!(
    "00000050fe534d4240000100000000000300010011000000000000000600000000000000000000004c1adcae",
    "38cc697f0000000000000000000000000000000000000000100001000000000000000000ff011f00",
);
/// SMB2 CREATE request for readme.txt.
const CREATE_REQ: &str = concat!(
    "0000008cfe534d4240000100000000000500010010000000000000000c01000000000000000000004c1adcae",
    "38cc697f00000000000000000000000000000000000000003900000002000000000000000000000000000000",
    "0000000089001200000000000300000001000000400000007800140000000000000000007200650061006400",
    "6d0065002e00740078007400",
);
/// SMB2 CREATE response.
const CREATE_RSP: &str = concat!(
    "00000098fe534d4240000100000000000500010011000000000000000c01000000000000000000004c1adcae",
    "38cc697f000000000000000000000000000000000000000059000000010000000c927facc27cdd010c927fac",
    "c27cdd010c927facc27cdd010c927facc27cdd01001000000000000006000000000000008000000000000000",
    "597da0aa0000000048ba0702000000000000000000000000",
);
/// SMB2 READ response (6 bytes of file).
const READ_RSP: &str = concat!(
    "00000056fe534d4240000100000000000800010011000000000000000e01000000000000000000004c1adcae",
    "38cc697f00000000000000000000000000000000000000001100500006000000000000000000000068656c6c",
    "6f0a",
);
/// SMB2 TREE_DISCONNECT request.
const DISCONNECT_REQ: &str = concat!(
    "00000044fe534d4240000100000000000400010010000000000000001001000000000000000000004c1adcae",
    "38cc697f000000000000000000000000000000000000000004000000",
);
/// SMB2 TREE_DISCONNECT response.
const DISCONNECT_RSP: &str = concat!(
    "00000044fe534d4240000100000000000400010011000000000000001001000000000000000000004c1adcae",
    "38cc697f000000000000000000000000000000000000000004000000",
);
/// SMB2 TREE_CONNECT request for `\\127.0.0.1\nosuch`.
const BAD_TREE_REQ: &str = concat!(
    "0000006cfe534d42400001000000000003000100100000000000000006000000000000000000000000000000",
    "5e706122000000000000000000000000000000000000000009000000480024005c005c003100320037002e00",
    "30002e0030002e0031005c006e006f007300750063006800",
);
/// SMB2 TREE_CONNECT response: STATUS_BAD_NETWORK_NAME.
const BAD_TREE_RSP: &str = concat!(
    "00000049fe534d4240000100cc0000c003000100110000000000000006000000000000000000000000000000",
    "5e7061220000000000000000000000000000000000000000090000000000000000",
);
/// SMB1 NEGOTIATE request.
const V1_NEGOTIATE_REQ: &str = concat!(
    "0000003eff534d4272000000001843c80000000000000000000000000000feff00000000001b00024e54204c",
    "414e4d414e20312e3000024e54204c4d20302e313200",
);
/// SMB1 NEGOTIATE response.
const V1_NEGOTIATE_RSP: &str = concat!(
    "0000009fff534d4272000000008843c80000000000000000000000000000feff000000001100000332000100",
    "0441000000000100d0610000fdf3808072e274b2c27cdd010000005a00766d00000000000000000000000000",
    "00604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f64",
    "6566696e65645f696e5f5246433431373840706c656173655f69676e6f7265",
);
/// SMB1 TREE_CONNECT_ANDX request for `\\127.0.0.1\IPC$`.
const V1_TREE_REQ: &str = concat!(
    "00000052ff534d4275000000001843c8000000000000000000000000ffffce61ad47030004ff0000000c0001",
    "002700005c005c003100320037002e0030002e0030002e0031005c004900500043002400000049504300",
);
/// SMB1 TREE_CONNECT_ANDX response.
const V1_TREE_RSP: &str = concat!(
    "00000038ff534d4275000000008803c8000000000000000000000000517bce61ad47030007ff0000000100ff",
    "010000ff010000070049504300000000",
);

fn parser() -> Box<dyn Parser> {
    Box::<SmbParser>::default()
}

/// The SMB2 session, in the order it was captured.
fn session() -> Vec<(Dir, Vec<u8>)> {
    use Dir::{ToClient as C, ToServer as S};
    [
        (S, NEGOTIATE_REQ),
        (C, NEGOTIATE_RSP),
        (S, SESSION_REQ),
        (C, SESSION_RSP),
        (S, TREE_REQ),
        (C, TREE_RSP),
        (S, CREATE_REQ),
        (C, CREATE_RSP),
        (C, READ_RSP),
        (S, BAD_TREE_REQ),
        (C, BAD_TREE_RSP),
        (S, DISCONNECT_REQ),
        (C, DISCONNECT_RSP),
    ]
    .iter()
    .map(|&(d, m)| (d, unhex(m)))
    .collect()
}

fn smb1_session() -> Vec<(Dir, Vec<u8>)> {
    vec![
        (Dir::ToServer, unhex(V1_NEGOTIATE_REQ)),
        (Dir::ToClient, unhex(V1_NEGOTIATE_RSP)),
        (Dir::ToServer, unhex(V1_TREE_REQ)),
        (Dir::ToClient, unhex(V1_TREE_RSP)),
    ]
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
fn smb2_session() {
    for slow in [false, true] {
        let ev = run(&session(), slow);
        let smb: Vec<_> = ev.iter().map(|e| &e["smb"]).collect();
        assert_eq!(smb.len(), 6, "{ev:?}");

        assert_eq!(smb[0]["command"], "SMB2_COMMAND_NEGOTIATE_PROTOCOL");
        assert_eq!(smb[0]["dialect"], "3.11");
        assert_eq!(
            smb[0]["client_dialects"],
            serde_json::json!(["2.02", "2.10", "3.00", "3.02", "3.11"])
        );
        assert_eq!(
            smb[0]["server_guid"],
            "00006d76-0000-0000-0000-000000000000"
        );
        assert_eq!(smb[0]["status"], "STATUS_SUCCESS");
        assert_eq!(smb[0]["status_code"], "0x0");

        assert_eq!(smb[1]["command"], "SMB2_COMMAND_SESSION_SETUP");
        assert_eq!(smb[1]["status"], "STATUS_SUCCESS");
        assert_eq!(smb[1]["session_id"], 0x7f69cc38);

        assert_eq!(smb[2]["command"], "SMB2_COMMAND_TREE_CONNECT");
        assert_eq!(smb[2]["share"], r"\\127.0.0.1\public");
        assert_eq!(smb[2]["share_type"], "FILE");
        assert_eq!(smb[2]["tree_id"], 0xaedc1a4cu32);
        assert_eq!(smb[2]["dialect"], "3.11");

        assert_eq!(smb[3]["command"], "SMB2_COMMAND_CREATE");
        assert_eq!(smb[3]["filename"], "readme.txt");

        assert_eq!(smb[4]["share"], r"\\127.0.0.1\nosuch");
        assert_eq!(smb[4]["status"], "STATUS_BAD_NETWORK_NAME");
        assert_eq!(smb[4]["status_code"], "0xc00000cc");
        assert!(smb[4].get("share_type").is_none());

        assert_eq!(smb[5]["command"], "SMB2_COMMAND_TREE_DISCONNECT");
        assert!(ev.iter().all(|e| e["event_type"] == "smb"));
    }
}

#[test]
fn created_file_name_goes_to_detection() {
    let mut h = Harness::tcp(parser());
    for (d, m) in session() {
        h.feed(d, &m);
    }
    h.finish();
    let names: Vec<Vec<String>> = (0..6)
        .map(|i| h.buffer(i, Dir::ToServer, &crate::parser::Buffer::FileName))
        .collect();
    let none = Vec::new;
    assert_eq!(
        names,
        [
            none(),
            none(),
            none(),
            vec!["readme.txt".to_string()],
            none(),
            none()
        ]
    );
}

#[test]
fn smb1_negotiate_and_tree_connect() {
    let ev = run(&smb1_session(), false);
    assert_eq!(ev.len(), 2, "{ev:?}");
    let smb = &ev[0]["smb"];
    assert_eq!(smb["command"], "SMB1_COMMAND_NEGOTIATE_PROTOCOL");
    assert_eq!(smb["dialect"], "NT LANMAN 1.0");
    let offered = smb["client_dialects"].as_array().unwrap();
    assert!(offered.iter().any(|d| d == "NT LM 0.12"), "{offered:?}");
    let smb = &ev[1]["smb"];
    assert_eq!(smb["command"], "SMB1_COMMAND_TREE_CONNECT_ANDX");
    assert_eq!(smb["share"], r"\\127.0.0.1\IPC$");
    assert_eq!(smb["status"], "STATUS_SUCCESS");
}

#[test]
fn unanswered_requests_are_logged_at_the_end() {
    let ev = run(&[(Dir::ToServer, unhex(TREE_REQ))], false);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["smb"]["share"], r"\\127.0.0.1\public");
    assert!(ev[0]["smb"].get("status").is_none());
}

#[test]
fn large_frames_are_skipped_not_buffered() {
    // A 1 MiB READ response: its header is read, its data skipped as it streams by.
    let mut read = unhex(READ_RSP);
    let len = 1 << 20;
    read[1..4].copy_from_slice(&(len as u32).to_be_bytes()[1..]);
    read.resize(4 + len, 0x41);
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToServer, &unhex(TREE_REQ));
    for chunk in read.chunks(1460) {
        h.feed(Dir::ToClient, chunk);
    }
    h.feed(Dir::ToClient, &unhex(TREE_RSP));
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["smb"]["share_type"], "FILE");
}

#[test]
fn gap_inside_skipped_data_is_harmless() {
    let mut h = Harness::tcp(parser());
    let mut read = unhex(READ_RSP);
    let len = 100_000;
    read[1..4].copy_from_slice(&(len as u32).to_be_bytes()[1..]);
    read.resize(6000, 0x41);
    h.feed(Dir::ToServer, &unhex(TREE_REQ));
    h.feed(Dir::ToClient, &read);
    assert!(h.gap(Dir::ToClient, 50_000));
    h.feed(Dir::ToClient, &vec![0x41; 4 + len - 6000 - 50_000]);
    h.feed(Dir::ToClient, &unhex(TREE_RSP));
    assert_eq!(h.events().len(), 1);
}

#[test]
fn probes() {
    let p = |d, data: &[u8]| probe(&probe_input(d, data, Transport::Tcp, 445));
    assert_eq!(p(Dir::ToServer, &unhex(NEGOTIATE_REQ)), Probe::Match);
    assert_eq!(p(Dir::ToClient, &unhex(NEGOTIATE_RSP)), Probe::Match);
    assert_eq!(p(Dir::ToServer, &unhex(V1_NEGOTIATE_REQ)), Probe::Match);
    assert_eq!(
        p(Dir::ToServer, &unhex(NEGOTIATE_REQ)[..6]),
        Probe::NeedMore
    );
    assert_eq!(p(Dir::ToServer, &[0]), Probe::NeedMore);
    // Port 139: a session request first, then the SMB.
    let mut nbt = vec![0x81, 0, 0, 4, b'A', 0, b'B', 0];
    assert_eq!(p(Dir::ToServer, &nbt), Probe::NeedMore);
    nbt.extend_from_slice(&unhex(V1_NEGOTIATE_REQ));
    assert_eq!(p(Dir::ToServer, &nbt), Probe::Match);
    assert_eq!(p(Dir::ToServer, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
    assert_eq!(
        p(
            Dir::ToServer,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
        ),
        Probe::NoMatch
    );
    assert_eq!(
        p(Dir::ToServer, b"\x00\x00\x00\x2c\x00\x01\x00\x00"),
        Probe::NoMatch
    );
    assert_eq!(p(Dir::ToServer, b"SSH-2.0-OpenSSH_9.6\r\n"), Probe::NoMatch);
}

#[test]
fn hostile_input() {
    hostile(parser, probe, true, &[session(), smb1_session()], 3000);
}

/// Lengths at their limits: an empty NBSS message, an SMB2 compound whose next-command
/// offset is 4 GiB, and an SMB1 TREE_CONNECT_ANDX whose password length runs past the
/// frame. None panics; what can be read is logged.
#[test]
fn edge_lengths() {
    let nbss = |m: &[u8]| {
        let mut f = vec![0, 0, 0, 0];
        f[1..].copy_from_slice(&(m.len() as u32).to_be_bytes()[1..]);
        f.extend_from_slice(m);
        f
    };
    // SMB2 NEGOTIATE request header (command 0, message id 0), next command 0xffffffff.
    let mut smb2 = vec![0u8; 64 + 36];
    smb2[..4].copy_from_slice(b"\xfeSMB");
    smb2[4] = 64;
    smb2[20..24].copy_from_slice(&[0xff; 4]);
    // SMB1 TREE_CONNECT_ANDX request, unicode, 4 parameter words, password length 0xffff.
    let mut smb1 = vec![0u8; 32];
    smb1[..4].copy_from_slice(b"\xffSMB");
    smb1[4] = 0x75;
    smb1[10..12].copy_from_slice(&0x8000u16.to_le_bytes());
    smb1.extend_from_slice(&[4, 0xff, 0, 0, 0, 0, 0, 0xff, 0xff, 4, 0, b'a', 0, b'b', 0]);
    for frame in [nbss(b""), nbss(&smb2), nbss(&smb1)] {
        let mut h = Harness::tcp(parser());
        h.feed(Dir::ToServer, &frame);
        h.finish();
        let _ = h.events();
    }
}
