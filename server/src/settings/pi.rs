//! The `pi-agent` and `pi-models` apps: `settings.json` and `models.json`
//! of the caller's own agent directory (the original edited the server
//! user's files, shared by everyone). Keys are dotted paths into the file;
//! secrets (`apiKey`, tokens) are never shown. Files are opened beneath
//! the agent directory, so a link planted there leads nowhere.

use std::collections::BTreeMap;
use std::path::Path;

use oqto_api::settings::{SettingScope, SettingValue};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::schema::{at, set};
use crate::auth::Caller;
use crate::context::ServerContext;
use crate::error::{Error, Result};

/// The agent's settings (`settings.json`): the keys Oqto knows; others are
/// kept as they are.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PiSettings {
    /// The provider new chats use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_provider: Option<String>,
    /// The model new chats use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_thinking_level: Option<ThinkingLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide_thinking_block: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_startup: Option<bool>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ThinkingLevel {
    Off,
    Minimal,
    Low,
    Medium,
    High,
    Xhigh,
}

/// The agent's custom providers (`models.json`).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct PiModels {
    #[serde(default)]
    pub providers: BTreeMap<String, PiProvider>,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PiProvider {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<PiApi>,
    /// Secret: never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub models: Vec<PiModel>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PiApi {
    OpenaiCompletions,
    OpenaiResponses,
    AnthropicMessages,
    GoogleGenerativeAi,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PiModel {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// One of the agent's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum App {
    Agent,
    Models,
}

impl App {
    pub fn named(name: &str) -> Option<App> {
        match name {
            "pi-agent" => Some(App::Agent),
            "pi-models" => Some(App::Models),
            _ => None,
        }
    }

    fn file(self) -> &'static str {
        match self {
            App::Agent => "settings.json",
            App::Models => "models.json",
        }
    }

    /// Whether `value` is a valid file of this app (why not, otherwise).
    fn check(self, value: &Value) -> std::result::Result<(), String> {
        let checked = match self {
            App::Agent => serde_json::from_value::<PiSettings>(value.clone()).map(drop),
            App::Models => serde_json::from_value::<PiModels>(value.clone()).map(drop),
        };
        checked.map_err(|e| e.to_string())
    }

    /// The file's schema, every key the caller's own.
    pub fn schema(self) -> Value {
        let generator =
            schemars::r#gen::SchemaSettings::draft07().with(|s| s.inline_subschemas = true).into_generator();
        let root = match self {
            App::Agent => generator.into_root_schema_for::<PiSettings>(),
            App::Models => generator.into_root_schema_for::<PiModels>(),
        };
        let mut schema = serde_json::to_value(root).unwrap_or_default();
        if let Some(object) = schema.as_object_mut() {
            object.insert("x-scope".into(), "user".into());
        }
        schema
    }
}

/// Names under which a value is a secret.
fn is_secret(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    ["apikey", "api_key", "token", "secret", "password"].iter().any(|s| last.contains(s))
}

fn agent_dir(ctx: &ServerContext, caller: &Caller) -> Result<cap_std::fs::Dir> {
    agent_dir_of(ctx, &caller.user_id)
}

/// A user's agent directory (created 0700 when missing), opened so that
/// nothing in it leads outside.
pub fn agent_dir_of(ctx: &ServerContext, user_id: &str) -> Result<cap_std::fs::Dir> {
    let path = ctx.config.user_dir(user_id).join("agent");
    crate::util::private_dir(&path)
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("creating the agent directory")))?;
    crate::workspace::open_root(&path)
}

fn read(dir: &cap_std::fs::Dir, app: App) -> Result<Value> {
    match dir.read_to_string(app.file()) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            Error::Conflict(format!("your {} is not valid JSON ({e}); fix or remove it", app.file()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Object(Map::new())),
        Err(e) => Err(crate::workspace::io_error(app.file(), e)),
    }
}

/// Every key of the file (objects are sections, anything else a key).
fn flatten(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value.as_object() {
        Some(object) if !object.is_empty() || prefix.is_empty() => {
            for (name, child) in object {
                let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                flatten(child, &key, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

pub fn view(ctx: &ServerContext, caller: &Caller, app: App) -> Result<BTreeMap<String, SettingValue>> {
    let file = read(&agent_dir(ctx, caller)?, app)?;
    let mut keys = Vec::new();
    flatten(&file, "", &mut keys);
    Ok(keys
        .into_iter()
        .map(|key| {
            let value = at(&file, &key).cloned();
            let shown = super::shown(value, true, None, SettingScope::User, true, is_secret(&key));
            (key, shown)
        })
        .collect())
}

pub fn update(
    ctx: &ServerContext,
    caller: &Caller,
    app: App,
    values: BTreeMap<String, Value>,
) -> Result<BTreeMap<String, SettingValue>> {
    if values.is_empty() {
        return Err(Error::BadRequest("name at least one key in `values`".into()));
    }
    let dir = agent_dir(ctx, caller)?;
    let mut file = read(&dir, app)?;
    let mut problems = Vec::new();
    for (key, value) in values {
        if key.is_empty() || key.split('.').any(str::is_empty) {
            problems.push(format!("{key:?}: not a dotted key"));
            continue;
        }
        let mut single = file.clone();
        set(&mut single, &key, (!value.is_null()).then_some(value.clone()));
        match app.check(&single) {
            Ok(()) => file = single,
            Err(why) => problems.push(format!("{key}: {why}")),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems.join("; ")));
    }
    let text = serde_json::to_vec_pretty(&file).map_err(|e| Error::Internal(e.into()))?;
    crate::workspace::write_atomic(&dir, Path::new(app.file()), &text)
        .map_err(|e| crate::workspace::io_error(app.file(), e))?;
    view(ctx, caller, app)
}
