//! Chat history: the chats' conversations, listed, grouped by time,
//! renamed, read and searched.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Token and cost totals of a chat.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ChatStats {
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    pub cost_usd: f64,
}

/// One chat's conversation, as listed.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ChatHistoryEntry {
    /// The chat id (as chosen at `session.create`).
    pub id: String,
    /// The readable id of the workspace session the chat last ran in.
    pub readable_id: Option<String>,
    /// Title: the name given to the chat, else its first user message.
    pub title: Option<String>,
    /// The chat this one was forked from.
    pub parent_id: Option<String>,
    /// Working directory, relative to the owner's workspace root.
    pub workspace_path: String,
    /// The workspace's last path component (`.` gives the root's name).
    pub project_name: String,
    /// First message time, Unix milliseconds.
    pub created_at: i64,
    /// Last message time, Unix milliseconds.
    pub updated_at: i64,
    /// Whether the chat is a fork of another.
    pub is_child: bool,
    /// Messages in the conversation.
    pub message_count: i64,
    /// Token and cost totals.
    pub stats: Option<ChatStats>,
    /// Model of the last assistant message.
    pub model: Option<String>,
    /// Provider of the last assistant message.
    pub provider: Option<String>,
}

/// Filters and paging of `chat_history_list`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ChatHistoryQuery {
    /// Only chats working in this workspace (relative path).
    #[serde(default)]
    pub workspace: Option<String>,
    /// At most this many chats (1 to 1000, default 100), newest first.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Skip this many chats.
    #[serde(default)]
    pub offset: Option<u32>,
}

/// Query of `chat_history_grouped_list`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ChatHistoryGroupedQuery {
    /// IANA time zone of the caller (`Europe/Berlin`); default UTC.
    #[serde(default)]
    pub tz: Option<String>,
    /// Only chats working in this workspace (relative path).
    #[serde(default)]
    pub workspace: Option<String>,
    /// At most this many chats in all (1 to 1000, default 100).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// Chats grouped by when they were last active, in the caller's time zone.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ChatHistoryGroups {
    pub today: Vec<ChatHistoryEntry>,
    pub yesterday: Vec<ChatHistoryEntry>,
    /// Earlier this week (weeks start on Monday).
    pub this_week: Vec<ChatHistoryEntry>,
    /// Earlier this month.
    pub this_month: Vec<ChatHistoryEntry>,
    pub older: Vec<ChatHistoryEntry>,
}

/// Path of one chat's history.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ChatHistoryPath {
    /// The chat id. The original's `grouped` is answered at this path too.
    pub session_id: String,
}

/// What re-indexing the caller's session files found.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ChatHistoryBackfill {
    /// Session files looked at (one per chat that has one).
    pub scanned_files: u64,
    /// Chats whose index was brought up to date.
    pub repaired_conversations: u64,
    /// Files that were indexed already, and chats without a file.
    pub skipped_files: u64,
    /// Files that could not be indexed (the server's log says why).
    pub failed_files: u64,
}

/// Changes to a chat's history entry.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ChatHistoryUpdate {
    /// New title (1 to 200 characters); an empty string goes back to the
    /// default title.
    #[serde(default)]
    pub title: Option<String>,
}

/// Paging of a chat's messages.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ChatMessagesQuery {
    /// At most this many messages (1 to 1000, default 500), oldest first.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Skip this many messages.
    #[serde(default)]
    pub offset: Option<u32>,
}

/// One message of a conversation.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ChatMessage {
    /// Stable across reloads, the same over HTTP and the mux: the agent's
    /// own entry id, or `<chat id>:<idx>`.
    pub id: String,
    /// Position in the conversation, from 0.
    pub idx: i64,
    /// `user`, `assistant`, `tool` or `system`.
    pub role: String,
    /// The message's text, flattened.
    pub content: String,
    /// The message's parts as the agent wrote them (text, thinking, tool
    /// calls…), each with a stable `id` (`<message id>:<n>` unless the
    /// agent gave one).
    pub parts: Value,
    /// When it was written, Unix milliseconds.
    pub created_at: Option<i64>,
    /// Model of an assistant message.
    pub model: Option<String>,
    /// Provider of an assistant message.
    pub provider: Option<String>,
    /// The `client_id` of the prompt that produced this user message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// Query of `search`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct SearchQuery {
    /// Words to find (all of them, anywhere in a message).
    pub q: String,
    /// At most this many hits (1 to 200, default 50).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A message that matches a search.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SearchHit {
    /// The chat.
    pub session_id: String,
    /// The chat's workspace (relative path).
    pub workspace: Option<String>,
    /// `<chat id>:<idx>`.
    pub message_id: Option<String>,
    /// The matching text around the words.
    pub snippet: Option<String>,
    /// Relevance (higher is better).
    pub score: Option<f64>,
    /// When the message was written, Unix milliseconds.
    pub timestamp: Option<i64>,
    pub role: Option<String>,
    /// The chat's title.
    pub title: Option<String>,
}

/// The answer to a search.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// Hits returned.
    pub total: Option<u64>,
    /// Time the search took on the server.
    pub elapsed_ms: Option<u64>,
}
