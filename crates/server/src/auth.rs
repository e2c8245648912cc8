//! Who is asking: a session cookie (with a CSRF token for every state change) or an API token
//! (`Authorization: Bearer`), and whether they may. A handler states the permission it needs
//! in its signature — `Auth<perm::TriageAlerts>` — so a forgotten check does not compile.

use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};

use crate::error::ApiError;
use crate::state::AppState;
use crate::users::{self, Permission, Principal};

/// The session cookie.
pub const COOKIE: &str = "nta_session";
/// The CSRF header every state-changing request with a session cookie must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A request by someone logged in (any permission).
pub struct Authenticated {
    /// Who.
    pub principal: Principal,
    /// The session's cookie token (absent for API tokens).
    pub session: Option<String>,
    /// The session's CSRF token.
    pub csrf: Option<String>,
    /// The client's address.
    pub address: String,
}

/// The client address of a request.
pub fn client_address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The client's address, as an extractor.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_address(parts)))
    }
}

/// The value of a cookie.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "log in first (session expired or missing)",
    )
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let address = client_address(parts);
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string());
        if let Some(token) = bearer {
            let p = state
                .db(move |s| Ok(users::token_principal(s.conn(), &token)?))
                .await?;
            let Some(principal) = p else {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "the API token is unknown or revoked",
                ));
            };
            return Ok(Authenticated {
                principal,
                session: None,
                csrf: None,
                address,
            });
        }
        let Some(token) = cookie(parts, COOKIE) else {
            return Err(unauthorized());
        };
        let limits = state.0.opts.limits;
        let t = token.clone();
        let found = state
            .db(move |s| {
                let Some((uid, csrf)) = users::session(s.conn(), &t, limits)? else {
                    return Ok(None);
                };
                Ok(users::principal(s.conn(), uid, None)?.map(|p| (p, csrf)))
            })
            .await?;
        let Some((principal, csrf)) = found else {
            return Err(unauthorized());
        };
        // Every state change carries the session's CSRF token in a header, which another
        // site's form or script cannot set.
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if sent.is_empty() || sent != csrf {
                return Err(ApiError::forbidden(format!(
                    "missing or wrong CSRF token (send the token from /api/v1/session in the {CSRF_HEADER} header)"
                )));
            }
        }
        Ok(Authenticated {
            principal,
            session: Some(token),
            csrf: Some(csrf),
            address,
        })
    }
}

/// A permission as a type.
pub trait Need: Send + Sync + 'static {
    /// The permission.
    const P: Permission;
}

/// The permission types for [`Auth`].
pub mod perm {
    use super::{Need, Permission};

    macro_rules! perms {
        ($($name:ident),*) => {$(
            #[doc = concat!("Needs `", stringify!($name), "`.")]
            pub struct $name;
            impl Need for $name {
                const P: Permission = Permission::$name;
            }
        )*};
    }
    perms!(
        ViewDashboards,
        ViewPayloads,
        TriageAlerts,
        ManageRules,
        ManageChannels,
        GenerateTraffic,
        ManageUsers,
        ManageSystem
    );
}

/// A request by someone with permission `P`.
pub struct Auth<P: Need> {
    /// Who.
    pub who: Authenticated,
    _p: PhantomData<P>,
}

impl<P: Need> Auth<P> {
    /// The principal.
    pub fn principal(&self) -> &Principal {
        &self.who.principal
    }

    /// The user's name.
    pub fn name(&self) -> &str {
        &self.who.principal.user.name
    }

    /// The user's data scope (`None`: all).
    pub fn scope(&self) -> Option<Vec<ipnet::IpNet>> {
        self.who.principal.user.networks.clone()
    }
}

impl<P: Need> FromRequestParts<AppState> for Auth<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let who = Authenticated::from_request_parts(parts, state).await?;
        if !who.principal.can(P::P) {
            return Err(ApiError::forbidden(format!(
                "your role ({}) does not have the permission {}",
                who.principal.role,
                P::P
            )));
        }
        Ok(Auth {
            who,
            _p: PhantomData,
        })
    }
}
