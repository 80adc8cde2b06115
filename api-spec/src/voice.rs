//! Voice: speech-to-text and text-to-speech WebSockets, relayed to the
//! configured services or, for speech, spoken by the server itself.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Query of the voice upgrades.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct VoiceQuery {
    /// For browsers, which cannot set headers on a WebSocket: a mux ticket
    /// (`mux_ticket_create`, single use), or a session token.
    #[serde(default)]
    pub token: Option<String>,
}

/// Close code when the speech service cannot be reached or is not there
/// (1011: the server met a condition that kept it from going on).
pub const CLOSE_UNAVAILABLE: u16 = 1011;
