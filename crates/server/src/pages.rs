//! The two HTML pages the server has before the web UI: `/` (links) and `/setup` (the form
//! behind the one-time setup link). Static, no inline data from the request (the token is read
//! by the page's script from its own URL).

use axum::http::header;
use axum::response::{Html, IntoResponse};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em;color:#222}\
input{display:block;margin:.3em 0 1em;padding:.4em;width:100%;box-sizing:border-box}\
button{padding:.5em 1.2em}code{background:#eee;padding:0 .2em}";

/// `GET /`
pub async fn home() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Html(format!(
            "<!doctype html><html lang=en><meta charset=utf-8><title>NTA</title><style>{STYLE}</style>\
<h1>NTA</h1><p>The web UI is not built yet. The API is here:</p><ul>\
<li><a href=/api/v1/openapi.json>/api/v1/openapi.json</a> — every route and the permission it needs</li>\
<li><a href=/healthz>/healthz</a>, <a href=/metrics>/metrics</a></li></ul>\
<p>Log in with <code>POST /api/v1/session</code>; see the user guide, “The web server”.</p></html>"
        )),
    )
}

/// `GET /setup?token=…`
pub async fn setup() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Html(format!(
            "<!doctype html><html lang=en><meta charset=utf-8><title>NTA setup</title><style>{STYLE}</style>\
<h1>Create the administrator</h1><form id=f><label>User name<input id=n autocomplete=username required maxlength=64></label>\
<label>Password (at least 10 characters)<input id=p type=password autocomplete=new-password required minlength=10></label>\
<button>Create</button></form><p id=r role=status></p><script>\
document.getElementById('f').addEventListener('submit',async e=>{{e.preventDefault();\
const t=new URLSearchParams(location.search).get('token')||'';\
const r=await fetch('/api/v1/setup',{{method:'POST',headers:{{'content-type':'application/json'}},\
body:JSON.stringify({{token:t,name:document.getElementById('n').value,password:document.getElementById('p').value}})}});\
const j=await r.json().catch(()=>({{}}));document.getElementById('r').textContent=r.ok?\
'Done: '+j.user.name+' can log in now.':'Not created: '+(j.error||r.status);}});</script></html>"
        )),
    )
}
