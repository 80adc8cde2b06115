//! The one error type of the domain and its mapping to HTTP.
//!
//! Area modules return [`Error`]; the conversion into Dropshot's
//! `HttpError` below is the only place that decides status codes and
//! `error_code`s. Internal causes are logged by Dropshot (internal message)
//! and never sent to the client.

use dropshot::{ClientErrorStatusCode, HttpError};

/// A failed operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// No valid credentials (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Credentials are fine but the caller may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist, or the caller may not know it does (404).
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// A field's value is not acceptable (422).
    #[error("{0}")]
    Invalid(String),
    /// Waited too long for something (408).
    #[error("{0}")]
    Timeout(String),
    /// Too many attempts; try again after this many seconds (429).
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    /// The caller already holds as many of something as one user may
    /// (429 with `Retry-After`); the message says which limit.
    #[error("{what}; try again in {retry_after_secs} seconds")]
    LimitReached { what: String, retry_after_secs: u64 },
    /// The server is too busy for this now; try again after this many
    /// seconds (503 with `Retry-After`).
    #[error("the server is busy; try again in {retry_after_secs} seconds")]
    Busy { retry_after_secs: u64 },
    /// A service we depend on failed (503).
    #[error("{0}")]
    Unavailable(String),
    /// The chat's agent refused or failed a command; its own words (502).
    #[error("{0}")]
    Agent(String),
    /// A service outside the server (a feed's server, a tool it runs)
    /// failed or answered badly (502); written for the client.
    #[error("{0}")]
    Upstream(String),
    /// Something broke on our side (500); the cause is logged, not sent.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn unauthenticated() -> Self {
        Error::Unauthenticated("authentication required".to_string())
    }
}

impl Error {
    /// The `error_code` a client sees, the same on HTTP and on the mux.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "InvalidRequest",
            Error::Unauthenticated(_) => "Unauthorized",
            Error::Forbidden(_) => "Forbidden",
            Error::NotFound(_) => "ObjectNotFound",
            Error::Conflict(_) => "Conflict",
            Error::Invalid(_) => "InvalidValue",
            Error::Timeout(_) => "RequestTimeout",
            Error::RateLimited { .. } | Error::LimitReached { .. } => "TooManyRequests",
            Error::Unavailable(_) | Error::Busy { .. } => "ServiceUnavailable",
            Error::Agent(_) => "AgentError",
            Error::Upstream(_) => "BadGateway",
            Error::Internal(_) => "Internal",
        }
    }

    /// The message a client sees: an internal cause is never sent (the
    /// caller logs it), everything else is written for the client.
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(_) => "internal error".to_string(),
            other => other.to_string(),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if is_nul_in_text(&e) {
            return Error::Invalid("text must not contain NUL characters".to_string());
        }
        Error::Internal(anyhow::Error::new(e).context("database"))
    }
}

/// Whether PostgreSQL refused a text value for holding a NUL character
/// (SQLite stores it): the caller's input, not a server fault.
fn is_nul_in_text(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().is_some_and(|c| c == "22021"))
}

impl From<Error> for HttpError {
    fn from(e: Error) -> Self {
        let code = e.code();
        let client = |status: ClientErrorStatusCode, message: String| {
            HttpError::for_client_error(Some(code.to_string()), status, message)
        };
        match e {
            Error::BadRequest(m) => client(ClientErrorStatusCode::BAD_REQUEST, m),
            Error::Unauthenticated(m) => client(ClientErrorStatusCode::UNAUTHORIZED, m),
            Error::Forbidden(m) => client(ClientErrorStatusCode::FORBIDDEN, m),
            Error::NotFound(m) => client(ClientErrorStatusCode::NOT_FOUND, m),
            Error::Conflict(m) => client(ClientErrorStatusCode::CONFLICT, m),
            Error::Invalid(m) => client(ClientErrorStatusCode::UNPROCESSABLE_ENTITY, m),
            Error::Timeout(m) => client(ClientErrorStatusCode::REQUEST_TIMEOUT, m),
            e @ (Error::RateLimited { retry_after_secs } | Error::LimitReached { retry_after_secs, .. }) => {
                let mut error = client(ClientErrorStatusCode::TOO_MANY_REQUESTS, e.to_string());
                error
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from(retry_after_secs));
                error
            }
            e @ Error::Busy { retry_after_secs } => {
                let mut error = HttpError {
                    status_code: dropshot::ErrorStatusCode::SERVICE_UNAVAILABLE,
                    error_code: Some(code.to_string()),
                    external_message: e.to_string(),
                    internal_message: e.to_string(),
                    headers: None,
                };
                error
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from(retry_after_secs));
                error
            }
            Error::Unavailable(m) => HttpError {
                status_code: dropshot::ErrorStatusCode::SERVICE_UNAVAILABLE,
                error_code: Some(code.to_string()),
                external_message: m.clone(),
                internal_message: m,
                headers: None,
            },
            Error::Agent(m) | Error::Upstream(m) => HttpError {
                status_code: dropshot::ErrorStatusCode::BAD_GATEWAY,
                error_code: Some(code.to_string()),
                external_message: m.clone(),
                internal_message: m,
                headers: None,
            },
            Error::Internal(cause) => HttpError::for_internal_error(format!("{cause:#}")),
        }
    }
}

/// Whether a database error is a uniqueness violation (on either backend).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db.code().is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
                || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}
