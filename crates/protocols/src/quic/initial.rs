//! QUIC Initial packets: long headers, the Initial keys every observer can derive from the
//! client's Destination Connection ID (RFC 9001 §5.2, RFC 9369 §3.3), header protection
//! (AES-128-ECB on a sample), AEAD (AES-128-GCM), and the CRYPTO frames that carry the
//! ClientHello — reassembled by offset, since clients split and shuffle them.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;

/// QUIC v1 (RFC 9000).
pub(crate) const VERSION_1: u32 = 0x0000_0001;
/// QUIC v2 (RFC 9369).
pub(crate) const VERSION_2: u32 = 0x6b33_43cf;

/// Longest connection ID in the versions read here (RFC 9000 §17.2).
pub(crate) const MAX_CID_LEN: usize = 20;
/// Most CRYPTO bytes reassembled: a ClientHello is a few KiB, post-quantum key shares
/// included.
const MAX_CRYPTO_LEN: usize = crate::tls::MAX_HANDSHAKE_LEN;
/// Most CRYPTO pieces kept apart before they join up (Chrome sends a few dozen).
const MAX_CRYPTO_PIECES: usize = 256;
/// AES-GCM tag length.
const TAG_LEN: usize = 16;

/// Salts for the Initial secret (RFC 9001 §5.2, RFC 9369 §3.3.1, and the drafts').
const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
const SALT_DRAFT_29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];
const SALT_DRAFT_23: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65,
    0xbe, 0xf9, 0xf5, 0x02,
];

/// Whether `v` is an IETF QUIC version read here: v1, v2, or a draft (0xff0000xx).
pub(crate) fn is_ietf(v: u32) -> bool {
    v == VERSION_1 || v == VERSION_2 || v & 0xffff_ff00 == 0xff00_0000
}

/// The Initial salt and key labels of a version; `None` for versions whose Initial packets
/// are not read (drafts before 23).
fn version_params(v: u32) -> Option<(&'static [u8; 20], [&'static [u8]; 3])> {
    const V1_LABELS: [&[u8]; 3] = [b"quic key", b"quic iv", b"quic hp"];
    match v {
        VERSION_1 => Some((&SALT_V1, V1_LABELS)),
        VERSION_2 => Some((&SALT_V2, [b"quicv2 key", b"quicv2 iv", b"quicv2 hp"])),
        0xff00_0017..=0xff00_001c => Some((&SALT_DRAFT_23, V1_LABELS)),
        0xff00_001d..=0xff00_0020 => Some((&SALT_DRAFT_29, V1_LABELS)),
        0xff00_0021..=0xff00_0022 => Some((&SALT_V1, V1_LABELS)),
        _ => None,
    }
}

/// Long-header packet types (RFC 9000 §17.2; RFC 9369 §3.2 renumbers them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PacketKind {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

/// A long-header packet of an IETF version.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LongPacket<'a> {
    pub(crate) version: u32,
    pub(crate) kind: PacketKind,
    pub(crate) dcid: &'a [u8],
    /// The packet, from its first byte to its end (a datagram may hold several).
    pub(crate) bytes: &'a [u8],
    /// Where the (protected) packet number starts; 0 for Retry.
    pub(crate) pn_offset: usize,
}

/// A QUIC variable-length integer (RFC 9000 §16) at `*at`.
pub(crate) fn varint(d: &[u8], at: &mut usize) -> Option<u64> {
    let first = *d.get(*at)?;
    let len = 1usize << (first >> 6);
    let bytes = d.get(*at..at.checked_add(len)?)?;
    let mut v = u64::from(first & 0x3f);
    for &b in bytes.get(1..)? {
        v = v << 8 | u64::from(b);
    }
    *at += len;
    Some(v)
}

fn varint_len(d: &[u8], at: &mut usize) -> Option<usize> {
    usize::try_from(varint(d, at)?).ok()
}

/// Reads the long-header packet at the start of `d`.
pub(crate) fn long_packet(d: &[u8]) -> Option<LongPacket<'_>> {
    let (&first, _) = d.split_first()?;
    if first & 0x80 == 0 {
        return None;
    }
    let version = u32::from_be_bytes(*d.get(1..5)?.first_chunk::<4>()?);
    if !is_ietf(version) {
        return None;
    }
    let mut at = 5;
    let mut cid = || {
        let len = usize::from(*d.get(at)?);
        if len > MAX_CID_LEN {
            return None;
        }
        let id = d.get(at + 1..at + 1 + len)?;
        at += 1 + len;
        Some(id)
    };
    let dcid = cid()?;
    cid()?;
    let kind = match ((first >> 4) & 3, version == VERSION_2) {
        (0, false) | (1, true) => PacketKind::Initial,
        (1, false) | (2, true) => PacketKind::ZeroRtt,
        (2, false) | (3, true) => PacketKind::Handshake,
        _ => PacketKind::Retry,
    };
    if kind == PacketKind::Retry {
        return Some(LongPacket {
            version,
            kind,
            dcid,
            bytes: d,
            pn_offset: 0,
        });
    }
    if kind == PacketKind::Initial {
        let token_len = varint_len(d, &mut at)?;
        at = at.checked_add(token_len)?;
    }
    let len = varint_len(d, &mut at)?;
    let bytes = d.get(..at.checked_add(len)?)?;
    Some(LongPacket {
        version,
        kind,
        dcid,
        bytes,
        pn_offset: at,
    })
}

/// The keys protecting a client's Initial packets.
pub(crate) struct InitialKeys {
    aead: Aes128Gcm,
    iv: [u8; 12],
    hp: Aes128,
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(hk: &Hkdf<Sha256>, label: &[u8], out: &mut [u8]) -> Option<()> {
    let len = u16::try_from(out.len()).ok()?;
    let mut info = Vec::with_capacity(4 + 6 + label.len());
    info.extend_from_slice(&len.to_be_bytes());
    info.push(u8::try_from(6 + label.len()).ok()?);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(0);
    hk.expand(&info, out).ok()
}

impl InitialKeys {
    /// The client's Initial keys for `version`, from the Destination Connection ID of its
    /// first Initial packet.
    pub(crate) fn client(version: u32, dcid: &[u8]) -> Option<InitialKeys> {
        let (salt, [key_label, iv_label, hp_label]) = version_params(version)?;
        let (_, initial) = Hkdf::<Sha256>::extract(Some(salt), dcid);
        let mut secret = [0u8; 32];
        expand_label(&initial, b"client in", &mut secret)?;
        let client = Hkdf::<Sha256>::from_prk(&secret).ok()?;
        let (mut key, mut iv, mut hp) = ([0u8; 16], [0u8; 12], [0u8; 16]);
        expand_label(&client, key_label, &mut key)?;
        expand_label(&client, iv_label, &mut iv)?;
        expand_label(&client, hp_label, &mut hp)?;
        Some(InitialKeys {
            aead: Aes128Gcm::new(&key.into()),
            iv,
            hp: Aes128::new(&hp.into()),
        })
    }

    /// Removes header protection from `packet` and decrypts its payload (RFC 9001 §5.3,
    /// §5.4). `None` when it does not authenticate.
    pub(crate) fn open(&self, packet: &LongPacket<'_>) -> Option<Vec<u8>> {
        let bytes = packet.bytes;
        let pn_offset = packet.pn_offset;
        // The sample starts 4 bytes after the packet number, whatever its length.
        let sample: [u8; 16] = bytes.get(pn_offset + 4..pn_offset + 20)?.try_into().ok()?;
        let mut mask = aes::Block::from(sample);
        self.hp.encrypt_block(&mut mask);
        let first = bytes.first()? ^ (mask.first()? & 0x0f);
        let pn_len = usize::from(first & 3) + 1;
        let mut header = bytes.get(..pn_offset + pn_len)?.to_vec();
        *header.first_mut()? = first;
        let mut pn = 0u64;
        for (b, m) in header.get_mut(pn_offset..)?.iter_mut().zip(mask.get(1..)?) {
            *b ^= m;
            pn = pn << 8 | u64::from(*b);
        }
        let mut nonce = self.iv;
        for (n, p) in nonce.get_mut(4..)?.iter_mut().zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        let mut payload = bytes.get(pn_offset + pn_len..)?.to_vec();
        if payload.len() < TAG_LEN {
            return None;
        }
        self.aead
            .decrypt_in_place(Nonce::from_slice(&nonce), &header, &mut payload)
            .ok()?;
        Some(payload)
    }

    /// Protects a packet: `header` is its unprotected header (packet number included),
    /// `payload` its frames (the Length field must count the 16-byte tag).
    #[cfg(test)]
    pub(crate) fn seal(&self, header: &[u8], pn_offset: usize, payload: &[u8]) -> Vec<u8> {
        let pn_len = usize::from(header[0] & 3) + 1;
        let pn = header[pn_offset..pn_offset + pn_len]
            .iter()
            .fold(0u64, |pn, &b| pn << 8 | u64::from(b));
        let mut nonce = self.iv;
        for (n, p) in nonce[4..].iter_mut().zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        let mut body = payload.to_vec();
        self.aead
            .encrypt_in_place(Nonce::from_slice(&nonce), header, &mut body)
            .unwrap();
        let mut packet = [header, &body].concat();
        let sample: [u8; 16] = packet[pn_offset + 4..pn_offset + 20].try_into().unwrap();
        let mut mask = aes::Block::from(sample);
        self.hp.encrypt_block(&mut mask);
        packet[0] ^= mask[0] & 0x0f;
        for i in 0..pn_len {
            packet[pn_offset + i] ^= mask[1 + i];
        }
        packet
    }
}

/// Calls `f(offset, data)` for each CRYPTO frame of a decrypted Initial payload. Stops at the
/// first frame an Initial packet may not hold (RFC 9000 §12.4) or that does not fit.
pub(crate) fn crypto_frames(payload: &[u8], mut f: impl FnMut(u64, &[u8])) {
    let mut at = 0;
    let _ = (|| -> Option<()> {
        loop {
            let kind = *payload.get(at)?;
            at += 1;
            match kind {
                // PADDING, PING.
                0x00 | 0x01 => {}
                // ACK (0x03: with ECN counts).
                0x02 | 0x03 => {
                    varint(payload, &mut at)?; // largest acknowledged
                    varint(payload, &mut at)?; // delay
                    let ranges = varint(payload, &mut at)?;
                    varint(payload, &mut at)?; // first range
                                               // Each range takes two bytes at least: the payload ends the loop.
                    for _ in 0..ranges {
                        varint(payload, &mut at)?;
                        varint(payload, &mut at)?;
                    }
                    if kind == 0x03 {
                        for _ in 0..3 {
                            varint(payload, &mut at)?;
                        }
                    }
                }
                0x06 => {
                    let offset = varint(payload, &mut at)?;
                    let len = varint_len(payload, &mut at)?;
                    let data = payload.get(at..at.checked_add(len)?)?;
                    f(offset, data);
                    at += len;
                }
                // CONNECTION_CLOSE (transport, application).
                0x1c | 0x1d => {
                    varint(payload, &mut at)?;
                    if kind == 0x1c {
                        varint(payload, &mut at)?;
                    }
                    let len = varint_len(payload, &mut at)?;
                    at = at.checked_add(len)?;
                }
                _ => return None,
            }
        }
    })();
}

/// The CRYPTO stream of one direction, reassembled from frames in any order.
#[derive(Default)]
pub(crate) struct CryptoStream {
    buf: Vec<u8>,
    /// Byte ranges received, merged and sorted.
    ranges: Vec<(usize, usize)>,
}

impl CryptoStream {
    /// Stores `data` at `offset`; what lies past [`MAX_CRYPTO_LEN`] is dropped.
    pub(crate) fn insert(&mut self, offset: u64, data: &[u8]) {
        let Ok(start) = usize::try_from(offset) else {
            return;
        };
        let end = start.saturating_add(data.len()).min(MAX_CRYPTO_LEN);
        if start >= end || self.ranges.len() >= MAX_CRYPTO_PIECES {
            return;
        }
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        if let (Some(dst), Some(src)) = (self.buf.get_mut(start..end), data.get(..end - start)) {
            dst.copy_from_slice(src);
        }
        self.ranges.push((start, end));
        self.ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.ranges.len());
        for &(s, e) in &self.ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.ranges = merged;
    }

    /// The bytes received from offset 0 on, up to the first hole.
    pub(crate) fn contiguous(&self) -> &[u8] {
        match self.ranges.first() {
            Some(&(0, end)) => self.buf.get(..end).unwrap_or_default(),
            _ => &[],
        }
    }
}
