//! API errors: a status and one sentence, as `{"error": "..."}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::users::UserError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong, for people.
    pub message: String,
}

impl ApiError {
    /// A status and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400.
    pub fn bad_request(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, m)
    }

    /// 403.
    pub fn forbidden(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, m)
    }

    /// 404.
    pub fn not_found(m: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, m)
    }

    /// 500, with the cause on the server's stderr only.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        eprintln!("nta serve: internal error: {cause}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the server log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> ApiError {
        match e {
            UserError::Invalid(m) => ApiError::bad_request(m),
            UserError::NotFound(_) => ApiError::not_found(e.to_string()),
            UserError::Exists(_) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            UserError::Sqlite(e) => ApiError::internal(e),
        }
    }
}

impl From<nta_store::StoreError> for ApiError {
    fn from(e: nta_store::StoreError) -> ApiError {
        match e {
            nta_store::StoreError::Invalid(m) => ApiError::bad_request(m),
            nta_store::StoreError::NotFound(_) => ApiError::not_found(e.to_string()),
            e => ApiError::internal(e),
        }
    }
}

impl From<nta_alert::AlertingError> for ApiError {
    fn from(e: nta_alert::AlertingError) -> ApiError {
        match e {
            nta_alert::AlertingError::Invalid(m) => ApiError::bad_request(m),
            nta_alert::AlertingError::NotFound(_) => ApiError::not_found(e.to_string()),
            e => ApiError::internal(e),
        }
    }
}
