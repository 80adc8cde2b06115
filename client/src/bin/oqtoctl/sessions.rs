//! `oqtoctl session …` and `oqtoctl admin sessions …` (`session_*`,
//! `admin_session_*`, `admin_local_cleanup`).

use anyhow::Result;
use clap::Subcommand;
use oqto_client::{Client, types};

use crate::auth::sdk_error;
use crate::output::Output;

const COLUMNS: &[&str] =
    &["id", "readable_id", "workspace_path", "status", "active_chats", "runtime_version", "last_activity_at"];

#[derive(Subcommand)]
pub enum SessionCommand {
    /// List your workspace sessions.
    List,
    /// Create and start a session for a workspace directory.
    Create {
        /// Relative to your workspace root (or absolute inside it).
        workspace: String,
    },
    /// Get your running session (for a workspace), or resume or create one.
    GetOrCreate {
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Show a session (id or readable id).
    Show { session: String },
    /// Stop a session and its chats.
    Stop { session: String },
    /// Resume a stopped session.
    Resume { session: String },
    /// Delete a stopped session.
    Delete { session: String },
    /// Keep a session from the idle stop.
    Activity { session: String },
    /// Whether a session's agent runtime is outdated.
    Update { session: String },
    /// Restart a session on the configured agent runtime.
    Upgrade { session: String },
    /// Your sessions with an outdated runtime.
    Updates,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Every user's workspace sessions.
    #[command(subcommand)]
    Sessions(AdminSessionCommand),
}

#[derive(Subcommand)]
pub enum AdminSessionCommand {
    /// List every session.
    List,
    /// Stop and delete any session.
    Delete { session: String },
    /// Kill orphan agent processes.
    Cleanup,
}

pub async fn run(client: &Client, cmd: SessionCommand, out: &Output) -> Result<()> {
    match cmd {
        SessionCommand::List => {
            out.list(&client.session_list().send().await.map_err(sdk_error)?.into_inner(), COLUMNS)
        }
        SessionCommand::Create { workspace } => {
            let body = types::SessionCreate { workspace_path: workspace };
            out.object(&client.session_create().body(body).send().await.map_err(sdk_error)?.into_inner())
        }
        SessionCommand::GetOrCreate { workspace } => {
            let body = types::SessionGetOrCreate { workspace_path: workspace };
            out.object(
                &client.session_get_or_create().body(body).send().await.map_err(sdk_error)?.into_inner(),
            )
        }
        SessionCommand::Show { session } => out
            .object(&client.session_view().session_id(session).send().await.map_err(sdk_error)?.into_inner()),
        SessionCommand::Stop { session } => {
            client.session_stop().session_id(&session).send().await.map_err(sdk_error)?;
            out.done(&format!("stopped session {session}"))
        }
        SessionCommand::Resume { session } => out.object(
            &client.session_resume().session_id(session).send().await.map_err(sdk_error)?.into_inner(),
        ),
        SessionCommand::Delete { session } => {
            client.session_delete().session_id(&session).send().await.map_err(sdk_error)?;
            out.done(&format!("deleted session {session}"))
        }
        SessionCommand::Activity { session } => {
            client.session_activity().session_id(&session).send().await.map_err(sdk_error)?;
            out.done(&format!("touched session {session}"))
        }
        SessionCommand::Update { session } => out.object(
            &client.session_update_view().session_id(session).send().await.map_err(sdk_error)?.into_inner(),
        ),
        SessionCommand::Upgrade { session } => out.object(
            &client.session_upgrade().session_id(session).send().await.map_err(sdk_error)?.into_inner(),
        ),
        SessionCommand::Updates => out.list(
            &client.session_update_list().send().await.map_err(sdk_error)?.into_inner(),
            &["session_id", "update_available", "current_version", "new_digest"],
        ),
    }
}

pub async fn run_admin(client: &Client, cmd: AdminCommand, out: &Output) -> Result<()> {
    let AdminCommand::Sessions(cmd) = cmd;
    match cmd {
        AdminSessionCommand::List => {
            let mut columns = vec!["user_id"];
            columns.extend_from_slice(COLUMNS);
            out.list(&client.admin_session_list().send().await.map_err(sdk_error)?.into_inner(), &columns)
        }
        AdminSessionCommand::Delete { session } => {
            client.admin_session_delete().session_id(&session).send().await.map_err(sdk_error)?;
            out.done(&format!("deleted session {session}"))
        }
        AdminSessionCommand::Cleanup => {
            out.object(&client.admin_local_cleanup().send().await.map_err(sdk_error)?.into_inner())
        }
    }
}
