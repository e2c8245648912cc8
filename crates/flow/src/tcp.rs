//! TCP session state, with Suricata's state names.

use nta_packet::TcpFlags;

/// The state of a TCP session as the sensor saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TcpState {
    /// No handshake packet seen yet.
    #[default]
    None,
    /// Client SYN seen.
    SynSent,
    /// Server SYN-ACK seen.
    SynRecv,
    /// Handshake completed, or data seen both ways (picked up mid-stream).
    Established,
    /// One side sent FIN.
    FinWait1,
    /// The first FIN was acknowledged.
    FinWait2,
    /// Both sides sent FIN before either was acknowledged.
    Closing,
    /// The other side sent its FIN too; waiting for the last ACK.
    TimeWait,
    /// Reset, or fully closed.
    Closed,
}

impl TcpState {
    /// Name used in EVE (`tcp.state`).
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "none",
            TcpState::SynSent => "syn_sent",
            TcpState::SynRecv => "syn_recv",
            TcpState::Established => "established",
            TcpState::FinWait1 => "fin_wait1",
            TcpState::FinWait2 => "fin_wait2",
            TcpState::Closing => "closing",
            TcpState::TimeWait => "time_wait",
            TcpState::Closed => "closed",
        }
    }

    /// Whether both sides closed (or one reset): the closed timeout applies.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            TcpState::Closing | TcpState::TimeWait | TcpState::Closed
        )
    }

    /// Whether the handshake completed (or the session was picked up mid-stream).
    pub fn is_established(self) -> bool {
        !matches!(self, TcpState::None | TcpState::SynSent | TcpState::SynRecv)
    }

    /// The next state after a packet with `flags` from the client (`to_server`) or the server.
    /// `fin_from` records which sides have sent FIN (bit 0 client, bit 1 server). The
    /// sequence follows Suricata's: the first FIN gives fin_wait1, its ACK fin_wait2, the
    /// other side's FIN time_wait (closing when both FINs cross), the last ACK closed. A
    /// retransmitted FIN never moves the state back.
    #[inline]
    pub fn next(self, flags: TcpFlags, to_server: bool, fin_from: &mut u8) -> TcpState {
        use TcpState::*;
        if flags.has(TcpFlags::RST) {
            return Closed;
        }
        let side = if to_server { 1 } else { 2 };
        let syn = flags.has(TcpFlags::SYN);
        let ack = flags.has(TcpFlags::ACK);
        let fin = flags.has(TcpFlags::FIN);
        let state = match self {
            None if syn && !ack && to_server => SynSent,
            None if syn && ack => SynRecv,
            None => Established, // mid-stream pickup
            SynSent if syn && ack && !to_server => SynRecv,
            SynSent => SynSent,
            SynRecv if ack && !syn && to_server => Established,
            SynRecv if !syn => Established, // data before the last handshake ACK was seen
            SynRecv => SynRecv,
            s => s,
        };
        let first_fin_from_here = fin && *fin_from & side == 0;
        if first_fin_from_here {
            let other_closed = *fin_from != 0;
            *fin_from |= side;
            return match state {
                FinWait2 => TimeWait,
                // The other side's FIN acknowledges ours too, or the two FINs crossed.
                FinWait1 if other_closed && ack => TimeWait,
                FinWait1 if other_closed => Closing,
                Closed | TimeWait | Closing => state,
                _ => FinWait1,
            };
        }
        if !ack {
            return state;
        }
        let closer_acks_last = *fin_from == 3;
        match state {
            // The first FIN acknowledged by the side that has not closed.
            FinWait1 if *fin_from & side == 0 => FinWait2,
            TimeWait | Closing if closer_acks_last => Closed,
            s => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seq: &[(u8, bool)]) -> TcpState {
        let mut st = TcpState::None;
        let mut fins = 0;
        for &(f, ts) in seq {
            st = st.next(TcpFlags(f), ts, &mut fins);
        }
        st
    }

    #[test]
    fn full_session() {
        const S: u8 = TcpFlags::SYN;
        const A: u8 = TcpFlags::ACK;
        const F: u8 = TcpFlags::FIN;
        assert_eq!(run(&[(S, true)]), TcpState::SynSent);
        assert_eq!(run(&[(S, true), (S | A, false)]), TcpState::SynRecv);
        assert_eq!(
            run(&[(S, true), (S | A, false), (A, true)]),
            TcpState::Established
        );
        let close = [
            (S, true),
            (S | A, false),
            (A, true),
            (F | A, true),
            (A, false),
            (F | A, false),
            (A, true),
        ];
        assert_eq!(run(&close[..4]), TcpState::FinWait1);
        assert_eq!(run(&close[..5]), TcpState::FinWait2);
        assert_eq!(run(&close[..6]), TcpState::TimeWait);
        assert_eq!(run(&close), TcpState::Closed);
        // The server's FIN+ACK right after the client's FIN.
        let quick = [
            (S, true),
            (S | A, false),
            (A, true),
            (F | A, true),
            (F | A, false),
            (A, true),
        ];
        assert_eq!(run(&quick[..5]), TcpState::TimeWait);
        assert_eq!(run(&quick), TcpState::Closed);
        // Both FINs without ACK: closing; a retransmitted FIN does not go back.
        let cross = [(S, true), (S | A, false), (A, true), (F, true), (F, false)];
        assert_eq!(run(&cross), TcpState::Closing);
        let again = [
            (S, true),
            (S | A, false),
            (A, true),
            (F | A, true),
            (A, false),
            (F | A, true),
        ];
        assert_eq!(run(&again), TcpState::FinWait2);
        assert_eq!(
            run(&[(S, true), (TcpFlags::RST | A, false)]),
            TcpState::Closed
        );
        assert_eq!(run(&[(A, true)]), TcpState::Established);
    }
}
