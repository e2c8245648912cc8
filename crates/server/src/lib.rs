//! `nta serve`: the web server beside the engine — the JSON API under `/api/v1/` (the same the
//! UI uses, described at `/api/v1/openapi.json`), `/healthz`, `/metrics`, authentication by
//! session cookie or API token, roles and permissions, per-user data scope, and the live event
//! stream.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod error;
pub mod live;
mod pages;
pub mod rules;
pub mod state;
pub mod users;

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::Router;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItemBuilder};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder};

pub use error::ApiError;
pub use live::{Live, LiveTap};
pub use state::{AppState, ServerOptions};
pub use users::{Permission, SessionLimits};

/// Largest request body accepted (rule uploads included).
pub const BODY_LIMIT: usize = 1 << 20;

/// One API route: method, path, what it does, the permission it needs (`None`: any logged-in
/// user; `Some("public")` paths are listed in [`PUBLIC`]).
pub struct RouteDoc {
    /// `GET`, `POST`, …
    pub method: &'static str,
    /// Path, with `{param}`s.
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// The permission, if one is needed beyond being logged in.
    pub permission: Option<Permission>,
}

const fn r(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    permission: Option<Permission>,
) -> RouteDoc {
    RouteDoc {
        method,
        path,
        summary,
        permission,
    }
}

/// Routes anyone may call.
pub const PUBLIC: &[RouteDoc] = &[
    r(
        "GET",
        "/",
        "A page with links (the web UI comes later)",
        None,
    ),
    r(
        "GET",
        "/setup",
        "The page of the one-time setup link: a form creating the first admin",
        None,
    ),
    r("GET", "/healthz", "Health: the store answers", None),
    r(
        "GET",
        "/metrics",
        "Prometheus metrics: packets, drops, flows, alerts, store lag, notification backlog",
        None,
    ),
    r("GET", "/api/v1/openapi.json", "This description", None),
    r(
        "POST",
        "/api/v1/session",
        "Log in (name, password): sets the session cookie, returns the CSRF token",
        None,
    ),
    r(
        "POST",
        "/api/v1/setup",
        "Create the first admin with the one-time setup token",
        None,
    ),
];

use Permission::*;

/// Every route that needs a login, with its permission: the source of the OpenAPI
/// description and of the role test matrix.
pub const ROUTES: &[RouteDoc] = &[
    r(
        "GET",
        "/api/v1/session",
        "Who is logged in, the role's permissions and the CSRF token",
        None,
    ),
    r("DELETE", "/api/v1/session", "Log out", None),
    r(
        "POST",
        "/api/v1/session/password",
        "Change one's password (ends every session)",
        None,
    ),
    r(
        "GET",
        "/api/v1/stats",
        "The engine's latest stats",
        Some(ViewDashboards),
    ),
    r(
        "GET",
        "/api/v1/stream",
        "Live events (server-sent events): alert, flow, stats, …",
        Some(ViewDashboards),
    ),
    r(
        "GET",
        "/api/v1/flows",
        "Flows: from, to, net, src, dest, port, proto, app_proto, text, sort, order, limit, offset",
        Some(ViewDashboards),
    ),
    r(
        "GET",
        "/api/v1/events",
        "Application-layer events: the same filters and event_type",
        Some(ViewDashboards),
    ),
    r(
        "GET",
        "/api/v1/alerts",
        "Alerts (deduplicated): the same filters and sid, signature, severity, source, status",
        Some(ViewDashboards),
    ),
    r(
        "GET",
        "/api/v1/alerts/{id}",
        "One alert with its events, comments and history",
        Some(ViewDashboards),
    ),
    r(
        "POST",
        "/api/v1/alerts/{id}/status",
        "Acknowledge, close or reopen an alert",
        Some(TriageAlerts),
    ),
    r(
        "POST",
        "/api/v1/alerts/{id}/comments",
        "Comment on an alert",
        Some(TriageAlerts),
    ),
    r(
        "POST",
        "/api/v1/alerts/{id}/assign",
        "Assign an alert",
        Some(TriageAlerts),
    ),
    r(
        "GET",
        "/api/v1/series",
        "A time series from the rollups: metric, group, step",
        Some(ViewDashboards),
    ),
    r(
        "GET",
        "/api/v1/top",
        "Top talkers, destinations, ports, app_protos, signatures",
        Some(ViewDashboards),
    ),
    r(
        "GET",
        "/api/v1/suppressions",
        "Suppressions in force",
        Some(ViewDashboards),
    ),
    r(
        "POST",
        "/api/v1/suppressions",
        "Add a suppression",
        Some(TriageAlerts),
    ),
    r(
        "DELETE",
        "/api/v1/suppressions/{id}",
        "Remove a suppression",
        Some(TriageAlerts),
    ),
    r(
        "GET",
        "/api/v1/channels",
        "Notification channels with delivery status (secrets redacted)",
        Some(ManageChannels),
    ),
    r(
        "POST",
        "/api/v1/channels",
        "Add a channel",
        Some(ManageChannels),
    ),
    r(
        "PUT",
        "/api/v1/channels/{name}",
        "Replace a channel's configuration",
        Some(ManageChannels),
    ),
    r(
        "DELETE",
        "/api/v1/channels/{name}",
        "Remove a channel",
        Some(ManageChannels),
    ),
    r(
        "POST",
        "/api/v1/channels/{name}/test",
        "Send a test notification",
        Some(ManageChannels),
    ),
    r("GET", "/api/v1/users", "Users", Some(ManageUsers)),
    r("POST", "/api/v1/users", "Add a user", Some(ManageUsers)),
    r(
        "PATCH",
        "/api/v1/users/{name}",
        "Change a user's role, scope, password; disable",
        Some(ManageUsers),
    ),
    r(
        "GET",
        "/api/v1/roles",
        "Roles and the permissions there are",
        None,
    ),
    r(
        "PUT",
        "/api/v1/roles/{name}",
        "Create or change a custom role",
        Some(ManageUsers),
    ),
    r(
        "GET",
        "/api/v1/tokens",
        "API tokens (one's own; everyone's with manage_users)",
        None,
    ),
    r(
        "POST",
        "/api/v1/tokens",
        "Create an API token (shown once)",
        None,
    ),
    r("DELETE", "/api/v1/tokens/{id}", "Revoke an API token", None),
    r(
        "GET",
        "/api/v1/rules",
        "Rules read (loaded and disabled), with search: q, limit, offset",
        Some(ManageRules),
    ),
    r(
        "GET",
        "/api/v1/rules/report",
        "The last load's report: loaded, skipped and why",
        Some(ManageRules),
    ),
    r(
        "POST",
        "/api/v1/rules/reload",
        "Read the rule files again",
        Some(ManageRules),
    ),
    r(
        "POST",
        "/api/v1/rules/check",
        "Check rule text without applying it",
        Some(ManageRules),
    ),
    r(
        "POST",
        "/api/v1/rules/files",
        "Upload a rule file (name, text) and reload",
        Some(ManageRules),
    ),
    r(
        "POST",
        "/api/v1/rules/{gid}/{sid}/enabled",
        "Enable or disable a rule, and reload",
        Some(ManageRules),
    ),
    r("GET", "/api/v1/audit", "The audit log", Some(ManageSystem)),
    r(
        "GET",
        "/api/v1/config",
        "The running configuration, secrets redacted",
        Some(ManageSystem),
    ),
    r(
        "GET",
        "/api/v1/settings/{key}",
        "A per-user setting (dashboard layout, …)",
        None,
    ),
    r(
        "PUT",
        "/api/v1/settings/{key}",
        "Save a per-user setting",
        None,
    ),
];

/// The OpenAPI description of [`PUBLIC`] and [`ROUTES`].
pub fn openapi() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for d in PUBLIC.iter().chain(ROUTES) {
        let method = match d.method {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "PATCH" => HttpMethod::Patch,
            _ => HttpMethod::Delete,
        };
        let needs = match (d.permission, PUBLIC.iter().any(|p| std::ptr::eq(p, d))) {
            (_, true) => "No login needed.".to_string(),
            (Some(p), _) => format!("Needs the permission `{p}`."),
            (None, _) => "Needs a login.".to_string(),
        };
        let op = OperationBuilder::new()
            .summary(Some(d.summary))
            .description(Some(needs))
            .tag(
                d.path
                    .trim_start_matches("/api/v1/")
                    .split('/')
                    .next()
                    .unwrap_or(""),
            )
            .build();
        paths = paths.path(d.path, PathItemBuilder::new().operation(method, op).build());
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("NTA API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Authenticate with the session cookie from POST /api/v1/session (then send \
                     the CSRF token in the x-csrf-token header with every POST, PUT, PATCH and \
                     DELETE) or with an API token: Authorization: Bearer nta_….",
                ))
                .build(),
        )
        .paths(paths.build())
        .build()
}

/// The application: every route on `state`.
pub fn router(state: AppState) -> Router {
    let spec = openapi();
    Router::new()
        .route("/", get(pages::home))
        .route("/setup", get(pages::setup))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let s = spec.clone();
                async move { axum::Json(s) }
            }),
        )
        .route(
            "/api/v1/session",
            post(api::login).get(api::session).delete(api::logout),
        )
        .route("/api/v1/session/password", post(api::change_password))
        .route("/api/v1/setup", post(api::setup))
        .route("/api/v1/stats", get(api::stats))
        .route("/api/v1/stream", get(api::stream))
        .route("/api/v1/flows", get(api::flows))
        .route("/api/v1/events", get(api::events))
        .route("/api/v1/alerts", get(api::alerts))
        .route("/api/v1/alerts/{id}", get(api::alert))
        .route("/api/v1/alerts/{id}/status", post(api::alert_status))
        .route("/api/v1/alerts/{id}/comments", post(api::alert_comment))
        .route("/api/v1/alerts/{id}/assign", post(api::alert_assign))
        .route("/api/v1/series", get(api::series))
        .route("/api/v1/top", get(api::top))
        .route(
            "/api/v1/suppressions",
            get(api::suppressions).post(api::add_suppression),
        )
        .route("/api/v1/suppressions/{id}", delete(api::remove_suppression))
        .route(
            "/api/v1/channels",
            get(api::channels).post(api::add_channel),
        )
        .route(
            "/api/v1/channels/{name}",
            put(api::update_channel).delete(api::remove_channel),
        )
        .route("/api/v1/channels/{name}/test", post(api::test_channel))
        .route("/api/v1/users", get(api::list_users).post(api::add_user))
        .route(
            "/api/v1/users/{name}",
            axum::routing::patch(api::change_user),
        )
        .route("/api/v1/roles", get(api::list_roles))
        .route("/api/v1/roles/{name}", put(api::put_role))
        .route(
            "/api/v1/tokens",
            get(api::list_tokens).post(api::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(api::revoke_token))
        .route("/api/v1/rules", get(api::rules))
        .route("/api/v1/rules/report", get(api::rules_report))
        .route("/api/v1/rules/reload", post(api::rules_reload))
        .route("/api/v1/rules/check", post(api::rules_check))
        .route("/api/v1/rules/files", post(api::rules_upload))
        .route("/api/v1/rules/{gid}/{sid}/enabled", post(api::rules_enable))
        .route("/api/v1/audit", get(api::audit))
        .route("/api/v1/config", get(api::config))
        .route(
            "/api/v1/settings/{key}",
            get(api::get_setting).put(api::put_setting),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// TLS for the listener.
#[derive(Clone, Debug)]
pub struct Tls {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// Serves `router` on `listener` (bound by the caller, so that a port in use is an error before
/// anything else starts) until `shutdown` resolves.
pub async fn serve(
    router: Router,
    listener: std::net::TcpListener,
    tls: Option<Tls>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(t) => {
            // Two crypto providers are linked (ring for the notification clients, aws-lc-rs
            // for axum-server): say which one serves.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&t.cert, &t.key)
                .await
                .map_err(|e| {
                    std::io::Error::other(format!(
                        "TLS certificate {} / key {}: {e}",
                        t.cert.display(),
                        t.key.display()
                    ))
                })?;
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                h.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
            });
            axum_server::from_tcp_rustls(listener, config)
                .handle(handle)
                .serve(app)
                .await
        }
    }
}
