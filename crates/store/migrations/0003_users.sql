-- Schema version 3: users, roles, sessions, API tokens, the audit log and per-user settings
-- (the web server's state lives in the same file as the history).

CREATE TABLE roles (
    name        TEXT PRIMARY KEY,
    permissions TEXT NOT NULL,          -- JSON array of permission names
    builtin     INTEGER NOT NULL DEFAULT 0,
    description TEXT
);

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password            TEXT NOT NULL,  -- argon2id PHC string
    role                TEXT NOT NULL REFERENCES roles(name),
    networks            TEXT,           -- JSON array of CIDRs; NULL: all data
    disabled            INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL,
    last_login          INTEGER
);

-- Server-side sessions: the cookie holds a random token, the table its SHA-256.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    address     TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,   -- SHA-256 of the token
    role        TEXT NOT NULL REFERENCES roles(name),
    created_at  INTEGER NOT NULL,
    last_used   INTEGER,
    revoked     INTEGER NOT NULL DEFAULT 0
);

-- One-time links to create the first admin.
CREATE TABLE setup_tokens (
    hash        TEXT PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    ts          INTEGER NOT NULL,
    actor       TEXT,
    address     TEXT,
    action      TEXT NOT NULL,          -- login, login_failed, logout, user_added, …
    target      TEXT,
    detail      TEXT
);
CREATE INDEX audit_log_ts ON audit_log(ts);

-- Per-user settings (dashboard layouts, …), JSON.
CREATE TABLE user_settings (
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
);
