//! Feedback: what users tell the operators, kept in the database.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A report from a user.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct FeedbackCreate {
    /// 1 to 200 characters.
    pub title: String,
    /// 1 to 20000 characters.
    pub body: String,
    /// The workspace it is about (one of the caller's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_path: Option<String>,
    /// At most 16 tags of at most 64 characters.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A stored report.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Feedback {
    pub id: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Absent once the account is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The author's username when they wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_path: Option<String>,
    pub tags: Vec<String>,
}

/// A page of reports, newest first.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct FeedbackList {
    pub items: Vec<Feedback>,
    /// How many there are, over all pages.
    pub total: u64,
    pub offset: u32,
    pub limit: u32,
}

/// Which reports to list.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct FeedbackListQuery {
    /// 1 to 200; default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
}
