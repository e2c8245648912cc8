//! Live capture through libpcap.

use std::path::PathBuf;

use nix::poll::{poll, PollFd, PollFlags};
use nta_packet::LinkType;
use pcap::{Active, Capture, Device, Savefile};

use crate::{CaptureError, KernelStats, PacketSource, RawPacket, SourceEvent};

/// Live capture settings.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// Interface name (`any` for all, on Linux).
    pub interface: String,
    /// BPF filter expression.
    pub filter: Option<String>,
    /// Bytes kept per packet (default 262144, libpcap's).
    pub snaplen: i32,
    /// Kernel buffer in MiB (default 64).
    pub buffer_mib: i32,
    /// Promiscuous mode (default on).
    pub promisc: bool,
    /// Write every captured packet to this pcap file too.
    pub write_to: Option<PathBuf>,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            interface: String::new(),
            filter: None,
            snaplen: 262_144,
            buffer_mib: 64,
            promisc: true,
            write_to: None,
        }
    }
}

/// A network interface libpcap can capture on.
#[derive(Clone, Debug)]
pub struct Interface {
    /// Name to pass to `-i`.
    pub name: String,
    /// Description, if the system has one.
    pub description: Option<String>,
    /// Addresses.
    pub addresses: Vec<std::net::IpAddr>,
    /// Up.
    pub up: bool,
    /// Running.
    pub running: bool,
    /// Loopback.
    pub loopback: bool,
}

/// Lists capture interfaces.
pub fn list_interfaces() -> Result<Vec<Interface>, CaptureError> {
    let devs = Device::list().map_err(|e| CaptureError::Pcap {
        iface: String::new(),
        msg: e.to_string(),
    })?;
    Ok(devs
        .into_iter()
        .map(|d| Interface {
            up: d.flags.is_up(),
            running: d.flags.is_running(),
            loopback: d.flags.is_loopback(),
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
            description: d.desc,
            name: d.name,
        })
        .collect())
}

/// How long one wait for traffic lasts before the source reports [`SourceEvent::Idle`], so
/// that timers, stats and signals are served on a quiet link.
const IDLE_WAIT_MS: u16 = 100;

/// A live capture.
///
/// The capture is non-blocking and waits for traffic with `poll(2)` itself: libpcap's own read
/// timeout does not fire on an idle interface in immediate mode, which left a quiet sensor
/// deaf to Ctrl-C and to its stats timer.
pub struct LiveSource {
    cap: Capture<Active>,
    link: LinkType,
    save: Option<Savefile>,
    interface: String,
    /// The last read found nothing: wait for the descriptor before reading again.
    wait: bool,
}

impl std::fmt::Debug for LiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSource")
            .field("interface", &self.interface)
            .finish()
    }
}

fn classify(iface: &str, e: pcap::Error) -> CaptureError {
    let msg = e.to_string();
    let lower = msg.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        CaptureError::Permission {
            iface: iface.into(),
            msg,
        }
    } else if lower.contains("no such device") || lower.contains("doesn't exist") {
        CaptureError::NoSuchInterface {
            iface: iface.into(),
            msg,
        }
    } else {
        CaptureError::Pcap {
            iface: iface.into(),
            msg,
        }
    }
}

impl LiveSource {
    /// Opens and activates the capture, applies the filter, opens the `-w` file.
    pub fn open(cfg: &LiveConfig) -> Result<LiveSource, CaptureError> {
        let iface = cfg.interface.as_str();
        // libpcap activates unknown names too and fails later with a vaguer message.
        if iface != "any" {
            if let Ok(list) = Device::list() {
                if !list.iter().any(|d| d.name == iface) {
                    return Err(CaptureError::NoSuchInterface {
                        iface: iface.into(),
                        msg: "not in libpcap's interface list".into(),
                    });
                }
            }
        }
        let cap = Capture::from_device(iface)
            .map_err(|e| classify(iface, e))?
            .snaplen(cfg.snaplen)
            .buffer_size(cfg.buffer_mib.saturating_mul(1 << 20))
            .promisc(cfg.promisc)
            .immediate_mode(true)
            .timeout(100);
        let mut cap = cap
            .open()
            .and_then(|c| c.setnonblock())
            .map_err(|e| classify(iface, e))?;
        if let Some(f) = &cfg.filter {
            cap.filter(f, true).map_err(|e| CaptureError::BadFilter {
                filter: f.clone(),
                msg: e.to_string().trim_start_matches("libpcap error: ").into(),
            })?;
        }
        let link = LinkType::from_u32(cap.get_datalink().0 as u32);
        let save = match &cfg.write_to {
            Some(p) => Some(cap.savefile(p).map_err(|e| CaptureError::Pcap {
                iface: p.display().to_string(),
                msg: e.to_string(),
            })?),
            None => None,
        };
        Ok(LiveSource {
            cap,
            link,
            save,
            interface: iface.into(),
            wait: false,
        })
    }

    /// The interface's link type.
    pub fn link_type(&self) -> LinkType {
        self.link
    }
}

impl PacketSource for LiveSource {
    fn next_packet(&mut self) -> Result<SourceEvent<'_>, CaptureError> {
        if self.wait {
            self.wait = false;
            use std::os::fd::AsFd;
            let mut fds = [PollFd::new(self.cap.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, IDLE_WAIT_MS) {
                Ok(0) => return Ok(SourceEvent::Idle),
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => {
                    return Err(CaptureError::Pcap {
                        iface: self.interface.clone(),
                        msg: format!("waiting for packets: {e}"),
                    })
                }
            }
        }
        match self.cap.next_packet() {
            Ok(p) => {
                if let Some(s) = self.save.as_mut() {
                    s.write(&p);
                }
                let h = p.header;
                let ts_ns = (h.ts.tv_sec.max(0) as u64) * 1_000_000_000
                    + (h.ts.tv_usec.max(0) as u64) * 1_000;
                Ok(SourceEvent::Packet(RawPacket {
                    link: self.link,
                    ts_ns,
                    wire_len: h.len,
                    data: p.data,
                    shared: None,
                }))
            }
            Err(pcap::Error::TimeoutExpired) => {
                // Nothing buffered: wait on the descriptor next time.
                self.wait = true;
                Ok(SourceEvent::Idle)
            }
            Err(pcap::Error::NoMorePackets) => Ok(SourceEvent::End),
            Err(e) => Err(classify(&self.interface, e)),
        }
    }

    fn kernel_stats(&mut self) -> Option<KernelStats> {
        if let Some(s) = self.save.as_mut() {
            let _ = s.flush();
        }
        self.cap.stats().ok().map(|s| KernelStats {
            received: u64::from(s.received),
            dropped: u64::from(s.dropped),
            if_dropped: u64::from(s.if_dropped),
        })
    }
}
