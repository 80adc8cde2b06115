//! Memories: what the user (or the agent on their behalf) keeps about a
//! workspace, searchable by full text.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What kind of memory.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MemoryType {
    /// Facts and knowledge (the default).
    #[default]
    Semantic,
    /// Things that happened.
    Episodic,
    /// How to do things.
    Procedural,
}

impl MemoryType {
    pub fn as_str(self) -> &'static str {
        match self {
            MemoryType::Semantic => "semantic",
            MemoryType::Episodic => "episodic",
            MemoryType::Procedural => "procedural",
        }
    }
}

/// A memory.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Memory {
    pub id: String,
    pub memory_type: MemoryType,
    pub content: String,
    /// Free-form JSON object.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// 1 (least) to 10 (most); default 5.
    pub importance: u8,
    /// Default `general`.
    pub category: String,
    pub tags: Vec<String>,
    /// The store it belongs to within its workspace (default: the
    /// workspace directory's name).
    pub store: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Full-text relevance, higher is better (search results only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<f64>,
}

/// A new memory. The text may come as `content`, `text` or `memory` (the
/// first that is not blank), as the original accepted.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct MemoryCreate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_type: Option<MemoryType>,
    /// At most 64 characters; default `general`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// At most 32 tags of at most 64 characters each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// 1 to 10; default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<u8>,
    /// A JSON object, at most 16 KiB serialized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// At most 64 characters; default: the workspace directory's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

/// The created memory.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct MemoryCreated {
    pub memory: Memory,
}

/// A page of memories, newest first.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct MemoryList {
    pub memories: Vec<Memory>,
    /// How many match, over all pages.
    pub total: u64,
    pub offset: u32,
    pub limit: u32,
}

/// A full-text search.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct MemorySearch {
    /// Words; every one must occur (no query syntax).
    pub query: String,
    /// 1 to 100; default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// Only memories carrying every one of these tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_type: Option<MemoryType>,
}

/// Search results, most relevant first, each with its `rank`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct MemorySearchResults {
    pub memories: Vec<Memory>,
}

/// A deleted memory.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct MemoryDeleted {
    /// Always `true`.
    pub deleted: bool,
    pub id: String,
}

/// A store of a workspace and how many memories it holds.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct MemoryStore {
    pub name: String,
    pub memories: u64,
}

/// The stores of a workspace, by name.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct MemoryStores {
    pub stores: Vec<MemoryStore>,
}

/// The workspace of a workspace-scoped memory route.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct MemoryWorkspaceQuery {
    /// Relative to the caller's workspace root (or absolute inside it or a
    /// shared location of theirs).
    pub workspace_path: String,
}

/// Which memories to list.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct MemoryListQuery {
    /// Only this store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// 1 to 100; default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
}

/// Which memories to list in a workspace.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct MemoryWorkspaceListQuery {
    pub workspace_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
}

/// One memory of a workspace.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct MemoryPath {
    pub memory_id: String,
}

/// A workspace session's memories.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SessionMemoriesPath {
    /// The workspace session's id.
    pub session_id: String,
}

/// One memory of a workspace session's workspace.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SessionMemoryPath {
    pub session_id: String,
    pub memory_id: String,
}
