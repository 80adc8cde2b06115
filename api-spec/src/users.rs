//! Users: the caller's own profile and the administrators' user management.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// What an account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A regular user.
    User,
    /// May manage users, invite codes and every session.
    Admin,
    /// A non-interactive account for automation.
    Service,
}

impl Role {
    /// The wire name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
            Role::Service => "service",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            "service" => Ok(Role::Service),
            other => Err(format!("unknown role {other:?} (expected user, admin or service)")),
        }
    }
}

/// An account as shown to its owner and to administrators.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct UserView {
    /// User id.
    pub id: Uuid,
    /// Unique login name.
    pub username: String,
    /// Unique email address (stored lower-case).
    pub email: String,
    /// Name shown in the UI.
    pub display_name: String,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// Role of the account.
    pub role: Role,
    /// Inactive accounts cannot log in and their tokens are refused.
    pub is_active: bool,
    /// Per-user UI settings (free-form JSON object).
    pub settings: Map<String, Value>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account was last changed.
    pub updated_at: DateTime<Utc>,
    /// When the account last logged in.
    pub last_login_at: Option<DateTime<Utc>>,
}

/// Changes to the caller's own profile. Absent fields are left as they are.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct MeUpdate {
    /// New display name (1 to 128 characters).
    #[serde(default)]
    pub display_name: Option<String>,
    /// New avatar URL; an empty string removes it.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Settings to merge into the stored ones, key by key; a `null` value
    /// removes a key. Keys reserved for server-managed state (`onboarding`)
    /// are refused.
    #[serde(default)]
    pub settings: Option<Map<String, Value>>,
}

/// Filters for listing users.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct UserListQuery {
    /// Only users with this role.
    #[serde(default)]
    pub role: Option<Role>,
    /// Only active (`true`) or inactive (`false`) users.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Case-insensitive substring of the username, email or display name.
    #[serde(default)]
    pub search: Option<String>,
    /// At most this many users (1 to 1000, default 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Skip this many users (default 0).
    #[serde(default)]
    pub offset: Option<u32>,
}

/// A new account created by an administrator.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct UserCreate {
    /// Unique login name: 3 to 64 characters of letters, digits, `.`, `_`, `-`.
    pub username: String,
    /// Unique email address.
    pub email: String,
    /// Initial password (at least 8 characters). When absent, a random one
    /// is generated and returned once in the response.
    #[serde(default)]
    pub password: Option<String>,
    /// Display name; defaults to the username.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Role; defaults to `user`.
    #[serde(default)]
    pub role: Option<Role>,
}

/// The account an administrator created.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct UserCreated {
    /// The new account.
    pub user: UserView,
    /// The generated password, present only when none was given.
    pub generated_password: Option<String>,
}

/// An administrator's changes to an account. Absent fields are left as they are.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct UserUpdate {
    /// New login name.
    #[serde(default)]
    pub username: Option<String>,
    /// New email address.
    #[serde(default)]
    pub email: Option<String>,
    /// New password; the user's existing tokens stop working.
    #[serde(default)]
    pub password: Option<String>,
    /// New display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// New avatar URL; an empty string removes it.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// New role; the user's existing tokens stop working.
    #[serde(default)]
    pub role: Option<Role>,
    /// Activate or deactivate the account.
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// Path of a single user.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct UserPath {
    /// User id (a UUID). The original's collection actions (`stats`,
    /// `sync-configs`) are answered at this path too.
    pub user_id: String,
}

/// Counts of accounts by role.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct UserStats {
    /// All accounts.
    pub total: i64,
    /// Active accounts.
    pub active: i64,
    /// Administrators.
    pub admins: i64,
    /// Regular users.
    pub users: i64,
    /// Service accounts.
    pub services: i64,
}

/// Which users' per-user configuration to synchronise.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct UserConfigSync {
    /// Only this user; all users when absent.
    #[serde(default)]
    pub user_id: Option<Uuid>,
}

/// The outcome of synchronising one user's per-user configuration.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct UserConfigSyncResult {
    /// User id.
    pub user_id: Uuid,
    /// Login name.
    pub username: String,
    /// Whether the user's directories are in place.
    pub ok: bool,
    /// Directories created by this call.
    pub created: Vec<String>,
    /// What went wrong, when `ok` is false.
    pub error: Option<String>,
}
