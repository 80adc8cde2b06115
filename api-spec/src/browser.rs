//! The agent browser: a headless Chromium per chat, driven by its owner
//! (and the chat's agent) and watched as a stream of screen frames.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Start a chat's browser (or reuse the running one) and open a page.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct BrowserStart {
    /// The chat the browser belongs to (one browser per chat).
    pub session_id: String,
    /// An `http` or `https` URL; absent: `about:blank`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Accepted for the original's clients; the chat decides the workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_path: Option<String>,
    /// 200 to 3840 pixels (default 1280).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewport_width: Option<u32>,
    /// 200 to 2160 pixels (default 800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewport_height: Option<u32>,
}

/// A running browser and the page it shows.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct BrowserStarted {
    /// The browser's own id (`ab-` and 16 hex digits).
    pub session_id: String,
    /// The chat it belongs to.
    pub chat_session_id: String,
    pub url: String,
    pub title: String,
}

/// An action on a chat's browser.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct BrowserAction {
    /// The chat (or the browser's `ab-…` id).
    pub session_id: String,
    /// `navigate` (`url`), `back`, `forward`, `reload`, `click`
    /// (`selector`, or `x` and `y`), `type` (`text`, into `selector` when
    /// given, else the focused element), `scroll` (`delta_x`, `delta_y`),
    /// `screenshot`, `evaluate` (`expression`), `color_scheme` (`scheme`:
    /// `light`, `dark` or `no-preference`; the original's
    /// `color_scheme:dark` is accepted too).
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A CSS selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_x: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_y: Option<f64>,
    /// JavaScript evaluated in the page; its value is returned as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
}

/// What an action left: the page, and what it produced.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct BrowserActionResult {
    pub ok: bool,
    /// The page's address and title after the action.
    pub url: String,
    pub title: String,
    /// `evaluate`: the expression's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// `screenshot`: the page as a base64 PNG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screenshot: Option<String>,
}

/// A chat's browser stream.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct BrowserStreamPath {
    /// The chat.
    pub session_id: String,
}

/// Query of the stream upgrade.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct BrowserStreamQuery {
    /// For browsers, which cannot set headers on a WebSocket: a mux ticket
    /// (`mux_ticket_create`, single use), or a session token.
    #[serde(default)]
    pub token: Option<String>,
}
