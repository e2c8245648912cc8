//! Address and port variables (`$HOME_NET`, `$HTTP_PORTS`, …) with Suricata's defaults.

use std::collections::BTreeMap;

/// Address groups and port groups by name (without the `$`), each a value in rule syntax
/// (`[10.0.0.0/8,!10.1.0.0/16]`, `!$HOME_NET`, `[80,8080:8090]`). Values are resolved when a
/// rule uses them, so a value may refer to other variables and overriding `HOME_NET` changes
/// what `EXTERNAL_NET` (`!$HOME_NET`) means.
///
/// [`Vars::default`] is Suricata's default `suricata.yaml`:
///
/// ```
/// let mut vars = nta_rules::Vars::default();
/// vars.set_address("HOME_NET", "[10.1.0.0/16]");
/// let set = vars.resolve_address("$EXTERNAL_NET").unwrap();
/// assert!(!set.contains("10.1.2.3".parse().unwrap()));
/// assert!(set.contains("10.2.0.1".parse().unwrap()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vars {
    addresses: BTreeMap<String, String>,
    ports: BTreeMap<String, String>,
}

/// Suricata's default address groups (suricata.yaml).
const DEFAULT_ADDRESSES: &[(&str, &str)] = &[
    ("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"),
    ("EXTERNAL_NET", "!$HOME_NET"),
    ("HTTP_SERVERS", "$HOME_NET"),
    ("SMTP_SERVERS", "$HOME_NET"),
    ("SQL_SERVERS", "$HOME_NET"),
    ("DNS_SERVERS", "$HOME_NET"),
    ("TELNET_SERVERS", "$HOME_NET"),
    ("AIM_SERVERS", "$EXTERNAL_NET"),
    ("DC_SERVERS", "$HOME_NET"),
    ("DNP3_SERVER", "$HOME_NET"),
    ("DNP3_CLIENT", "$HOME_NET"),
    ("MODBUS_CLIENT", "$HOME_NET"),
    ("MODBUS_SERVER", "$HOME_NET"),
    ("ENIP_CLIENT", "$HOME_NET"),
    ("ENIP_SERVER", "$HOME_NET"),
];

/// Suricata's default port groups (suricata.yaml).
const DEFAULT_PORTS: &[(&str, &str)] = &[
    ("HTTP_PORTS", "80"),
    ("SHELLCODE_PORTS", "!80"),
    ("ORACLE_PORTS", "1521"),
    ("SSH_PORTS", "22"),
    ("DNP3_PORTS", "20000"),
    ("MODBUS_PORTS", "502"),
    ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
    ("FTP_PORTS", "21"),
    ("GENEVE_PORTS", "6081"),
    ("VXLAN_PORTS", "4789"),
    ("TEREDO_PORTS", "3544"),
];

impl Default for Vars {
    /// Suricata's defaults.
    fn default() -> Self {
        let mut v = Vars::empty();
        for (k, val) in DEFAULT_ADDRESSES {
            v.set_address(k, val);
        }
        for (k, val) in DEFAULT_PORTS {
            v.set_port(k, val);
        }
        v
    }
}

impl Vars {
    /// No variable at all.
    pub fn empty() -> Self {
        Vars {
            addresses: BTreeMap::new(),
            ports: BTreeMap::new(),
        }
    }

    /// Sets (or replaces) an address group. `name` may be given with or without its `$`.
    pub fn set_address(&mut self, name: &str, value: &str) {
        self.addresses
            .insert(name.trim_start_matches('$').to_string(), value.to_string());
    }

    /// Sets (or replaces) a port group. `name` may be given with or without its `$`.
    pub fn set_port(&mut self, name: &str, value: &str) {
        self.ports
            .insert(name.trim_start_matches('$').to_string(), value.to_string());
    }

    /// The value of an address group, as written.
    pub fn address(&self, name: &str) -> Option<&str> {
        self.addresses
            .get(name.trim_start_matches('$'))
            .map(String::as_str)
    }

    /// The value of a port group, as written.
    pub fn port(&self, name: &str) -> Option<&str> {
        self.ports
            .get(name.trim_start_matches('$'))
            .map(String::as_str)
    }

    /// Address groups, by name.
    pub fn addresses(&self) -> impl Iterator<Item = (&str, &str)> {
        self.addresses.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Port groups, by name.
    pub fn ports(&self) -> impl Iterator<Item = (&str, &str)> {
        self.ports.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Resolves an address specification (`any`, `$HOME_NET`, `[1.2.3.0/24,!1.2.3.4]`, …).
    pub fn resolve_address(&self, spec: &str) -> Result<crate::AddressSet, crate::RuleError> {
        crate::groups::resolve_address(spec, self)
    }

    /// Resolves a port specification (`any`, `$HTTP_PORTS`, `[80,1024:]`, `!22`, …).
    pub fn resolve_ports(&self, spec: &str) -> Result<crate::PortSet, crate::RuleError> {
        crate::groups::resolve_ports(spec, self)
    }

    /// Resolves every variable, so that a bad definition is reported once, up front, rather
    /// than by every rule that uses it. Returns the first error as `(name, error)`.
    pub fn check(&self) -> Result<(), (String, crate::RuleError)> {
        for (name, value) in &self.addresses {
            crate::groups::resolve_address(value, self).map_err(|e| (format!("${name}"), e))?;
        }
        for (name, value) in &self.ports {
            crate::groups::resolve_ports(value, self).map_err(|e| (format!("${name}"), e))?;
        }
        Ok(())
    }
}
