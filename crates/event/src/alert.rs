//! `alert` events of a flow: EVE's envelope from the flow, the `alert` object, the
//! application-layer object the rule matched (`http`, `tls`, …), and a `flow` summary.

use nta_flow::Flow;

use crate::flow::{envelope, ts, tunnels};
use crate::json::JsonOut;

/// What the `alert` object says.
#[derive(Clone, Copy, Debug)]
pub struct AlertFields<'a> {
    /// `allowed` (IDS: every action only alerts) or `blocked`.
    pub action: &'a str,
    /// Generator id.
    pub gid: u32,
    /// Signature id.
    pub signature_id: u32,
    /// Revision.
    pub rev: u32,
    /// The message.
    pub signature: &'a str,
    /// The classtype's description (omitted when empty).
    pub category: &'a str,
    /// 1 (most severe) to 255.
    pub severity: u8,
    /// What raised it: `rule`, `detector`, `ml`.
    pub source: &'a str,
    /// `metadata` as a JSON object, or empty.
    pub metadata: &'a str,
}

/// An alert on a flow, as a view to write.
#[derive(Clone, Copy, Debug)]
pub struct AlertEvent<'a> {
    /// When (the packet or transaction that matched).
    pub ts_ns: u64,
    /// The flow.
    pub flow: &'a Flow,
    /// The alert's source is the client.
    pub to_server: bool,
    /// The number of the frame that matched, when reading capture files (EVE `pcap_cnt`).
    pub pcap_cnt: Option<u64>,
    /// The flow's application protocol, when known.
    pub app_proto: Option<&'a str>,
    /// The transaction, for an alert on one.
    pub tx_id: Option<u64>,
    /// The alert.
    pub alert: AlertFields<'a>,
    /// The application-layer object(s) of the transaction (`"http":{…}`), or empty.
    pub app: &'a [u8],
}

impl AlertEvent<'_> {
    /// Appends the event as one JSON object (no newline).
    pub fn write_json(&self, buf: &mut Vec<u8>) {
        let f = self.flow;
        let mut out = JsonOut::new(buf);
        out.open();
        envelope(&mut out, f, self.ts_ns, "alert", self.to_server);
        if let Some(n) = self.pcap_cnt {
            out.u64("pcap_cnt", n);
        }
        if !f.vlan().is_empty() {
            out.u16_array("vlan", f.vlan().as_slice());
        }
        if let Some(layers) = f.tunnels() {
            tunnels(&mut out, layers);
        }
        if let Some(tx) = self.tx_id {
            out.u64("tx_id", tx);
        }
        let a = &self.alert;
        out.object("alert");
        out.str("action", a.action);
        out.u64("gid", u64::from(a.gid));
        out.u64("signature_id", u64::from(a.signature_id));
        out.u64("rev", u64::from(a.rev));
        out.str("signature", a.signature);
        if !a.category.is_empty() {
            out.str("category", a.category);
        }
        out.u64("severity", u64::from(a.severity));
        out.str("source", a.source);
        if !a.metadata.is_empty() {
            out.raw("metadata", a.metadata.as_bytes());
        }
        out.close();
        if let Some(app) = self.app_proto {
            out.str("app_proto", app);
        }
        if !self.app.is_empty() {
            out.raw_members(self.app);
        }
        out.object("flow");
        out.u64("pkts_toserver", f.pkts[0]);
        out.u64("pkts_toclient", f.pkts[1]);
        out.u64("bytes_toserver", f.bytes[0]);
        out.u64("bytes_toclient", f.bytes[1]);
        ts(&mut out, "start", f.start_ns);
        out.close();
        out.close();
    }
}
