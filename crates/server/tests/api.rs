//! The web API end to end: the server running for real on 127.0.0.1 over a store with history
//! and users, called over HTTP as a browser or a script would — roles and permissions of every
//! route, sessions, CSRF, login throttling, API tokens, data scope, bad input, health and
//! metrics, the first-admin setup link.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{enc, Client, Rig, NET_IN, PW, SID_IN, SID_IN2, SID_OUT};
use nta_server::users::{self, builtin_roles};
use nta_server::{Permission, RouteDoc, SessionLimits, PUBLIC, ROUTES};
use serde_json::{json, Value};

const NEW_PW: &str = "a new password, longer";

fn role_permissions(role: &str) -> Vec<Permission> {
    builtin_roles()
        .into_iter()
        .find(|(n, _, _)| *n == role)
        .unwrap_or_else(|| panic!("no built-in role {role}"))
        .1
}

/// Whether `ip` is in `net`.
fn inside(ip: &str, net: &str) -> bool {
    let net = nta_store::parse_net(net).unwrap();
    ip.parse::<std::net::IpAddr>()
        .is_ok_and(|a| net.contains(&a))
}

/// A call of one route: the concrete path, a valid body, the status of success.
struct Call {
    method: &'static str,
    path: String,
    body: Option<Value>,
    ok: u16,
}

/// The call of `route` by `who` (a role name, or `anon`), with what it needs made beforehand
/// (a suppression, a channel, a token to remove …) so that, allowed, it succeeds.
fn call_for(rig: &Rig, route: &RouteDoc, who: &str) -> Call {
    let alert = rig.alert_id(SID_IN);
    let c = |path: String, body: Option<Value>, ok: u16| Call {
        method: route.method,
        path,
        body,
        ok,
    };
    match (route.method, route.path) {
        ("GET", "/api/v1/session") => c(route.path.into(), None, 200),
        ("DELETE", "/api/v1/session") => c(route.path.into(), None, 204),
        ("POST", "/api/v1/session/password") => c(
            route.path.into(),
            Some(json!({ "current": PW, "new": NEW_PW })),
            204,
        ),
        ("GET", "/api/v1/stats") => c(route.path.into(), None, 200),
        ("GET", "/api/v1/stream") => c("/api/v1/stream?types=alert".into(), None, 200),
        ("GET", "/api/v1/flows") => c("/api/v1/flows?limit=10&sort=bytes".into(), None, 200),
        ("GET", "/api/v1/events") => c("/api/v1/events?event_type=http".into(), None, 200),
        ("GET", "/api/v1/alerts") => c("/api/v1/alerts?severity=low".into(), None, 200),
        ("GET", "/api/v1/alerts/{id}") => c(format!("/api/v1/alerts/{alert}"), None, 200),
        ("POST", "/api/v1/alerts/{id}/status") => c(
            format!("/api/v1/alerts/{alert}/status"),
            Some(json!({ "status": "acknowledged" })),
            204,
        ),
        ("POST", "/api/v1/alerts/{id}/comments") => c(
            format!("/api/v1/alerts/{alert}/comments"),
            Some(json!({ "text": format!("seen by {who}") })),
            201,
        ),
        ("POST", "/api/v1/alerts/{id}/assign") => c(
            format!("/api/v1/alerts/{alert}/assign"),
            Some(json!({ "assignee": "analyst" })),
            204,
        ),
        ("GET", "/api/v1/series") => c(
            "/api/v1/series?metric=bytes&group=app_proto&step=5m".into(),
            None,
            200,
        ),
        ("GET", "/api/v1/top") => c("/api/v1/top?kind=talkers&n=5".into(), None, 200),
        ("GET", "/api/v1/suppressions") => c(route.path.into(), None, 200),
        ("POST", "/api/v1/suppressions") => c(
            route.path.into(),
            Some(json!({ "sid": 4242, "network": "10.9.0.0/16", "reason": who })),
            201,
        ),
        ("DELETE", "/api/v1/suppressions/{id}") => {
            let id = rig
                .alerting
                .add_suppression(
                    &nta_alert::SuppressConfig {
                        sid: Some(4343),
                        reason: Some(format!("to remove by {who}")),
                        ..Default::default()
                    },
                    "rig",
                )
                .unwrap();
            c(format!("/api/v1/suppressions/{id}"), None, 204)
        }
        ("GET", "/api/v1/channels") => c(route.path.into(), None, 200),
        ("POST", "/api/v1/channels") => c(
            route.path.into(),
            Some(rig.file_channel_json(&format!("new-{who}"))),
            201,
        ),
        ("PUT", "/api/v1/channels/{name}") => {
            let name = format!("put-{who}");
            rig.add_channel(&name);
            let mut body = rig.file_channel_json(&name);
            body["min_severity"] = json!("high");
            c(format!("/api/v1/channels/{name}"), Some(body), 204)
        }
        ("DELETE", "/api/v1/channels/{name}") => {
            let name = format!("del-{who}");
            rig.add_channel(&name);
            c(format!("/api/v1/channels/{name}"), None, 204)
        }
        ("POST", "/api/v1/channels/{name}/test") => {
            let name = format!("test-{who}");
            rig.add_channel(&name);
            c(format!("/api/v1/channels/{name}/test"), None, 200)
        }
        ("GET", "/api/v1/users") => c(route.path.into(), None, 200),
        ("POST", "/api/v1/users") => c(
            route.path.into(),
            Some(json!({
                "name": format!("new-{who}"),
                "password": PW,
                "role": "viewer",
                "networks": ["10.2.0.0/16"],
            })),
            201,
        ),
        ("PATCH", "/api/v1/users/{name}") => c(
            "/api/v1/users/scoped".into(),
            Some(json!({ "networks": [NET_IN] })),
            204,
        ),
        ("GET", "/api/v1/roles") => c(route.path.into(), None, 200),
        ("PUT", "/api/v1/roles/{name}") => {
            let name = format!("auditor-{who}");
            c(
                format!("/api/v1/roles/{name}"),
                Some(json!({
                    "name": name,
                    "permissions": ["view_dashboards", "manage_system"],
                    "description": "reads and audits",
                })),
                204,
            )
        }
        ("GET", "/api/v1/tokens") => c(route.path.into(), None, 200),
        ("POST", "/api/v1/tokens") => c(
            route.path.into(),
            Some(json!({ "name": format!("script of {who}") })),
            201,
        ),
        ("DELETE", "/api/v1/tokens/{id}") => {
            let (owner, role) = match who {
                "anon" => ("admin", "admin"),
                r => (r, r),
            };
            let (_, id) =
                users::create_token(rig.store.conn(), rig.user_id(owner), "to revoke", role)
                    .unwrap();
            c(format!("/api/v1/tokens/{id}"), None, 204)
        }
        ("GET", "/api/v1/rules") => c("/api/v1/rules?q=probe".into(), None, 200),
        ("GET", "/api/v1/rules/report") => c(route.path.into(), None, 200),
        ("POST", "/api/v1/rules/reload") => c(route.path.into(), None, 200),
        ("POST", "/api/v1/rules/check") => c(
            route.path.into(),
            Some(json!({ "text": "alert ip any any -> any any (msg:\"x\"; sid:1;)" })),
            200,
        ),
        ("POST", "/api/v1/rules/files") => c(
            route.path.into(),
            Some(json!({
                "name": format!("{who}.rules"),
                "text": "alert icmp any any -> any any (msg:\"ping\"; sid:7100001;)\n",
            })),
            200,
        ),
        ("POST", "/api/v1/rules/{gid}/{sid}/enabled") => c(
            "/api/v1/rules/1/7000002/enabled".into(),
            Some(json!({ "enabled": false })),
            200,
        ),
        ("GET", "/api/v1/audit") => c("/api/v1/audit?limit=10".into(), None, 200),
        ("GET", "/api/v1/config") => c(route.path.into(), None, 200),
        ("GET", "/api/v1/settings/{key}") => c("/api/v1/settings/layout".into(), None, 200),
        ("PUT", "/api/v1/settings/{key}") => c(
            "/api/v1/settings/layout".into(),
            Some(json!({ "widgets": ["alerts", "top"] })),
            204,
        ),
        (m, p) => panic!("{m} {p} is not in the test matrix: add it to call_for"),
    }
}

/// Sends a call; an event stream is closed once its headers came.
fn send(client: &Client, call: &Call) -> common::Resp {
    if call.path.starts_with("/api/v1/stream") {
        return match client.stream(&call.path) {
            Ok(_) => common::Resp {
                status: 200,
                headers: Vec::new(),
                body: Vec::new(),
            },
            Err(r) => r,
        };
    }
    let body = call.body.as_ref().map(|b| b.to_string());
    client.send(call.method, &call.path, body.as_deref().map(str::as_bytes))
}

/// The route `method path` of the table.
fn route(method: &str, path: &str) -> &'static RouteDoc {
    ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("{method} {path} is not in ROUTES"))
}

#[test]
fn every_route_as_every_role() {
    let rig = Rig::new();
    let addr = rig.addr();

    // Without a login: 401 everywhere.
    let anon = Client::anon(addr);
    let mut tried_anon = BTreeSet::new();
    for r in ROUTES {
        let call = call_for(&rig, r, "anon");
        let resp = send(&anon, &call);
        assert_eq!(
            resp.status, 401,
            "anonymous {} {}: {resp}",
            r.method, r.path
        );
        assert!(resp.error().contains("log in"), "{resp}");
        tried_anon.insert((r.method, r.path));
    }
    assert_eq!(tried_anon.len(), ROUTES.len());

    // The public routes answer without one.
    let mut tried_public = BTreeSet::new();
    for p in PUBLIC {
        let resp = match (p.method, p.path) {
            ("POST", "/api/v1/session") => {
                anon.post(p.path, &json!({"name": "viewer", "password": PW}))
            }
            ("POST", "/api/v1/setup") => anon.post(
                p.path,
                &json!({"token": "0".repeat(64), "name": "intruder", "password": PW}),
            ),
            _ => anon.send(p.method, p.path, None),
        };
        let expected = if p.path == "/api/v1/setup" { 400 } else { 200 };
        assert_eq!(
            resp.status, expected,
            "public {} {}: {resp}",
            p.method, p.path
        );
        tried_public.insert((p.method, p.path));
    }
    assert_eq!(tried_public.len(), PUBLIC.len());

    // The session's own routes end it: they come last.
    let logout = route("DELETE", "/api/v1/session");
    let password = route("POST", "/api/v1/session/password");
    for role in ["admin", "analyst", "viewer"] {
        let perms = role_permissions(role);
        let mut client = Client::login(addr, role, PW);
        let mut tried = BTreeSet::new();
        let mut check = |client: &Client, r: &'static RouteDoc| {
            let call = call_for(&rig, r, role);
            let resp = send(client, &call);
            let what = format!("{role}: {} {}", call.method, call.path);
            match r.permission {
                Some(p) if !perms.contains(&p) => {
                    assert_eq!(resp.status, 403, "{what}: {resp}");
                    assert!(
                        resp.error().contains(p.as_str()),
                        "{what}: the error should name {p}: {resp}"
                    );
                }
                _ => {
                    assert_eq!(resp.status, call.ok, "{what}: {resp}");
                    if call.path.ends_with("/test") {
                        assert_eq!(resp.json()["sent"], true, "{what}: {resp}");
                    }
                    if call.path == "/api/v1/session" && call.method == "GET" {
                        let me = resp.json();
                        assert_eq!(me["user"]["name"], role);
                        let shown: Vec<Permission> =
                            serde_json::from_value(me["permissions"].clone()).unwrap();
                        assert_eq!(shown, perms, "{what}");
                    }
                }
            }
            assert!(tried.insert((r.method, r.path)), "{what} twice");
        };
        for r in ROUTES {
            if !std::ptr::eq(r, logout) && !std::ptr::eq(r, password) {
                check(&client, r);
            }
        }
        // The password change ends the session; log out from a new one.
        check(&client, password);
        assert_eq!(client.get("/api/v1/session").status, 401, "{role}");
        client = Client::login(addr, role, NEW_PW);
        check(&client, logout);
        assert_eq!(client.get("/api/v1/session").status, 401, "{role}");
        assert_eq!(tried.len(), ROUTES.len(), "{role}: every route tried");
    }

    // What the allowed calls did is there.
    let admin = Client::login(addr, "admin", NEW_PW);
    let users = admin.get("/api/v1/users").json();
    let names: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"new-admin"), "{names:?}");
    assert!(!names.contains(&"new-analyst") && !names.contains(&"new-viewer"));
    let channels = admin.get("/api/v1/channels").json();
    let names: BTreeSet<&str> = channels["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for n in ["new-admin", "new-analyst", "put-admin", "put-analyst"] {
        assert!(names.contains(n), "{n} in {names:?}");
    }
    for n in ["new-viewer", "del-admin", "del-analyst"] {
        assert!(!names.contains(n), "{n} in {names:?}");
    }
    let detail = admin
        .get(&format!("/api/v1/alerts/{}", rig.alert_id(SID_IN)))
        .json();
    let comments: Vec<&str> = detail["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(comments, ["seen by admin", "seen by analyst"]);
    assert_eq!(detail["alert"]["status"], "acknowledged");
    assert_eq!(detail["alert"]["assignee"], "analyst");
}

#[test]
fn login_logout_and_sessions() {
    let rig = Rig::new();
    let addr = rig.addr();

    // A wrong password and an unknown user: the same answer.
    let (wrong, c) = Client::try_login(addr, "viewer", "not the password");
    assert!(c.is_none());
    let (unknown, c) = Client::try_login(addr, "nobody", PW);
    assert!(c.is_none());
    assert_eq!(wrong.status, 401, "{wrong}");
    assert_eq!(unknown.status, 401, "{unknown}");
    assert_eq!(wrong.body, unknown.body);
    assert!(wrong.header("set-cookie").is_none());

    // A login: an HttpOnly, SameSite=Strict cookie and the CSRF token.
    let (r, c) = Client::try_login(addr, "viewer", PW);
    let viewer = c.unwrap();
    let cookie = r.header("set-cookie").unwrap().to_string();
    assert!(cookie.starts_with("nta_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "no TLS: {cookie}");
    let login = r.json();
    assert_eq!(login["user"]["name"], "viewer");
    assert_eq!(login["role"], "viewer");
    assert!(login["user"].get("password").is_none(), "{login}");
    let me = viewer.get("/api/v1/session");
    assert_eq!(me.status, 200, "{me}");
    let me = me.json();
    assert_eq!(me["user"]["name"], "viewer");
    assert_eq!(me["permissions"], json!(["view_dashboards"]));
    assert_eq!(me["csrf"], login["csrf"]);
    assert_eq!(viewer.csrf.as_deref().unwrap().len(), 64);

    // Logout ends the session (and clears the cookie).
    let out = viewer.delete("/api/v1/session");
    assert_eq!(out.status, 204, "{out}");
    let cleared = out.header("set-cookie").unwrap();
    assert!(cleared.starts_with("nta_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let after = viewer.get("/api/v1/session");
    assert_eq!(after.status, 401, "{after}");
    assert_eq!(viewer.get("/api/v1/flows").status, 401);

    // A password change ends every session of the user.
    let one = Client::login(addr, "analyst", PW);
    let bad = one.post(
        "/api/v1/session/password",
        &json!({"current": "not the password", "new": NEW_PW}),
    );
    assert_eq!(bad.status, 403, "{bad}");
    let short = one.post(
        "/api/v1/session/password",
        &json!({"current": PW, "new": "short"}),
    );
    assert_eq!(short.status, 400, "{short}");
    assert!(short.error().contains("at least"), "{short}");
    assert_eq!(one.get("/api/v1/session").status, 200, "still logged in");
    let changed = one.post(
        "/api/v1/session/password",
        &json!({"current": PW, "new": NEW_PW}),
    );
    assert_eq!(changed.status, 204, "{changed}");
    assert_eq!(one.get("/api/v1/session").status, 401);
    let (old, _) = Client::try_login(addr, "analyst", PW);
    assert_eq!(old.status, 401, "{old}");
    let analyst = Client::login(addr, "analyst", NEW_PW);

    // A disabled user cannot log in, and its sessions end.
    let admin = Client::login(addr, "admin", PW);
    let off = admin.patch("/api/v1/users/analyst", &json!({"disabled": true}));
    assert_eq!(off.status, 204, "{off}");
    assert_eq!(analyst.get("/api/v1/session").status, 401);
    let (disabled, c) = Client::try_login(addr, "analyst", NEW_PW);
    assert!(c.is_none());
    assert_eq!(disabled.status, 401, "{disabled}");
    assert_eq!(
        disabled.body, wrong.body,
        "a disabled user looks like a wrong password"
    );

    // The audit log has it all.
    let audit = admin.get("/api/v1/audit?limit=1000");
    assert_eq!(audit.status, 200, "{audit}");
    let entries = audit.json()["audit"].as_array().unwrap().clone();
    let has = |action: &str, actor: &str| {
        entries
            .iter()
            .any(|e| e["action"] == action && e["actor"] == actor)
    };
    assert!(has("login", "viewer"), "{entries:?}");
    assert!(has("login_failed", "viewer"), "{entries:?}");
    assert!(has("login_failed", "nobody"), "{entries:?}");
    assert!(has("logout", "viewer"), "{entries:?}");
    assert!(has("password_changed", "analyst"), "{entries:?}");
    assert!(has("user_changed", "admin"), "{entries:?}");
    assert!(has("login_failed", "analyst"), "{entries:?}");
    let login = entries.iter().find(|e| e["action"] == "login").unwrap();
    assert_eq!(login["address"], "127.0.0.1");
    assert!(login["timestamp"].as_str().unwrap().starts_with("20"));
}

#[test]
fn csrf_is_required_for_changes() {
    let rig = Rig::new();
    let addr = rig.addr();
    let id = rig.alert_id(SID_IN);
    let analyst = Client::login(addr, "analyst", PW);
    let status = |c: &Client| {
        let r = c.get(&format!("/api/v1/alerts/{id}"));
        assert_eq!(r.status, 200, "{r}");
        r.json()["alert"]["status"].as_str().unwrap().to_string()
    };
    let close = json!({"status": "closed"});
    let path = format!("/api/v1/alerts/{id}/status");

    // Without the header, with a wrong one, with another session's: refused, nothing changed.
    let no_header = Client {
        csrf: None,
        ..analyst.clone()
    };
    let r = no_header.post(&path, &close);
    assert_eq!(r.status, 403, "{r}");
    assert!(r.error().contains("CSRF"), "{r}");
    let wrong = Client {
        csrf: Some("0".repeat(64)),
        ..analyst.clone()
    };
    assert_eq!(wrong.post(&path, &close).status, 403);
    let empty = Client {
        csrf: Some(String::new()),
        ..analyst.clone()
    };
    assert_eq!(empty.post(&path, &close).status, 403);
    let admin = Client::login(addr, "admin", PW);
    let crossed = Client {
        csrf: admin.csrf.clone(),
        ..analyst.clone()
    };
    assert_eq!(crossed.post(&path, &close).status, 403);
    assert_eq!(status(&analyst), "new");
    // Every changing method needs it.
    let r = no_header.put("/api/v1/settings/layout", &json!([1]));
    assert_eq!(r.status, 403, "{r}");
    assert_eq!(analyst.get("/api/v1/settings/layout").json(), Value::Null);
    let r = no_header.delete("/api/v1/session");
    assert_eq!(r.status, 403, "{r}");
    assert_eq!(analyst.get("/api/v1/session").status, 200);
    let r = Client {
        csrf: None,
        ..admin.clone()
    }
    .patch("/api/v1/users/viewer", &json!({"role": "analyst"}));
    assert_eq!(r.status, 403, "{r}");
    assert_eq!(
        users::user(rig.store.conn(), "viewer")
            .unwrap()
            .unwrap()
            .role,
        "viewer"
    );
    let r = no_header.post(
        &format!("/api/v1/alerts/{id}/comments"),
        &json!({"text": "x"}),
    );
    assert_eq!(r.status, 403, "{r}");

    // With the right token: done.
    let r = analyst.post(&path, &close);
    assert_eq!(r.status, 204, "{r}");
    assert_eq!(status(&analyst), "closed");
    let detail = analyst.get(&format!("/api/v1/alerts/{id}")).json();
    assert_eq!(detail["alert"]["status_by"], "analyst");
    assert!(detail["comments"].as_array().unwrap().is_empty());

    // An API token needs no CSRF token.
    let t = analyst.post("/api/v1/tokens", &json!({"name": "ci"}));
    assert_eq!(t.status, 201, "{t}");
    let script = Client::with_token(addr, t.json()["token"].as_str().unwrap());
    let r = script.post(&path, &json!({"status": "acknowledged"}));
    assert_eq!(r.status, 204, "{r}");
    assert_eq!(status(&analyst), "acknowledged");
}

#[test]
fn throttling() {
    let rig = Rig::new();
    let addr = rig.addr();
    for i in 0..5 {
        let (r, _) = Client::try_login(addr, "viewer", "not the password");
        assert_eq!(r.status, 401, "failure {}: {r}", i + 1);
    }
    // The sixth attempt waits, even with the right password.
    let (r, c) = Client::try_login(addr, "viewer", PW);
    assert!(c.is_none());
    assert_eq!(r.status, 429, "{r}");
    let wait: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "Retry-After: {wait}");
    assert!(r.error().contains("too many"), "{r}");

    // Once the wait is over, the right password works, and the count starts again.
    std::thread::sleep(Duration::from_millis(wait * 1000 + 200));
    let viewer = Client::login(addr, "viewer", PW);
    assert_eq!(viewer.get("/api/v1/session").status, 200);
    let (r, _) = Client::try_login(addr, "viewer", "not the password");
    assert_eq!(r.status, 401, "{r}");
}

#[test]
fn api_tokens() {
    let rig = Rig::new();
    let addr = rig.addr();
    let analyst = Client::login(addr, "analyst", PW);
    let alert = rig.alert_id(SID_IN);

    // A read-only token of an analyst.
    let r = analyst.post(
        "/api/v1/tokens",
        &json!({"name": "grafana", "role": "viewer"}),
    );
    assert_eq!(r.status, 201, "{r}");
    let created = r.json();
    let id = created["id"].as_i64().unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("nta_"), "{token}");
    let ro = Client::with_token(addr, &token);
    let flows = ro.get("/api/v1/flows");
    assert_eq!(flows.status, 200, "{flows}");
    assert_eq!(flows.json()["flows"].as_array().unwrap().len(), 4);
    let me = ro.get("/api/v1/session").json();
    assert_eq!(me["role"], "viewer");
    assert_eq!(me["user"]["name"], "analyst");
    let r = ro.post(
        &format!("/api/v1/alerts/{alert}/status"),
        &json!({"status": "closed"}),
    );
    assert_eq!(r.status, 403, "{r}");
    assert!(r.error().contains("triage_alerts"), "{r}");
    // A token makes no tokens.
    let r = ro.post("/api/v1/tokens", &json!({"name": "more"}));
    assert_eq!(r.status, 403, "{r}");

    // No more than one's own role.
    let r = analyst.post("/api/v1/tokens", &json!({"name": "root", "role": "admin"}));
    assert_eq!(r.status, 400, "{r}");
    assert!(r.error().contains("admin"), "{r}");
    let r = analyst.post(
        "/api/v1/tokens",
        &json!({"name": "x", "role": "no-such-role"}),
    );
    assert_eq!(r.status, 404, "{r}");
    let r = analyst.post("/api/v1/tokens", &json!({"name": ""}));
    assert_eq!(r.status, 400, "{r}");

    // Listed with its last use; the secret is not.
    let list = analyst.get("/api/v1/tokens");
    assert_eq!(list.status, 200, "{list}");
    assert!(!list.text().contains(&token), "{list}");
    let list = list.json();
    let tokens = list["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{list}");
    let t = &tokens[0];
    assert_eq!(t["id"], id);
    assert_eq!(t["name"], "grafana");
    assert_eq!(t["role"], "viewer");
    assert_eq!(t["user"], "analyst");
    assert_eq!(t["revoked"], false);
    let used = t["last_used"].as_i64().expect("last_used");
    assert!(used >= t["created_at"].as_i64().unwrap(), "{t}");
    // Others see only their own; an admin sees all.
    let viewer = Client::login(addr, "viewer", PW);
    assert_eq!(
        viewer.get("/api/v1/tokens").json()["tokens"],
        json!([]),
        "a viewer sees no one else's tokens"
    );
    let r = viewer.delete(&format!("/api/v1/tokens/{id}"));
    assert_eq!(r.status, 404, "{r}");
    assert_eq!(ro.get("/api/v1/flows").status, 200);

    // Revoked: 401.
    let r = analyst.delete(&format!("/api/v1/tokens/{id}"));
    assert_eq!(r.status, 204, "{r}");
    let r = ro.get("/api/v1/flows");
    assert_eq!(r.status, 401, "{r}");
    assert!(r.error().contains("revoked"), "{r}");
    assert_eq!(
        analyst.get("/api/v1/tokens").json()["tokens"][0]["revoked"],
        true
    );
    let r = Client::with_token(addr, "nta_made_up").get("/api/v1/flows");
    assert_eq!(r.status, 401, "{r}");
}

#[test]
fn data_scope() {
    let rig = Rig::new();
    let addr = rig.addr();
    let scoped = Client::login(addr, "scoped", PW);
    let touches = |row: &Value| {
        inside(row["src_ip"].as_str().unwrap_or(""), NET_IN)
            || inside(row["dest_ip"].as_str().unwrap_or(""), NET_IN)
    };
    // An unscoped user sees everything (by token: no login needed).
    let (all_token, _) =
        users::create_token(rig.store.conn(), rig.user_id("viewer"), "all", "viewer").unwrap();
    let all = Client::with_token(addr, &all_token);

    let flows = scoped.get("/api/v1/flows");
    assert_eq!(flows.status, 200, "{flows}");
    let flows = flows.json()["flows"].as_array().unwrap().clone();
    assert_eq!(flows.len(), 2, "{flows:?}");
    assert!(flows.iter().all(touches), "{flows:?}");
    assert_eq!(
        all.get("/api/v1/flows").json()["flows"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // A filter does not widen the scope.
    let r = scoped.get(&format!("/api/v1/flows?net={}", enc("10.2.0.0/16")));
    let other = r.json()["flows"].as_array().unwrap().clone();
    assert!(other.iter().all(touches), "{other:?}");
    assert_eq!(other.len(), 1, "{other:?}");

    let alerts = scoped.get("/api/v1/alerts").json()["alerts"]
        .as_array()
        .unwrap()
        .clone();
    let sids: BTreeSet<u64> = alerts.iter().map(|a| a["sid"].as_u64().unwrap()).collect();
    assert_eq!(sids, BTreeSet::from([SID_IN as u64, SID_IN2 as u64]));
    assert!(alerts.iter().all(touches));
    assert_eq!(
        all.get("/api/v1/alerts").json()["alerts"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let r = scoped.get(&format!("/api/v1/alerts/{}", rig.alert_id(SID_IN)));
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json()["alert"]["sid"], SID_IN);
    let out = rig.alert_id(SID_OUT);
    let r = scoped.get(&format!("/api/v1/alerts/{out}"));
    assert_eq!(r.status, 404, "{r}");
    let missing = scoped.get("/api/v1/alerts/999999");
    assert_eq!(
        r.error(),
        format!("alert {out} not found"),
        "no hint it exists"
    );
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error(), "alert 999999 not found");
    assert_eq!(all.get(&format!("/api/v1/alerts/{out}")).status, 200);

    let events = scoped.get("/api/v1/events").json()["events"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events.iter().all(touches));
    assert_eq!(events[0]["event"]["http"]["hostname"], "www.inside.example");
    let r = scoped.get(&format!("/api/v1/events?text={}", enc("outside")));
    assert_eq!(r.json()["events"], json!([]));
    assert_eq!(
        all.get("/api/v1/events").json()["events"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let top = scoped.get("/api/v1/top?kind=talkers");
    assert_eq!(top.status, 200, "{top}");
    let top = top.json()["top"].as_array().unwrap().clone();
    assert!(!top.is_empty());
    for t in &top {
        assert!(inside(t["key"].as_str().unwrap(), NET_IN), "{top:?}");
    }
    let all_top = all.get("/api/v1/top?kind=talkers").json();
    assert!(
        all_top["top"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| inside(t["key"].as_str().unwrap(), "10.2.0.0/16")),
        "{all_top}"
    );

    let ports = scoped.get("/api/v1/top?kind=ports").json();
    let keys: BTreeSet<&str> = ports["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, BTreeSet::from(["TCP/80", "TCP/443"]), "{ports}");

    // Charts: from the scoped rows only.
    let sum = |c: &Client, q: &str| -> i64 {
        let r = c.get(&format!("/api/v1/series?{q}"));
        assert_eq!(r.status, 200, "{q}: {r}");
        r.json()["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["value"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(sum(&scoped, "metric=bytes&step=1h"), 6000);
    assert_eq!(sum(&all, "metric=bytes&step=1h"), 13000);
    assert_eq!(sum(&scoped, "metric=alerts&group=severity&step=1h"), 2);
    assert_eq!(sum(&all, "metric=alerts&group=severity&step=1h"), 3);

    // The scoped user's API token keeps the scope.
    let (t, _) =
        users::create_token(rig.store.conn(), rig.user_id("scoped"), "mine", "viewer").unwrap();
    let flows = Client::with_token(addr, &t).get("/api/v1/flows").json();
    assert_eq!(flows["flows"].as_array().unwrap().len(), 2, "{flows}");

    // The live stream: only what touches the scope.
    let mut mine = scoped.stream("/api/v1/stream?types=alert").unwrap();
    let mut everything = all.stream("/api/v1/stream?types=alert,stats").unwrap();
    let now = common::eve_ts(nta_store::now_us(), 0);
    rig.live
        .publish(&common::alert_line(&now, 7002, 2, "10.2.0.1", "10.2.0.2"));
    rig.live
        .publish(&common::alert_line(&now, 7001, 2, "10.2.0.1", "10.1.0.2"));
    rig.live
        .publish(r#"{"event_type":"stats","stats":{"decoder":{"pkts":1}}}"#);
    assert!(
        mine.wait_for("test sig 7001", Duration::from_secs(10)),
        "{}",
        mine.text
    );
    assert!(
        everything.wait_for("event: stats", Duration::from_secs(10)),
        "{}",
        everything.text
    );
    let seen: Vec<u64> = mine
        .events("alert")
        .iter()
        .map(|e| e["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    assert_eq!(seen, [7001], "{}", mine.text);
    let seen: Vec<u64> = everything
        .events("alert")
        .iter()
        .map(|e| e["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    assert_eq!(seen, [7002, 7001], "{}", everything.text);
}

#[test]
fn payloads_only_with_view_payloads() {
    let rig = Rig::new();
    let addr = rig.addr();
    let token = |user: &str| {
        let (t, _) = users::create_token(rig.store.conn(), rig.user_id(user), "t", user).unwrap();
        Client::with_token(addr, &t)
    };
    let (viewer, analyst) = (token("viewer"), token("analyst"));
    let id = rig.alert_id(SID_IN);
    let has_payload =
        |v: &Value| v.get("payload").is_some() || v.get("payload_printable").is_some();

    let rows = viewer.get("/api/v1/alerts").json()["alerts"].clone();
    assert_eq!(rows.as_array().unwrap().len(), 3);
    assert!(
        !rows
            .as_array()
            .unwrap()
            .iter()
            .any(|a| has_payload(&a["event"])),
        "{rows}"
    );
    let detail = viewer.get(&format!("/api/v1/alerts/{id}")).json();
    assert!(!has_payload(&detail["alert"]["event"]), "{detail}");
    assert!(
        !detail["events"].as_array().unwrap().iter().any(has_payload),
        "{detail}"
    );
    assert!(!detail.to_string().contains("GET /x HTTP/1.1"), "{detail}");

    let rows = analyst.get("/api/v1/alerts").json()["alerts"].clone();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|a| has_payload(&a["event"])),
        "{rows}"
    );
    let detail = analyst.get(&format!("/api/v1/alerts/{id}")).json();
    assert_eq!(
        detail["alert"]["event"]["payload_printable"],
        "GET /x HTTP/1.1"
    );
    assert!(
        detail["events"].as_array().unwrap().iter().all(has_payload),
        "{detail}"
    );
}

#[test]
fn stream_hides_payloads_from_viewers() {
    let rig = Rig::new();
    let (t, _) =
        users::create_token(rig.store.conn(), rig.user_id("viewer"), "t", "viewer").unwrap();
    let viewer = Client::with_token(rig.addr(), &t);
    let mut stream = viewer.stream("/api/v1/stream?types=alert").unwrap();
    let now = common::eve_ts(nta_store::now_us(), 0);
    rig.live
        .publish(&common::alert_line(&now, 7003, 2, "10.1.0.1", "10.2.0.2"));
    assert!(
        stream.wait_for("test sig 7003", Duration::from_secs(10)),
        "{}",
        stream.text
    );
    let events = stream.events("alert");
    assert_eq!(events.len(), 1, "{}", stream.text);
    assert!(events[0].get("payload").is_none(), "{}", stream.text);
    assert!(
        events[0].get("payload_printable").is_none(),
        "{}",
        stream.text
    );
}

#[test]
fn bad_input() {
    let rig = Rig::new();
    let addr = rig.addr();
    let analyst = Client::login(addr, "analyst", PW);
    let id = rig.alert_id(SID_IN);
    let comments = format!("/api/v1/alerts/{id}/comments");

    // Bodies.
    let r = analyst.send("POST", &comments, Some(b"{\"text\": "));
    assert_eq!(r.status, 400, "{r}");
    assert!(r.header("content-type").unwrap().contains("json"), "{r}");
    let r = analyst.send("POST", &comments, Some(b"not json"));
    assert_eq!(r.status, 400, "{r}");
    let r = analyst.post(&comments, &json!({"text": "x", "colour": "red"}));
    assert_eq!(r.status, 400, "{r}");
    assert!(r.error().contains("colour"), "{r}");
    let r = analyst.post(&comments, &json!({"text": 5}));
    assert_eq!(r.status, 400, "{r}");
    let r = analyst.post(&comments, &json!({"text": "x".repeat(10_001)}));
    assert_eq!(r.status, 400, "{r}");
    let r = analyst.post(&comments, &json!({}));
    assert_eq!(r.status, 400, "{r}");
    assert!(r.error().contains("text"), "{r}");
    let r = analyst.post(
        &format!("/api/v1/alerts/{id}/status"),
        &json!({"status": "solved"}),
    );
    assert_eq!(r.status, 400, "{r}");
    assert!(r.error().contains("solved"), "{r}");
    let big = json!({ "text": "x".repeat(nta_server::BODY_LIMIT) }).to_string();
    let r = analyst.send("POST", &comments, Some(big.as_bytes()));
    assert_eq!(r.status, 413, "{}", r.status);
    let big = json!({ "blob": "x".repeat(nta_server::BODY_LIMIT) }).to_string();
    let r = analyst.send("PUT", "/api/v1/settings/big", Some(big.as_bytes()));
    assert_eq!(r.status, 413, "{}", r.status);
    assert_eq!(analyst.get("/api/v1/settings/big").json(), Value::Null);
    let detail = analyst.get(&format!("/api/v1/alerts/{id}")).json();
    assert!(
        detail["comments"].as_array().unwrap().is_empty(),
        "{detail}"
    );

    // Every body refuses a field it does not know, and nothing happens.
    let admin = Client::login(addr, "admin", PW);
    rig.add_channel("known");
    let mut tried = 0;
    for (method, path, body) in every_body(&rig) {
        if path.starts_with("/api/v1/roles/") {
            continue; // role_body_refuses_unknown_fields
        }
        let r = admin.send(method, &path, Some(with_colour(body).as_bytes()));
        assert_eq!(r.status, 400, "{method} {path}: {r}");
        assert!(r.error().contains("colour"), "{method} {path}: {r}");
        tried += 1;
    }
    assert_eq!(tried, 12);
    assert_eq!(
        admin.get("/api/v1/session").status,
        200,
        "password unchanged"
    );
    assert_eq!(
        admin.get("/api/v1/suppressions").json()["suppressions"],
        json!([])
    );
    assert_eq!(admin.get("/api/v1/tokens").json()["tokens"], json!([]));

    // Query parameters.
    let r = analyst.get(&format!("/api/v1/flows?net={}", enc("10.1.0.0/33")));
    assert_eq!(r.status, 400, "{r}");
    assert!(r.error().contains("10.1.0.0/33"), "{r}");
    let r = analyst.get("/api/v1/alerts?src=not-a-network");
    assert_eq!(r.status, 400, "{r}");
    assert!(r.error().contains("not-a-network"), "{r}");
    let injection = enc("' OR 1=1 --");
    for list in ["flows", "events", "alerts"] {
        let r = analyst.get(&format!("/api/v1/{list}?text={injection}"));
        assert_eq!(r.status, 200, "{list}: {r}");
        assert_eq!(r.json()[list], json!([]), "{list}");
    }
    let r = analyst.get(&format!("/api/v1/flows?text={}", enc("%")));
    assert_eq!(r.json()["flows"], json!([]), "LIKE wildcards are literal");
    let r = analyst.get(&format!(
        "/api/v1/flows?sort={}",
        enc("bytes; DROP TABLE flows")
    ));
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(
        analyst.get("/api/v1/flows").json()["flows"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "the store still works"
    );
    let r = analyst.get("/api/v1/flows?colour=red");
    assert_eq!(r.status, 400, "{r}");
    assert!(r.text().contains("colour"), "{r}");
    let r = analyst.get("/api/v1/stream?colour=red");
    assert_eq!(r.status, 400, "{r}");
    let r = analyst.get("/api/v1/flows?sort=colour");
    assert_eq!(r.status, 400, "{r}");
    assert!(r.error().contains("colour"), "{r}");
    let r = analyst.get("/api/v1/flows?order=sideways");
    assert_eq!(r.status, 400, "{r}");
    for limit in ["0", "10001", "-1", "many"] {
        let r = analyst.get(&format!("/api/v1/flows?limit={limit}"));
        assert_eq!(r.status, 400, "limit={limit}: {r}");
    }
    let r = analyst.get("/api/v1/flows?port=70000");
    assert_eq!(r.status, 400, "{r}");
    let r = analyst.get("/api/v1/flows?from=yesterday-ish");
    assert_eq!(r.status, 400, "{r}");
    let r = analyst.get("/api/v1/top?kind=everything");
    assert_eq!(r.status, 400, "{r}");
    let r = analyst.get("/api/v1/series?metric=joules");
    assert_eq!(r.status, 400, "{r}");
    let r = analyst.get("/api/v1/alerts/abc");
    assert_eq!(r.status, 400, "{r}");

    // Names.
    let r = analyst.post(
        "/api/v1/channels",
        &json!({"name": "../../etc/passwd", "type": "file", "path": "/tmp/x"}),
    );
    assert_eq!(r.status, 400, "{r}");
    assert!(r.error().contains("../../etc/passwd"), "{r}");
    let channels = analyst.get("/api/v1/channels").json();
    let names: Vec<&str> = channels["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["known"], "{channels}");
    let r = analyst.post(
        "/api/v1/channels",
        &json!({"name": "hook", "type": "file", "url": "http://127.0.0.1:9/"}),
    );
    assert_eq!(r.status, 400, "{r}");
    assert!(r.error().contains("url"), "{r}");
    let r = analyst.put("/api/v1/settings/..%2F..%2Fetc", &json!(1));
    assert_eq!(r.status, 400, "{r}");
    let r = admin.post(
        "/api/v1/users",
        &json!({"name": "../root", "password": PW, "role": "viewer"}),
    );
    assert_eq!(r.status, 400, "{r}");
    let r = admin.post(
        "/api/v1/users",
        &json!({"name": "eve", "password": PW, "role": "viewer", "networks": ["10.0.0.0/99"]}),
    );
    assert_eq!(r.status, 400, "{r}");
    let r = admin.put(
        "/api/v1/roles/admin",
        &json!({"name": "admin", "permissions": ["view_dashboards"]}),
    );
    assert_eq!(r.status, 400, "built-in roles stay: {r}");
    let r = admin.put(
        "/api/v1/roles/ops",
        &json!({"name": "ops", "permissions": ["fly"]}),
    );
    assert_eq!(r.status, 400, "{r}");

    // An expired session.
    let mut quick = rig.server_with(SessionLimits {
        idle_us: 1,
        absolute_us: 3600 * 1_000_000,
    });
    let c = Client::login(quick.addr, "viewer", PW);
    std::thread::sleep(Duration::from_millis(5));
    let r = c.get("/api/v1/session");
    assert_eq!(r.status, 401, "{r}");
    assert!(r.error().contains("log in"), "{r}");
    assert_eq!(c.get("/api/v1/flows").status, 401);
    quick.stop();
}

/// A `stats` line as the engine writes it (`nta_event::stats_body`, plus `detect`, `store`
/// and `alerting` as `nta serve` adds them).
fn engine_stats_line() -> String {
    let mut decoder = nta_packet::DecodeCounters::default();
    decoder.packets = 1234;
    decoder.bytes = 567_890;
    let flows = nta_flow::FlowStats {
        created: 55,
        ..Default::default()
    };
    let capture = nta_event::CaptureStats {
        kernel_packets: 1300,
        kernel_drops: 66,
        kernel_ifdrops: 0,
    };
    let engine = nta_event::EngineStats {
        uptime: 10,
        queue_drops: 3,
        flows_active: 7,
        defrag_bytes: 0,
        workers: 2,
        events_dropped: 0,
    };
    let mut body = nta_event::stats_body(&decoder, &flows, Some(&capture), &engine);
    let store = nta_store::IngestCounters::default();
    store
        .events
        .store(900, std::sync::atomic::Ordering::Relaxed);
    store.queued.store(4, std::sync::atomic::Ordering::Relaxed);
    body["detect"] = json!({"alert": 8, "alerts_suppressed": 0, "rules_loaded": 10});
    body["store"] = store.to_json();
    let rec = nta_event::Record::stats(nta_store::now_us() as u64 * 1000, body);
    serde_json::to_string(&rec).unwrap()
}

fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn health_metrics_openapi() {
    let rig = Rig::new();
    let addr = rig.addr();
    let anon = Client::anon(addr);

    let h = anon.get("/healthz");
    assert_eq!(h.status, 200, "{h}");
    let h = h.json();
    assert_eq!(h["status"], "ok");
    assert!(h["version"].is_string());

    let m = anon.get("/metrics");
    assert_eq!(m.status, 200, "{m}");
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    assert!(m.text().contains("# TYPE nta_packets_total counter"), "{m}");
    assert_eq!(metric(&m.text(), "nta_packets_total"), Some(0), "{m}");
    rig.live.publish(&engine_stats_line());
    let m = anon.get("/metrics").text();
    assert_eq!(metric(&m, "nta_packets_total"), Some(1234), "{m}");
    assert_eq!(metric(&m, "nta_bytes_total"), Some(567_890), "{m}");
    assert_eq!(metric(&m, "nta_flows_total"), Some(55), "{m}");
    assert_eq!(metric(&m, "nta_alerts_total"), Some(8), "{m}");
    assert_eq!(metric(&m, "nta_kernel_drops_total"), Some(66), "{m}");
    assert_eq!(metric(&m, "nta_queue_drops_total"), Some(3), "{m}");
    assert_eq!(metric(&m, "nta_store_events_total"), Some(900), "{m}");
    assert_eq!(metric(&m, "nta_store_queue_depth"), Some(4), "{m}");
    assert_eq!(metric(&m, "nta_notification_backlog"), Some(0), "{m}");
    // The same stats for the dashboards.
    let (token, _) =
        users::create_token(rig.store.conn(), rig.user_id("viewer"), "dash", "viewer").unwrap();
    let stats = Client::with_token(addr, &token).get("/api/v1/stats").json();
    assert_eq!(stats["stats"]["decoder"]["pkts"], 1234);

    // The description lists every route, with what it needs.
    let spec = anon.get("/api/v1/openapi.json");
    assert_eq!(spec.status, 200, "{spec}");
    let spec = spec.json();
    assert!(spec["openapi"].as_str().unwrap().starts_with('3'));
    for r in PUBLIC.iter().chain(ROUTES) {
        let op = &spec["paths"][r.path][r.method.to_ascii_lowercase()];
        assert!(
            op.is_object(),
            "{} {} missing from the OpenAPI description",
            r.method,
            r.path
        );
        assert_eq!(op["summary"], r.summary);
        let needs = op["description"].as_str().unwrap();
        if let Some(p) = r.permission {
            assert!(
                needs.contains(p.as_str()),
                "{} {}: {needs}",
                r.method,
                r.path
            );
        }
    }
    let described: usize = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(described, PUBLIC.len() + ROUTES.len());
}

#[test]
fn metrics_flows_active_follows_the_engine() {
    let rig = Rig::new();
    rig.live.publish(&engine_stats_line());
    let m = Client::anon(rig.addr()).get("/metrics").text();
    assert_eq!(metric(&m, "nta_flows_active"), Some(7), "{m}");
}

#[test]
fn setup_link_creates_the_first_admin_once() {
    let rig = Rig::empty();
    let addr = rig.addr();
    let anon = Client::anon(addr);
    assert_eq!(users::user_count(rig.store.conn()).unwrap(), 0);
    let token = users::setup_token(rig.store.conn()).unwrap();

    // A wrong token does nothing.
    let r = anon.post(
        "/api/v1/setup",
        &json!({"token": "f".repeat(64), "name": "root", "password": PW}),
    );
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(users::user_count(rig.store.conn()).unwrap(), 0);
    let r = anon.post(
        "/api/v1/setup",
        &json!({"token": token, "name": "root", "password": "short"}),
    );
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(users::user_count(rig.store.conn()).unwrap(), 0);

    // The right one: an admin, who can log in.
    let r = anon.post(
        "/api/v1/setup",
        &json!({"token": token, "name": "root", "password": PW}),
    );
    assert_eq!(r.status, 201, "{r}");
    let u = r.json();
    assert_eq!(u["user"]["name"], "root");
    assert_eq!(u["user"]["role"], "admin");
    let root = Client::login(addr, "root", PW);
    let me = root.get("/api/v1/session").json();
    assert_eq!(me["role"], "admin");
    assert_eq!(root.get("/api/v1/users").status, 200);

    // Used again, or a new link now that there is a user: refused.
    let r = anon.post(
        "/api/v1/setup",
        &json!({"token": token, "name": "root2", "password": PW}),
    );
    assert_eq!(r.status, 400, "{r}");
    assert!(r.error().contains("no longer valid"), "{r}");
    let again = users::setup_token(rig.store.conn()).unwrap();
    let r = anon.post(
        "/api/v1/setup",
        &json!({"token": again, "name": "root2", "password": PW}),
    );
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(users::user_count(rig.store.conn()).unwrap(), 1);
    let audit = root.get("/api/v1/audit").json();
    assert!(
        audit["audit"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "user_added" && e["target"] == "root"),
        "{audit}"
    );
}

/// A valid body of every route that takes one (JSON settings excepted: any JSON goes), for
/// `admin` on the rig (with a channel `known`).
fn every_body(rig: &Rig) -> Vec<(&'static str, String, Value)> {
    let id = rig.alert_id(SID_IN);
    vec![
        (
            "POST",
            "/api/v1/session".into(),
            json!({"name": "admin", "password": PW}),
        ),
        (
            "POST",
            "/api/v1/setup".into(),
            json!({"token": "x", "name": "root", "password": PW}),
        ),
        (
            "POST",
            "/api/v1/session/password".into(),
            json!({"current": PW, "new": NEW_PW}),
        ),
        (
            "POST",
            format!("/api/v1/alerts/{id}/status"),
            json!({"status": "closed"}),
        ),
        (
            "POST",
            format!("/api/v1/alerts/{id}/comments"),
            json!({"text": "x"}),
        ),
        (
            "POST",
            format!("/api/v1/alerts/{id}/assign"),
            json!({"assignee": "admin"}),
        ),
        ("POST", "/api/v1/suppressions".into(), json!({"sid": 1})),
        (
            "POST",
            "/api/v1/channels".into(),
            rig.file_channel_json("other"),
        ),
        (
            "PUT",
            "/api/v1/channels/known".into(),
            rig.file_channel_json("known"),
        ),
        (
            "POST",
            "/api/v1/users".into(),
            json!({"name": "u", "password": PW, "role": "viewer"}),
        ),
        (
            "PATCH",
            "/api/v1/users/viewer".into(),
            json!({"role": "viewer"}),
        ),
        (
            "PUT",
            "/api/v1/roles/ops".into(),
            json!({"name": "ops", "permissions": ["view_dashboards"]}),
        ),
        ("POST", "/api/v1/tokens".into(), json!({"name": "t"})),
    ]
}

/// `body` with a field no route knows.
fn with_colour(mut body: Value) -> String {
    body["colour"] = json!("red");
    body.to_string()
}

#[test]
fn role_body_refuses_unknown_fields() {
    let rig = Rig::new();
    let admin = Client::login(rig.addr(), "admin", PW);
    let body = json!({"name": "ops", "permissions": ["view_dashboards"], "descripton": "typo"});
    let r = admin.put("/api/v1/roles/ops", &body);
    assert_eq!(r.status, 400, "{r}");
    assert!(r.error().contains("descripton"), "{r}");
    let r = admin.send(
        "PUT",
        "/api/v1/roles/ops",
        Some(with_colour(json!({"name": "ops", "permissions": []})).as_bytes()),
    );
    assert_eq!(r.status, 400, "{r}");
}

#[test]
fn rules_are_listed_checked_uploaded_and_disabled() {
    let rig = Rig::new();
    let addr = rig.addr();
    let a = Client::login(addr, "analyst", PW);
    let list = a.get("/api/v1/rules").json();
    assert_eq!(list["total"], 2, "{list}");
    assert_eq!(a.get("/api/v1/rules/report").json()["loaded"], 2);
    // A broken rule is reported, not applied.
    let r = a.post(
        "/api/v1/rules/check",
        &json!({ "text": "alert tcp any any -> any any (msg:\"x\"; frobnicate; sid:9;)" }),
    );
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json()["skipped"], 1, "{r}");
    // Uploads: a path is refused; a good file joins the rules in force.
    for bad in ["../evil.rules", "a/b.rules", "x.txt", ".hidden.rules"] {
        let r = a.post("/api/v1/rules/files", &json!({ "name": bad, "text": "" }));
        assert_eq!(r.status, 400, "{bad}: {r}");
    }
    let r = a.post("/api/v1/rules/files", &json!({ "name": "local.rules", "text": "alert icmp any any -> any any (msg:\"ping\"; sid:7100001;)\n" }),
    );
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json()["in_force"], 3, "{r}");
    let r = a.post(
        "/api/v1/rules/files",
        &json!({ "name": "junk.rules", "text": "this is not a rule\n" }),
    );
    assert_eq!(r.status, 400, "{r}");
    // Disabled: still listed, not in force; unknown sids refused.
    let r = a.post(
        "/api/v1/rules/1/7000001/enabled",
        &json!({ "enabled": false }),
    );
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json()["in_force"], 2, "{r}");
    let list = a.get("/api/v1/rules?q=web").json();
    assert_eq!(list["rules"][0]["enabled"], false, "{list}");
    let r = a.post(
        "/api/v1/rules/1/424242/enabled",
        &json!({ "enabled": false }),
    );
    assert_eq!(r.status, 400, "{r}");
    // A viewer may not.
    let v = Client::login(addr, "viewer", PW);
    assert_eq!(v.get("/api/v1/rules").status, 403);
}
