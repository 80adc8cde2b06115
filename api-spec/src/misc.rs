//! Health, feature flags and the API document itself.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Liveness and version of the server.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Health {
    /// `ok` when the database answers, `degraded` when it does not.
    pub status: String,
    /// The server's version.
    pub version: String,
}

/// How a new chat session is attached in the UI.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SessionAutoAttach {
    /// Never attach automatically.
    Off,
    /// Attach to the most recent session.
    Latest,
}

/// Voice settings, present when voice is configured.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct VoiceFeatures {
    /// Speech-to-text service URL.
    pub stt_url: String,
    /// Text-to-speech service URL.
    pub tts_url: String,
    /// Silence that ends an utterance, in milliseconds.
    pub vad_timeout_ms: u64,
    /// Default voice name.
    pub default_voice: String,
    /// Default speaking speed.
    pub default_speed: f64,
    /// Whether the spoken language is detected automatically.
    pub auto_language_detect: bool,
    /// Whether speech output starts muted.
    pub tts_muted: bool,
    /// Whether listening goes on after each answer.
    pub continuous_mode: bool,
    /// The visualizer the client shows (`orb`, `kitt`).
    pub default_visualizer: String,
    /// Words the user speaks over the agent before it stops talking.
    pub interrupt_word_count: u32,
    /// Pause after an interruption, in milliseconds.
    pub interrupt_backoff_ms: u64,
    /// A voice and speed per visualizer.
    pub visualizer_voices: std::collections::BTreeMap<String, VisualizerVoice>,
    /// Whether `stt_url` leads to a speech-to-text service.
    pub stt_available: bool,
    /// Whether `tts_url` speaks: a configured service, or the server itself
    /// (`tts_engine`).
    pub tts_available: bool,
    /// `remote` (a configured service) or `espeak-ng` (the server's own).
    pub tts_engine: String,
}

/// A visualizer's voice.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct VisualizerVoice {
    pub voice: String,
    pub speed: f64,
}

/// What this server offers, as configured.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Features {
    /// Memories (mmry) are available.
    pub mmry_enabled: bool,
    /// Real-time events over the multiplexed WebSocket are available.
    pub websocket_events: bool,
    /// The server-side agent browser is available.
    pub agent_browser_enabled: bool,
    /// How new chat sessions are attached.
    pub session_auto_attach: SessionAutoAttach,
    /// New users may register with an invite code.
    pub registration_enabled: bool,
    /// `POST /api/auth/dev-login` is enabled.
    pub dev_mode: bool,
    /// Voice settings, when voice is configured.
    pub voice: Option<VoiceFeatures>,
    /// How processes on users' behalf (agents, terminals) are isolated.
    pub sandbox: SandboxFeatures,
}

/// The sandbox of this server, as it runs.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SandboxFeatures {
    /// `bubblewrap`, or `off` when the operator switched isolation off
    /// (`sandbox.mode = "off"`: a single-user setup).
    pub mode: String,
    /// Whether a sandbox can be built here; when the mode is `bubblewrap`
    /// and this is false, agents and terminals refuse to start.
    pub available: bool,
    /// The profile every workspace gets at least.
    pub default_profile: String,
}
