//! HTTP errors: one enum, mapped to status codes once, always a JSON body that says what is
//! wrong. Unexpected errors are logged with their whole cause chain and answered without it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::workflow::ActionError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is well-formed but its content is not acceptable.
    #[error("{0}")]
    Validation(String),
    /// The request could not be read (malformed JSON, bad multipart).
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required: send `Authorization: Bearer <token>`")]
    Unauthorized,
    /// A provider's call whose signature does not verify (a webhook).
    #[error("{0}")]
    BadSignature(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    /// A submission with more files than `intake.max_attachments` (or more parts than a form
    /// has): refused whole.
    #[error("too many files: at most {max} per submission")]
    TooManyFiles { max: usize },
    #[error("too many requests from this address; try again in a minute")]
    RateLimited,
    /// Every slot of a bounded resource (uploads being read) is taken.
    #[error("the server is busy; please retry in a moment")]
    Busy,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the register is unavailable; nothing was stored, please retry")]
    Unavailable,
    #[error("internal error")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    /// The error as a person at a form reads it: limits in words in their language, the
    /// API's own text otherwise.
    pub fn for_form(&self, lang: aduan_channel::Lang) -> String {
        match self {
            ApiError::TooManyFiles { max } => format!(
                "{} {max} {}",
                lang.pick(
                    "Terlalu banyak lampiran: maksimal",
                    "Too many attachments: at most"
                ),
                lang.pick(
                    "berkas per pengaduan. Tidak ada yang disimpan.",
                    "files per complaint. Nothing was stored."
                )
            ),
            ApiError::TooLarge(_) => lang
                .pick(
                    "Berkas atau isian terlalu besar; tidak ada yang disimpan.",
                    "A file or field is too large; nothing was stored.",
                )
                .to_string(),
            other => other.to_string(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::BadSignature(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) | ApiError::TooManyFiles { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Unexpected(e) = &self {
            tracing::error!(error = ?e, "request failed");
        }
        let mut resp = (
            status,
            Json(json!({ "error": self.to_string(), "status": status.as_u16() })),
        )
            .into_response();
        if matches!(self, ApiError::Unauthorized) {
            resp.headers_mut()
                .insert("www-authenticate", "Bearer".parse().expect("static header"));
        }
        resp
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::error!(error = %e, "register unavailable");
                ApiError::Unavailable
            }
            e => ApiError::Unexpected(e.into()),
        }
    }
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::NotFound(_) => ApiError::NotFound(e.to_string()),
            ActionError::Forbidden { .. } | ActionError::NotYourApproval { .. } => {
                ApiError::Forbidden(e.to_string())
            }
            ActionError::WrongStatus { .. }
            | ActionError::StaleDraft { .. }
            | ActionError::Unapproved { .. } => ApiError::Conflict(e.to_string()),
            ActionError::Invalid(m) => ApiError::Validation(m),
            ActionError::Db(e) => e.into(),
        }
    }
}
