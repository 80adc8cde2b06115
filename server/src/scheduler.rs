//! The scheduler: each user's jobs, stored in the database, run at their
//! time by the replica that takes the job's lease (a conditional update,
//! so two replicas never run one job at once), with the last run's outcome
//! kept. A job sends a prompt to its own chat or runs a command in the
//! user's sandbox.

mod skdlr;

use std::process::Stdio;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use oqto_api::mux::{AgentEvent, ChatConfig, ServerFrame};
use oqto_api::scheduler::{
    ScheduleAction, ScheduleCreate, ScheduleDeleted, ScheduleEntry, ScheduleRun, ScheduleRunStatus,
    ScheduleView, SchedulerOverview, SchedulerStats,
};
use tokio::io::AsyncReadExt;

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::db;
use crate::db::schedules::{Finished, ScheduleRow};
use crate::error::{Error, Result};
use crate::mux::outbox::Outbox;

/// Jobs one user may have.
const MAX_JOBS_PER_USER: i64 = 100;
const MAX_PROMPT_BYTES: usize = 64 * 1024;
const MAX_COMMAND_BYTES: usize = 16 * 1024;
/// The most of a run's output kept.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024;
/// The longest a run may take; its lease lasts a minute longer.
const MAX_RUN: Duration = Duration::from_secs(15 * 60);
/// How often due jobs are looked for.
const TICK: Duration = Duration::from_millis(500);

/// A cron expression's next time after `after` (ms), or why it is invalid.
fn next_of(cron: &str, after: DateTime<Utc>) -> Result<Option<i64>> {
    let fields = cron.split_whitespace().count();
    let nickname = fields == 1 && cron.trim_start().starts_with('@');
    if fields != 5 && !nickname {
        return Err(Error::Invalid(format!(
            "schedule must be a cron expression of 5 fields or a nickname such as @hourly, got {cron:?}"
        )));
    }
    let parsed =
        croner::Cron::from_str(cron.trim()).map_err(|e| Error::Invalid(format!("schedule {cron:?}: {e}")))?;
    Ok(parsed.find_next_occurrence(&after, false).ok().map(|t| t.timestamp_millis()))
}

fn checked_job_name(name: &str) -> Result<String> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        return Err(Error::Invalid("name must be 1 to 64 letters, digits, '.', '_' or '-'".into()));
    }
    Ok(name.to_string())
}

fn checked_text(field: &str, text: &str, max: usize) -> Result<String> {
    if text.trim().is_empty() {
        return Err(Error::BadRequest(format!("the {field} is empty")));
    }
    if text.len() > max {
        return Err(Error::Invalid(format!("the {field} is at most {max} bytes")));
    }
    Ok(text.to_string())
}

fn action_of(row: &ScheduleRow) -> ScheduleAction {
    let workspace_path = row.workspace_path.clone();
    match row.kind.as_str() {
        "command" => ScheduleAction::Command { workspace_path, command: row.payload.clone() },
        _ => ScheduleAction::Prompt { workspace_path, prompt: row.payload.clone() },
    }
}

fn view(row: &ScheduleRow) -> ScheduleView {
    let last_run = match (row.last_started_at, row.last_status.as_deref()) {
        (Some(started), Some(status)) => Some(ScheduleRun {
            started_at: db::time(started),
            duration_ms: row.last_duration_ms.unwrap_or(0).max(0) as u64,
            status: if status == "succeeded" {
                ScheduleRunStatus::Succeeded
            } else {
                ScheduleRunStatus::Failed
            },
            output: row.last_output.clone().unwrap_or_default(),
        }),
        _ => None,
    };
    ScheduleView {
        name: row.name.clone(),
        schedule: row.cron.clone(),
        at: row.run_at.map(db::time),
        action: action_of(row),
        enabled: row.enabled,
        next_run_at: row.next_run_at.filter(|_| row.enabled).map(db::time),
        last_run,
        runs: row.runs.max(0) as u64,
        created_at: db::time(row.created_at),
    }
}

async fn own(ctx: &ServerContext, caller: &Caller, name: &str) -> Result<ScheduleRow> {
    db::schedules::get(&ctx.db.pool, &caller.user_id, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no job named {name:?}")))
}

/// `POST /api/scheduler/jobs`
pub async fn create(ctx: &ServerContext, caller: &Caller, body: ScheduleCreate) -> Result<ScheduleView> {
    let name = checked_job_name(&body.name)?;
    let now = Utc::now();
    let (cron, run_at, next_run_at) = match (body.schedule.as_deref().map(str::trim), body.at) {
        (Some(cron), None) => {
            let next =
                next_of(cron, now)?.ok_or_else(|| Error::Invalid(format!("schedule {cron:?} never runs")))?;
            (Some(cron.to_string()), None, next)
        }
        (None, Some(at)) if at > now => (None, Some(at.timestamp_millis()), at.timestamp_millis()),
        (None, Some(_)) => return Err(Error::Invalid("at must be in the future".into())),
        _ => return Err(Error::BadRequest("give exactly one of schedule (repeating) and at (once)".into())),
    };
    let (kind, workspace, payload) = match &body.action {
        ScheduleAction::Prompt { workspace_path, prompt } => {
            ("prompt", workspace_path, checked_text("prompt", prompt, MAX_PROMPT_BYTES)?)
        }
        ScheduleAction::Command { workspace_path, command } => {
            ("command", workspace_path, checked_text("command", command, MAX_COMMAND_BYTES)?)
        }
    };
    let workspace_path = crate::sessions::resolve(ctx, &caller.user_id, workspace).await?.relative;
    if db::schedules::count(&ctx.db.pool, &caller.user_id).await? >= MAX_JOBS_PER_USER {
        return Err(Error::Conflict(format!("at most {MAX_JOBS_PER_USER} jobs per user; remove one first")));
    }
    let row = ScheduleRow {
        id: uuid::Uuid::new_v4().simple().to_string(),
        user_id: caller.user_id.clone(),
        name: name.clone(),
        cron,
        run_at,
        kind: kind.to_string(),
        workspace_path,
        payload,
        enabled: true,
        next_run_at: Some(next_run_at),
        last_started_at: None,
        last_duration_ms: None,
        last_status: None,
        last_output: None,
        runs: 0,
        created_at: now.timestamp_millis(),
    };
    if let Err(e) = db::schedules::insert(&ctx.db.pool, &row).await {
        if crate::error::is_unique_violation(&e) {
            return Err(Error::Conflict(format!("you have a job named {name:?} already")));
        }
        return Err(e.into());
    }
    Ok(view(&row))
}

pub async fn list(ctx: &ServerContext, caller: &Caller) -> Result<Vec<ScheduleView>> {
    Ok(db::schedules::list(&ctx.db.pool, &caller.user_id).await?.iter().map(view).collect())
}

pub async fn get(ctx: &ServerContext, caller: &Caller, name: &str) -> Result<ScheduleView> {
    Ok(view(&own(ctx, caller, name).await?))
}

pub async fn delete(ctx: &ServerContext, caller: &Caller, name: &str) -> Result<ScheduleDeleted> {
    if let Some(program) = skdlr_program(ctx) {
        return skdlr::remove(ctx, &caller.user_id, program, name).await;
    }
    if !db::schedules::delete(&ctx.db.pool, &caller.user_id, name).await? {
        return Err(Error::NotFound(format!("no job named {name:?}")));
    }
    Ok(ScheduleDeleted { deleted: name.to_string() })
}

/// Pauses (`enabled` false) or resumes a job. A one-off job whose time
/// passed cannot be resumed.
pub async fn set_enabled(
    ctx: &ServerContext,
    caller: &Caller,
    name: &str,
    enabled: bool,
) -> Result<ScheduleView> {
    let row = own(ctx, caller, name).await?;
    let next = match (enabled, &row.cron, row.run_at) {
        (false, _, _) => None,
        (true, Some(cron), _) => next_of(cron, Utc::now())?,
        (true, None, Some(at)) if at > db::now_ms() => Some(at),
        (true, None, _) => {
            return Err(Error::Conflict("a one-off job whose time passed cannot resume".into()));
        }
    };
    db::schedules::set_enabled(&ctx.db.pool, &row.id, enabled, next).await?;
    Ok(view(&own(ctx, caller, name).await?))
}

/// `GET /api/scheduler/overview`: the original's shape.
/// The `skdlr` program when the operator chose it over the embedded
/// scheduler for the overview and delete.
fn skdlr_program(ctx: &ServerContext) -> Option<&str> {
    Some(ctx.config.scheduler.skdlr_bin.trim()).filter(|p| !p.is_empty())
}

pub async fn overview(ctx: &ServerContext, caller: &Caller) -> Result<SchedulerOverview> {
    if let Some(program) = skdlr_program(ctx) {
        return skdlr::overview(ctx, &caller.user_id, program).await;
    }
    let rows = db::schedules::list(&ctx.db.pool, &caller.user_id).await?;
    let enabled = rows.iter().filter(|r| r.enabled).count() as u64;
    let schedules = rows
        .iter()
        .map(|r| {
            let v = view(r);
            ScheduleEntry {
                name: v.name,
                status: if v.enabled { "enabled" } else { "disabled" }.into(),
                schedule: match (&v.schedule, v.at) {
                    (Some(cron), _) => cron.clone(),
                    (None, Some(at)) => format!("once {}", at.to_rfc3339()),
                    (None, None) => String::new(),
                },
                command: match &v.action {
                    ScheduleAction::Command { command, .. } => command.clone(),
                    ScheduleAction::Prompt { prompt, .. } => format!("prompt: {prompt}"),
                },
                next_run: v.next_run_at.map(|t| t.to_rfc3339()),
            }
        })
        .collect();
    let total = rows.len() as u64;
    Ok(SchedulerOverview { stats: SchedulerStats { total, enabled, disabled: total - enabled }, schedules })
}

/// Runs due jobs for as long as the server runs. Each replica has its own
/// owner id; a job is run by whoever takes its lease.
pub async fn run(ctx: Arc<ServerContext>) {
    let owner = format!("replica-{}", uuid::Uuid::new_v4().simple());
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = db::now_ms();
        let due = match db::schedules::due(&ctx.db.pool, now, 16).await {
            Ok(due) => due,
            Err(e) => {
                slog::warn!(ctx.log, "looking for due jobs failed"; "error" => %e);
                continue;
            }
        };
        for id in due {
            let until = now + (MAX_RUN + Duration::from_secs(60)).as_millis() as i64;
            match db::schedules::claim(&ctx.db.pool, &id, &owner, now, until).await {
                Ok(true) => {
                    let (ctx, owner) = (Arc::clone(&ctx), owner.clone());
                    tokio::spawn(async move { execute(&ctx, &id, &owner).await });
                }
                Ok(false) => {}
                Err(e) => slog::warn!(ctx.log, "taking a job's lease failed"; "error" => %e),
            }
        }
    }
}

/// Runs one job whose lease this replica holds and records the outcome.
async fn execute(ctx: &Arc<ServerContext>, id: &str, owner: &str) {
    let Ok(Some(row)) = db::schedules::by_id(&ctx.db.pool, id).await else { return };
    let started_at = db::now_ms();
    let clock = Instant::now();
    let work = async {
        match ctx.auth_cache.user(&ctx.db, &row.user_id).await {
            Ok(Some(user)) if user.is_active => {}
            Ok(_) => return Err("the account is deactivated".to_string()),
            Err(e) => return Err(e.public_message()),
        }
        match row.kind.as_str() {
            "command" => run_command(ctx, &row).await,
            _ => run_prompt(ctx, &row).await,
        }
    };
    let outcome = match tokio::time::timeout(MAX_RUN, work).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("the run took longer than {} minutes", MAX_RUN.as_secs() / 60)),
    };
    let (status, output) = match &outcome {
        Ok(output) => ("succeeded", output.as_str()),
        Err(why) => ("failed", why.as_str()),
    };
    let next_run_at = match &row.cron {
        Some(cron) => next_of(cron, Utc::now()).ok().flatten(),
        None => None,
    };
    let run = Finished {
        started_at,
        duration_ms: clock.elapsed().as_millis() as i64,
        status,
        output: truncated(output),
        next_run_at,
    };
    if let Err(e) = db::schedules::finish(&ctx.db.pool, id, owner, &run).await {
        slog::warn!(ctx.log, "recording a job's run failed"; "job" => id, "error" => %e);
    }
    slog::info!(ctx.log, "scheduled job ran"; "job" => id, "user_id" => &row.user_id, "status" => status);
}

fn truncated(text: &str) -> &str {
    if text.len() <= MAX_OUTPUT_BYTES {
        return text;
    }
    let mut end = MAX_OUTPUT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Sends the job's prompt to its chat and waits for the agent to finish.
async fn run_prompt(ctx: &Arc<ServerContext>, row: &ScheduleRow) -> Result<String, String> {
    let public = |e: Error| e.public_message();
    let chat_id = format!("sched-{}", row.id);
    let config = ChatConfig { cwd: Some(row.workspace_path.clone()), ..Default::default() };
    let chat = crate::chats::register(ctx, &row.user_id, &chat_id, &config).await.map_err(public)?;
    if !chat.is_running() {
        crate::chats::start(ctx, &chat, true).await.map_err(public)?;
    }
    let events = Arc::new(Outbox::new(ctx.hub.next_id(), 65_536, 16 * 1024 * 1024));
    chat.subscribe(&events, None);
    // Unsubscribed however the run ends (also when its time runs out).
    let _subscribed = Subscribed { chat: Arc::clone(&chat), id: events.connection };
    async {
        let reply = crate::chats::send_prompt(ctx, &chat, &row.payload).await.map_err(public)?;
        let mut text = String::new();
        loop {
            tokio::select! {
                frames = reply.take_all() => {
                    for frame in frames {
                        if let Some(AgentEvent::Response { success: false, error, .. }) = event_of(&frame) {
                            return Err(error.unwrap_or_else(|| "the agent refused the prompt".into()));
                        }
                    }
                }
                frames = events.take_all() => {
                    for frame in frames {
                        match event_of(&frame) {
                            Some(AgentEvent::TextDelta { delta, .. }) if text.len() < MAX_OUTPUT_BYTES => {
                                text.push_str(&delta);
                            }
                            Some(AgentEvent::AgentIdle) => return Ok(text),
                            Some(AgentEvent::AgentError { error, .. }) => return Err(error),
                            Some(AgentEvent::SessionClosed { reason }) => {
                                return Err(reason.unwrap_or_else(|| "the chat's agent stopped".into()));
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    .await
}

/// A chat subscription of the scheduler's, ended when dropped.
struct Subscribed {
    chat: Arc<crate::agent::Chat>,
    id: u64,
}

impl Drop for Subscribed {
    fn drop(&mut self) {
        self.chat.unsubscribe(self.id);
    }
}

fn event_of(frame: &crate::mux::outbox::OutFrame) -> Option<AgentEvent> {
    match serde_json::from_str::<ServerFrame>(&frame.render()) {
        Ok(ServerFrame::Agent(frame)) => Some(frame.event),
        _ => None,
    }
}

/// Runs the job's command with `/bin/sh -c` in the user's sandbox.
async fn run_command(ctx: &ServerContext, row: &ScheduleRow) -> Result<String, String> {
    let public = |e: Error| e.public_message();
    let dir = crate::sessions::resolve(ctx, &row.user_id, &row.workspace_path).await.map_err(public)?;
    dir.create().map_err(public)?;
    let agent_dir = ctx.config.user_dir(&row.user_id).join("agent");
    std::fs::create_dir_all(&agent_dir)
        .map_err(|e| format!("preparing the sandbox failed ({})", e.kind()))?;
    let spec = crate::sandbox::launch::Spec {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), row.payload.clone()],
        cwd: dir.path.clone(),
        home: dir.root.clone(),
        writable: vec![dir.root.clone(), agent_dir],
        env: Vec::new(),
        profile: ctx.sandbox.profile_for(&dir.path),
        new_session: true,
        api_socket: None,
    };
    let launch = ctx.sandbox.launch(&spec).map_err(public)?;
    let mut command = launch.command();
    command
        .env(crate::agent::MARKER_ENV, &ctx.agent_marker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| format!("the command could not start ({})", e.kind()))?;
    let (out, err) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let (stdout, stderr, status) = tokio::join!(drain(out), drain(err), child.wait());
    let status = status.map_err(|e| format!("waiting for the command failed ({})", e.kind()))?;
    let mut output = String::from_utf8_lossy(&stdout).into_owned();
    if !stderr.is_empty() {
        output.push_str(&String::from_utf8_lossy(&stderr));
    }
    match status.code() {
        Some(0) => Ok(output),
        Some(code) => Err(format!("exit status {code}\n{output}")),
        None => Err(format!("killed by a signal\n{output}")),
    }
}

/// Reads a pipe to its end, keeping the first [`MAX_OUTPUT_BYTES`] (the
/// rest is read and dropped, so that the writer never blocks on it).
async fn drain(mut pipe: impl tokio::io::AsyncRead + Unpin) -> Vec<u8> {
    let (mut kept, mut chunk) = (Vec::new(), vec![0u8; 8192]);
    while let Ok(n) = pipe.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        let room = MAX_OUTPUT_BYTES.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..n.min(room)]);
    }
    kept
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    #[test]
    fn cron_expressions_have_five_fields_and_a_next_time() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 12, 2, 10, 7, 30).unwrap();
        let next = super::next_of("*/15 * * * *", at).unwrap().unwrap();
        assert_eq!(crate::db::time(next).to_rfc3339(), "2026-12-02T10:15:00+00:00");
        assert!(super::next_of("@hourly", at).unwrap().is_some());
        for bad in ["* * * *", "0 0 * * * *", "61 * * * *", "hello"] {
            assert!(super::next_of(bad, at).is_err(), "{bad}");
        }
        assert!(super::checked_job_name("nightly.report-1").is_ok());
        assert!(super::checked_job_name("../x").is_err() && super::checked_job_name("").is_err());
    }
}
