//! Modbus/TCP (port 502): each request with its response is one `modbus` event:
//! `modbus: {transaction_id, unit_id, function_code, function, address?, quantity?, value?,
//! exception?, exception_code?}` (the read/write range for the common data-access functions).
//!
//! Probed on its port only: an MBAP header is too weak a signature to try everywhere.

use std::collections::VecDeque;

use crate::parser::{Dir, Out, Parser, Probe, ProbeInput, Transport};
use crate::Builtin;

#[cfg(test)]
mod tests;

/// MBAP header: transaction id, protocol id, length, unit id.
const MBAP: usize = 7;
/// The length field counts the unit id and the PDU (at most 253 bytes).
const MAX_LENGTH: usize = 254;
/// Requests awaiting their response; past this the oldest is logged unanswered.
const MAX_PENDING: usize = 32;

pub(crate) fn protocol() -> Builtin {
    let mut info = Builtin::info(
        "modbus",
        "Modbus/TCP industrial control: function codes, registers, exceptions",
        &[Transport::Tcp],
        &[502],
        Some("modbus"),
    );
    info.port_gated = true;
    Builtin {
        info,
        probe,
        parser: || Box::<ModbusParser>::default(),
    }
}

/// The public function codes (Modbus Application Protocol v1.1b3 §5.1).
fn function_name(fc: u8) -> Option<&'static str> {
    Some(match fc {
        1 => "read_coils",
        2 => "read_discrete_inputs",
        3 => "read_holding_registers",
        4 => "read_input_registers",
        5 => "write_single_coil",
        6 => "write_single_register",
        7 => "read_exception_status",
        8 => "diagnostics",
        11 => "get_comm_event_counter",
        12 => "get_comm_event_log",
        15 => "write_multiple_coils",
        16 => "write_multiple_registers",
        17 => "report_server_id",
        20 => "read_file_record",
        21 => "write_file_record",
        22 => "mask_write_register",
        23 => "read_write_multiple_registers",
        24 => "read_fifo_queue",
        43 => "encapsulated_interface_transport",
        _ => return None,
    })
}

/// Exception codes (§7).
fn exception_name(code: u8) -> &'static str {
    match code {
        1 => "illegal_function",
        2 => "illegal_data_address",
        3 => "illegal_data_value",
        4 => "server_device_failure",
        5 => "acknowledge",
        6 => "server_device_busy",
        8 => "memory_parity_error",
        10 => "gateway_path_unavailable",
        11 => "gateway_target_device_failed_to_respond",
        _ => "unknown",
    }
}

/// One MBAP header: `(transaction id, length)`, or why not.
fn header(d: &[u8]) -> Option<Result<(u16, usize), ()>> {
    let h = d.get(..6)?;
    let protocol = u16::from_be_bytes([h[2], h[3]]);
    let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    if protocol != 0 || !(2..=MAX_LENGTH).contains(&len) {
        return Some(Err(()));
    }
    Some(Ok((u16::from_be_bytes([h[0], h[1]]), len)))
}

/// An MBAP header (protocol 0, a plausible length) and a public function code (or its
/// exception), the frame whole, and the next one, if begun, starting like one too.
fn probe(input: &ProbeInput<'_>) -> Probe {
    let d = input.data;
    let len = match header(d) {
        None => {
            // Only the protocol id can be judged early.
            return match d.get(2..4) {
                Some(p) if p != [0, 0] => Probe::NoMatch,
                _ => Probe::NeedMore,
            };
        }
        Some(Err(())) => return Probe::NoMatch,
        Some(Ok((_, len))) => len,
    };
    let Some(&fc) = d.get(MBAP) else {
        return Probe::NeedMore;
    };
    if function_name(fc & 0x7f).is_none() {
        return Probe::NoMatch;
    }
    let end = 6 + len;
    if d.len() < end {
        return Probe::NeedMore;
    }
    match header(&d[end..]) {
        Some(Err(())) => Probe::NoMatch,
        _ => Probe::Match,
    }
}

/// One request (or a response whose request was not seen).
#[derive(Debug, Default)]
struct Tx {
    transaction_id: u16,
    unit_id: u8,
    function_code: u8,
    address: Option<u16>,
    quantity: Option<u16>,
    value: Option<u16>,
    exception: Option<u8>,
}

fn u16_at(pdu: &[u8], at: usize) -> Option<u16> {
    pdu.get(at..at + 2)
        .map(|v| u16::from_be_bytes([v[0], v[1]]))
}

/// Follows one Modbus/TCP connection.
#[derive(Default)]
pub(crate) struct ModbusParser {
    pending: VecDeque<Tx>,
    /// Per direction: framing lost.
    dead: [bool; 2],
    tx_id: u64,
}

impl ModbusParser {
    fn log(&mut self, tx: Tx, out: &mut Out<'_>) {
        out.event("modbus", true, Some(self.tx_id), |w| {
            w.object("modbus");
            w.u64("transaction_id", u64::from(tx.transaction_id));
            w.u64("unit_id", u64::from(tx.unit_id));
            w.u64("function_code", u64::from(tx.function_code));
            w.plain(
                "function",
                function_name(tx.function_code).unwrap_or("unknown"),
            );
            if let Some(a) = tx.address {
                w.u64("address", u64::from(a));
            }
            if let Some(q) = tx.quantity {
                w.u64("quantity", u64::from(q));
            }
            if let Some(v) = tx.value {
                w.u64("value", u64::from(v));
            }
            if let Some(e) = tx.exception {
                w.plain("exception", exception_name(e));
                w.u64("exception_code", u64::from(e));
            }
            w.close();
        });
        self.tx_id += 1;
    }

    /// One frame: `unit` and `pdu` (function code first).
    fn frame(&mut self, dir: Dir, tid: u16, unit: u8, pdu: &[u8], out: &mut Out<'_>) {
        let Some(&fc) = pdu.first() else { return };
        if dir == Dir::ToServer {
            let mut tx = Tx {
                transaction_id: tid,
                unit_id: unit,
                function_code: fc,
                ..Tx::default()
            };
            match fc {
                1..=4 | 15 | 16 => {
                    tx.address = u16_at(pdu, 1);
                    tx.quantity = u16_at(pdu, 3);
                }
                5 | 6 => {
                    tx.address = u16_at(pdu, 1);
                    tx.value = u16_at(pdu, 3);
                }
                _ => {}
            }
            if self.pending.len() >= MAX_PENDING {
                if let Some(old) = self.pending.pop_front() {
                    self.log(old, out);
                }
            }
            self.pending.push_back(tx);
            return;
        }
        let i = self
            .pending
            .iter()
            .position(|t| t.transaction_id == tid && t.function_code == fc & 0x7f);
        let mut tx = i.and_then(|i| self.pending.remove(i)).unwrap_or(Tx {
            transaction_id: tid,
            unit_id: unit,
            function_code: fc & 0x7f,
            ..Tx::default()
        });
        if fc & 0x80 != 0 {
            tx.exception = pdu.get(1).copied();
        }
        self.log(tx, out);
    }
}

impl Parser for ModbusParser {
    fn parse(&mut self, dir: Dir, data: &[u8], out: &mut Out<'_>) -> usize {
        let d = dir.index();
        let mut at = 0;
        while at < data.len() && !self.dead[d] {
            let rest = &data[at..];
            let (tid, len) = match header(rest) {
                None => break,
                Some(Err(())) => {
                    self.dead[d] = true;
                    break;
                }
                Some(Ok(h)) => h,
            };
            let Some(frame) = rest.get(..6 + len) else {
                break;
            };
            self.frame(dir, tid, frame[6], &frame[MBAP..], out);
            at += 6 + len;
        }
        if self.dead[d] {
            return data.len();
        }
        at
    }

    fn gap(&mut self, dir: Dir, _len: u64, _out: &mut Out<'_>) -> bool {
        // No way to find the next frame's start: this direction is done.
        self.dead[dir.index()] = true;
        !self.dead[0] || !self.dead[1]
    }

    fn finish(&mut self, out: &mut Out<'_>) {
        while let Some(tx) = self.pending.pop_front() {
            self.log(tx, out);
        }
    }
}
