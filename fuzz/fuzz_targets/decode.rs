//! Any bytes, as a frame of any link type, through the decoder and the flow table: must never
//! panic, and whatever decodes must be accountable to a flow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nta_flow::{FlowConfig, FlowTable, PacketView};
use nta_packet::{Decoder, DecoderConfig, LinkType};

const LINKS: [u32; 9] = [0, 1, 101, 108, 113, 228, 229, 239, 276];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, frame)) = data.split_first() else {
        return;
    };
    let link = LinkType::from_u32(LINKS[usize::from(sel) % LINKS.len()]);
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut flows = FlowTable::new(FlowConfig::default());
    // Twice, so fragments and flows meet a second packet.
    for ts in [1u64, 2] {
        if let Some(p) = dec.decode(link, ts, frame.len() as u32, frame) {
            flows.update(&PacketView::from_packet(&p), &mut |_| {});
            for i in 0..p.tunnels.len() {
                if let Some(v) = PacketView::outer_udp(&p, i) {
                    flows.update(&v, &mut |_| {});
                }
            }
        }
    }
});
