//! Model providers: the LLM providers the server holds keys for, the
//! source of every user's agent model configuration. Agents reach a
//! provider through the server's model proxy, so no key ever reaches them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A model a provider offers, as the agent's `models.json` lists it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ProviderModel {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub reasoning: bool,
    /// `text`, `image`.
    #[serde(default)]
    pub input: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// US dollars per million input tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_input: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_output: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_cache_read: Option<f64>,
    /// Passed on to the agent as the model's `compat` settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compat: Option<serde_json::Value>,
}

/// A provider to add or replace (by name).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ProviderCreate {
    /// 1 to 64 letters, digits, `.`, `_` or `-`.
    pub name: String,
    /// `openai`, `openai-compatible`, `anthropic`, `azure` or `google`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Stored encrypted; never shown again (`has_api_key`). Absent on a
    /// replace: the stored key stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// The provider's API base (`https://api.openai.com/v1`); required for
    /// `openai-compatible` and `azure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// 1 to 200 models.
    pub models: Vec<ProviderModel>,
}

/// A stored provider, without its key.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ProviderView {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The agent's API for it (`openai-completions`, `anthropic-messages`,
    /// `google-generative-ai`).
    pub pi_api: String,
    pub has_api_key: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    pub model_count: u64,
    pub models: Vec<ProviderModel>,
}

/// Every provider, and where agents reach them.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ProviderList {
    pub providers: Vec<ProviderView>,
    /// The model proxy's base (`…/api/llm`); each provider is below it.
    pub eavs_url: String,
}

/// A provider by name.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ProviderPath {
    pub name: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ProviderDeleted {
    pub ok: bool,
    pub deleted: String,
}

/// What a sync wrote.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ModelsSynced {
    /// Users whose `models.json` was written.
    pub users: u64,
    /// Providers written into each.
    pub providers: u64,
    /// Users whose file could not be written, with why.
    pub failed: Vec<ModelsSyncFailure>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ModelsSyncFailure {
    pub user_id: String,
    pub error: String,
}

/// A model to look up in the shipped catalog.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct CatalogQuery {
    pub model_id: String,
    /// Only this provider's entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// A catalog entry: the model as a provider would list it.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct CatalogEntry {
    /// `openai`, `anthropic` or `google`.
    pub provider: String,
    pub model: ProviderModel,
}

/// The rest of the path after `/api/llm/`: the provider's name, then the
/// path below its base.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct LlmPath {
    pub path: Vec<String>,
}

/// Largest request body the model proxy relays, in bytes.
pub const MAX_LLM_BODY_BYTES: usize = 64 * 1024 * 1024;
