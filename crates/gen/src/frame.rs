//! Serializes Ethernet/IP/L4 headers into one reusable buffer.
//!
//! A frame is built front to back: [`Frame::begin_v4`]/[`Frame::begin_v6`]
//! write the Ethernet and IP headers with zero lengths, the caller appends the
//! L4 header and payload through [`Frame::tcp_header`], [`Frame::udp_header`]
//! or [`Frame::out`], and [`Frame::finish`] fills in lengths and checksums and
//! pads to the Ethernet minimum. No allocation after the first frame.

pub(crate) const PROTO_ICMP: u8 = 1;
pub(crate) const PROTO_TCP: u8 = 6;
pub(crate) const PROTO_UDP: u8 = 17;
pub(crate) const PROTO_ICMPV6: u8 = 58;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const ETH_HEADER_LEN: usize = 14;
const IPV4_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;
/// Ethernet minimum frame without FCS: short frames carry zero padding.
pub(crate) const MIN_FRAME_LEN: usize = 60;
/// Largest frame the mix produces: 1500-byte MTU plus the Ethernet header.
pub(crate) const MAX_FRAME_LEN: usize = 1514;

pub(crate) const TCP_FIN: u8 = 0x01;
pub(crate) const TCP_SYN: u8 = 0x02;
pub(crate) const TCP_PSH: u8 = 0x08;
pub(crate) const TCP_ACK: u8 = 0x10;

/// Which L4 checksum [`Frame::finish`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum L4 {
    Tcp,
    Udp,
    Icmpv4,
    Icmpv6,
}

impl L4 {
    fn checksum_offset(self) -> usize {
        match self {
            L4::Tcp => 16,
            L4::Udp => 6,
            L4::Icmpv4 | L4::Icmpv6 => 2,
        }
    }

    fn proto(self) -> u8 {
        match self {
            L4::Tcp => PROTO_TCP,
            L4::Udp => PROTO_UDP,
            L4::Icmpv4 => PROTO_ICMP,
            L4::Icmpv6 => PROTO_ICMPV6,
        }
    }
}

/// The TCP header fields a segment needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TcpFields<'a> {
    pub(crate) src_port: u16,
    pub(crate) dst_port: u16,
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    pub(crate) flags: u8,
    pub(crate) window: u16,
    /// Already padded to a multiple of 4 bytes.
    pub(crate) options: &'a [u8],
}

/// One frame under construction (see the module doc for the protocol).
#[derive(Debug)]
pub(crate) struct Frame {
    buf: Vec<u8>,
    v6: bool,
}

impl Frame {
    pub(crate) fn new() -> Self {
        Self {
            buf: Vec::with_capacity(MAX_FRAME_LEN),
            v6: false,
        }
    }

    fn l4_start(&self) -> usize {
        ETH_HEADER_LEN
            + if self.v6 {
                IPV6_HEADER_LEN
            } else {
                IPV4_HEADER_LEN
            }
    }

    fn ethernet(&mut self, src_mac: &[u8; 6], dst_mac: &[u8; 6], ethertype: u16) {
        self.buf.clear();
        self.buf.extend_from_slice(dst_mac);
        self.buf.extend_from_slice(src_mac);
        self.buf.extend_from_slice(&ethertype.to_be_bytes());
    }

    /// Starts an IPv4 frame (DF set, no options).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn begin_v4(
        &mut self,
        src_mac: &[u8; 6],
        dst_mac: &[u8; 6],
        src: [u8; 4],
        dst: [u8; 4],
        proto: u8,
        ttl: u8,
        ip_id: u16,
    ) {
        self.v6 = false;
        self.ethernet(src_mac, dst_mac, ETHERTYPE_IPV4);
        let id = ip_id.to_be_bytes();
        self.buf
            .extend_from_slice(&[0x45, 0, 0, 0, id[0], id[1], 0x40, 0, ttl, proto, 0, 0]);
        self.buf.extend_from_slice(&src);
        self.buf.extend_from_slice(&dst);
    }

    /// Starts an IPv6 frame (no extension headers).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn begin_v6(
        &mut self,
        src_mac: &[u8; 6],
        dst_mac: &[u8; 6],
        src: [u8; 16],
        dst: [u8; 16],
        next_header: u8,
        hop_limit: u8,
        flow_label: u32,
    ) {
        self.v6 = true;
        self.ethernet(src_mac, dst_mac, ETHERTYPE_IPV6);
        let first = (6u32 << 28) | (flow_label & 0xF_FFFF);
        self.buf.extend_from_slice(&first.to_be_bytes());
        self.buf.extend_from_slice(&[0, 0, next_header, hop_limit]);
        self.buf.extend_from_slice(&src);
        self.buf.extend_from_slice(&dst);
    }

    pub(crate) fn tcp_header(&mut self, tcp: &TcpFields<'_>) {
        let offset_words = ((20 + tcp.options.len()) / 4) as u8;
        self.buf.extend_from_slice(&tcp.src_port.to_be_bytes());
        self.buf.extend_from_slice(&tcp.dst_port.to_be_bytes());
        self.buf.extend_from_slice(&tcp.seq.to_be_bytes());
        self.buf.extend_from_slice(&tcp.ack.to_be_bytes());
        self.buf.push(offset_words << 4);
        self.buf.push(tcp.flags);
        self.buf.extend_from_slice(&tcp.window.to_be_bytes());
        // Checksum and urgent pointer.
        self.buf.extend_from_slice(&[0, 0, 0, 0]);
        self.buf.extend_from_slice(tcp.options);
    }

    /// UDP header; the length is filled in by [`Frame::finish`].
    pub(crate) fn udp_header(&mut self, src_port: u16, dst_port: u16) {
        self.buf.extend_from_slice(&src_port.to_be_bytes());
        self.buf.extend_from_slice(&dst_port.to_be_bytes());
        self.buf.extend_from_slice(&[0, 0, 0, 0]);
    }

    /// The buffer, for appending L4 headers and payload.
    pub(crate) fn out(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Fills in IP and UDP lengths, IPv4 header checksum and the L4 checksum,
    /// then pads to [`MIN_FRAME_LEN`].
    pub(crate) fn finish(&mut self, l4: L4) {
        let l4_start = self.l4_start();
        let l4_len = self.buf.len().saturating_sub(l4_start);
        let addrs = if self.v6 {
            let len = (l4_len as u16).to_be_bytes();
            self.buf[18..20].copy_from_slice(&len);
            22..54
        } else {
            let total = ((IPV4_HEADER_LEN + l4_len) as u16).to_be_bytes();
            self.buf[16..18].copy_from_slice(&total);
            let sum = fold(sum_words(&self.buf[ETH_HEADER_LEN..l4_start]));
            self.buf[24..26].copy_from_slice(&sum.to_be_bytes());
            26..34
        };
        if l4 == L4::Udp {
            let len = (l4_len as u16).to_be_bytes();
            self.buf[l4_start + 4..l4_start + 6].copy_from_slice(&len);
        }
        let mut sum = sum_words(&self.buf[l4_start..]);
        if l4 != L4::Icmpv4 {
            // Pseudo-header: addresses, protocol, L4 length.
            sum += sum_words(&self.buf[addrs]) + u64::from(l4.proto()) + l4_len as u64;
        }
        let mut checksum = fold(sum);
        if l4 == L4::Udp && checksum == 0 {
            // 0 means "no checksum" in UDP; RFC 768 sends all ones instead.
            checksum = 0xFFFF;
        }
        let at = l4_start + l4.checksum_offset();
        self.buf[at..at + 2].copy_from_slice(&checksum.to_be_bytes());
        if self.buf.len() < MIN_FRAME_LEN {
            self.buf.resize(MIN_FRAME_LEN, 0);
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

/// Sum of big-endian 32-bit words (zero-padded tail). 2^16 ≡ 1 modulo
/// 0xFFFF, so folding this gives the same one's-complement sum as adding
/// 16-bit words, at half the additions.
fn sum_words(data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(4);
    let mut acc: u64 = (&mut chunks)
        .map(|c| u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .sum();
    let rest = chunks.remainder();
    let mut tail = [0u8; 4];
    tail[..rest.len()].copy_from_slice(rest);
    acc += u64::from(u32::from_be_bytes(tail));
    acc
}

/// Folds a word sum to 16 bits and complements it (RFC 1071).
fn fold(mut sum: u64) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checksum_matches_rfc1071_example() {
        // Classic example header (checksum field zeroed): expected 0xB861.
        let header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(fold(sum_words(&header)), 0xB861);
    }

    #[test]
    fn odd_length_is_zero_padded() {
        assert_eq!(fold(sum_words(&[0x01])), !0x0100);
        assert_eq!(fold(sum_words(&[0x01, 0x02, 0x03])), !(0x0102 + 0x0300));
    }

    #[test]
    fn short_frames_are_padded() {
        let mut f = Frame::new();
        f.begin_v4(
            &[2; 6],
            &[4; 6],
            [10, 0, 0, 1],
            [172, 16, 0, 1],
            PROTO_UDP,
            64,
            1,
        );
        f.udp_header(1234, 53);
        f.finish(L4::Udp);
        assert_eq!(f.bytes().len(), MIN_FRAME_LEN);
        // IP total length excludes the padding.
        assert_eq!(&f.bytes()[16..18], &[0, 28]);
        assert_eq!(&f.bytes()[38..40], &[0, 8]);
    }
}
