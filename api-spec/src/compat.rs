//! Paths of the original server that Dropshot's router cannot hold beside
//! their typed neighbours.
//!
//! Dropshot refuses a literal and a variable segment at the same place in a
//! path (`/api/admin/users/stats` beside `/api/admin/users/{user_id}`). The
//! typed operations for those collection actions are therefore published at
//! conflict-free paths, and the item handler answers the original literal
//! path as an alias with [`Aliased::Alias`]. The OpenAPI document describes
//! only the typed form.

use dropshot::{ApiEndpointResponse, Body, HttpError, HttpResponse};
use http::{Response, StatusCode};

/// A typed response, or the response of an aliased operation served at the
/// same path for compatibility.
pub enum Aliased<T> {
    /// The operation's own response.
    Typed(T),
    /// The response of the operation that the original served at this path.
    Alias(Response<Body>),
}

impl<T: HttpResponse> HttpResponse for Aliased<T> {
    fn to_result(self) -> Result<Response<Body>, HttpError> {
        match self {
            Aliased::Typed(t) => t.to_result(),
            Aliased::Alias(r) => Ok(r),
        }
    }

    fn response_metadata() -> ApiEndpointResponse {
        T::response_metadata()
    }

    fn status_code(&self) -> StatusCode {
        match self {
            Aliased::Typed(t) => t.status_code(),
            Aliased::Alias(r) => r.status(),
        }
    }
}

/// Segment names that the original used for collection actions under
/// `/api/admin/users/`.
pub const USER_STATS_ALIAS: &str = "stats";
/// See [`USER_STATS_ALIAS`].
pub const USER_CONFIG_SYNC_ALIAS: &str = "sync-configs";
/// Segment names that the original used under `/api/admin/invite-codes/`.
pub const INVITE_CODE_STATS_ALIAS: &str = "stats";
/// See [`INVITE_CODE_STATS_ALIAS`].
pub const INVITE_CODE_BATCH_ALIAS: &str = "batch";
/// Segment names that the original used under `/api/sessions/`.
pub const SESSION_UPDATES_ALIAS: &str = "updates";
/// See [`SESSION_UPDATES_ALIAS`].
pub const SESSION_GET_OR_CREATE_ALIAS: &str = "get-or-create";
/// See [`SESSION_UPDATES_ALIAS`].
pub const SESSION_GET_OR_CREATE_FOR_WORKSPACE_ALIAS: &str = "get-or-create-for-workspace";
/// The segment the original used under `/api/chat-history/`.
pub const CHAT_HISTORY_GROUPED_ALIAS: &str = "grouped";
/// See [`CHAT_HISTORY_GROUPED_ALIAS`].
pub const CHAT_HISTORY_BACKFILL_ALIAS: &str = "backfill";
/// The segment the original used under `/api/workspace/memories/` and
/// `/api/session/{session_id}/memories/` for searching.
pub const MEMORY_SEARCH_ALIAS: &str = "search";
/// The segment the original used under `/api/session/{session_id}/memories/`
/// for listing stores.
pub const MEMORY_STORES_ALIAS: &str = "stores";
