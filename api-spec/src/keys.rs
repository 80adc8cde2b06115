//! Personal API keys: long-lived credentials for scripts, limited to scopes.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a key may do.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyScope {
    /// Read: `GET` on the caller's own routes.
    Read,
    /// Read and change the caller's own data (every non-admin route).
    Write,
    /// The administration routes (`/api/admin/…`), for administrators only.
    Admin,
}

/// A new key.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ApiKeyCreate {
    /// A name to recognize it by (1 to 100 printable characters).
    pub name: String,
    /// What it may do; `["read", "write"]` when absent.
    #[serde(default)]
    pub scopes: Option<Vec<ApiKeyScope>>,
    /// When it stops working; never when absent.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key as its owner sees it (never the key itself).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The key's first characters (`oqto_AbCd`), to recognize it.
    pub prefix: String,
    pub scopes: Vec<ApiKeyScope>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key just made: the only time the key itself is shown.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ApiKeyCreated {
    /// Send it as `Authorization: Bearer <key>`.
    pub key: String,
    #[serde(flatten)]
    pub view: ApiKeyView,
}

/// Path of one key.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ApiKeyPath {
    pub key_id: String,
}

/// Sign-in providers other than passwords.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct OauthProviders {
    /// Whether any provider is configured (none is offered yet).
    pub enabled: bool,
    pub providers: Vec<OauthProvider>,
}

/// One sign-in provider.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct OauthProvider {
    pub id: String,
    pub name: String,
}
