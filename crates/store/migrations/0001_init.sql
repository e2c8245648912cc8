-- NTA store, schema version 1.
-- Times are microseconds since the Unix epoch (UTC); `minute` columns are the minute's first
-- second (seconds since the epoch). Addresses are kept as text (for display) and as a 16-byte
-- key (IPv4 as ::ffff:a.b.c.d) so that a CIDR filter is a range scan on an index.

CREATE TABLE flows (
    id              INTEGER PRIMARY KEY,
    ts              INTEGER NOT NULL,   -- flow start
    hour            INTEGER NOT NULL,   -- ts / 3600e6: leads the address indexes
    ts_end          INTEGER NOT NULL,
    flow_id         INTEGER,
    src_ip          TEXT NOT NULL,
    src_key         BLOB NOT NULL,
    src_port        INTEGER,
    dest_ip         TEXT NOT NULL,
    dest_key        BLOB NOT NULL,
    dest_port       INTEGER,
    proto           TEXT NOT NULL,
    app_proto       TEXT,
    pkts_toserver   INTEGER NOT NULL DEFAULT 0,
    pkts_toclient   INTEGER NOT NULL DEFAULT 0,
    bytes_toserver  INTEGER NOT NULL DEFAULT 0,
    bytes_toclient  INTEGER NOT NULL DEFAULT 0,
    state           TEXT,
    reason          TEXT,
    alerted         INTEGER NOT NULL DEFAULT 0,
    event           TEXT NOT NULL       -- the EVE event minus what the columns hold (JSON)
);
-- Address indexes lead with the hour: rows written together stay together (an index keyed by
-- address alone is written all over, and outgrows the cache as the table grows), and a CIDR
-- filter over a time range is one seek per hour.
CREATE INDEX flows_ts ON flows(ts);
CREATE INDEX flows_src ON flows(hour, src_key, ts);
CREATE INDEX flows_dest ON flows(hour, dest_key, ts);

-- Application-layer and other flow-bound events (http, dns, tls, ssh, smtp, ftp, custom, anomaly, …).
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    ts          INTEGER NOT NULL,
    hour        INTEGER NOT NULL,
    flow_id     INTEGER,
    event_type  TEXT NOT NULL,
    src_ip      TEXT,
    src_key     BLOB,
    src_port    INTEGER,
    dest_ip     TEXT,
    dest_key    BLOB,
    dest_port   INTEGER,
    proto       TEXT,
    app_proto   TEXT,
    text        TEXT,                   -- host names, SNI, URL, query names: for text search
    event       TEXT NOT NULL
);
CREATE INDEX events_ts ON events(ts);
CREATE INDEX events_type ON events(event_type, ts);
CREATE INDEX events_src ON events(hour, src_key, ts);
CREATE INDEX events_dest ON events(hour, dest_key, ts);

-- Deduplicated alerts: one row per (gid, sid, source, destination) within the dedup window,
-- with its lifecycle.
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    count       INTEGER NOT NULL DEFAULT 1,
    gid         INTEGER NOT NULL,
    sid         INTEGER NOT NULL,
    rev         INTEGER NOT NULL DEFAULT 0,
    signature   TEXT NOT NULL,
    category    TEXT,
    severity    INTEGER NOT NULL,
    source      TEXT NOT NULL,          -- rule, detector, ml
    src_ip      TEXT NOT NULL,
    src_key     BLOB NOT NULL,
    src_port    INTEGER,
    dest_ip     TEXT NOT NULL,
    dest_key    BLOB NOT NULL,
    dest_port   INTEGER,
    proto       TEXT,
    app_proto   TEXT,
    flow_id     INTEGER,
    text        TEXT,
    status      TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'acknowledged', 'closed')),
    status_by   TEXT,
    status_at   INTEGER,
    assignee    TEXT,
    suppressed  INTEGER NOT NULL DEFAULT 0,
    event       TEXT NOT NULL           -- the first alert event
);
CREATE INDEX alerts_last ON alerts(last_seen);
CREATE INDEX alerts_dedup ON alerts(sid, gid, src_ip, dest_ip, last_seen);
CREATE INDEX alerts_src ON alerts(src_key, last_seen);
CREATE INDEX alerts_dest ON alerts(dest_key, last_seen);

-- Every alert event, each tied to its deduplicated alert.
CREATE TABLE alert_events (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    ts          INTEGER NOT NULL,
    flow_id     INTEGER,
    event       TEXT NOT NULL
);
CREATE INDEX alert_events_alert ON alert_events(alert_id, ts);
CREATE INDEX alert_events_ts ON alert_events(ts);

CREATE TABLE alert_comments (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    ts          INTEGER NOT NULL,
    author      TEXT NOT NULL,
    text        TEXT NOT NULL
);
CREATE INDEX alert_comments_alert ON alert_comments(alert_id);

-- Who changed what on an alert, and when.
CREATE TABLE alert_log (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    ts          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,          -- acknowledged, closed, reopened, assigned, commented
    detail      TEXT
);
CREATE INDEX alert_log_alert ON alert_log(alert_id);

-- Per-minute rollups for charts.
CREATE TABLE rollup_traffic (
    minute      INTEGER NOT NULL,
    proto       TEXT NOT NULL,
    app_proto   TEXT NOT NULL,          -- '' when none
    packets     INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    flows       INTEGER NOT NULL,
    PRIMARY KEY (minute, proto, app_proto)
) WITHOUT ROWID;

-- Hosts by traffic, per minute and role (src: talkers, dest: destinations): each minute's top
-- hosts, written once the minute is complete (a flow counts in the minute it ended).
CREATE TABLE rollup_hosts (
    minute      INTEGER NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('src', 'dest')),
    ip          TEXT NOT NULL,
    ip_key      BLOB NOT NULL,
    packets     INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    flows       INTEGER NOT NULL,
    PRIMARY KEY (minute, role, ip)
) WITHOUT ROWID;

-- Destination ports by traffic, per minute (the top ports, like hosts).
CREATE TABLE rollup_ports (
    minute      INTEGER NOT NULL,
    proto       TEXT NOT NULL,
    port        INTEGER NOT NULL,
    packets     INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    flows       INTEGER NOT NULL,
    PRIMARY KEY (minute, proto, port)
) WITHOUT ROWID;

CREATE TABLE rollup_alerts (
    minute      INTEGER NOT NULL,
    severity    INTEGER NOT NULL,
    source      TEXT NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (minute, severity, source)
) WITHOUT ROWID;

-- Alert pipeline state.
CREATE TABLE suppressions (
    id          INTEGER PRIMARY KEY,
    gid         INTEGER,                -- NULL: any
    sid         INTEGER,                -- NULL: any signature
    network     TEXT,                   -- CIDR matched against source or destination; NULL: any
    until       INTEGER,                -- NULL: no end
    reason      TEXT,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    origin      TEXT NOT NULL DEFAULT 'runtime' CHECK (origin IN ('config', 'runtime'))
);

CREATE TABLE thresholds (
    gid         INTEGER NOT NULL,
    sid         INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('limit', 'threshold', 'both')),
    count       INTEGER NOT NULL,
    seconds     INTEGER NOT NULL,
    origin      TEXT NOT NULL DEFAULT 'runtime',
    PRIMARY KEY (gid, sid)
);

CREATE TABLE channels (
    name        TEXT PRIMARY KEY,
    config      TEXT NOT NULL,          -- JSON
    origin      TEXT NOT NULL DEFAULT 'runtime',
    updated_at  INTEGER NOT NULL
);

-- Notifications waiting for delivery (at-least-once: deleted only once delivered).
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL,
    alert_id    INTEGER,
    created     INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    payload     TEXT NOT NULL
);
CREATE INDEX outbox_channel ON outbox(channel, id);

CREATE TABLE channel_status (
    name            TEXT PRIMARY KEY,
    delivered       INTEGER NOT NULL DEFAULT 0,
    messages        INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0,
    dropped         INTEGER NOT NULL DEFAULT 0,
    last_success    INTEGER,
    last_failure    INTEGER,
    last_error      TEXT,
    down_since      INTEGER
);

-- Counters that survive restarts (events dropped at a full queue, …).
CREATE TABLE counters (
    name    TEXT PRIMARY KEY,
    value   INTEGER NOT NULL
);
