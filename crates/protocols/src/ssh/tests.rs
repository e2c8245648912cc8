//! SSH tests: banners and KEXINITs captured from an OpenSSH 4.3 client talking to an
//! OpenSSH 6.1 server (nDPI's `custom_categories.pcapng`), whose HASSHes nDPI reports as
//! d6593b32… (client) and 500033a7… (server).

use super::*;
use crate::parser::Buffer;
use crate::testing::{hostile, probe_input, Harness};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// The client's KEXINIT packet, as captured.
const CLIENT_KEXINIT: &str = concat!(
    "000003bc041454930a1b9a26234b670fae2f617364c40000007e6469666669652d68656c6c6d616e2d67726f",
    "75702d65786368616e67652d7368613235362c6469666669652d68656c6c6d616e2d67726f75702d65786368",
    "616e67652d736861312c6469666669652d68656c6c6d616e2d67726f757031342d736861312c646966666965",
    "2d68656c6c6d616e2d67726f7570312d73686131000000837373682d7273612d636572742d763031406f7065",
    "6e7373682e636f6d2c7373682d7273612d636572742d763030406f70656e7373682e636f6d2c7373682d7273",
    "612c7373682d6473732d636572742d763031406f70656e7373682e636f6d2c7373682d6473732d636572742d",
    "763030406f70656e7373682e636f6d2c7373682d6473730000009d6165733132382d6374722c616573313932",
    "2d6374722c6165733235362d6374722c617263666f75723235362c617263666f75723132382c616573313238",
    "2d6362632c336465732d6362632c626c6f77666973682d6362632c636173743132382d6362632c6165733139",
    "322d6362632c6165733235362d6362632c617263666f75722c72696a6e6461656c2d636263406c797361746f",
    "722e6c69752e73650000009d6165733132382d6374722c6165733139322d6374722c6165733235362d637472",
    "2c617263666f75723235362c617263666f75723132382c6165733132382d6362632c336465732d6362632c62",
    "6c6f77666973682d6362632c636173743132382d6362632c6165733139322d6362632c6165733235362d6362",
    "632c617263666f75722c72696a6e6461656c2d636263406c797361746f722e6c69752e736500000085686d61",
    "632d6d64352c686d61632d736861312c756d61632d3634406f70656e7373682e636f6d2c686d61632d736861",
    "322d3235362c686d61632d736861322d3531322c686d61632d726970656d643136302c686d61632d72697065",
    "6d64313630406f70656e7373682e636f6d2c686d61632d736861312d39362c686d61632d6d64352d39360000",
    "0085686d61632d6d64352c686d61632d736861312c756d61632d3634406f70656e7373682e636f6d2c686d61",
    "632d736861322d3235362c686d61632d736861322d3531322c686d61632d726970656d643136302c686d6163",
    "2d726970656d64313630406f70656e7373682e636f6d2c686d61632d736861312d39362c686d61632d6d6435",
    "2d39360000001a6e6f6e652c7a6c6962406f70656e7373682e636f6d2c7a6c69620000001a6e6f6e652c7a6c",
    "6962406f70656e7373682e636f6d2c7a6c69620000000000000000000000000000000000",
);
/// The server's KEXINIT packet, as captured.
const SERVER_KEXINIT: &str = concat!(
    "000002bc07145b65d7d30adc80df2c25073d649665e7000000596469666669652d68656c6c6d616e2d67726f",
    "75702d65786368616e67652d736861312c6469666669652d68656c6c6d616e2d67726f757031342d73686131",
    "2c6469666669652d68656c6c6d616e2d67726f7570312d736861310000000f7373682d7273612c7373682d64",
    "73730000009d6165733132382d6374722c6165733139322d6374722c6165733235362d6374722c617263666f",
    "75723235362c617263666f75723132382c6165733132382d6362632c336465732d6362632c626c6f77666973",
    "682d6362632c636173743132382d6362632c6165733139322d6362632c6165733235362d6362632c61726366",
    "6f75722c72696a6e6461656c2d636263406c797361746f722e6c69752e73650000009d6165733132382d6374",
    "722c6165733139322d6374722c6165733235362d6374722c617263666f75723235362c617263666f75723132",
    "382c6165733132382d6362632c336465732d6362632c626c6f77666973682d6362632c636173743132382d63",
    "62632c6165733139322d6362632c6165733235362d6362632c617263666f75722c72696a6e6461656c2d6362",
    "63406c797361746f722e6c69752e736500000055686d61632d6d64352c686d61632d736861312c686d61632d",
    "726970656d643136302c686d61632d726970656d64313630406f70656e7373682e636f6d2c686d61632d7368",
    "61312d39362c686d61632d6d64352d393600000055686d61632d6d64352c686d61632d736861312c686d6163",
    "2d726970656d643136302c686d61632d726970656d64313630406f70656e7373682e636f6d2c686d61632d73",
    "6861312d39362c686d61632d6d64352d3936000000156e6f6e652c7a6c6962406f70656e7373682e636f6d00",
    "0000156e6f6e652c7a6c6962406f70656e7373682e636f6d0000000000000000000000000000000000000000",
);

const CLIENT_BANNER: &[u8] = b"SSH-2.0-OpenSSH_6.1\r\n";
const SERVER_BANNER: &[u8] = b"SSH-1.99-OpenSSH_4.3\n";

fn parser() -> Box<dyn Parser> {
    Box::<SshParser>::default()
}

fn seed() -> Vec<(Dir, Vec<u8>)> {
    vec![
        (Dir::ToClient, SERVER_BANNER.to_vec()),
        (Dir::ToServer, CLIENT_BANNER.to_vec()),
        (Dir::ToServer, unhex(CLIENT_KEXINIT)),
        (Dir::ToClient, unhex(SERVER_KEXINIT)),
        (
            Dir::ToServer,
            unhex("000000140622000004000000040000002000000000000000"),
        ),
    ]
}

#[test]
fn banners_and_hassh() {
    let mut h = Harness::tcp(parser());
    for (d, m) in seed() {
        h.feed(d, &m);
    }
    // Logged as soon as both KEXINITs are read, not at the end of the flow.
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    h.finish();
    assert_eq!(h.events().len(), 1);
    let ssh = &ev[0]["ssh"];
    assert_eq!(ev[0]["event_type"], "ssh");
    assert_eq!(ssh["client"]["proto_version"], "2.0");
    assert_eq!(ssh["client"]["software_version"], "OpenSSH_6.1");
    assert_eq!(ssh["server"]["proto_version"], "1.99");
    assert_eq!(ssh["server"]["software_version"], "OpenSSH_4.3");
    assert_eq!(
        ssh["client"]["hassh"]["hash"],
        "d6593b3202a30b2aa9793a00f8647a0a"
    );
    assert_eq!(
        ssh["server"]["hassh"]["hash"],
        "500033a73a293e7c36743693d0d4596b"
    );
    let s = ssh["server"]["hassh"]["string"].as_str().unwrap();
    assert!(s.starts_with("diffie-hellman-group-exchange-sha1,"), "{s}");
    assert!(s.ends_with(";none,zlib@openssh.com"), "{s}");
    assert_eq!(s.matches(';').count(), 3);
}

#[test]
fn banner_and_hassh_buffers_per_side() {
    let mut h = Harness::tcp(parser());
    for (d, m) in seed() {
        h.feed(d, &m);
    }
    let (c, s) = (Dir::ToServer, Dir::ToClient);
    let b = |dir, buffer: Buffer| h.buffer(0, dir, &buffer);
    assert_eq!(b(c, Buffer::SshProto), ["2.0"]);
    assert_eq!(b(c, Buffer::SshSoftware), ["OpenSSH_6.1"]);
    assert_eq!(b(s, Buffer::SshProto), ["1.99"]);
    assert_eq!(b(s, Buffer::SshSoftware), ["OpenSSH_4.3"]);
    assert_eq!(b(c, Buffer::SshHassh), ["d6593b3202a30b2aa9793a00f8647a0a"]);
    assert_eq!(
        b(c, Buffer::SshHasshString),
        [
            "diffie-hellman-group-exchange-sha256,diffie-hellman-group-exchange-sha1,\
          diffie-hellman-group14-sha1,diffie-hellman-group1-sha1;aes128-ctr,aes192-ctr,\
          aes256-ctr,arcfour256,arcfour128,aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,\
          aes192-cbc,aes256-cbc,arcfour,rijndael-cbc@lysator.liu.se;hmac-md5,hmac-sha1,\
          umac-64@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-ripemd160,\
          hmac-ripemd160@openssh.com,hmac-sha1-96,hmac-md5-96;none,zlib@openssh.com,zlib"
        ]
    );
    assert_eq!(
        b(s, Buffer::SshHasshServer),
        ["500033a73a293e7c36743693d0d4596b"]
    );
    assert_eq!(
        b(s, Buffer::SshHasshServerString),
        [
            "diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha1,\
          diffie-hellman-group1-sha1;aes128-ctr,aes192-ctr,aes256-ctr,arcfour256,arcfour128,\
          aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,aes192-cbc,aes256-cbc,arcfour,\
          rijndael-cbc@lysator.liu.se;hmac-md5,hmac-sha1,hmac-ripemd160,\
          hmac-ripemd160@openssh.com,hmac-sha1-96,hmac-md5-96;none,zlib@openssh.com"
        ]
    );
    // Each side's only in its own direction.
    assert!(b(s, Buffer::SshHassh).is_empty());
    assert!(b(c, Buffer::SshHasshServer).is_empty());
}

#[test]
fn byte_at_a_time() {
    let mut h = Harness::tcp(parser());
    for (d, m) in seed() {
        for b in m {
            h.feed(d, &[b]);
        }
    }
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        ev[0]["ssh"]["client"]["hassh"]["hash"],
        "d6593b3202a30b2aa9793a00f8647a0a"
    );
}

#[test]
fn comments_and_ssh1() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToClient, b"SSH-1.5-1.2.26\n");
    h.feed(
        Dir::ToServer,
        b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n\0\0\x01\x0b",
    );
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    let ssh = &ev[0]["ssh"];
    assert_eq!(ssh["server"]["proto_version"], "1.5");
    assert_eq!(ssh["server"]["software_version"], "1.2.26");
    assert_eq!(ssh["client"]["software_version"], "OpenSSH_8.9p1");
    assert_eq!(ssh["client"]["comments"], "Ubuntu-3ubuntu0.1");
    assert!(ssh["client"].get("hassh").is_none());
}

#[test]
fn lines_before_the_server_banner() {
    let mut h = Harness::tcp(parser());
    h.feed(
        Dir::ToClient,
        b"Welcome to host\r\nSSH-2.0-dropbear_2022.83\r\n",
    );
    h.finish();
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        ev[0]["ssh"]["server"]["software_version"],
        "dropbear_2022.83"
    );
    assert!(ev[0]["ssh"].get("client").is_none());
}

#[test]
fn not_ssh_logs_nothing() {
    let mut h = Harness::tcp(parser());
    h.feed(Dir::ToServer, &[b'x'; 5000]);
    h.finish();
    assert!(h.events().is_empty());
}

#[test]
fn probes() {
    let p = |d, data: &[u8]| probe(&probe_input(d, data, Transport::Tcp, 2222));
    assert_eq!(p(Dir::ToClient, SERVER_BANNER), Probe::Match);
    assert_eq!(p(Dir::ToServer, CLIENT_BANNER), Probe::Match);
    assert_eq!(p(Dir::ToServer, b"SSH"), Probe::NeedMore);
    assert_eq!(p(Dir::ToServer, b""), Probe::NeedMore);
    assert_eq!(p(Dir::ToServer, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
    assert_eq!(
        p(
            Dir::ToServer,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
        ),
        Probe::NoMatch
    );
    assert_eq!(
        p(Dir::ToClient, b"220 mail.example.com ESMTP\r\n"),
        Probe::NoMatch
    );
    assert_eq!(p(Dir::ToServer, b"SSX-2.0"), Probe::NoMatch);
}

#[test]
fn hostile_input() {
    let mut half = seed();
    half.truncate(3);
    hostile(parser, probe, true, &[seed(), half], 3000);
}

/// Binary packet and name-list lengths at their limits: the smallest packet (length 5,
/// padding 4: an empty payload), padding equal to the length, a KEXINIT whose first
/// name-list claims 4 GiB, and a packet one byte over the KEXINIT cap.
#[test]
fn edge_packet_lengths() {
    let banner = b"SSH-2.0-OpenSSH_9.6\r\n".to_vec();
    let mut huge_list = unhex("0000002a0614");
    huge_list.extend_from_slice(&[0; 16]);
    huge_list.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    huge_list.extend_from_slice(&[0; 20]);
    let over_cap = ((16 * 1024 + 1) as u32).to_be_bytes();
    for packet in [
        unhex("0000000504")
            .into_iter()
            .chain([0; 4])
            .collect::<Vec<u8>>(),
        unhex("0000000505").into_iter().chain([0; 5]).collect(),
        huge_list,
        [&over_cap[..], &[4, 20]].concat(),
    ] {
        let mut h = Harness::tcp(parser());
        h.feed(Dir::ToServer, &banner);
        h.feed(Dir::ToServer, &packet);
        h.finish();
        let ev = h.events();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0]["ssh"]["client"]["software_version"], "OpenSSH_9.6");
        assert!(ev[0]["ssh"]["client"].get("hassh").is_none());
    }
}
