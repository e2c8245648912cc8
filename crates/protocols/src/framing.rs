//! Per-direction framing state shared by the length-framed binary parsers (SMB, MQTT, SIP
//! bodies): bytes of the current frame still to skip, and whether framing was lost.

/// Framing state of both directions of a flow.
#[derive(Clone, Debug, Default)]
pub(crate) struct Frames {
    /// Per direction: bytes of the current frame still to skip.
    pub(crate) skip: [usize; 2],
    /// Per direction: framing lost (nothing more is parsed that way).
    pub(crate) dead: [bool; 2],
}

impl Frames {
    /// Consumes what is left of a skipped frame in direction `d` out of `avail` bytes;
    /// returns how many.
    pub(crate) fn skip_bytes(&mut self, d: usize, avail: usize) -> usize {
        let n = self.skip[d].min(avail);
        self.skip[d] -= n;
        n
    }

    /// What `parse` returns after reading `at` of `len` bytes: all of them once the framing
    /// is lost (nothing more is read that way), else `at`.
    pub(crate) fn consumed(&self, d: usize, at: usize, len: usize) -> usize {
        if self.dead[d] {
            len
        } else {
            at
        }
    }

    /// A gap of `len` bytes in direction `d`: inside a frame being skipped it costs nothing;
    /// elsewhere that direction's framing is lost. Returns whether the parser carries on (a
    /// direction is still framed).
    pub(crate) fn gap(&mut self, d: usize, len: u64) -> bool {
        match usize::try_from(len) {
            Ok(n) if n <= self.skip[d] => {
                self.skip[d] -= n;
                true
            }
            _ => {
                self.dead[d] = true;
                !self.dead[0] || !self.dead[1]
            }
        }
    }
}
