//! `oqtoctl invite …`: invite codes (`invite_code_*` operations).

use anyhow::Result;
use clap::Subcommand;
use oqto_client::{Client, types};

use crate::auth::sdk_error;
use crate::output::Output;

const COLUMNS: &[&str] = &["id", "code", "uses_remaining", "max_uses", "expires_at", "is_valid", "note"];

#[derive(Subcommand)]
pub enum InviteCommand {
    /// Create an invite code.
    Create {
        /// The code (random when absent).
        #[arg(long)]
        code: Option<String>,
        #[arg(long, default_value_t = 1)]
        max_uses: i64,
        /// Seconds until it expires.
        #[arg(long)]
        expires_in: Option<i64>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Create many invite codes.
    Batch {
        #[arg(long)]
        count: u32,
        #[arg(long, default_value_t = 1)]
        uses_per_code: i64,
        #[arg(long)]
        expires_in: Option<i64>,
        #[arg(long)]
        prefix: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// List invite codes.
    List {
        /// Only redeemable (true) or not redeemable (false) codes.
        #[arg(long)]
        valid: Option<bool>,
        /// Only codes created by this user id.
        #[arg(long)]
        created_by: Option<uuid::Uuid>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        offset: Option<u32>,
    },
    /// Show an invite code.
    Show { id: String },
    /// Revoke an invite code.
    Revoke { id: String },
    /// Delete an invite code.
    Delete { id: String },
    /// Counts of invite codes by state.
    Stats,
}

pub async fn run(client: &Client, cmd: InviteCommand, out: &Output) -> Result<()> {
    match cmd {
        InviteCommand::Create { code, max_uses, expires_in, note } => {
            let body =
                types::InviteCodeCreate { code, max_uses: Some(max_uses), expires_in_secs: expires_in, note };
            out.object(&client.invite_code_create().body(body).send().await.map_err(sdk_error)?.into_inner())
        }
        InviteCommand::Batch { count, uses_per_code, expires_in, prefix, note } => {
            let body = types::InviteCodeBatchCreate {
                count,
                uses_per_code,
                expires_in_secs: expires_in,
                prefix,
                note,
            };
            let codes =
                client.invite_code_batch_create().body(body).send().await.map_err(sdk_error)?.into_inner();
            out.list(&codes, COLUMNS)
        }
        InviteCommand::List { valid, created_by, limit, offset } => {
            let mut req = client.invite_code_list();
            if let Some(valid) = valid {
                req = req.valid(valid);
            }
            if let Some(created_by) = created_by {
                req = req.created_by(created_by);
            }
            if let Some(limit) = limit {
                req = req.limit(limit);
            }
            if let Some(offset) = offset {
                req = req.offset(offset);
            }
            out.list(&req.send().await.map_err(sdk_error)?.into_inner(), COLUMNS)
        }
        InviteCommand::Show { id } => {
            out.object(&client.invite_code_view().code_id(id).send().await.map_err(sdk_error)?.into_inner())
        }
        InviteCommand::Revoke { id } => {
            out.object(&client.invite_code_revoke().code_id(id).send().await.map_err(sdk_error)?.into_inner())
        }
        InviteCommand::Delete { id } => {
            client.invite_code_delete().code_id(&id).send().await.map_err(sdk_error)?;
            out.done(&format!("deleted invite code {id}"))
        }
        InviteCommand::Stats => {
            out.object(&client.invite_code_stats().send().await.map_err(sdk_error)?.into_inner())
        }
    }
}
