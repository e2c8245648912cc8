//! Application-layer events (`http`, `dns`, `tls`, `ssh`, …, `custom`): EVE's envelope taken
//! from the flow, then the members the protocol wrote.

use nta_flow::Flow;

use crate::flow::{envelope, tunnels};
use crate::json::JsonOut;

/// One application-layer event of a flow, as a view to write.
#[derive(Clone, Copy, Debug)]
pub struct AppEvent<'a> {
    /// When (the packet that completed it).
    pub ts_ns: u64,
    /// The flow it belongs to.
    pub flow: &'a Flow,
    /// `http`, `dns`, …
    pub event_type: &'a str,
    /// The flow's application protocol.
    pub app_proto: &'a str,
    /// The source is the client (a request); `false`: the server (a reply logged alone).
    pub to_server: bool,
    /// Transaction number within the flow, from 0.
    pub tx_id: Option<u64>,
    /// The event's own members, already JSON (`"http":{…}`), without braces.
    pub body: &'a [u8],
}

impl AppEvent<'_> {
    /// Appends the event as one JSON object (no newline).
    pub fn write_json(&self, buf: &mut Vec<u8>) {
        let f = self.flow;
        let mut out = JsonOut::new(buf);
        out.open();
        envelope(&mut out, f, self.ts_ns, self.event_type, self.to_server);
        if !f.vlan().is_empty() {
            out.u16_array("vlan", f.vlan().as_slice());
        }
        if let Some(layers) = f.tunnels() {
            tunnels(&mut out, layers);
        }
        if let Some(tx) = self.tx_id {
            out.u64("tx_id", tx);
        }
        out.str("app_proto", self.app_proto);
        out.raw_members(self.body);
        out.close();
    }
}
