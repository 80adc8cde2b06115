//! UI control: requests (usually from the agent, on the user's behalf) that
//! steer the user's own open web clients. Each becomes a `ui` event on the
//! mux, sent to the caller's connections only.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Go to a page of the web client.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct UiNavigate {
    /// A path of the web client (`/sessions/abc`): it starts with `/`, and
    /// names no other site.
    pub path: String,
    /// Replace the current history entry instead of adding one.
    #[serde(default)]
    pub replace: bool,
}

/// Switch to a chat.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct UiSession {
    pub session_id: String,
    /// How to show it (a name such as `split`), passed on as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// Switch the main view.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct UiView {
    /// A view's name: letters, digits, `-` and `_`.
    pub view: String,
}

/// Open or close the command palette.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct UiPalette {
    #[serde(default = "yes")]
    pub open: bool,
}

fn yes() -> bool {
    true
}

/// The commands the palette runs.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UiPaletteCommand {
    NewChat,
    NewSession,
    ToggleTheme,
    ToggleSidebar,
    TogglePanel,
    OpenSettings,
    OpenSearch,
    OpenFiles,
    OpenTerminal,
    OpenMemories,
    FocusInput,
}

/// Run a palette command.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct UiPaletteExec {
    pub command: UiPaletteCommand,
    /// The command's arguments (at most 16 KiB), passed on as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<serde_json::Value>,
}

/// Where a spotlight's text sits.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UiPosition {
    Top,
    Bottom,
    Left,
    Right,
}

/// Highlight an element of the page, with an explanation.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct UiSpotlight {
    /// The element (a `data-spotlight` name or CSS selector), at most 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What the user should do (shown, not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<UiPosition>,
    /// `false` removes the spotlight.
    #[serde(default = "yes")]
    pub active: bool,
}

/// One step of a tour.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct UiTourStep {
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<UiPosition>,
}

/// A guided tour: spotlights one after the other.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct UiTour {
    /// 1 to 50 steps.
    pub steps: Vec<UiTourStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u32>,
    /// `false` ends the tour.
    #[serde(default = "yes")]
    pub active: bool,
}

/// Collapse or expand the sidebar (toggle when absent).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct UiSidebar {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collapsed: Option<bool>,
}

/// Show a view in the right panel, or collapse it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct UiPanel {
    /// A view's name: letters, digits, `-` and `_`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collapsed: Option<bool>,
}

/// The web client's themes.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UiThemeName {
    Light,
    Dark,
    System,
}

/// Switch the theme.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct UiTheme {
    pub theme: UiThemeName,
}

/// The answer to a UI request.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct UiDelivered {
    /// Always `true`: the request was valid and sent.
    pub success: bool,
    /// How many of the caller's connections it was sent to (0: no web
    /// client of theirs is open).
    pub delivered: u32,
}
