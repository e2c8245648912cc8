//! Users, roles, permissions, API tokens, setup links and the audit log, over the store's
//! tables. Synchronous (SQLite and argon2 are blocking): the server calls these on its blocking
//! threads, `nta user` directly.

use std::fmt;
use std::str::FromStr;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use ipnet::IpNet;
use nta_store::rusqlite::{params, Connection, OptionalExtension};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A capability. Roles are sets of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Dashboards, flows, alerts and events (read).
    ViewDashboards,
    /// Packet payloads and payload excerpts.
    ViewPayloads,
    /// Acknowledge, close, comment, assign alerts; suppressions.
    TriageAlerts,
    /// Rules: enable, disable, upload, reload.
    ManageRules,
    /// Notification channels.
    ManageChannels,
    /// The traffic generator and Ostinato.
    GenerateTraffic,
    /// Users, roles, API tokens of others.
    ManageUsers,
    /// System settings, the running configuration, the audit log.
    ManageSystem,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 8] = [
        Permission::ViewDashboards,
        Permission::ViewPayloads,
        Permission::TriageAlerts,
        Permission::ManageRules,
        Permission::ManageChannels,
        Permission::GenerateTraffic,
        Permission::ManageUsers,
        Permission::ManageSystem,
    ];

    /// `view_dashboards`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ViewDashboards => "view_dashboards",
            Permission::ViewPayloads => "view_payloads",
            Permission::TriageAlerts => "triage_alerts",
            Permission::ManageRules => "manage_rules",
            Permission::ManageChannels => "manage_channels",
            Permission::GenerateTraffic => "generate_traffic",
            Permission::ManageUsers => "manage_users",
            Permission::ManageSystem => "manage_system",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
                format!("{s:?} is not a permission ({})", all.join(", "))
            })
    }
}

/// The built-in roles: (name, permissions, description).
pub fn builtin_roles() -> Vec<(&'static str, Vec<Permission>, &'static str)> {
    use Permission::*;
    vec![
        ("admin", Permission::ALL.to_vec(), "everything, including users and system settings"),
        (
            "analyst",
            vec![
                ViewDashboards,
                ViewPayloads,
                TriageAlerts,
                ManageRules,
                ManageChannels,
                GenerateTraffic,
            ],
            "all data, alert triage, rules and suppressions, channels, traffic generation, payloads",
        ),
        (
            "viewer",
            vec![ViewDashboards],
            "dashboards, flows and alerts read-only; no payloads, no settings",
        ),
    ]
}

/// Why a user operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// Bad input; the message says what.
    #[error("{0}")]
    Invalid(String),
    /// No such user, role, token.
    #[error("{0} not found")]
    NotFound(String),
    /// Already exists.
    #[error("{0} exists already")]
    Exists(String),
    /// The store failed.
    #[error("store: {0}")]
    Sqlite(#[from] nta_store::rusqlite::Error),
}

/// A user as shown (never the password hash).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// Role name.
    pub role: String,
    /// Networks the user's data is limited to; `None`: all.
    pub networks: Option<Vec<IpNet>>,
    /// Cannot log in.
    pub disabled: bool,
    /// Created (µs).
    pub created_at: i64,
    /// Last login (µs).
    pub last_login: Option<i64>,
}

/// Who is making a request: the user, the permissions in force (the role's, or a token's
/// role's) and the data scope.
#[derive(Clone, Debug, Serialize)]
pub struct Principal {
    /// The user.
    pub user: User,
    /// The role in force (a token may carry a lesser one).
    pub role: String,
    /// Its permissions.
    pub permissions: Vec<Permission>,
    /// Set when authenticated by an API token.
    pub token: Option<i64>,
}

impl Principal {
    /// Whether the principal has `p`.
    pub fn can(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }
}

/// Seeds the built-in roles (idempotent).
pub fn ensure_roles(conn: &Connection) -> Result<(), UserError> {
    for (name, perms, desc) in builtin_roles() {
        conn.execute(
            "INSERT INTO roles (name, permissions, builtin, description) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions, builtin = 1,
             description = excluded.description",
            params![
                name,
                serde_json::to_string(&perms).unwrap_or_default(),
                desc
            ],
        )?;
    }
    Ok(())
}

/// A role's permissions.
pub fn role_permissions(conn: &Connection, role: &str) -> Result<Vec<Permission>, UserError> {
    let json: Option<String> = conn
        .query_row(
            "SELECT permissions FROM roles WHERE name = ?1",
            [role],
            |r| r.get(0),
        )
        .optional()?;
    let json = json.ok_or_else(|| UserError::NotFound(format!("role {role:?}")))?;
    Ok(serde_json::from_str(&json).unwrap_or_default())
}

/// Every role: (name, permissions, built-in, description).
pub fn roles(conn: &Connection) -> Result<Vec<RoleInfo>, UserError> {
    let mut st = conn.prepare(
        "SELECT name, permissions, builtin, description FROM roles ORDER BY builtin DESC, name",
    )?;
    let rows = st.query_map([], |r| {
        let p: String = r.get(1)?;
        Ok(RoleInfo {
            name: r.get(0)?,
            permissions: serde_json::from_str(&p).unwrap_or_default(),
            builtin: r.get(2)?,
            description: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A role.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleInfo {
    /// Name (in `PUT /api/v1/roles/{name}`, the path's).
    #[serde(default)]
    pub name: String,
    /// Permissions.
    pub permissions: Vec<Permission>,
    /// Built in (cannot be changed or removed).
    #[serde(default)]
    pub builtin: bool,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
}

/// Creates or replaces a custom role.
pub fn put_role(conn: &Connection, role: &RoleInfo) -> Result<(), UserError> {
    check_name(&role.name, "role name")?;
    if builtin_roles().iter().any(|(n, _, _)| *n == role.name) {
        return Err(UserError::Invalid(format!(
            "role {:?} is built in and cannot be changed",
            role.name
        )));
    }
    conn.execute(
        "INSERT INTO roles (name, permissions, builtin, description) VALUES (?1, ?2, 0, ?3)
         ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions, description = excluded.description",
        params![role.name, serde_json::to_string(&role.permissions).unwrap_or_default(), role.description],
    )?;
    Ok(())
}

fn check_name(name: &str, what: &str) -> Result<(), UserError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(UserError::Invalid(format!(
            "{what} {name:?}: 1 to 64 letters, digits, '.', '_', '-', '@'"
        )))
    }
}

/// Minimum password length.
pub const MIN_PASSWORD: usize = 10;

fn check_password(p: &str) -> Result<(), UserError> {
    if p.chars().count() < MIN_PASSWORD {
        return Err(UserError::Invalid(format!(
            "the password must have at least {MIN_PASSWORD} characters"
        )));
    }
    if p.len() > 1024 {
        return Err(UserError::Invalid(
            "the password is longer than 1024 bytes".into(),
        ));
    }
    Ok(())
}

/// argon2id with the crate's defaults (19 MiB, 2 passes): slow on purpose; call off async threads.
pub fn hash_password(p: &str) -> Result<String, UserError> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes)
        .map_err(|e| UserError::Invalid(format!("cannot make a salt: {e}")))?;
    Argon2::default()
        .hash_password(p.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Invalid(format!("cannot hash the password: {e}")))
}

fn verify_password(p: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| Argon2::default().verify_password(p.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

fn now() -> i64 {
    nta_store::now_us()
}

fn nets_json(n: &Option<Vec<IpNet>>) -> Option<String> {
    n.as_ref()
        .map(|v| serde_json::to_string(v).unwrap_or_default())
}

fn user_row(r: &nta_store::rusqlite::Row<'_>) -> nta_store::rusqlite::Result<User> {
    let nets: Option<String> = r.get(3)?;
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        networks: nets.and_then(|n| serde_json::from_str(&n).ok()),
        disabled: r.get(4)?,
        created_at: r.get(5)?,
        last_login: r.get(6)?,
    })
}

const USER_COLUMNS: &str = "id, name, role, networks, disabled, created_at, last_login";

/// Adds a user.
pub fn add_user(
    conn: &Connection,
    name: &str,
    password: &str,
    role: &str,
    networks: Option<Vec<IpNet>>,
) -> Result<User, UserError> {
    check_name(name, "user name")?;
    check_password(password)?;
    role_permissions(conn, role)?;
    let exists: bool = conn
        .query_row("SELECT 1 FROM users WHERE name = ?1", [name], |_| Ok(true))
        .optional()?
        .unwrap_or(false);
    if exists {
        return Err(UserError::Exists(format!("user {name:?}")));
    }
    let hash = hash_password(password)?;
    let t = now();
    conn.execute(
        "INSERT INTO users (name, password, role, networks, created_at, password_changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![name, hash, role, nets_json(&networks), t],
    )?;
    user(conn, name)?.ok_or_else(|| UserError::NotFound(format!("user {name:?}")))
}

/// A user by name.
pub fn user(conn: &Connection, name: &str) -> Result<Option<User>, UserError> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
            [name],
            user_row,
        )
        .optional()?)
}

/// A user by id.
pub fn user_by_id(conn: &Connection, id: i64) -> Result<Option<User>, UserError> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
            [id],
            user_row,
        )
        .optional()?)
}

/// Every user.
pub fn users(conn: &Connection) -> Result<Vec<User>, UserError> {
    let mut st = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))?;
    let rows = st.query_map([], user_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Number of users.
pub fn user_count(conn: &Connection) -> Result<i64, UserError> {
    Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

/// Sets a password; every session of the user ends.
pub fn set_password(conn: &Connection, name: &str, password: &str) -> Result<(), UserError> {
    check_password(password)?;
    let hash = hash_password(password)?;
    let n = conn.execute(
        "UPDATE users SET password = ?2, password_changed_at = ?3 WHERE name = ?1",
        params![name, hash, now()],
    )?;
    if n == 0 {
        return Err(UserError::NotFound(format!("user {name:?}")));
    }
    conn.execute(
        "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
        [name],
    )?;
    Ok(())
}

/// Disables or enables a user; disabling ends its sessions and revokes its tokens.
pub fn set_disabled(conn: &Connection, name: &str, disabled: bool) -> Result<(), UserError> {
    let n = conn.execute(
        "UPDATE users SET disabled = ?2 WHERE name = ?1",
        params![name, disabled],
    )?;
    if n == 0 {
        return Err(UserError::NotFound(format!("user {name:?}")));
    }
    if disabled {
        conn.execute(
            "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
            [name],
        )?;
        conn.execute(
            "UPDATE api_tokens SET revoked = 1 WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
            [name],
        )?;
    }
    Ok(())
}

/// Changes a user's role and network scope.
pub fn update_user(
    conn: &Connection,
    name: &str,
    role: Option<&str>,
    networks: Option<Option<Vec<IpNet>>>,
) -> Result<(), UserError> {
    if user(conn, name)?.is_none() {
        return Err(UserError::NotFound(format!("user {name:?}")));
    }
    if let Some(r) = role {
        role_permissions(conn, r)?;
        conn.execute(
            "UPDATE users SET role = ?2 WHERE name = ?1",
            params![name, r],
        )?;
    }
    if let Some(n) = networks {
        conn.execute(
            "UPDATE users SET networks = ?2 WHERE name = ?1",
            params![name, nets_json(&n)],
        )?;
    }
    Ok(())
}

/// Checks a login. `None` for a wrong name, a wrong password or a disabled user alike (the
/// caller must not tell them apart). A wrong name still costs a hash, so timing does not tell
/// either.
pub fn check_login(
    conn: &Connection,
    name: &str,
    password: &str,
) -> Result<Option<User>, UserError> {
    let row: Option<(String, bool)> = conn
        .query_row(
            "SELECT password, disabled FROM users WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((phc, disabled)) = row else {
        // The same work as a real check.
        let _ = verify_password(password, dummy_hash());
        return Ok(None);
    };
    if !verify_password(password, &phc) || disabled {
        return Ok(None);
    }
    conn.execute(
        "UPDATE users SET last_login = ?2 WHERE name = ?1",
        params![name, now()],
    )?;
    user(conn, name)
}

/// An argon2id hash of nothing in particular, for the timing of unknown users.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not a password of anyone").unwrap_or_default())
}

/// 32 random bytes as hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// SHA-256 of a token, hex (what the tables keep).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new session for a user: (cookie token, CSRF token).
pub fn new_session(
    conn: &Connection,
    user_id: i64,
    address: &str,
) -> Result<(String, String), UserError> {
    let token = random_token();
    let csrf = random_token();
    let t = now();
    conn.execute(
        "INSERT INTO sessions (id, user_id, csrf, created_at, last_seen, address) VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
        params![token_hash(&token), user_id, csrf, t, address],
    )?;
    Ok((token, csrf))
}

/// Session timeouts.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    /// Without a request for this long, the session ends (µs).
    pub idle_us: i64,
    /// A session ends this long after login whatever happens (µs).
    pub absolute_us: i64,
}

/// The session of a cookie token, touched; `None` if unknown, expired (then deleted) or its
/// user is disabled. Returns (user id, CSRF token).
pub fn session(
    conn: &Connection,
    token: &str,
    limits: SessionLimits,
) -> Result<Option<(i64, String)>, UserError> {
    let id = token_hash(token);
    let row: Option<(i64, String, i64, i64, bool)> = conn
        .query_row(
            "SELECT s.user_id, s.csrf, s.created_at, s.last_seen, u.disabled FROM sessions s
             JOIN users u ON u.id = s.user_id WHERE s.id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((user_id, csrf, created, last, disabled)) = row else {
        return Ok(None);
    };
    let t = now();
    if disabled || t - last > limits.idle_us || t - created > limits.absolute_us {
        conn.execute("DELETE FROM sessions WHERE id = ?1", [&id])?;
        return Ok(None);
    }
    // Touch at most once a minute, or a quarter of the idle time (no write per request).
    if t - last > (limits.idle_us / 4).min(60_000_000) {
        conn.execute(
            "UPDATE sessions SET last_seen = ?2 WHERE id = ?1",
            params![id, t],
        )?;
    }
    Ok(Some((user_id, csrf)))
}

/// Ends a session.
pub fn end_session(conn: &Connection, token: &str) -> Result<(), UserError> {
    conn.execute("DELETE FROM sessions WHERE id = ?1", [token_hash(token)])?;
    Ok(())
}

/// The principal of a user id, with its role's permissions.
pub fn principal(
    conn: &Connection,
    user_id: i64,
    token: Option<(i64, String)>,
) -> Result<Option<Principal>, UserError> {
    let Some(user) = user_by_id(conn, user_id)? else {
        return Ok(None);
    };
    if user.disabled {
        return Ok(None);
    }
    let (role, token_id) = match token {
        Some((id, role)) => (role, Some(id)),
        None => (user.role.clone(), None),
    };
    let mut permissions = role_permissions(conn, &role)?;
    if token_id.is_some() {
        // A token never has more than its user has now.
        let own = role_permissions(conn, &user.role)?;
        permissions.retain(|p| own.contains(p));
    }
    Ok(Some(Principal {
        user,
        role,
        permissions,
        token: token_id,
    }))
}

/// An API token as shown.
#[derive(Clone, Debug, Serialize)]
pub struct TokenInfo {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user: String,
    /// Label.
    pub name: String,
    /// Role it acts with.
    pub role: String,
    /// Created (µs).
    pub created_at: i64,
    /// Last used (µs).
    pub last_used: Option<i64>,
    /// Revoked.
    pub revoked: bool,
}

/// Creates an API token for a user, with a role whose permissions are all the user's own.
/// Returns the token (shown once) and its id.
pub fn create_token(
    conn: &Connection,
    user_id: i64,
    name: &str,
    role: &str,
) -> Result<(String, i64), UserError> {
    if name.trim().is_empty() || name.len() > 64 {
        return Err(UserError::Invalid(
            "a token needs a name of 1 to 64 characters".into(),
        ));
    }
    let user = user_by_id(conn, user_id)?.ok_or_else(|| UserError::NotFound("user".into()))?;
    let own = role_permissions(conn, &user.role)?;
    let wanted = role_permissions(conn, role)?;
    if let Some(p) = wanted.iter().find(|p| !own.contains(p)) {
        return Err(UserError::Invalid(format!(
            "role {role:?} has {p}, which your role {:?} does not",
            user.role
        )));
    }
    let token = format!("nta_{}", random_token());
    conn.execute(
        "INSERT INTO api_tokens (user_id, name, hash, role, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user_id, name, token_hash(&token), role, now()],
    )?;
    Ok((token, conn.last_insert_rowid()))
}

/// The user and role of a bearer token (touching its last use).
pub fn token_principal(conn: &Connection, token: &str) -> Result<Option<Principal>, UserError> {
    let row: Option<(i64, i64, String)> = conn
        .query_row(
            "SELECT id, user_id, role FROM api_tokens WHERE hash = ?1 AND revoked = 0",
            [token_hash(token)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((id, user_id, role)) = row else {
        return Ok(None);
    };
    conn.execute(
        "UPDATE api_tokens SET last_used = ?2 WHERE id = ?1",
        params![id, now()],
    )?;
    principal(conn, user_id, Some((id, role)))
}

/// Tokens of one user (or of all with `None`).
pub fn tokens(conn: &Connection, user_id: Option<i64>) -> Result<Vec<TokenInfo>, UserError> {
    let mut st = conn.prepare(
        "SELECT t.id, u.name, t.name, t.role, t.created_at, t.last_used, t.revoked FROM api_tokens t
         JOIN users u ON u.id = t.user_id WHERE ?1 IS NULL OR t.user_id = ?1 ORDER BY t.id",
    )?;
    let rows = st.query_map([user_id], |r| {
        Ok(TokenInfo {
            id: r.get(0)?,
            user: r.get(1)?,
            name: r.get(2)?,
            role: r.get(3)?,
            created_at: r.get(4)?,
            last_used: r.get(5)?,
            revoked: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Revokes a token (of `user_id` only, unless `None`).
pub fn revoke_token(conn: &Connection, id: i64, user_id: Option<i64>) -> Result<(), UserError> {
    let n = conn.execute(
        "UPDATE api_tokens SET revoked = 1 WHERE id = ?1 AND (?2 IS NULL OR user_id = ?2)",
        params![id, user_id],
    )?;
    if n == 0 {
        return Err(UserError::NotFound(format!("token {id}")));
    }
    Ok(())
}

/// A one-time setup token for the first admin (valid for an hour).
pub fn setup_token(conn: &Connection) -> Result<String, UserError> {
    let token = random_token();
    let t = now();
    conn.execute(
        "INSERT INTO setup_tokens (hash, created_at, expires_at) VALUES (?1, ?2, ?3)",
        params![token_hash(&token), t, t + 3_600_000_000],
    )?;
    Ok(token)
}

/// Uses a setup token: creates the first admin if there is still no user.
pub fn complete_setup(
    conn: &Connection,
    token: &str,
    name: &str,
    password: &str,
) -> Result<User, UserError> {
    let hash = token_hash(token);
    let valid: bool = conn
        .query_row(
            "SELECT 1 FROM setup_tokens WHERE hash = ?1 AND expires_at > ?2",
            params![hash, now()],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false);
    if !valid || user_count(conn)? > 0 {
        return Err(UserError::Invalid(
            "this setup link is no longer valid".into(),
        ));
    }
    let u = add_user(conn, name, password, "admin", None)?;
    conn.execute("DELETE FROM setup_tokens", [])?;
    Ok(u)
}

/// Writes an audit entry.
pub fn audit(
    conn: &Connection,
    actor: Option<&str>,
    address: Option<&str>,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
) -> Result<(), UserError> {
    conn.execute(
        "INSERT INTO audit_log (ts, actor, address, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![now(), actor, address, action, target, detail],
    )?;
    Ok(())
}

/// An audit entry.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    /// Id.
    pub id: i64,
    /// EVE timestamp.
    pub timestamp: String,
    /// Who.
    pub actor: Option<String>,
    /// From where.
    pub address: Option<String>,
    /// What.
    pub action: String,
    /// On what.
    pub target: Option<String>,
    /// Details.
    pub detail: Option<String>,
}

/// The latest audit entries.
pub fn audit_log(conn: &Connection, limit: u32, offset: u64) -> Result<Vec<AuditEntry>, UserError> {
    let mut st = conn.prepare(
        "SELECT id, ts, actor, address, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?1 OFFSET ?2",
    )?;
    let rows = st.query_map(params![limit.min(10_000), offset as i64], |r| {
        let ts: i64 = r.get(1)?;
        Ok(AuditEntry {
            id: r.get(0)?,
            timestamp: nta_store::format_us(ts),
            actor: r.get(2)?,
            address: r.get(3)?,
            action: r.get(4)?,
            target: r.get(5)?,
            detail: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
