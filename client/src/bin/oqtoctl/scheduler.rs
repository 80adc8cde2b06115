//! `oqtoctl schedule add`: a job from flags; the rest of `schedule` is
//! generated.

use anyhow::{Result, bail};
use clap::Subcommand;
use oqto_client::{Client, types};

use crate::failure::sdk_error;
use crate::output::Output;

#[derive(Subcommand)]
pub enum ScheduleCommand {
    /// Schedule a job: a prompt into its own chat, or a command in the
    /// workspace's sandbox; repeating (`--cron`) or once (`--at`).
    Add {
        /// 1 to 64 letters, digits, `.`, `_` or `-`.
        name: String,
        /// 5 cron fields in UTC (`"0 7 * * 1-5"`), or `@hourly` and the like.
        #[arg(long, conflicts_with = "at", required_unless_present = "at")]
        cron: Option<String>,
        /// When a one-off job runs (RFC 3339, `2026-12-24T18:00:00Z`).
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::Utc>>,
        /// The workspace it works in.
        #[arg(long, short = 'w', default_value = ".")]
        workspace: String,
        /// The prompt to send.
        #[arg(long, conflicts_with = "command", required_unless_present = "command")]
        prompt: Option<String>,
        /// The shell command to run.
        #[arg(long)]
        command: Option<String>,
    },
}

pub async fn run(client: &Client, cmd: ScheduleCommand, out: &Output) -> Result<()> {
    match cmd {
        ScheduleCommand::Add { name, cron, at, workspace, prompt, command } => {
            let action = match (prompt, command) {
                (Some(prompt), None) => types::ScheduleAction::Prompt { workspace_path: workspace, prompt },
                (None, Some(command)) => {
                    types::ScheduleAction::Command { workspace_path: workspace, command }
                }
                _ => bail!("give one of --prompt and --command"),
            };
            let body = types::ScheduleCreate { name, schedule: cron, at, action };
            out.item(&client.scheduler_job_create().body(body).send().await.map_err(sdk_error)?.into_inner())
        }
    }
}
