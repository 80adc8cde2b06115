//! Settings: the server's configuration (`oqto`) and the caller's agent
//! configuration (`pi-agent`, `pi-models`), described by a JSON schema and
//! read and changed by dotted key.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which settings.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct SettingsQuery {
    /// `oqto` (the default: the server's configuration; users see and
    /// change their own preferences), `pi-agent` or `pi-models` (the
    /// caller's own agent `settings.json` and `models.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
}

/// Who may change a key.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SettingScope {
    /// Every user, for themselves (stored per user).
    User,
    /// Administrators, for the whole server (the config file).
    Admin,
}

/// One key's state.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct SettingValue {
    /// The value in force (absent for a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// Whether it is set (by the caller, for a user key; in the file, the
    /// environment or a flag, for a server key) rather than defaulted.
    pub is_configured: bool,
    /// The value it has when not set (absent for a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// For a secret: whether it has a value (which is never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_value: Option<bool>,
    pub scope: SettingScope,
    /// Whether a change takes effect at once (else at the next start).
    pub live: bool,
}

/// Changes by dotted key; `null` returns a key to its default.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct SettingsUpdate {
    pub values: BTreeMap<String, serde_json::Value>,
}

/// The result of a change.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SettingsUpdated {
    /// Every key the caller sees, after the change.
    pub values: BTreeMap<String, SettingValue>,
    /// Changed keys that take effect only at the next start.
    pub restart_required: Vec<String>,
}

/// The result of re-reading the settings.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SettingsReloaded {
    /// Always `reloaded`.
    pub status: String,
    /// Keys whose new value takes effect only at the next start.
    pub restart_required: Vec<String>,
}
