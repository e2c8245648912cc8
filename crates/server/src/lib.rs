//! `nta serve`: the HTTP API, authentication, roles and permissions.
#![forbid(unsafe_code)]

pub mod users;
