//! The response of every operation: the operation's own typed response,
//! or a response the server built itself (an error with its JSON body), in
//! both cases with headers the server adds to every response (CORS).
//!
//! Dropshot has no hook on the response of every request, so the server
//! wraps each operation's result in a [`Reply`]: the document still
//! describes the typed response, and error bodies are the server's own
//! ([`ErrorBody`]: Dropshot's fields and `error`, the same text as
//! `message`, which the original's clients show).

use dropshot::{ApiEndpointResponse, Body, HttpError, HttpResponse};
use http::{HeaderMap, Response, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A typed response or one built by the server, plus headers for both.
pub struct Reply<T> {
    body: Result<T, Response<Body>>,
    headers: HeaderMap,
}

impl<T> Reply<T> {
    /// The operation's typed response.
    pub fn typed(response: T, headers: HeaderMap) -> Self {
        Reply { body: Ok(response), headers }
    }

    /// A response the server built (an error, an alias's answer).
    pub fn raw(response: Response<Body>, headers: HeaderMap) -> Self {
        Reply { body: Err(response), headers }
    }
}

impl<T: HttpResponse> HttpResponse for Reply<T> {
    fn to_result(self) -> Result<Response<Body>, HttpError> {
        let mut response = match self.body {
            Ok(typed) => typed.to_result()?,
            Err(raw) => raw,
        };
        for (name, value) in self.headers.iter() {
            response.headers_mut().insert(name.clone(), value.clone());
        }
        Ok(response)
    }

    fn response_metadata() -> ApiEndpointResponse {
        T::response_metadata()
    }

    fn status_code(&self) -> StatusCode {
        match &self.body {
            Ok(typed) => typed.status_code(),
            Err(raw) => raw.status(),
        }
    }
}

/// The body of every error the server writes itself.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// The request's id (also in the `x-request-id` header).
    pub request_id: String,
    /// A stable code: `InvalidRequest`, `Unauthorized`, `Forbidden`,
    /// `ObjectNotFound`, `Conflict`, `InvalidValue`, `TooManyRequests`,
    /// `ServiceUnavailable`, `AgentError`, `Internal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// What went wrong, for people.
    pub message: String,
    /// The same text as `message` (the original's clients read `error`).
    pub error: String,
}
