//! The `trx` channel: a workspace's issue list in `.trx/issues.jsonl`.
//! Each line is an issue's full state; the last line of an id wins, so the
//! server and the agent's own tools can both append without rewriting.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use cap_std::fs::Dir;

use oqto_api::mux::{ServerFrame, TrxCommand, TrxEvent, TrxIssue, TrxRequest};

use super::Connection;
use crate::context::ServerContext;
use crate::error::{Error, Result};
use crate::workspace::{self, io_error};

const FILE: &str = ".trx/issues.jsonl";
const TYPES: &[&str] = &["task", "bug", "feature", "epic"];
const STATUSES: &[&str] = &["open", "in_progress", "blocked", "closed"];

/// Every issue, by id, in file order of creation.
fn read(dir: &Dir) -> Vec<TrxIssue> {
    let text = dir.read_to_string(FILE).unwrap_or_default();
    let mut latest: BTreeMap<String, (usize, TrxIssue)> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if let Ok(issue) = serde_json::from_str::<TrxIssue>(line) {
            let first = latest.get(&issue.id).map_or(n, |(first, _)| *first);
            latest.insert(issue.id.clone(), (first, issue));
        }
    }
    let mut issues: Vec<(usize, TrxIssue)> = latest.into_values().collect();
    issues.sort_by_key(|(first, _)| *first);
    issues.into_iter().map(|(_, issue)| issue).collect()
}

/// Appends an issue's state, beneath the workspace (a `.trx` link out,
/// dangling or not, is refused).
fn append(dir: &Dir, issue: &TrxIssue) -> Result<()> {
    let mut line = serde_json::to_string(issue).map_err(|e| Error::Internal(e.into()))?;
    line.push('\n');
    workspace::append(dir, Path::new(FILE), line.as_bytes()).map_err(|e| io_error(FILE, e))
}

fn checked_text(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(Error::Invalid(format!("{field} must be at most {max} characters")));
    }
    Ok(value.to_string())
}

fn checked_priority(p: u8) -> Result<u8> {
    if p > 4 { Err(Error::Invalid("priority must be between 0 and 4".into())) } else { Ok(p) }
}

pub async fn handle(ctx: &Arc<ServerContext>, conn: &Arc<Connection>, request: TrxRequest) {
    let TrxRequest { id, workspace_path, command } = request;
    let event = match run(ctx, conn, &workspace_path, id.clone(), command).await {
        Ok(event) => event,
        Err(e) => {
            let (error_code, error) = conn.failure(&ctx.log, e);
            TrxEvent::Error { id, error, error_code }
        }
    };
    conn.send(&ServerFrame::Trx(event));
}

async fn run(
    ctx: &Arc<ServerContext>,
    conn: &Arc<Connection>,
    workspace_path: &str,
    id: Option<String>,
    command: TrxCommand,
) -> Result<TrxEvent> {
    let ws = crate::sessions::existing_workspace(ctx, &conn.caller.user_id, workspace_path).await?;
    let file = ws.open()?;
    let now = chrono::Utc::now().timestamp_millis();
    let find = |issue_id: &str| {
        read(&file)
            .into_iter()
            .find(|i| i.id == issue_id)
            .ok_or_else(|| Error::NotFound(format!("no issue {issue_id:?}")))
    };
    Ok(match command {
        TrxCommand::List => TrxEvent::ListResult { id, issues: read(&file) },
        TrxCommand::Sync => TrxEvent::SyncResult { id, issues: read(&file) },
        TrxCommand::Create { data } => {
            let title = checked_text("title", &data.title, 200)?;
            if title.is_empty() {
                return Err(Error::Invalid("title must not be empty".into()));
            }
            let issue_type = data.issue_type.unwrap_or_else(|| "task".into());
            if !TYPES.contains(&issue_type.as_str()) {
                return Err(Error::Invalid(format!("issue_type must be one of {}", TYPES.join(", "))));
            }
            if let Some(parent) = &data.parent_id {
                find(parent)?;
            }
            let issue = TrxIssue {
                id: format!("trx-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
                title,
                description: checked_text("description", data.description.as_deref().unwrap_or(""), 20_000)?,
                issue_type,
                priority: checked_priority(data.priority.unwrap_or(2))?,
                status: "open".into(),
                parent_id: data.parent_id,
                created_at: now,
                updated_at: now,
                closed_at: None,
                close_reason: None,
            };
            append(&file, &issue)?;
            TrxEvent::IssueResult { id, issue }
        }
        TrxCommand::Update { issue_id, data } => {
            let mut issue = find(&issue_id)?;
            if let Some(title) = data.title {
                issue.title = checked_text("title", &title, 200)?;
            }
            if let Some(description) = data.description {
                issue.description = checked_text("description", &description, 20_000)?;
            }
            if let Some(status) = data.status {
                if !STATUSES.contains(&status.as_str()) {
                    return Err(Error::Invalid(format!("status must be one of {}", STATUSES.join(", "))));
                }
                issue.closed_at = (status == "closed").then_some(now);
                issue.status = status;
            }
            if let Some(priority) = data.priority {
                issue.priority = checked_priority(priority)?;
            }
            issue.updated_at = now;
            append(&file, &issue)?;
            TrxEvent::IssueResult { id, issue }
        }
        TrxCommand::Close { issue_id, reason } => {
            let mut issue = find(&issue_id)?;
            issue.status = "closed".into();
            issue.closed_at = Some(now);
            issue.close_reason = reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
            issue.updated_at = now;
            append(&file, &issue)?;
            TrxEvent::IssueResult { id, issue }
        }
    })
}
