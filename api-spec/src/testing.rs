//! The test harness for frontend developers (servers in dev mode only):
//! events and surfaces injected into the caller's own chats through the
//! same paths real ones take.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An event to add to one of the caller's open chats.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct TestEvent {
    pub session_id: String,
    /// Any agent event of the mux schema (`{"event": "agent.working",
    /// "phase": "thinking"}`).
    pub event: crate::mux::AgentEvent,
}

/// The event as the chat's viewers got it.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct TestEventSent {
    pub success: bool,
    /// Its place in the chat's stream.
    pub seq: u64,
}

/// A sample surface for one of the caller's open chats.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct TestA2uiSample {
    pub session_id: String,
    /// Wait for the user's action, as a real blocking surface does.
    #[serde(default)]
    pub blocking: bool,
}
