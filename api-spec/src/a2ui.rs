//! A2UI surfaces: a chat's agent shows the user a small UI (a form, a
//! choice) described in A2UI messages and, when blocking, waits for the
//! user's action.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A surface to show in a chat.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct A2uiSurfaceCreate {
    /// The chat (one of the caller's, open).
    pub session_id: String,
    /// Default `surface_<uuid>`; showing an open surface's id again
    /// replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface_id: Option<String>,
    /// A2UI messages, each an object with one of `surfaceUpdate`,
    /// `dataModelUpdate`, `beginRendering`, `deleteSurface`; 1 to 100 of
    /// them, at most 256 KiB in all.
    pub messages: Vec<serde_json::Value>,
    /// Wait for the user's action (or the timeout) before answering.
    #[serde(default)]
    pub blocking: bool,
    /// How long a blocking request waits: 1 to 3600 seconds, default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

/// What the user did on a surface.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct A2uiAction {
    pub action_name: String,
    pub source_component_id: String,
    /// The values the action carries (its `context` keys).
    #[serde(default)]
    pub context: serde_json::Map<String, serde_json::Value>,
}

/// The answer to showing or removing a surface.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct A2uiSurfaceResult {
    pub success: bool,
    pub surface_id: String,
    /// A blocking surface's request, which the user's action names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The user's action (blocking surfaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<A2uiAction>,
}

/// One surface of a chat.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct A2uiSurfacePath {
    pub session_id: String,
    pub surface_id: String,
}
