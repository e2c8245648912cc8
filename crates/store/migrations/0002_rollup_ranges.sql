-- Schema version 2: chart queries read hosts and ports by role/protocol over a time range.
CREATE INDEX rollup_hosts_role ON rollup_hosts(role, minute);
CREATE INDEX rollup_hosts_key ON rollup_hosts(ip_key, minute);
CREATE INDEX rollup_ports_minute ON rollup_ports(minute, port);
