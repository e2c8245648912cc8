//! Any bytes, as the packets of one TCP or UDP conversation on a chosen port, through the
//! decoder, the flow table and the whole application layer (reassembly, every probe, every
//! parser): must never panic.
//!
//! Input: one byte choosing the server port and transport, then records of
//! `[control][len][len bytes of payload]`; `control` bit 0 is the direction, bits 1–2 move the
//! sequence number (in order, back, ahead: retransmissions, overlaps and holes), bit 3 sets
//! FIN, bit 4 makes it a bare ACK that acknowledges ahead (a gap).
#![no_main]

use std::sync::Arc;

use etherparse::PacketBuilder;
use libfuzzer_sys::fuzz_target;
use nta_flow::{FlowConfig, FlowTable, PacketView};
use nta_packet::{Decoder, DecoderConfig, LinkType};
use nta_protocols::{builtins, AppConfig, AppLayer, Entry, ProtocolRef, Registry};

const PORTS: [u16; 16] = [
    80, 443, 53, 22, 25, 21, 67, 123, 161, 445, 1883, 502, 5060, 8080, 2121, 40001,
];

fn registry() -> Arc<Registry> {
    let entries = builtins()
        .into_iter()
        .map(|b| {
            let ports = b.info.ports.clone();
            Entry {
                proto: Arc::new(b) as ProtocolRef,
                enabled: true,
                ports,
                log: true,
            }
        })
        .collect();
    Arc::new(Registry::new(entries).expect("built-ins fit"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let port = PORTS[usize::from(sel & 15)];
    let udp = sel & 0x10 != 0;
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut flows = FlowTable::new(FlowConfig::default());
    let mut app = AppLayer::new(registry(), AppConfig::default());
    let mut seq = [1000u32, 5000u32];
    let mut frame = Vec::new();
    let mut ts = 1_000_000_000u64;
    let mut first = true;
    while rest.len() >= 2 {
        let (control, len) = (rest[0], usize::from(rest[1]));
        let payload = &rest[2..(2 + len).min(rest.len())];
        rest = &rest[(2 + len).min(rest.len())..];
        let to_server = control & 1 == 0;
        let d = usize::from(!to_server);
        let (src, dst, sp, dp) = if to_server {
            ([10, 0, 0, 1], [10, 0, 0, 2], 40000, port)
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1], port, 40000)
        };
        let b = PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(src, dst, 64);
        frame.clear();
        if udp {
            let b = b.udp(sp, dp);
            let _ = b.write(&mut frame, payload);
        } else {
            let s = match (control >> 1) & 3 {
                1 => seq[d].wrapping_sub(payload.len() as u32 / 2 + 1),
                2 => seq[d].wrapping_add(7),
                _ => seq[d],
            };
            let ack = if control & 0x10 != 0 {
                seq[1 - d].wrapping_add(100)
            } else {
                seq[1 - d]
            };
            let mut b = b.tcp(sp, dp, s, 65535).ack(ack);
            if first {
                b = b.syn();
            }
            if control & 8 != 0 {
                b = b.fin();
            }
            let body = if control & 0x10 != 0 { &[][..] } else { payload };
            let _ = b.write(&mut frame, body);
            seq[d] = s.wrapping_add(body.len() as u32);
        }
        first = false;
        ts += 1_000_000;
        if let Some(p) = dec.decode(LinkType::from_u32(1), ts, frame.len() as u32, &frame) {
            let (flow, to_server) = flows.update(&PacketView::from_packet(&p), &mut |e| {
                let _ = app.flow_end(&e, &mut |_| {});
            });
            app.packet(flow, to_server, &p, &mut |_| {});
        }
    }
    flows.flush(nta_flow::EndReason::Shutdown, &mut |e| {
        let _ = app.flow_end(&e, &mut |_| {});
    });
});
