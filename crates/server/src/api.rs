//! The JSON API under `/api/v1/`, `/healthz` and `/metrics`.

use std::convert::Infallible;

use std::time::Duration;

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::Stream;
use ipnet::IpNet;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

use crate::auth::{perm, Auth, Authenticated, COOKIE};
use crate::error::ApiError;
use crate::state::AppState;
use crate::users::{self, Permission, RoleInfo};
use nta_store::{AlertStatus, Filter, Metric, Order, Page, SeriesGroup, TopKind};

/// A JSON body whose errors (bad JSON, unknown fields, wrong types, too large) are 400s with
/// serde's message.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => Err(ApiError::new(
                match e.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    _ => StatusCode::BAD_REQUEST,
                },
                e.body_text(),
            )),
        }
    }
}

/// Query parameters whose errors (unknown or malformed parameters) are 400s in the API's JSON.
pub struct Q<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Q(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

impl<T> std::ops::Deref for Q<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Path parameters whose errors are 400s in the API's JSON.
pub struct P<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S> for P<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| P(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

// ---- health and metrics ------------------------------------------------------------------

/// `GET /healthz`
pub async fn healthz(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    st.db(|s| {
        s.conn()
            .query_row("SELECT 1", [], |_| Ok(()))
            .map_err(ApiError::internal)
    })
    .await?;
    Ok(Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime": st.0.started.elapsed().as_secs(),
    })))
}

fn counter(stats: &Value, path: &str) -> u64 {
    path.split('.')
        .fold(stats, |v, k| &v[k])
        .as_u64()
        .unwrap_or(0)
}

/// Metrics read from the engine's latest `stats`: (name, type, help, stats path).
const METRICS: &[(&str, &str, &str, &str)] = &[
    (
        "packets_total",
        "counter",
        "Packets decoded.",
        "decoder.pkts",
    ),
    ("bytes_total", "counter", "Bytes decoded.", "decoder.bytes"),
    (
        "kernel_drops_total",
        "counter",
        "Packets the kernel dropped.",
        "capture.kernel_drops",
    ),
    (
        "queue_drops_total",
        "counter",
        "Packets dropped at full worker queues.",
        "engine.queue_drops",
    ),
    ("flows_total", "counter", "Flows seen.", "flow.total"),
    (
        "flows_active",
        "gauge",
        "Flows in the table now.",
        "flow.active",
    ),
    (
        "alerts_total",
        "counter",
        "Alerts raised by rules.",
        "detect.alert",
    ),
    (
        "store_events_total",
        "counter",
        "Events written to the store.",
        "store.events",
    ),
    (
        "store_dropped_total",
        "counter",
        "Events dropped at the store's full queue.",
        "store.dropped",
    ),
    (
        "store_queue_depth",
        "gauge",
        "Chunks waiting for the store writer (its lag).",
        "store.queued",
    ),
];

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(st): State<AppState>) -> Response {
    let s = st.live().stats().unwrap_or(Value::Null);
    let mut out = String::new();
    let mut m = |name: &str, kind: &str, help: &str, v: u64| {
        out.push_str(&format!(
            "# HELP nta_{name} {help}\n# TYPE nta_{name} {kind}\nnta_{name} {v}\n"
        ));
    };
    for (name, kind, help, path) in METRICS {
        m(name, kind, help, counter(&s, path));
    }
    let backlog: u64 =
        st.0.alerting
            .as_ref()
            .map(|a| {
                a.stats()["channels"]
                    .as_object()
                    .map(|o| o.values().map(|c| c["backlog"].as_u64().unwrap_or(0)).sum())
                    .unwrap_or(0)
            })
            .unwrap_or(0);
    m(
        "notification_backlog",
        "gauge",
        "Notifications waiting in the outboxes.",
        backlog,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

// ---- session ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    name: String,
    password: String,
}

fn session_cookie(st: &AppState, token: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = if st.0.opts.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let age = match max_age {
        Some(a) => format!("; Max-Age={a}"),
        None => String::new(),
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{secure}{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn me(p: &users::Principal, csrf: Option<&str>) -> Value {
    json!({
        "user": p.user,
        "role": p.role,
        "permissions": p.permissions,
        "csrf": csrf,
    })
}

/// `POST /api/v1/session`: log in.
pub async fn login(
    State(st): State<AppState>,
    crate::auth::ClientAddr(address): crate::auth::ClientAddr,
    Body(body): Body<Login>,
) -> Result<Response, ApiError> {
    let keys = [
        format!("user:{}", body.name.to_lowercase()),
        format!("addr:{address}"),
    ];
    if let Some(wait) = keys.iter().filter_map(|k| st.0.throttle.wait(k)).max() {
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many failed logins; try again in {} s",
                wait.as_secs().max(1)
            ),
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(r);
    }
    let addr = address.clone();
    let name = body.name.clone();
    let result = st
        .db(move |s| {
            let Some(u) = users::check_login(s.conn(), &name, &body.password)? else {
                users::audit(
                    s.conn(),
                    Some(&name),
                    Some(&addr),
                    "login_failed",
                    None,
                    None,
                )?;
                return Ok(None);
            };
            let (token, csrf) = users::new_session(s.conn(), u.id, &addr)?;
            users::audit(s.conn(), Some(&u.name), Some(&addr), "login", None, None)?;
            let p = users::principal(s.conn(), u.id, None)?;
            Ok(p.map(|p| (p, token, csrf)))
        })
        .await?;
    let Some((p, token, csrf)) = result else {
        for k in &keys {
            st.0.throttle.fail(k);
        }
        // The same answer for an unknown user, a wrong password, a disabled account.
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong user name or password",
        ));
    };
    for k in &keys {
        st.0.throttle.clear(k);
    }
    let mut r = Json(me(&p, Some(&csrf))).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&st, &token, None));
    Ok(r)
}

/// `GET /api/v1/session`: who am I (and the CSRF token).
pub async fn session(who: Authenticated) -> Json<Value> {
    Json(me(&who.principal, who.csrf.as_deref()))
}

/// `DELETE /api/v1/session`: log out.
pub async fn logout(State(st): State<AppState>, who: Authenticated) -> Result<Response, ApiError> {
    let name = who.principal.user.name.clone();
    let addr = who.address.clone();
    let token = who.session.clone();
    st.db(move |s| {
        if let Some(t) = token {
            users::end_session(s.conn(), &t)?;
        }
        users::audit(s.conn(), Some(&name), Some(&addr), "logout", None, None)?;
        Ok(())
    })
    .await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&st, "", Some(0)));
    Ok(r)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current: String,
    new: String,
}

/// `POST /api/v1/session/password`: change one's password (ends every session).
pub async fn change_password(
    State(st): State<AppState>,
    who: Authenticated,
    Body(b): Body<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let name = who.principal.user.name.clone();
    let addr = who.address.clone();
    st.db(move |s| {
        if users::check_login(s.conn(), &name, &b.current)?.is_none() {
            return Err(ApiError::forbidden("the current password is wrong"));
        }
        users::set_password(s.conn(), &name, &b.new)?;
        users::audit(
            s.conn(),
            Some(&name),
            Some(&addr),
            "password_changed",
            Some(&name),
            None,
        )?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    token: String,
    name: String,
    password: String,
}

/// `POST /api/v1/setup`: the first admin, with the one-time link's token.
pub async fn setup(
    State(st): State<AppState>,
    Body(b): Body<Setup>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let u = st
        .db(move |s| {
            let u = users::complete_setup(s.conn(), &b.token, &b.name, &b.password)?;
            users::audit(
                s.conn(),
                Some(&u.name),
                None,
                "user_added",
                Some(&u.name),
                Some("first admin, by setup link"),
            )?;
            Ok(u)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "user": u }))))
}

// ---- history -----------------------------------------------------------------------------

/// Query parameters of the history endpoints (lists are comma-separated).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    from: Option<String>,
    to: Option<String>,
    net: Option<String>,
    src: Option<String>,
    dest: Option<String>,
    port: Option<String>,
    proto: Option<String>,
    app_proto: Option<String>,
    event_type: Option<String>,
    sid: Option<u32>,
    gid: Option<u32>,
    signature: Option<String>,
    severity: Option<String>,
    source: Option<String>,
    status: Option<String>,
    text: Option<String>,
    suppressed: Option<bool>,
    sort: Option<String>,
    order: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
    // aggregates
    metric: Option<String>,
    group: Option<String>,
    step: Option<String>,
    kind: Option<String>,
    n: Option<u32>,
}

fn nets(s: &Option<String>, what: &str) -> Result<Vec<IpNet>, ApiError> {
    let Some(s) = s else { return Ok(Vec::new()) };
    s.split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|x| nta_store::parse_net(x).map_err(|e| ApiError::bad_request(format!("{what}: {e}"))))
        .collect()
}

impl HistoryQuery {
    fn filter(&self, scope: Option<Vec<IpNet>>) -> Result<Filter, ApiError> {
        let time = |v: &Option<String>, what: &str| {
            v.as_deref()
                .map(|t| {
                    nta_store::parse_time(t)
                        .map_err(|e| ApiError::bad_request(format!("{what}: {e}")))
                })
                .transpose()
        };
        let port = match &self.port {
            Some(p) => p
                .split(',')
                .filter(|x| !x.trim().is_empty())
                .map(|x| {
                    x.trim().parse::<u16>().map_err(|_| {
                        ApiError::bad_request(format!("port: {x:?} is not a port (0-65535)"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let severity = self
            .severity
            .as_deref()
            .map(|s| {
                nta_store::parse_severity(s)
                    .map_err(|e| ApiError::bad_request(format!("severity: {e}")))
            })
            .transpose()?;
        let status = match &self.status {
            Some(s) => Some(AlertStatus::parse(s)?.as_str().to_string()),
            None => None,
        };
        Ok(Filter {
            from: time(&self.from, "from")?,
            to: time(&self.to, "to")?,
            net: nets(&self.net, "net")?,
            src_net: nets(&self.src, "src")?,
            dest_net: nets(&self.dest, "dest")?,
            port,
            proto: self.proto.clone(),
            app_proto: self.app_proto.clone(),
            event_type: self.event_type.clone(),
            sid: self.sid,
            gid: self.gid,
            signature: self.signature.clone(),
            severity,
            source: self.source.clone(),
            status,
            text: self.text.clone(),
            scope,
            include_suppressed: self.suppressed.unwrap_or(false),
        })
    }

    fn page(&self) -> Result<Page, ApiError> {
        Ok(Page {
            limit: self.limit.unwrap_or(100),
            offset: self.offset.unwrap_or(0),
            sort: self.sort.clone(),
            order: match self.order.as_deref() {
                None | Some("desc") => Order::Desc,
                Some("asc") => Order::Asc,
                Some(o) => {
                    return Err(ApiError::bad_request(format!(
                        "order: {o:?} is not asc or desc"
                    )))
                }
            },
        })
    }
}

/// Removes what only `view_payloads` may see from an event.
fn strip_payloads(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        for k in ["payload", "payload_printable", "packet", "http_body"] {
            o.remove(k);
        }
    }
}

fn query<P: crate::auth::Need>(
    auth: &Auth<P>,
    q: &Q<HistoryQuery>,
) -> Result<(Filter, Page), ApiError> {
    Ok((q.filter(auth.scope())?, q.page()?))
}

/// `GET /api/v1/flows`
pub async fn flows(
    State(st): State<AppState>,
    auth: Auth<perm::ViewDashboards>,
    q: Q<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let (f, p) = query(&auth, &q)?;
    let rows = st.db(move |s| Ok(s.flows(&f, &p)?)).await?;
    Ok(Json(json!({ "flows": rows })))
}

/// `GET /api/v1/events`
pub async fn events(
    State(st): State<AppState>,
    auth: Auth<perm::ViewDashboards>,
    q: Q<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let (f, p) = query(&auth, &q)?;
    let payloads = auth.principal().can(Permission::ViewPayloads);
    let mut rows = st.db(move |s| Ok(s.events(&f, &p)?)).await?;
    if !payloads {
        rows.iter_mut().for_each(|r| strip_payloads(&mut r.event));
    }
    Ok(Json(json!({ "events": rows })))
}

/// `GET /api/v1/alerts`
pub async fn alerts(
    State(st): State<AppState>,
    auth: Auth<perm::ViewDashboards>,
    q: Q<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let (f, p) = query(&auth, &q)?;
    let payloads = auth.principal().can(Permission::ViewPayloads);
    let mut rows = st.db(move |s| Ok(s.alerts(&f, &p)?)).await?;
    if !payloads {
        rows.iter_mut().for_each(|r| strip_payloads(&mut r.event));
    }
    Ok(Json(json!({ "alerts": rows })))
}

/// `GET /api/v1/alerts/{id}`
pub async fn alert(
    State(st): State<AppState>,
    auth: Auth<perm::ViewDashboards>,
    P(id): P<i64>,
) -> Result<Json<Value>, ApiError> {
    let scope = auth.scope();
    let payloads = auth.principal().can(Permission::ViewPayloads);
    let d = st
        .db(move |s| Ok(s.alert(id, scope.as_deref())?))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("alert {id} not found")))?;
    let mut v = serde_json::to_value(d).map_err(ApiError::internal)?;
    if !payloads {
        strip_payloads(&mut v["alert"]["event"]);
        if let Some(evs) = v["events"].as_array_mut() {
            evs.iter_mut().for_each(strip_payloads);
        }
    }
    Ok(Json(v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    status: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    assignee: Option<String>,
}

/// The alert, if visible in the scope; else 404 (no hint it exists).
async fn visible_alert(st: &AppState, id: i64, scope: Option<Vec<IpNet>>) -> Result<(), ApiError> {
    let found = st
        .db(move |s| Ok(s.alert(id, scope.as_deref())?.is_some()))
        .await?;
    if found {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("alert {id} not found")))
    }
}

/// `POST /api/v1/alerts/{id}/status`
pub async fn alert_status(
    State(st): State<AppState>,
    auth: Auth<perm::TriageAlerts>,
    P(id): P<i64>,
    Body(b): Body<StatusChange>,
) -> Result<StatusCode, ApiError> {
    let status = AlertStatus::parse(&b.status)?;
    visible_alert(&st, id, auth.scope()).await?;
    let name = auth.name().to_string();
    st.db(move |s| Ok(s.set_status(id, status, &name)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/alerts/{id}/comments`
pub async fn alert_comment(
    State(st): State<AppState>,
    auth: Auth<perm::TriageAlerts>,
    P(id): P<i64>,
    Body(b): Body<CommentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if b.text.len() > 10_000 {
        return Err(ApiError::bad_request("a comment is at most 10,000 bytes"));
    }
    visible_alert(&st, id, auth.scope()).await?;
    let name = auth.name().to_string();
    let cid = st.db(move |s| Ok(s.comment(id, &name, &b.text)?)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": cid }))))
}

/// `POST /api/v1/alerts/{id}/assign`
pub async fn alert_assign(
    State(st): State<AppState>,
    auth: Auth<perm::TriageAlerts>,
    P(id): P<i64>,
    Body(b): Body<AssignBody>,
) -> Result<StatusCode, ApiError> {
    visible_alert(&st, id, auth.scope()).await?;
    let name = auth.name().to_string();
    st.db(move |s| Ok(s.assign(id, b.assignee.as_deref(), &name)?))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/series?metric=bytes&group=app_proto&step=5m`
pub async fn series(
    State(st): State<AppState>,
    auth: Auth<perm::ViewDashboards>,
    q: Q<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let f = q.filter(auth.scope())?;
    let metric = parse_metric(q.metric.as_deref().unwrap_or("bytes"))?;
    let group = match q.group.as_deref().unwrap_or("none") {
        "none" => SeriesGroup::None,
        "proto" => SeriesGroup::Proto,
        "app_proto" => SeriesGroup::AppProto,
        "severity" => SeriesGroup::Severity,
        "source" => SeriesGroup::Source,
        g => {
            return Err(ApiError::bad_request(format!(
                "group: {g:?} is not none, proto, app_proto, severity or source"
            )))
        }
    };
    let step = nta_store::parse_duration(q.step.as_deref().unwrap_or("1m"))
        .map_err(|e| ApiError::bad_request(format!("step: {e}")))?
        .as_secs() as i64;
    let points = st
        .db(move |s| Ok(s.series(metric, group, &f, step)?))
        .await?;
    Ok(Json(json!({ "points": points })))
}

fn parse_metric(m: &str) -> Result<Metric, ApiError> {
    Ok(match m {
        "bytes" => Metric::Bytes,
        "packets" => Metric::Packets,
        "flows" => Metric::Flows,
        "alerts" => Metric::Alerts,
        m => {
            return Err(ApiError::bad_request(format!(
                "metric: {m:?} is not bytes, packets, flows or alerts"
            )))
        }
    })
}

/// `GET /api/v1/top?kind=talkers&metric=bytes&n=10`
pub async fn top(
    State(st): State<AppState>,
    auth: Auth<perm::ViewDashboards>,
    q: Q<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let f = q.filter(auth.scope())?;
    let metric = parse_metric(q.metric.as_deref().unwrap_or("bytes"))?;
    let kind = match q.kind.as_deref().unwrap_or("talkers") {
        "talkers" => TopKind::Talkers,
        "destinations" => TopKind::Destinations,
        "ports" => TopKind::Ports,
        "app_protos" => TopKind::AppProtos,
        "signatures" => TopKind::Signatures,
        k => {
            return Err(ApiError::bad_request(format!(
                "kind: {k:?} is not talkers, destinations, ports, app_protos or signatures"
            )))
        }
    };
    let n = q.n.unwrap_or(10);
    let rows = st.db(move |s| Ok(s.top(kind, metric, &f, n)?)).await?;
    Ok(Json(json!({ "top": rows })))
}

/// `GET /api/v1/stats`: the engine's latest `stats`.
pub async fn stats(State(st): State<AppState>, _a: Auth<perm::ViewDashboards>) -> Json<Value> {
    Json(json!({ "stats": st.live().stats() }))
}

/// `GET /api/v1/stream?types=alert,flow,stats`: server-sent events as they happen, filtered
/// by the user's scope.
pub async fn stream(
    State(st): State<AppState>,
    auth: Auth<perm::ViewDashboards>,
    Q(q): Q<StreamQuery>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let types: Vec<String> = q
        .types
        .unwrap_or_else(|| "alert,flow,stats".into())
        .split(',')
        .map(|t| t.trim().to_string())
        .collect();
    let scope = auth.scope();
    let payloads = auth.principal().can(Permission::ViewPayloads);
    let rx = st.live().subscribe();
    let stream = BroadcastStream::new(rx).filter_map(move |item| {
        let ev = match item {
            Ok(ev) => ev,
            // A slow reader missed events: say how many.
            Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
                return Some(Ok(SseEvent::default().event("lagged").data(n.to_string())));
            }
        };
        if !types.iter().any(|t| t == &ev.kind) {
            return None;
        }
        if let Some(scope) = &scope {
            if ev.kind == "stats" {
                return None;
            }
            let inside = |a: Option<std::net::IpAddr>| {
                a.is_some_and(|a| scope.iter().any(|n| n.contains(&a)))
            };
            if !inside(ev.src) && !inside(ev.dest) {
                return None;
            }
        }
        // What only `view_payloads` may see is taken out (as in the history answers).
        let data = if !payloads && (ev.json.contains("\"payload") || ev.json.contains("\"packet\""))
        {
            match serde_json::from_str::<Value>(&ev.json) {
                Ok(mut v) => {
                    strip_payloads(&mut v);
                    v.to_string()
                }
                Err(_) => return None,
            }
        } else {
            ev.json.clone()
        };
        Some(Ok(SseEvent::default().event(ev.kind.clone()).data(data)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// `types` of the stream.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    types: Option<String>,
}

// ---- alerting ----------------------------------------------------------------------------

/// `GET /api/v1/suppressions`
pub async fn suppressions(
    State(st): State<AppState>,
    _a: Auth<perm::ViewDashboards>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "suppressions": st.alerting()?.suppressions() }),
    ))
}

/// `POST /api/v1/suppressions`
pub async fn add_suppression(
    State(st): State<AppState>,
    auth: Auth<perm::TriageAlerts>,
    Body(b): Body<nta_alert::SuppressConfig>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let a = st.alerting()?.clone();
    let who = auth.name().to_string();
    let addr = auth.who.address.clone();
    let id = st
        .db(move |s| {
            let id = a.add_suppression(&b, &who)?;
            users::audit(
                s.conn(),
                Some(&who),
                Some(&addr),
                "suppression_added",
                Some(&id.to_string()),
                serde_json::to_string(&b).ok().as_deref(),
            )?;
            Ok(id)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

/// `DELETE /api/v1/suppressions/{id}`
pub async fn remove_suppression(
    State(st): State<AppState>,
    auth: Auth<perm::TriageAlerts>,
    P(id): P<i64>,
) -> Result<StatusCode, ApiError> {
    let a = st.alerting()?.clone();
    let who = auth.name().to_string();
    let addr = auth.who.address.clone();
    st.db(move |s| {
        a.remove_suppression(id)?;
        users::audit(
            s.conn(),
            Some(&who),
            Some(&addr),
            "suppression_removed",
            Some(&id.to_string()),
            None,
        )?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/channels`
pub async fn channels(
    State(st): State<AppState>,
    _a: Auth<perm::ManageChannels>,
) -> Result<Json<Value>, ApiError> {
    let a = st.alerting()?.clone();
    let list = st.db(move |_| Ok(a.channels()?)).await?;
    Ok(Json(json!({ "channels": list })))
}

async fn channel_change(
    st: &AppState,
    who: &Authenticated,
    action: &'static str,
    name: String,
    f: impl FnOnce(&nta_alert::Alerting) -> Result<(), nta_alert::AlertingError> + Send + 'static,
) -> Result<(), ApiError> {
    let a = st.alerting()?.clone();
    let actor = who.principal.user.name.clone();
    let addr = who.address.clone();
    st.db(move |s| {
        f(&a)?;
        users::audit(
            s.conn(),
            Some(&actor),
            Some(&addr),
            action,
            Some(&name),
            None,
        )?;
        Ok(())
    })
    .await
}

/// `POST /api/v1/channels`
pub async fn add_channel(
    State(st): State<AppState>,
    auth: Auth<perm::ManageChannels>,
    Body(b): Body<nta_alert::ChannelConfig>,
) -> Result<StatusCode, ApiError> {
    let name = b.name.clone();
    channel_change(&st, &auth.who, "channel_added", name, move |a| {
        a.add_channel(b)
    })
    .await?;
    Ok(StatusCode::CREATED)
}

/// `PUT /api/v1/channels/{name}`
pub async fn update_channel(
    State(st): State<AppState>,
    auth: Auth<perm::ManageChannels>,
    P(name): P<String>,
    Body(b): Body<nta_alert::ChannelConfig>,
) -> Result<StatusCode, ApiError> {
    let n = name.clone();
    channel_change(&st, &auth.who, "channel_changed", name, move |a| {
        a.update_channel(&n, b)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/channels/{name}`
pub async fn remove_channel(
    State(st): State<AppState>,
    auth: Auth<perm::ManageChannels>,
    P(name): P<String>,
) -> Result<StatusCode, ApiError> {
    let n = name.clone();
    channel_change(&st, &auth.who, "channel_removed", name, move |a| {
        a.remove_channel(&n)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/channels/{name}/test`
pub async fn test_channel(
    State(st): State<AppState>,
    auth: Auth<perm::ManageChannels>,
    P(name): P<String>,
) -> Result<Json<Value>, ApiError> {
    let n = name.clone();
    let r = channel_change(&st, &auth.who, "channel_tested", name, move |a| {
        a.test_channel(&n)
    })
    .await;
    match r {
        Ok(()) => Ok(Json(json!({ "sent": true }))),
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            Ok(Json(json!({ "sent": false, "error": e.message })))
        }
        Err(e) => Err(e),
    }
}

// ---- users, roles, tokens, audit, config ------------------------------------------------

/// `GET /api/v1/users`
pub async fn list_users(
    State(st): State<AppState>,
    _a: Auth<perm::ManageUsers>,
) -> Result<Json<Value>, ApiError> {
    let u = st.db(|s| Ok(users::users(s.conn())?)).await?;
    Ok(Json(json!({ "users": u })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    name: String,
    password: String,
    role: String,
    #[serde(default)]
    networks: Option<Vec<String>>,
}

fn parse_scope(n: Option<Vec<String>>) -> Result<Option<Vec<IpNet>>, ApiError> {
    n.map(|list| {
        list.iter()
            .map(|x| {
                nta_store::parse_net(x).map_err(|e| ApiError::bad_request(format!("networks: {e}")))
            })
            .collect()
    })
    .transpose()
}

/// `POST /api/v1/users`
pub async fn add_user(
    State(st): State<AppState>,
    auth: Auth<perm::ManageUsers>,
    Body(b): Body<NewUser>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let nets = parse_scope(b.networks)?;
    let who = auth.name().to_string();
    let addr = auth.who.address.clone();
    let u = st
        .db(move |s| {
            let u = users::add_user(s.conn(), &b.name, &b.password, &b.role, nets)?;
            users::audit(
                s.conn(),
                Some(&who),
                Some(&addr),
                "user_added",
                Some(&u.name),
                Some(&format!("role {}", u.role)),
            )?;
            Ok(u)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "user": u }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    role: Option<String>,
    /// `null` removes the scope; absent leaves it.
    #[serde(default, with = "double_option")]
    networks: Option<Option<Vec<String>>>,
    disabled: Option<bool>,
    password: Option<String>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<Vec<String>>>, D::Error> {
        Option::<Vec<String>>::deserialize(d).map(Some)
    }
}

/// `PATCH /api/v1/users/{name}`
pub async fn change_user(
    State(st): State<AppState>,
    auth: Auth<perm::ManageUsers>,
    P(name): P<String>,
    Body(b): Body<UserChange>,
) -> Result<StatusCode, ApiError> {
    let nets = match b.networks {
        Some(n) => Some(parse_scope(n)?),
        None => None,
    };
    let who = auth.name().to_string();
    let addr = auth.who.address.clone();
    st.db(move |s| {
        users::update_user(s.conn(), &name, b.role.as_deref(), nets)?;
        if let Some(d) = b.disabled {
            users::set_disabled(s.conn(), &name, d)?;
        }
        if let Some(p) = &b.password {
            users::set_password(s.conn(), &name, p)?;
        }
        users::audit(
            s.conn(),
            Some(&who),
            Some(&addr),
            "user_changed",
            Some(&name),
            None,
        )?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/roles`
pub async fn list_roles(
    State(st): State<AppState>,
    _a: Authenticated,
) -> Result<Json<Value>, ApiError> {
    let r = st.db(|s| Ok(users::roles(s.conn())?)).await?;
    Ok(Json(json!({ "roles": r, "permissions": Permission::ALL })))
}

/// `PUT /api/v1/roles/{name}`: a custom role.
pub async fn put_role(
    State(st): State<AppState>,
    auth: Auth<perm::ManageUsers>,
    P(name): P<String>,
    Body(mut b): Body<RoleInfo>,
) -> Result<StatusCode, ApiError> {
    b.name = name;
    let who = auth.name().to_string();
    let addr = auth.who.address.clone();
    st.db(move |s| {
        users::put_role(s.conn(), &b)?;
        users::audit(
            s.conn(),
            Some(&who),
            Some(&addr),
            "role_changed",
            Some(&b.name),
            serde_json::to_string(&b.permissions).ok().as_deref(),
        )?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/tokens`: one's own tokens (all, for `manage_users`).
pub async fn list_tokens(
    State(st): State<AppState>,
    who: Authenticated,
) -> Result<Json<Value>, ApiError> {
    let uid = (!who.principal.can(Permission::ManageUsers)).then_some(who.principal.user.id);
    let t = st.db(move |s| Ok(users::tokens(s.conn(), uid)?)).await?;
    Ok(Json(json!({ "tokens": t })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
    role: Option<String>,
}

/// `POST /api/v1/tokens`: a token for oneself (shown once).
pub async fn create_token(
    State(st): State<AppState>,
    who: Authenticated,
    Body(b): Body<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if who.principal.token.is_some() {
        return Err(ApiError::forbidden(
            "an API token cannot create tokens; log in",
        ));
    }
    let uid = who.principal.user.id;
    let role = b.role.unwrap_or_else(|| who.principal.role.clone());
    let name = who.principal.user.name.clone();
    let addr = who.address.clone();
    let (token, id) = st
        .db(move |s| {
            let r = users::create_token(s.conn(), uid, &b.name, &role)?;
            users::audit(
                s.conn(),
                Some(&name),
                Some(&addr),
                "token_created",
                Some(&b.name),
                Some(&role),
            )?;
            Ok(r)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "token": token })),
    ))
}

/// `DELETE /api/v1/tokens/{id}`
pub async fn revoke_token(
    State(st): State<AppState>,
    who: Authenticated,
    P(id): P<i64>,
) -> Result<StatusCode, ApiError> {
    let uid = (!who.principal.can(Permission::ManageUsers)).then_some(who.principal.user.id);
    let name = who.principal.user.name.clone();
    let addr = who.address.clone();
    st.db(move |s| {
        users::revoke_token(s.conn(), id, uid)?;
        users::audit(
            s.conn(),
            Some(&name),
            Some(&addr),
            "token_revoked",
            Some(&id.to_string()),
            None,
        )?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/audit`
pub async fn audit(
    State(st): State<AppState>,
    _a: Auth<perm::ManageSystem>,
    q: Q<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    let offset = q.offset.unwrap_or(0);
    let rows = st
        .db(move |s| Ok(users::audit_log(s.conn(), limit, offset)?))
        .await?;
    Ok(Json(json!({ "audit": rows })))
}

/// `GET /api/v1/config`: the running configuration, secrets redacted.
pub async fn config(State(st): State<AppState>, _a: Auth<perm::ManageSystem>) -> Json<Value> {
    Json(st.0.opts.config.clone())
}

/// `GET /api/v1/settings/{key}` and `PUT`: per-user settings (dashboard layouts).
pub async fn get_setting(
    State(st): State<AppState>,
    who: Authenticated,
    P(key): P<String>,
) -> Result<Json<Value>, ApiError> {
    let uid = who.principal.user.id;
    let v: Option<String> = st
        .db(move |s| {
            use nta_store::rusqlite::OptionalExtension;
            s.conn()
                .query_row(
                    "SELECT value FROM user_settings WHERE user_id = ?1 AND key = ?2",
                    nta_store::rusqlite::params![uid, key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(ApiError::internal)
        })
        .await?;
    Ok(Json(
        v.and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(Value::Null),
    ))
}

/// `PUT /api/v1/settings/{key}`
pub async fn put_setting(
    State(st): State<AppState>,
    who: Authenticated,
    P(key): P<String>,
    Body(v): Body<Value>,
) -> Result<StatusCode, ApiError> {
    if key.is_empty()
        || key.len() > 64
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ApiError::bad_request(
            "a setting's key is 1 to 64 letters, digits, '_' or '-'",
        ));
    }
    let uid = who.principal.user.id;
    let name = who.principal.user.name.clone();
    let addr = who.address.clone();
    st.db(move |s| {
        s.conn()
            .execute(
                "INSERT INTO user_settings (user_id, key, value, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                nta_store::rusqlite::params![uid, key, v.to_string(), nta_store::now_us()],
            )
            .map_err(ApiError::internal)?;
        users::audit(s.conn(), Some(&name), Some(&addr), "setting_saved", Some(&key), None)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- rules -------------------------------------------------------------------------------

/// Rule search parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesQuery {
    q: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// `GET /api/v1/rules?q=&limit=&offset=`
pub async fn rules(
    State(st): State<AppState>,
    _a: Auth<perm::ManageRules>,
    Q(q): Q<RulesQuery>,
) -> Result<Json<Value>, ApiError> {
    let r = st.rules()?;
    let needle = q.q.unwrap_or_default().to_lowercase();
    let list = tokio::task::spawn_blocking(move || r.list())
        .await
        .map_err(ApiError::internal)?;
    let hits: Vec<Value> = list
        .into_iter()
        .filter(|v| {
            needle.is_empty()
                || v["msg"]
                    .as_str()
                    .is_some_and(|m| m.to_lowercase().contains(&needle))
                || needle.parse::<u64>().is_ok_and(|n| v["sid"] == n)
                || v["file"]
                    .as_str()
                    .is_some_and(|f| f.to_lowercase().contains(&needle))
        })
        .collect();
    let total = hits.len();
    let limit = q.limit.unwrap_or(100).min(10_000);
    let page: Vec<Value> = hits
        .into_iter()
        .skip(q.offset.unwrap_or(0))
        .take(limit)
        .collect();
    Ok(Json(json!({ "total": total, "rules": page })))
}

/// `GET /api/v1/rules/report`
pub async fn rules_report(
    State(st): State<AppState>,
    _a: Auth<perm::ManageRules>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(st.rules()?.report()))
}

async fn rules_change(
    st: &AppState,
    who: &Authenticated,
    action: &'static str,
    target: String,
    f: impl FnOnce(&dyn crate::rules::RulesControl) -> Result<Value, String> + Send + 'static,
) -> Result<Json<Value>, ApiError> {
    let r = st.rules()?;
    let out = tokio::task::spawn_blocking(move || f(r.as_ref()))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::bad_request)?;
    let actor = who.principal.user.name.clone();
    let addr = who.address.clone();
    st.db(move |s| {
        users::audit(
            s.conn(),
            Some(&actor),
            Some(&addr),
            action,
            Some(&target),
            None,
        )?;
        Ok(())
    })
    .await?;
    Ok(Json(out))
}

/// `POST /api/v1/rules/reload`
pub async fn rules_reload(
    State(st): State<AppState>,
    a: Auth<perm::ManageRules>,
) -> Result<Json<Value>, ApiError> {
    rules_change(&st, &a.who, "rules_reloaded", String::new(), |r| r.reload()).await
}

/// Rule text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleText {
    text: String,
}

/// `POST /api/v1/rules/check`
pub async fn rules_check(
    State(st): State<AppState>,
    _a: Auth<perm::ManageRules>,
    Body(b): Body<RuleText>,
) -> Result<Json<Value>, ApiError> {
    let r = st.rules()?;
    let out = tokio::task::spawn_blocking(move || r.check(&b.text))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::bad_request)?;
    Ok(Json(out))
}

/// An uploaded rule file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    name: String,
    text: String,
}

/// `POST /api/v1/rules/files`
pub async fn rules_upload(
    State(st): State<AppState>,
    a: Auth<perm::ManageRules>,
    Body(b): Body<RuleFile>,
) -> Result<Json<Value>, ApiError> {
    crate::rules::valid_file_name(&b.name).map_err(ApiError::bad_request)?;
    let name = b.name.clone();
    rules_change(&st, &a.who, "rules_uploaded", name, move |r| {
        r.upload(&b.name, &b.text)
    })
    .await
}

/// Enabled or not.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enabled {
    enabled: bool,
}

/// `POST /api/v1/rules/{gid}/{sid}/enabled`
pub async fn rules_enable(
    State(st): State<AppState>,
    a: Auth<perm::ManageRules>,
    P((gid, sid)): P<(u32, u32)>,
    Body(b): Body<Enabled>,
) -> Result<Json<Value>, ApiError> {
    let action = if b.enabled {
        "rule_enabled"
    } else {
        "rule_disabled"
    };
    rules_change(&st, &a.who, action, format!("{gid}:{sid}"), move |r| {
        r.set_enabled(gid, sid, b.enabled)
    })
    .await
}
