//! `oqtoctl history …` and `oqtoctl search` (`chat_history_*`, `search`).

use anyhow::Result;
use clap::Subcommand;
use oqto_client::{Client, types};

use crate::auth::sdk_error;
use crate::output::Output;

const COLUMNS: &[&str] = &["id", "title", "workspace_path", "message_count", "model", "updated_at"];

#[derive(Subcommand)]
pub enum HistoryCommand {
    /// List your chats, newest first.
    List {
        /// Only chats working in this workspace.
        #[arg(long)]
        workspace: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        offset: Option<u32>,
    },
    /// Your chats grouped by time (today, yesterday, …).
    Grouped {
        /// IANA time zone (default UTC).
        #[arg(long)]
        tz: Option<String>,
    },
    /// A chat's messages.
    Show {
        chat: String,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        offset: Option<u32>,
    },
    /// Rename a chat (an empty title restores the default).
    Rename { chat: String, title: String },
    /// Search every message of your chats.
    Search {
        query: String,
        #[arg(long)]
        limit: Option<u32>,
    },
}

pub async fn run(client: &Client, cmd: HistoryCommand, out: &Output) -> Result<()> {
    match cmd {
        HistoryCommand::List { workspace, limit, offset } => {
            let mut req = client.chat_history_list();
            if let Some(workspace) = workspace {
                req = req.workspace(workspace);
            }
            if let Some(limit) = limit {
                req = req.limit(limit);
            }
            if let Some(offset) = offset {
                req = req.offset(offset);
            }
            out.list(&req.send().await.map_err(sdk_error)?.into_inner(), COLUMNS)
        }
        HistoryCommand::Grouped { tz } => {
            let mut req = client.chat_history_grouped_list();
            if let Some(tz) = tz {
                req = req.tz(tz);
            }
            let groups = req.send().await.map_err(sdk_error)?.into_inner();
            if out.is_json() {
                return out.object(&groups);
            }
            for (name, entries) in [
                ("Today", &groups.today),
                ("Yesterday", &groups.yesterday),
                ("This week", &groups.this_week),
                ("This month", &groups.this_month),
                ("Older", &groups.older),
            ] {
                if !entries.is_empty() {
                    println!("{name}");
                    out.list(entries, COLUMNS)?;
                    println!();
                }
            }
            Ok(())
        }
        HistoryCommand::Show { chat, limit, offset } => {
            let mut req = client.chat_history_message_list().session_id(chat);
            if let Some(limit) = limit {
                req = req.limit(limit);
            }
            if let Some(offset) = offset {
                req = req.offset(offset);
            }
            out.list(&req.send().await.map_err(sdk_error)?.into_inner(), &["idx", "role", "content"])
        }
        HistoryCommand::Rename { chat, title } => {
            let body = types::ChatHistoryUpdate { title: Some(title) };
            out.object(
                &client
                    .chat_history_update()
                    .session_id(chat)
                    .body(body)
                    .send()
                    .await
                    .map_err(sdk_error)?
                    .into_inner(),
            )
        }
        HistoryCommand::Search { query, limit } => {
            let mut req = client.search().q(query);
            if let Some(limit) = limit {
                req = req.limit(limit);
            }
            let results = req.send().await.map_err(sdk_error)?.into_inner();
            out.list(&results.hits, &["session_id", "role", "snippet", "title"])
        }
    }
}
