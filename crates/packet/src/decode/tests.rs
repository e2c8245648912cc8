use super::*;
use etherparse::PacketBuilder;

fn dec() -> Decoder {
    Decoder::new(DecoderConfig::default())
}

fn tcp_ipv4_frame() -> Vec<u8> {
    let b = PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(1234, 80, 1000, 4096)
        .syn();
    let mut v = Vec::new();
    b.write(&mut v, b"hello").unwrap();
    v
}

fn udp_ip_packet(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ipv4(src, dst, 64).udp(sport, dport);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1];
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn inner_tcp_ipv4() -> Vec<u8> {
    let b = PacketBuilder::ipv4([192, 168, 1, 1], [192, 168, 1, 2], 64)
        .tcp(40000, 443, 1, 100)
        .ack(5);
    let mut v = Vec::new();
    b.write(&mut v, b"inner").unwrap();
    v
}

fn assert_inner(p: &Packet<'_>, kind: TunnelKind) {
    assert_eq!(p.src, "192.168.1.1".parse::<IpAddr>().unwrap());
    assert_eq!(p.dst, "192.168.1.2".parse::<IpAddr>().unwrap());
    assert_eq!(p.transport.ports(), (40000, 443));
    assert_eq!(p.payload, b"inner");
    assert_eq!(p.tunnels.last().map(|t| t.kind), Some(kind));
}

#[test]
fn ethernet_ipv4_tcp() {
    let f = tcp_ipv4_frame();
    let mut d = dec();
    let p = d.decode(LinkType::Ethernet, 5, f.len() as u32, &f).unwrap();
    assert_eq!(p.proto, ip_proto::TCP);
    assert_eq!(p.transport.ports(), (1234, 80));
    match p.transport {
        Transport::Tcp(t) => assert!(t.flags.has(TcpFlags::SYN)),
        _ => panic!("not tcp"),
    }
    assert_eq!(p.payload, b"hello");
    assert!(p.tunnels.is_empty());
    assert!(!p.truncated);
}

#[test]
fn ipv4_options_and_ipv6_extension_headers() {
    let mut ip =
        etherparse::Ipv4Header::new(0, 64, etherparse::IpNumber::UDP, [1, 1, 1, 1], [2, 2, 2, 2])
            .unwrap();
    ip.options = [1u8, 1, 1, 0][..].try_into().unwrap();
    let b = PacketBuilder::ethernet2([1; 6], [2; 6])
        .ip(etherparse::IpHeaders::Ipv4(ip, Default::default()))
        .udp(5, 6);
    let mut f = Vec::new();
    b.write(&mut f, b"x").unwrap();
    let mut d = dec();
    let p = d.decode(LinkType::Ethernet, 0, f.len() as u32, &f).unwrap();
    assert_eq!(p.transport.ports(), (5, 6));

    // IPv6 with a hop-by-hop header before UDP.
    let mut v6 = vec![0x60, 0, 0, 0, 0, 0, 0 /* hop-by-hop */, 64];
    v6.extend_from_slice(&[0xfd; 16]);
    v6.extend_from_slice(&[0xfe; 16]);
    let mut pl = vec![17, 0, 1, 4, 0, 0, 0, 0]; // HBH: next UDP, len 0, PadN
    pl.extend_from_slice(&[0, 7, 0, 8, 0, 9, 0, 0]);
    pl.push(b'y');
    v6[4..6].copy_from_slice(&(pl.len() as u16).to_be_bytes());
    v6.extend_from_slice(&pl);
    let p = d.decode(LinkType::Raw, 0, v6.len() as u32, &v6).unwrap();
    assert_eq!(p.proto, ip_proto::UDP);
    assert_eq!(p.transport.ports(), (7, 8));
}

#[test]
fn stacked_vlans_mpls_pppoe() {
    let ip = udp_ip_packet([1, 2, 3, 4], [5, 6, 7, 8], 53, 5353, b"q");
    // Four stacked tags: 0x88a8 outer, then 0x8100s.
    let mut l2 = Vec::new();
    for (i, tpid_next) in [0x8100u16, 0x8100, 0x8100, 0x0800].iter().enumerate() {
        l2.extend_from_slice(&(100 + i as u16).to_be_bytes());
        l2.extend_from_slice(&tpid_next.to_be_bytes());
    }
    l2.extend_from_slice(&ip);
    let f = eth(0x88A8, &l2);
    let mut d = dec();
    let p = d.decode(LinkType::Ethernet, 0, f.len() as u32, &f).unwrap();
    assert_eq!(p.vlan.as_slice(), &[100, 101, 102]);
    assert_eq!(d.counters().seen_count(Seen::Vlan), 4);

    let mut mpls = vec![0, 1, 0, 64, 0, 2, 1, 64]; // two labels, second bottom-of-stack
    mpls.extend_from_slice(&ip);
    let f = eth(0x8847, &mpls);
    assert!(d
        .decode(LinkType::Ethernet, 0, f.len() as u32, &f)
        .is_some());

    let mut pppoe = vec![0x11, 0, 0, 1];
    pppoe.extend_from_slice(&((ip.len() + 2) as u16).to_be_bytes());
    pppoe.extend_from_slice(&[0x00, 0x21]);
    pppoe.extend_from_slice(&ip);
    let f = eth(0x8864, &pppoe);
    let p = d.decode(LinkType::Ethernet, 0, f.len() as u32, &f).unwrap();
    assert_eq!(p.transport.ports(), (53, 5353));
}

#[test]
fn cooked_null_raw_and_nflog_link_types() {
    let ip = udp_ip_packet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2, b"z");
    let mut d = dec();
    let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
    sll.extend_from_slice(&ip);
    assert!(d.decode(LinkType::LinuxSll, 0, 0, &sll).is_some());
    let mut sll2 = vec![
        0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
    ];
    sll2.extend_from_slice(&ip);
    assert!(d.decode(LinkType::LinuxSll2, 0, 0, &sll2).is_some());
    let mut null = 2u32.to_le_bytes().to_vec();
    null.extend_from_slice(&ip);
    assert!(d.decode(LinkType::Null, 0, 0, &null).is_some());
    let mut lo = 2u32.to_be_bytes().to_vec();
    lo.extend_from_slice(&ip);
    assert!(d.decode(LinkType::Loop, 0, 0, &lo).is_some());
    assert!(d.decode(LinkType::Raw, 0, 0, &ip).is_some());
    assert!(d.decode(LinkType::Ipv4, 0, 0, &ip).is_some());
    // NFLOG: header, a prefix TLV (type 10), then the payload TLV (type 9).
    let mut nf = vec![2, 0, 0, 1];
    nf.extend_from_slice(&8u16.to_le_bytes());
    nf.extend_from_slice(&10u16.to_le_bytes());
    nf.extend_from_slice(b"abcd");
    nf.extend_from_slice(&((ip.len() + 4) as u16).to_le_bytes());
    nf.extend_from_slice(&9u16.to_le_bytes());
    nf.extend_from_slice(&ip);
    let p = d.decode(LinkType::Nflog, 0, 0, &nf).unwrap();
    assert_eq!(p.transport.ports(), (1, 2));
    assert!(d.decode(LinkType::Unknown(147), 0, 0, &ip).is_none());
    assert_eq!(d.counters().anomaly_count(Anomaly::UnknownLinkType), 1);
}

#[test]
fn vxlan_geneve_gtpu_teredo() {
    let mut d = dec();
    let inner_eth = eth(0x0800, &inner_tcp_ipv4());
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
    vx.extend_from_slice(&inner_eth);
    let f = eth(
        0x0800,
        &udp_ip_packet([10, 0, 0, 1], [10, 0, 0, 2], 5555, 4789, &vx),
    );
    let p = d.decode(LinkType::Ethernet, 0, 0, &f).unwrap();
    assert_inner(&p, TunnelKind::Vxlan);
    assert_eq!(p.tunnels[0].dport, 4789);

    let mut gn = vec![0x00, 0, 0x65, 0x58, 0, 0, 1, 0];
    gn.extend_from_slice(&inner_eth);
    let f = eth(
        0x0800,
        &udp_ip_packet([10, 0, 0, 1], [10, 0, 0, 2], 5555, 6081, &gn),
    );
    assert_inner(
        &d.decode(LinkType::Ethernet, 0, 0, &f).unwrap(),
        TunnelKind::Geneve,
    );

    let inner = inner_tcp_ipv4();
    let mut gtp = vec![0x30, 0xFF];
    gtp.extend_from_slice(&(inner.len() as u16).to_be_bytes());
    gtp.extend_from_slice(&[0, 0, 0, 9]);
    gtp.extend_from_slice(&inner);
    let f = eth(
        0x0800,
        &udp_ip_packet([10, 0, 0, 1], [10, 0, 0, 2], 2152, 2152, &gtp),
    );
    assert_inner(
        &d.decode(LinkType::Ethernet, 0, 0, &f).unwrap(),
        TunnelKind::Gtpu,
    );

    let b = PacketBuilder::ipv6(
        [0x20, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
        64,
    )
    .udp(7, 9);
    let mut v6 = Vec::new();
    b.write(&mut v6, b"t").unwrap();
    let f = eth(
        0x0800,
        &udp_ip_packet([10, 0, 0, 1], [10, 0, 0, 2], 3544, 40000, &v6),
    );
    let p = d.decode(LinkType::Ethernet, 0, 0, &f).unwrap();
    assert_eq!(p.transport.ports(), (7, 9));
    assert_eq!(p.tunnels[0].kind, TunnelKind::Teredo);
    // Not IPv6 on the Teredo port: stays plain UDP.
    let f = eth(
        0x0800,
        &udp_ip_packet([10, 0, 0, 1], [10, 0, 0, 2], 3544, 40000, b"junk"),
    );
    let p = d.decode(LinkType::Ethernet, 0, 0, &f).unwrap();
    assert!(p.tunnels.is_empty());
}

fn ip4_with_proto(proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = etherparse::Ipv4Header::new(
        payload.len() as u16,
        64,
        etherparse::IpNumber(proto),
        [10, 9, 9, 1],
        [10, 9, 9, 2],
    )
    .unwrap();
    h.header_checksum = h.calc_header_checksum();
    let mut v = h.to_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

#[test]
fn gre_erspan_and_ip_in_ip() {
    let mut d = dec();
    let inner = inner_tcp_ipv4();
    let mut gre = vec![0, 0, 0x08, 0x00];
    gre.extend_from_slice(&inner);
    let f = eth(0x0800, &ip4_with_proto(47, &gre));
    assert_inner(
        &d.decode(LinkType::Ethernet, 0, 0, &f).unwrap(),
        TunnelKind::Gre,
    );

    // GRE in GRE.
    let mut outer = vec![0x20, 0, 0x08, 0x00, 0, 0, 0, 5]; // key present
    outer.extend_from_slice(&ip4_with_proto(47, &gre));
    let f = eth(0x0800, &ip4_with_proto(47, &outer));
    let p = d.decode(LinkType::Ethernet, 0, 0, &f).unwrap();
    assert_inner(&p, TunnelKind::Gre);
    assert_eq!(p.tunnels.len(), 2);

    let inner_eth = eth(0x0800, &inner);
    let mut e2 = vec![0x10, 0, 0x88, 0xBE, 0, 0, 0, 1]; // S bit + seq
    e2.extend_from_slice(&[0x10, 0x01, 0, 0, 0, 0, 0, 0]);
    e2.extend_from_slice(&inner_eth);
    let f = eth(0x0800, &ip4_with_proto(47, &e2));
    assert_inner(
        &d.decode(LinkType::Ethernet, 0, 0, &f).unwrap(),
        TunnelKind::Erspan2,
    );

    let mut e3 = vec![0x10, 0, 0x22, 0xEB, 0, 0, 0, 1];
    e3.extend_from_slice(&[0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    e3.extend_from_slice(&inner_eth);
    let f = eth(0x0800, &ip4_with_proto(47, &e3));
    assert_inner(
        &d.decode(LinkType::Ethernet, 0, 0, &f).unwrap(),
        TunnelKind::Erspan3,
    );

    let mut e1 = vec![0, 0, 0x88, 0xBE];
    e1.extend_from_slice(&inner_eth);
    let f = eth(0x0800, &ip4_with_proto(47, &e1));
    assert_inner(
        &d.decode(LinkType::Ethernet, 0, 0, &f).unwrap(),
        TunnelKind::Erspan1,
    );

    let f = eth(0x0800, &ip4_with_proto(4, &inner));
    assert_inner(
        &d.decode(LinkType::Ethernet, 0, 0, &f).unwrap(),
        TunnelKind::Ip4In4,
    );
}

#[test]
fn ipv4_fragments_reassemble_through_decoder() {
    let payload: Vec<u8> = (0..100u8).collect();
    let whole = udp_ip_packet([10, 0, 0, 1], [10, 0, 0, 2], 1000, 2000, &payload);
    let udp = &whole[20..];
    let mk = |off: usize, more: bool, data: &[u8]| {
        let mut h = etherparse::Ipv4Header::new(
            data.len() as u16,
            64,
            etherparse::IpNumber::UDP,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
        )
        .unwrap();
        h.identification = 99;
        h.more_fragments = more;
        h.fragment_offset = etherparse::IpFragOffset::try_new((off / 8) as u16).unwrap();
        let mut v = h.to_bytes().to_vec();
        v.extend_from_slice(data);
        eth(0x0800, &v)
    };
    let f1 = mk(0, true, &udp[..64]);
    let f2 = mk(64, false, &udp[64..]);
    let mut d = dec();
    assert!(d
        .decode(LinkType::Ethernet, 1, f2.len() as u32, &f2)
        .is_none());
    let p = d
        .decode(LinkType::Ethernet, 2, f1.len() as u32, &f1)
        .unwrap();
    assert!(p.reassembled);
    assert_eq!(p.transport.ports(), (1000, 2000));
    assert_eq!(p.payload, &payload[..]);
    assert_eq!(p.wire_len as usize, f1.len() + f2.len());
    assert_eq!(d.counters().seen_count(Seen::Reassembled), 1);
}

#[test]
fn ipv6_fragments_reassemble() {
    let payload = [7u8; 40];
    let mut udp = Vec::new();
    udp.extend_from_slice(&1u16.to_be_bytes());
    udp.extend_from_slice(&2u16.to_be_bytes());
    udp.extend_from_slice(&48u16.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(&payload);
    let mk = |off: usize, more: bool, data: &[u8]| {
        let mut v = vec![0x60, 0, 0, 0];
        v.extend_from_slice(&((data.len() + 8) as u16).to_be_bytes());
        v.extend_from_slice(&[44, 64]);
        v.extend_from_slice(&[0xfd; 16]);
        v.extend_from_slice(&[0xfe; 16]);
        let of = ((off / 8) as u16) << 3 | u16::from(more);
        v.extend_from_slice(&[17, 0]);
        v.extend_from_slice(&of.to_be_bytes());
        v.extend_from_slice(&0xabcdu32.to_be_bytes());
        v.extend_from_slice(data);
        v
    };
    let mut d = dec();
    let a = mk(0, true, &udp[..24]);
    let b = mk(24, false, &udp[24..]);
    assert!(d.decode(LinkType::Raw, 0, 0, &a).is_none());
    let p = d.decode(LinkType::Raw, 0, 0, &b).unwrap();
    assert_eq!(p.transport.ports(), (1, 2));
    assert_eq!(p.payload, &payload);
}

#[test]
fn truncation_is_counted_not_fatal() {
    let f = tcp_ipv4_frame();
    let mut d = dec();
    for cut in 0..f.len() {
        // Cut by corruption (wire_len says the frame is whole): an anomaly, never a panic.
        let _ = d.decode(LinkType::Ethernet, 0, cut as u32, &f[..cut]);
    }
    assert!(d.counters().anomaly_count(Anomaly::EthernetTruncated) > 0);
    assert!(d.counters().anomaly_count(Anomaly::Ipv4Truncated) > 0);
    // Cut by the snap length: still tracked, marked truncated.
    let p = d
        .decode(LinkType::Ethernet, 0, f.len() as u32, &f[..f.len() - 3])
        .unwrap();
    assert!(p.truncated);
    assert_eq!(p.payload, b"he");
}

#[test]
fn random_bytes_never_panic() {
    let mut d = dec();
    let mut x = 0x1234_5678_9abc_def0u64;
    let mut buf = vec![0u8; 256];
    let seeds = [
        tcp_ipv4_frame(),
        eth(0x0800, &ip4_with_proto(47, &[0, 0, 0x88, 0xBE, 1, 2])),
    ];
    for i in 0..20_000 {
        let base = &seeds[i % seeds.len()];
        buf.clear();
        buf.extend_from_slice(base);
        for _ in 0..4 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pos = (x as usize) % buf.len();
            buf[pos] = (x >> 32) as u8;
        }
        let len = (x as usize >> 8) % (buf.len() + 1);
        for lt in [
            LinkType::Ethernet,
            LinkType::Raw,
            LinkType::Nflog,
            LinkType::LinuxSll2,
            LinkType::Null,
        ] {
            let _ = d.decode(lt, i as u64, len as u32, &buf[..len]);
            let _ = crate::dispatch_hash(lt, &buf[..len]);
        }
    }
}

#[test]
fn dispatch_hash_is_symmetric() {
    let a = eth(
        0x0800,
        &udp_ip_packet([1, 1, 1, 1], [2, 2, 2, 2], 5, 6, b""),
    );
    let b = eth(
        0x0800,
        &udp_ip_packet([2, 2, 2, 2], [1, 1, 1, 1], 6, 5, b""),
    );
    let h = crate::dispatch_hash(LinkType::Ethernet, &a);
    assert_ne!(h, 0);
    assert_eq!(h, crate::dispatch_hash(LinkType::Ethernet, &b));
}

#[test]
fn traffic_dressed_as_a_tunnel_is_still_tracked_as_its_outer_flow() {
    let mut d = dec();
    // VXLAN flags, then no valid Ethernet/IP inside.
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
    vx.extend_from_slice(&[0xff; 6]);
    let f = eth(
        0x0800,
        &udp_ip_packet([10, 0, 0, 1], [10, 0, 0, 2], 5555, 4789, &vx),
    );
    let p = d.decode(LinkType::Ethernet, 0, 0, &f).unwrap();
    assert_eq!(p.transport.ports(), (5555, 4789));
    assert!(p.tunnels.is_empty());
    // GRE with an unknown protocol type.
    let f = eth(0x0800, &ip4_with_proto(47, &[0, 0, 0x12, 0x34, 1, 2, 3, 4]));
    let p = d.decode(LinkType::Ethernet, 0, 0, &f).unwrap();
    assert_eq!(p.proto, ip_proto::GRE);
    assert_eq!(d.counters().anomaly_count(Anomaly::GreUnknownPayload), 1);
    assert_eq!(d.counters().invalid, 0);
}

#[test]
fn gtpu_sequence_flag_alone_has_no_extension_headers() {
    let inner = inner_tcp_ipv4();
    // S flag only; the unused next-extension byte holds garbage (0x85).
    let mut gtp = vec![0x32, 0xFF];
    gtp.extend_from_slice(&((inner.len() + 4) as u16).to_be_bytes());
    gtp.extend_from_slice(&[0, 0, 0, 9, 0, 1, 0, 0x85]);
    gtp.extend_from_slice(&inner);
    let f = eth(
        0x0800,
        &udp_ip_packet([10, 0, 0, 1], [10, 0, 0, 2], 2152, 2152, &gtp),
    );
    let mut d = dec();
    assert_inner(
        &d.decode(LinkType::Ethernet, 0, 0, &f).unwrap(),
        TunnelKind::Gtpu,
    );
}

#[test]
fn ipv6_fragments_reassemble_whatever_later_next_headers_say() {
    // RFC 8200 §4.5: only the offset-zero fragment's Next Header counts.
    let mut udp = Vec::new();
    udp.extend_from_slice(&[0, 1, 0, 2, 0, 24, 0, 0]);
    udp.extend_from_slice(&[9u8; 16]);
    let mk = |off: usize, more: bool, nh: u8, data: &[u8]| {
        let mut v = vec![0x60, 0, 0, 0];
        v.extend_from_slice(&((data.len() + 8) as u16).to_be_bytes());
        v.extend_from_slice(&[44, 64]);
        v.extend_from_slice(&[0xfd; 16]);
        v.extend_from_slice(&[0xfe; 16]);
        let of = ((off / 8) as u16) << 3 | u16::from(more);
        v.extend_from_slice(&[nh, 0]);
        v.extend_from_slice(&of.to_be_bytes());
        v.extend_from_slice(&7u32.to_be_bytes());
        v.extend_from_slice(data);
        v
    };
    let mut d = dec();
    // The later fragment says "destination options" (60): its data is still fragment data.
    assert!(d
        .decode(LinkType::Raw, 0, 0, &mk(16, false, 60, &udp[16..]))
        .is_none());
    let first = mk(0, true, 17, &udp[..16]);
    let p = d.decode(LinkType::Raw, 0, 0, &first).unwrap();
    assert!(p.reassembled);
    assert_eq!(p.transport.ports(), (1, 2));
}

#[test]
fn ipv4_fragments_of_an_ah_datagram_reassemble() {
    // Protocol 51 (AH): fragment data is reassembled raw, AH header included.
    let mk = |off: usize, more: bool, data: &[u8]| {
        let mut h = etherparse::Ipv4Header::new(
            data.len() as u16,
            64,
            etherparse::IpNumber(51),
            [10, 0, 0, 1],
            [10, 0, 0, 2],
        )
        .unwrap();
        h.identification = 5;
        h.more_fragments = more;
        h.fragment_offset = etherparse::IpFragOffset::try_new((off / 8) as u16).unwrap();
        let mut v = h.to_bytes().to_vec();
        v.extend_from_slice(data);
        v
    };
    // AH: next header UDP, payload len 4 (=> 24 bytes), then UDP.
    let mut dgram = vec![17, 4, 0, 0];
    dgram.extend_from_slice(&[0; 20]);
    dgram.extend_from_slice(&[0, 7, 0, 8, 0, 12, 0, 0, 1, 2, 3, 4]);
    let mut d = dec();
    assert!(d
        .decode(LinkType::Raw, 0, 0, &mk(0, true, &dgram[..16]))
        .is_none());
    let last = mk(16, false, &dgram[16..]);
    let p = d.decode(LinkType::Raw, 0, 0, &last).unwrap();
    assert!(p.reassembled);
    assert_eq!(p.transport.ports(), (7, 8));
    assert_eq!(d.counters().anomaly_count(Anomaly::Ipv4ExtHeaderInvalid), 0);
}

#[test]
fn a_fragment_held_inside_a_tunnel_is_not_its_outer_flow() {
    let whole = udp_ip_packet([192, 168, 1, 1], [192, 168, 1, 2], 7, 9, &[5; 40]);
    let udp = &whole[20..];
    let frag = |off: usize, more: bool, data: &[u8]| {
        let mut h = etherparse::Ipv4Header::new(
            data.len() as u16,
            64,
            etherparse::IpNumber::UDP,
            [192, 168, 1, 1],
            [192, 168, 1, 2],
        )
        .unwrap();
        h.identification = 3;
        h.more_fragments = more;
        h.fragment_offset = etherparse::IpFragOffset::try_new((off / 8) as u16).unwrap();
        let mut v = vec![0, 0, 0x08, 0x00];
        v.extend_from_slice(&h.to_bytes());
        v.extend_from_slice(data);
        eth(0x0800, &ip4_with_proto(47, &v))
    };
    let mut d = dec();
    let first = frag(0, true, &udp[..24]);
    assert!(d.decode(LinkType::Ethernet, 0, 0, &first).is_none());
    let last = frag(24, false, &udp[24..]);
    let p = d.decode(LinkType::Ethernet, 0, 0, &last).unwrap();
    assert!(p.reassembled);
    assert_eq!(p.transport.ports(), (7, 9));
    assert_eq!(p.tunnels.len(), 1);
}

#[test]
fn the_fast_path_agrees_with_the_full_walk() {
    // Mutated TCP and UDP frames (and some that must be declined): both paths must give the
    // same packet and the same counters.
    let mut base = vec![tcp_ipv4_frame()];
    base.push(eth(
        0x0800,
        &udp_ip_packet([1, 2, 3, 4], [5, 6, 7, 8], 1000, 53, b"query"),
    ));
    base.push(eth(
        0x0800,
        &udp_ip_packet([1, 2, 3, 4], [5, 6, 7, 8], 1000, 4789, b"xx"),
    ));
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let (mut fast, mut full) = (dec(), dec());
    let mut taken = 0;
    for i in 0..30_000 {
        let mut f = base[i % base.len()].clone();
        for _ in 0..(i % 3) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pos = 12 + (x as usize) % (f.len() - 12);
            f[pos] = (x >> 32) as u8;
        }
        let wire = if i % 7 == 0 { f.len() + 4 } else { f.len() } as u32;
        let a = fast
            .decode(LinkType::Ethernet, i as u64, wire, &f)
            .map(|p| format!("{p:?}"));
        let b = full
            .decode_general(LinkType::Ethernet, i as u64, wire, &f)
            .map(|p| format!("{p:?}"));
        if super::fast::ethernet_ipv4(&DecoderConfig::default(), 0, wire, &f).is_some() {
            taken += 1;
        }
        assert_eq!(a, b, "frame {i}: {f:02x?}");
    }
    assert!(taken > 5_000, "the fast path was taken {taken} times");
    assert_eq!(
        format!("{:?}", fast.counters()),
        format!("{:?}", full.counters())
    );
}
