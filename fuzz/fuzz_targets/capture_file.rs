//! Any bytes as a pcap/pcapng file: the reader must end with packets, an error naming the
//! problem, or the end — never a panic or an endless loop.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nta_capture::{FileSource, PacketSource, SourceEvent};

fuzz_target!(|data: &[u8]| {
    let input = Box::new(std::io::Cursor::new(data.to_vec()));
    let Ok(mut src) = FileSource::from_reader("fuzz.pcap", input, None) else {
        return;
    };
    for _ in 0..100_000 {
        match src.next_packet() {
            Ok(SourceEvent::Packet(p)) => {
                assert!(p.data.len() <= data.len());
            }
            _ => return,
        }
    }
});
