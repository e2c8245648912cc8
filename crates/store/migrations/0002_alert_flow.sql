-- Schema version 2: an alert's flow, and a flow's alerts, are looked up by flow id.
CREATE INDEX alert_events_flow ON alert_events(flow_id);
