//! Delegation: a chat's agent (or the user, on this machine) hands work to
//! a child chat, a real agent under the same supervisor, and follows it.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a new delegate does.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DelegateStart {
    /// Where it works: a directory inside the caller's workspace root,
    /// relative to the calling chat's directory (to the root without one),
    /// or absolute inside the root. Created when missing.
    pub directory: String,
    /// Its first prompt (at most 64 KiB).
    pub prompt: String,
    /// The agent harness; only `pi`, the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// Another prompt for a delegate.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DelegatePrompt {
    /// At most 64 KiB; sent as a follow-up while the delegate works.
    pub prompt: String,
}

/// A delegate of the caller's.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DelegatePath {
    /// The delegate's chat id (`dlg-…`).
    pub session_id: String,
}

/// How many of a delegate's messages to read.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct DelegateMessagesQuery {
    /// 1 to 500; default 20. The latest ones, oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// What a delegate does now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DelegateState {
    /// Working on a prompt.
    Running,
    /// Done with its prompts, waiting for another.
    Idle,
    /// Its agent is not running (stopped, or idle long enough to be
    /// stopped); another prompt starts it again.
    Stopped,
    /// Its agent could not start or failed; see `error_message`.
    Failed,
}

/// A delegate: a child chat and where it stands.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DelegateStatus {
    /// The delegate's chat id: also a chat of the caller's, readable in the
    /// chat history and openable over the mux.
    pub id: String,
    pub status: DelegateState,
    /// Its directory, relative to the caller's workspace root.
    pub workspace_path: String,
    pub created_at: DateTime<Utc>,
    /// When its agent last started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Who started it: `chat` (a chat's agent) or `user`.
    pub source: String,
    /// The chat that started it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_session_id: Option<String>,
    /// 1 for a chat's (or the user's) delegate, 2 for a delegate's, …
    pub depth: u32,
}

/// A stopped delegate.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DelegateStopped {
    pub session_id: String,
    /// Always `stopped`.
    pub status: String,
    pub message: String,
}

/// How a delegation failed (`delegate.error`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DelegateErrorCode {
    TargetNotFound,
    PermissionDenied,
    Timeout,
    TargetError,
    Cancelled,
    RunnerUnreachable,
}

/// The answer a delegate gave (`delegate.end`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DelegateMessage {
    /// Always `assistant`.
    pub role: String,
    /// Its text, as streamed in `delegate.delta` (at most 1 MiB kept).
    pub content: String,
}

/// Who answered (`delegate.end`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct DelegateResponder {
    /// Always `delegate`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The delegate's chat id.
    pub session_id: String,
}
