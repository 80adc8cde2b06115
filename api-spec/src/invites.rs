//! Invite codes: how new users join.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A new invite code.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct InviteCodeCreate {
    /// The code itself (4 to 64 characters of letters, digits, `-`, `_`);
    /// a random one is generated when absent.
    #[serde(default)]
    pub code: Option<String>,
    /// How many registrations the code admits (1 to 10000, default 1).
    #[serde(default)]
    pub max_uses: Option<i64>,
    /// Seconds from now until the code expires; never when absent.
    #[serde(default)]
    pub expires_in_secs: Option<i64>,
    /// Free-form note for administrators.
    #[serde(default)]
    pub note: Option<String>,
}

/// Many new invite codes at once.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct InviteCodeBatchCreate {
    /// How many codes to create (1 to 1000).
    pub count: u32,
    /// How many registrations each code admits (1 to 10000; 1 when absent).
    #[serde(default = "one_use")]
    pub uses_per_code: i64,
    /// Seconds from now until the codes expire; never when absent.
    #[serde(default)]
    pub expires_in_secs: Option<i64>,
    /// Prefix put before each random code (up to 32 characters of letters,
    /// digits, `-`, `_`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Note stored on every code.
    #[serde(default)]
    pub note: Option<String>,
}

fn one_use() -> i64 {
    1
}

/// Filters for listing invite codes.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct InviteCodeListQuery {
    /// Only codes created by this user.
    #[serde(default)]
    pub created_by: Option<Uuid>,
    /// Only codes that can (`true`) or cannot (`false`) be redeemed now.
    #[serde(default)]
    pub valid: Option<bool>,
    /// At most this many codes (1 to 1000, default 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Skip this many codes (default 0).
    #[serde(default)]
    pub offset: Option<u32>,
}

/// An invite code.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct InviteCodeView {
    /// Invite code id.
    pub id: Uuid,
    /// The code users type when registering.
    pub code: String,
    /// The administrator who created it (absent once that account is deleted).
    pub created_by: Option<Uuid>,
    /// The user who redeemed it last.
    pub used_by: Option<Uuid>,
    /// Registrations still admitted.
    pub uses_remaining: i64,
    /// Registrations admitted in all.
    pub max_uses: i64,
    /// When it stops being accepted.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last redeemed.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Free-form note.
    pub note: Option<String>,
    /// Whether it can be redeemed now (not revoked, not expired, uses left).
    pub is_valid: bool,
}

/// Path of a single invite code.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct InviteCodePath {
    /// Invite code id (a UUID). The original's collection actions
    /// (`stats`, `batch`) are answered at this path too.
    pub code_id: String,
}

/// Counts of invite codes by state.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct InviteCodeStats {
    /// All codes.
    pub total: i64,
    /// Codes that can be redeemed now.
    pub valid: i64,
    /// Codes past their expiry.
    pub expired: i64,
    /// Codes with no uses left.
    pub exhausted: i64,
    /// Revoked codes.
    pub revoked: i64,
    /// Registrations made with any code.
    pub total_uses: i64,
}
