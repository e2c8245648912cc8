//! The `dns` events, in Suricata's EVE version 2 format: one `query` event per question of a
//! request, one `answer` event per response (detailed `answers` and `grouped` forms both).

use nta_event::JsonOut;

use crate::parser::{Buffer, Dir, Out};

use super::wire::{rcode_name, rrtype_name, Message, RData, Record, Soa, Srv, Sshfp};

/// One event per question of a query. Detection's `dns.query` (each question's name, dotted,
/// without the root's trailing dot: `mail.google.com`) goes with the first: the query is one
/// transaction, and the buffer matches any of its names.
pub(super) fn query(m: &Message, tx: u64, out: &mut Out<'_>) {
    for q in &m.questions {
        out.buffer(Dir::ToServer, Buffer::DnsQuery, &q.name);
    }
    for q in &m.questions {
        out.event("dns", true, Some(tx), |w| {
            w.object("dns");
            w.u64("version", 2);
            w.plain("type", "query");
            w.u64("id", m.header.id.into());
            w.bytes("rrname", &q.name);
            w.plain("rrtype", &rrtype_name(q.rrtype));
            w.u64("tx_id", tx);
            w.u64("opcode", m.header.opcode().into());
            w.close();
        });
    }
}

/// One event for a response.
pub(super) fn response(m: &Message, tx: u64, out: &mut Out<'_>) {
    let h = &m.header;
    out.event("dns", false, Some(tx), |w| {
        w.object("dns");
        w.u64("version", 2);
        w.plain("type", "answer");
        w.u64("id", h.id.into());
        w.plain("flags", &format!("{:x}", h.flags));
        for (bit, name) in [
            (0x8000, "qr"),
            (0x0400, "aa"),
            (0x0200, "tc"),
            (0x0100, "rd"),
            (0x0080, "ra"),
            (0x0040, "z"),
        ] {
            if h.flags & bit != 0 {
                w.bool(name, true);
            }
        }
        w.u64("opcode", h.opcode().into());
        if let Some(q) = m.questions.first() {
            w.bytes("rrname", &q.name);
            w.plain("rrtype", &rrtype_name(q.rrtype));
        }
        w.plain("rcode", &rcode_name(h.rcode()));
        w.u64("tx_id", tx);
        if !m.questions.is_empty() {
            w.array("queries");
            for q in &m.questions {
                w.element();
                w.open();
                w.bytes("rrname", &q.name);
                w.plain("rrtype", &rrtype_name(q.rrtype));
                w.close();
            }
            w.end_array();
        }
        if !m.answers.is_empty() {
            w.array("answers");
            for r in &m.answers {
                record(w, r);
            }
            w.end_array();
            grouped(w, &m.answers);
        }
        if !m.authorities.is_empty() {
            w.array("authorities");
            for r in &m.authorities {
                record(w, r);
            }
            w.end_array();
        }
        w.close();
    });
}

/// One record of `answers` / `authorities`.
fn record(w: &mut JsonOut<'_>, r: &Record) {
    w.element();
    w.open();
    w.bytes("rrname", &r.name);
    w.plain("rrtype", &rrtype_name(r.rrtype));
    w.u64("ttl", r.ttl.into());
    match &r.rdata {
        RData::Addr(ip) => w.ip("rdata", *ip),
        RData::Name(n) | RData::Text(n) => w.bytes("rdata", n),
        RData::Svcb(s) => w.str("rdata", s),
        RData::Soa(s) => {
            w.object("soa");
            soa(w, s);
            w.close();
        }
        RData::Srv(s) => {
            w.object("srv");
            srv(w, s);
            w.close();
        }
        RData::Sshfp(s) => {
            w.object("sshfp");
            sshfp(w, s);
            w.close();
        }
        RData::Other => {}
    }
    w.close();
}

/// `grouped`: the answers' data by record type, in order of first appearance.
fn grouped(w: &mut JsonOut<'_>, answers: &[Record]) {
    // Types present, in order (answers are capped, so this stays small).
    let mut types: Vec<u16> = Vec::new();
    for r in answers {
        if r.rdata != RData::Other && !types.contains(&r.rrtype) {
            types.push(r.rrtype);
        }
    }
    if types.is_empty() {
        return;
    }
    w.object("grouped");
    for t in types {
        w.array(&rrtype_name(t));
        for r in answers.iter().filter(|r| r.rrtype == t) {
            match &r.rdata {
                RData::Addr(ip) => w.str_element(ip.to_string().as_bytes()),
                RData::Name(n) | RData::Text(n) => w.str_element(n),
                RData::Svcb(s) => w.str_element(s.as_bytes()),
                RData::Soa(s) => {
                    w.element();
                    w.open();
                    soa(w, s);
                    w.close();
                }
                RData::Srv(s) => {
                    w.element();
                    w.open();
                    srv(w, s);
                    w.close();
                }
                RData::Sshfp(s) => {
                    w.element();
                    w.open();
                    sshfp(w, s);
                    w.close();
                }
                RData::Other => {}
            }
        }
        w.end_array();
    }
    w.close();
}

fn soa(w: &mut JsonOut<'_>, s: &Soa) {
    w.bytes("mname", &s.mname);
    w.bytes("rname", &s.rname);
    w.u64("serial", s.serial.into());
    w.u64("refresh", s.refresh.into());
    w.u64("retry", s.retry.into());
    w.u64("expire", s.expire.into());
    w.u64("minimum", s.minimum.into());
}

fn srv(w: &mut JsonOut<'_>, s: &Srv) {
    w.u64("priority", s.priority.into());
    w.u64("weight", s.weight.into());
    w.u64("port", s.port.into());
    w.bytes("name", &s.name);
}

fn sshfp(w: &mut JsonOut<'_>, s: &Sshfp) {
    w.plain("fingerprint", &s.fingerprint);
    w.u64("algo", s.algo.into());
    w.u64("type", s.fp_type.into());
}
