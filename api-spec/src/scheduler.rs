//! The scheduler: jobs of a user that run at their time, a prompt into a
//! chat or a command in a workspace, with the last run's outcome kept.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a job does when it runs.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ScheduleAction {
    /// Sends `prompt` to the job's own chat (`sched-<job id>`), working in
    /// `workspace_path`, and keeps the agent's answer.
    Prompt { workspace_path: String, prompt: String },
    /// Runs `command` with `/bin/sh -c` in `workspace_path`, in the user's
    /// sandbox, and keeps what it prints.
    Command { workspace_path: String, command: String },
}

/// A new job. Give exactly one of `schedule` (repeating) and `at` (once).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ScheduleCreate {
    /// 1 to 64 letters, digits, `.`, `_` or `-`; unique among the caller's
    /// jobs.
    pub name: String,
    /// A cron expression of 5 fields (minute hour day-of-month month
    /// day-of-week), in UTC, or a nickname such as `@hourly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// When a one-off job runs (in the future).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    pub action: ScheduleAction,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleRunStatus {
    Succeeded,
    Failed,
}

/// A job's last run.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ScheduleRun {
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub status: ScheduleRunStatus,
    /// The agent's answer or the command's output (at most 64 KiB), or why
    /// it failed.
    pub output: String,
}

/// A job.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ScheduleView {
    pub name: String,
    /// The cron expression of a repeating job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The time of a one-off job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    pub action: ScheduleAction,
    /// Paused jobs and one-off jobs that ran are not enabled.
    pub enabled: bool,
    /// When it runs next (enabled jobs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<ScheduleRun>,
    /// How often it ran.
    pub runs: u64,
    pub created_at: DateTime<Utc>,
}

/// A job by name.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SchedulePath {
    pub name: String,
}

/// The original's overview: counts and one line per job.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SchedulerOverview {
    pub stats: SchedulerStats,
    pub schedules: Vec<ScheduleEntry>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct SchedulerStats {
    pub total: u64,
    pub enabled: u64,
    pub disabled: u64,
}

/// One job in the overview.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ScheduleEntry {
    pub name: String,
    /// `enabled` or `disabled`.
    pub status: String,
    /// The cron expression, or `once <RFC 3339 time>`.
    pub schedule: String,
    /// What runs: the command, or `prompt: <prompt>`.
    pub command: String,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<String>,
}

/// The answer to a deletion.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ScheduleDeleted {
    pub deleted: String,
}
