//! What went wrong, and the exit code it earns: 0 success, 1 the server
//! refused or could not be reached, 2 a usage error.

use std::fmt;
use std::process::ExitCode;

/// The server's answer to a refused request.
#[derive(Debug)]
pub struct ServerError {
    pub status: u16,
    pub error_code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
}

impl ServerError {
    /// The error a refusal with `status` and the JSON error `body` describes.
    pub fn from_body(status: u16, body: &serde_json::Value) -> Self {
        let text = |key: &str| body.get(key).and_then(|v| v.as_str()).map(str::to_string);
        ServerError {
            status,
            error_code: text("error_code"),
            message: text("message").unwrap_or_else(|| format!("request failed with status {status}")),
            request_id: text("request_id"),
        }
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {}", self.message, self.status)?;
        if let Some(code) = &self.error_code {
            write!(f, ", {code}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, ", request {id}")?;
        }
        write!(f, ")")
    }
}

impl std::error::Error for ServerError {}

/// A command used wrongly (what clap cannot see: a bad `--data`, say).
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// An SDK error as an error that prints the server's message and request id.
pub fn sdk_error<E: serde::Serialize + fmt::Debug>(e: oqto_client::Error<E>) -> anyhow::Error {
    match &e {
        oqto_client::Error::ErrorResponse(rv) => {
            let body = serde_json::to_value(rv.as_ref()).unwrap_or_default();
            anyhow::Error::new(ServerError::from_body(rv.status().as_u16(), &body))
        }
        _ => anyhow::anyhow!(oqto_client::error_message(&e)),
    }
}

/// Prints `error` once and returns its exit code.
pub fn report(error: anyhow::Error) -> ExitCode {
    let error = match error.downcast::<oqto_client::Error<oqto_client::types::Error>>() {
        Ok(sdk) => sdk_error(sdk),
        Err(other) => other,
    };
    eprintln!("error: {error:#}");
    if error.downcast_ref::<UsageError>().is_some() { ExitCode::from(2) } else { ExitCode::FAILURE }
}
