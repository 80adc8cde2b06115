//! Workspace sessions: the runtime of one workspace directory for one user,
//! which hosts that workspace's chats.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a workspace session is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// Created, not started yet.
    Pending,
    /// Being started.
    Starting,
    /// Running: chats can be started in it.
    Running,
    /// Being stopped: its chats are stopping.
    Stopping,
    /// Stopped; can be resumed.
    Stopped,
    /// Failed to start or crashed (see `error_message`); can be resumed.
    Failed,
}

impl SessionStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Pending => "pending",
            SessionStatus::Starting => "starting",
            SessionStatus::Running => "running",
            SessionStatus::Stopping => "stopping",
            SessionStatus::Stopped => "stopped",
            SessionStatus::Failed => "failed",
        }
    }

    /// Whether the session holds resources (and so must be stopped before
    /// it can be deleted).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            SessionStatus::Pending
                | SessionStatus::Starting
                | SessionStatus::Running
                | SessionStatus::Stopping
        )
    }
}

impl std::str::FromStr for SessionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => SessionStatus::Pending,
            "starting" => SessionStatus::Starting,
            "running" => SessionStatus::Running,
            "stopping" => SessionStatus::Stopping,
            "stopped" => SessionStatus::Stopped,
            "failed" => SessionStatus::Failed,
            other => return Err(format!("unknown session status {other:?}")),
        })
    }
}

/// A workspace session.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SessionView {
    /// Session id.
    pub id: Uuid,
    /// Short, unique, human-readable alias (`cold-lamp-bird`); routes accept it
    /// in place of the id.
    pub readable_id: String,
    /// Owner.
    pub user_id: Uuid,
    /// The workspace directory, relative to the owner's workspace root
    /// (`.` for the root itself).
    pub workspace_path: String,
    /// Lifecycle state.
    pub status: SessionStatus,
    /// Why the session failed, when it did.
    pub error_message: Option<String>,
    /// Version of the agent runtime the session runs.
    pub runtime_version: String,
    /// Chats running in the session now.
    pub active_chats: u32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it last stopped.
    pub stopped_at: Option<DateTime<Utc>>,
    /// Last sign of use (requests, chat activity, `activity` calls).
    pub last_activity_at: DateTime<Utc>,
}

/// A new workspace session.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SessionCreate {
    /// Workspace directory: relative to the caller's workspace root, or an
    /// absolute path inside it. Created when missing. Paths that leave the
    /// root are refused (422).
    pub workspace_path: String,
}

/// Body of `session_get_or_create`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct SessionGetOrCreate {
    /// Limit the search to this workspace (as in `SessionCreate`); when
    /// absent, any of the caller's sessions will do, else the root.
    #[serde(default)]
    pub workspace_path: Option<String>,
}

/// Body of `session_get_or_create_for_workspace`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SessionForWorkspace {
    /// Workspace directory (as in `SessionCreate`).
    pub workspace_path: String,
}

/// Path of one workspace session.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SessionPath {
    /// Session id (a UUID) or readable id. The original's collection paths
    /// (`updates`, `get-or-create`, `get-or-create-for-workspace`) are
    /// answered at this path too.
    pub session_id: String,
}

/// Whether a session runs an outdated agent runtime.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SessionUpdateView {
    /// Session id.
    pub session_id: Uuid,
    /// The configured runtime version differs from the session's.
    pub update_available: bool,
    /// The version the session runs.
    pub current_version: String,
    /// The configured version (`upgrade` switches to it).
    pub new_digest: String,
}

/// An agent process that no chat tracks and that was stopped.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct OrphanProcess {
    /// Process id.
    pub pid: u32,
    /// Its command line.
    pub command: String,
}

/// What `admin_local_cleanup` did.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct LocalCleanupReport {
    /// Orphan agent processes that were killed.
    pub killed: Vec<OrphanProcess>,
    /// Sessions marked stopped because nothing ran for them any more.
    pub sessions_reset: u32,
}
