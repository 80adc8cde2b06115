//! Delegation: child chats that a chat's agent (or its user, on this
//! machine) starts, prompts and follows. A delegate is an ordinary chat of
//! the user's (`dlg-…`) with a row in `delegates` linking it to its parent;
//! its text, idle, error and close events are followed through the chat's
//! tap and become `delegate.*` events in the parent chat's stream.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use oqto_api::delegate::{
    DelegateErrorCode, DelegateMessage, DelegateResponder, DelegateStart, DelegateState, DelegateStatus,
    DelegateStopped,
};
use oqto_api::history::ChatMessage;
use oqto_api::mux::{AgentEvent, ChatConfig, ServerFrame};
use tokio::sync::mpsc;

use crate::agent::Chat;
use crate::auth::Caller;
use crate::context::ServerContext;
use crate::db;
use crate::db::delegates::DelegateRow;
use crate::error::{Error, Result};
use crate::mux::outbox::OutFrame;

/// The longest prompt a delegate takes.
const MAX_PROMPT_BYTES: usize = 64 * 1024;
/// The most of a delegate's answer kept for `delegate.end`.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// Events of a delegate waiting for its follower.
const TAP_EVENTS: usize = 4096;
/// What `stop` tells the delegate's agent (and `delegate.error`).
const STOPPED: &str = "stopped by delegation";

/// One prompt a delegate works on.
struct Round {
    request_id: String,
    started: Instant,
    text: String,
}

/// A delegate's link to its parent, while the server runs.
#[derive(Default)]
struct Link {
    parent: Option<String>,
    round: Option<Round>,
    rounds: u64,
}

/// The delegates followed since the server started.
#[derive(Default)]
pub struct Delegates {
    links: Mutex<HashMap<String, Arc<Mutex<Link>>>>,
}

impl Delegates {
    fn link(&self, id: &str, parent: Option<&str>) -> Arc<Mutex<Link>> {
        let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(links.entry(id.to_string()).or_insert_with(|| {
            Arc::new(Mutex::new(Link { parent: parent.map(str::to_string), ..Default::default() }))
        }))
    }

    fn working(&self, id: &str) -> bool {
        let links = self.links.lock().unwrap_or_else(|p| p.into_inner());
        links.get(id).is_some_and(|l| l.lock().unwrap_or_else(|p| p.into_inner()).round.is_some())
    }

    /// Forgets a deleted delegate.
    pub fn forget(&self, id: &str) {
        self.links.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

fn lock(link: &Mutex<Link>) -> std::sync::MutexGuard<'_, Link> {
    link.lock().unwrap_or_else(|p| p.into_inner())
}

/// Delegation answers only a caller on this machine: the TCP peer, never
/// a header, decides.
pub fn check_local(peer: SocketAddr) -> Result<()> {
    match crate::util::is_local(peer) {
        true => Ok(()),
        false => Err(Error::Forbidden("delegation is only available from this machine".into())),
    }
}

fn check_prompt(prompt: &str) -> Result<()> {
    if prompt.trim().is_empty() {
        return Err(Error::BadRequest("the prompt is empty".into()));
    }
    if prompt.len() > MAX_PROMPT_BYTES {
        return Err(Error::Invalid(format!("a prompt is at most {MAX_PROMPT_BYTES} bytes")));
    }
    Ok(())
}

/// `POST /api/delegate/start`
pub async fn start(ctx: &Arc<ServerContext>, caller: &Caller, body: DelegateStart) -> Result<DelegateStatus> {
    check_prompt(&body.prompt)?;
    if body.agent.as_deref().is_some_and(|a| a != "pi") {
        return Err(Error::Invalid(format!("unknown agent {:?} (only \"pi\" is supported)", body.agent)));
    }
    let limits = ctx.settings.current().agent.clone();
    let parent = match &caller.chat {
        Some(chat) => {
            Some(ctx.chats.get(chat).ok_or_else(|| Error::NotFound("the calling chat stopped".into()))?)
        }
        None => None,
    };
    let parent_depth = match &parent {
        Some(p) => db::delegates::get(&ctx.db.pool, &p.id).await?.map_or(0, |d| d.depth),
        None => 0,
    };
    let depth = parent_depth + 1;
    if depth > i64::from(limits.delegate_max_depth) {
        return Err(Error::Forbidden(format!(
            "delegates may delegate {} levels deep at most",
            limits.delegate_max_depth
        )));
    }
    let directory = match (&parent, std::path::Path::new(body.directory.trim()).is_absolute()) {
        (Some(p), false) => std::path::Path::new(&p.workspace_dir().relative)
            .join(body.directory.trim())
            .to_string_lossy()
            .into_owned(),
        _ => body.directory.trim().to_string(),
    };
    // Bad input is refused before the limit is looked at.
    let directory = crate::sessions::resolve(ctx, &caller.user_id, &directory).await?.relative;
    if running_of(ctx, &caller.user_id) >= limits.delegate_max_running as usize {
        return Err(Error::LimitReached {
            what: format!(
                "you already run {} delegates (agent.delegate_max_running); wait for one to end",
                limits.delegate_max_running
            ),
            retry_after_secs: 10,
        });
    }
    let id = format!("dlg-{}", uuid::Uuid::new_v4());
    let config = ChatConfig { cwd: Some(directory), ..Default::default() };
    let chat = crate::chats::register(ctx, &caller.user_id, &id, &config).await?;
    let row = DelegateRow {
        id: id.clone(),
        user_id: caller.user_id.clone(),
        parent_id: parent.as_ref().map(|p| p.id.clone()),
        depth,
        source: if parent.is_some() { "chat" } else { "user" }.to_string(),
        created_at: db::now_ms(),
        started_at: None,
        error_message: None,
    };
    if let Err(e) = db::delegates::insert(&ctx.db.pool, &row).await {
        // Nothing half-made stays.
        let _ = crate::chats::delete(ctx, &caller.user_id, &id).await;
        return Err(e.into());
    }
    follow(ctx, &chat, row.parent_id.as_deref());
    if let Err(e) = run(ctx, &chat, &body.prompt).await {
        // A delegate whose agent never started is not kept.
        let _ = crate::chats::delete(ctx, &caller.user_id, &id).await;
        return Err(e);
    }
    status_of(ctx, row_of(ctx, caller, &id).await?).await
}

/// `POST /api/delegate/prompt/{id}`
pub async fn prompt(
    ctx: &Arc<ServerContext>,
    caller: &Caller,
    id: &str,
    prompt: &str,
) -> Result<DelegateStatus> {
    check_prompt(prompt)?;
    let row = row_of(ctx, caller, id).await?;
    let chat = crate::chats::register(ctx, &caller.user_id, id, &ChatConfig::default()).await?;
    follow(ctx, &chat, row.parent_id.as_deref());
    run(ctx, &chat, prompt).await?;
    status_of(ctx, row_of(ctx, caller, id).await?).await
}

/// `GET /api/delegate/status/{id}`
pub async fn status(ctx: &ServerContext, caller: &Caller, id: &str) -> Result<DelegateStatus> {
    status_of(ctx, row_of(ctx, caller, id).await?).await
}

/// `GET /api/delegate/messages/{id}`: the latest `limit`, oldest first.
pub async fn messages(
    ctx: &ServerContext,
    caller: &Caller,
    id: &str,
    limit: Option<u32>,
) -> Result<Vec<ChatMessage>> {
    row_of(ctx, caller, id).await?;
    let limit = limit.unwrap_or(20);
    if !(1..=500).contains(&limit) {
        return Err(Error::Invalid("limit must be 1 to 500".into()));
    }
    let count = match crate::history::view(ctx, caller, id).await {
        Ok(entry) => entry.message_count.max(0) as u32,
        // Nothing written yet.
        Err(Error::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    crate::history::messages(ctx, caller, id, Some(limit), Some(count.saturating_sub(limit))).await
}

/// `POST /api/delegate/stop/{id}`
pub async fn stop(ctx: &ServerContext, caller: &Caller, id: &str) -> Result<DelegateStopped> {
    row_of(ctx, caller, id).await?;
    let message = match ctx.chats.get(id) {
        Some(chat) if chat.is_running() => {
            ctx.chats.stop(&chat, STOPPED).await;
            "the delegate's agent stopped"
        }
        _ => "the delegate was not running",
    };
    Ok(DelegateStopped { session_id: id.to_string(), status: "stopped".into(), message: message.into() })
}

/// `GET /api/delegate/sessions`: with a chat's token, that chat's children.
pub async fn list(ctx: &ServerContext, caller: &Caller) -> Result<Vec<DelegateStatus>> {
    let rows = db::delegates::list(&ctx.db.pool, &caller.user_id, caller.chat.as_deref(), 200).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(status_of(ctx, row).await?);
    }
    Ok(out)
}

/// The caller's delegate `id`; another user's, like an unknown id, is 404.
async fn row_of(ctx: &ServerContext, caller: &Caller, id: &str) -> Result<DelegateRow> {
    let row = match id.len() <= 128 {
        true => db::delegates::get(&ctx.db.pool, id).await?,
        false => None,
    };
    row.filter(|r| r.user_id == caller.user_id).ok_or_else(|| Error::NotFound(format!("no delegate {id:?}")))
}

/// How many of a user's delegates have their agent running.
fn running_of(ctx: &ServerContext, user_id: &str) -> usize {
    let links = ctx.delegates.links.lock().unwrap_or_else(|p| p.into_inner());
    ctx.chats.of_user(user_id).iter().filter(|c| c.is_running() && links.contains_key(&c.id)).count()
}

async fn status_of(ctx: &ServerContext, row: DelegateRow) -> Result<DelegateStatus> {
    let live = ctx.chats.get(&row.id);
    let summary = live.as_ref().map(|c| crate::agent::chat_summary(c));
    let stored = db::chats::get(&ctx.db.pool, &row.id).await?;
    let running = live.as_ref().is_some_and(|c| c.is_running());
    let status = match (running, &row.error_message) {
        (true, _) if ctx.delegates.working(&row.id) || live.as_ref().is_some_and(|c| c.is_streaming()) => {
            DelegateState::Running
        }
        (true, _) => DelegateState::Idle,
        (false, Some(_)) => DelegateState::Failed,
        (false, None) => DelegateState::Stopped,
    };
    let last_activity =
        summary.as_ref().map(|s| s.last_activity).or(stored.as_ref().map(|c| c.last_activity_at));
    Ok(DelegateStatus {
        id: row.id,
        status,
        workspace_path: summary.map(|s| s.cwd).or(stored.map(|c| c.cwd)).unwrap_or_else(|| ".".into()),
        created_at: db::time(row.created_at),
        started_at: row.started_at.map(db::time),
        last_activity_at: last_activity.map(db::time),
        error_message: row.error_message,
        source: row.source,
        parent_session_id: row.parent_id,
        depth: row.depth.max(0) as u32,
    })
}

/// Starts the delegate's agent when it is not running, then gives it the
/// prompt (a follow-up while it works); the parent's viewers get
/// `delegate.start`.
async fn run(ctx: &Arc<ServerContext>, chat: &Arc<Chat>, prompt: &str) -> Result<()> {
    if !chat.is_running() {
        let now = db::now_ms();
        if let Err(e) = crate::chats::start(ctx, chat, true).await {
            let why = e.to_string();
            db::delegates::set_started(&ctx.db.pool, &chat.id, None, Some(&why)).await?;
            return Err(e);
        }
        db::delegates::set_started(&ctx.db.pool, &chat.id, Some(now), None).await?;
    }
    let link = ctx.delegates.link(&chat.id, None);
    let request_id = {
        let mut link = lock(&link);
        link.rounds += 1;
        let request_id = format!("{}:{}", chat.id, link.rounds);
        link.round =
            Some(Round { request_id: request_id.clone(), started: Instant::now(), text: String::new() });
        request_id
    };
    announce(
        ctx,
        &link,
        AgentEvent::DelegateStart {
            request_id: request_id.clone(),
            target_session_id: chat.id.clone(),
            target_runner_id: "local".into(),
            mode: "async".into(),
        },
    );
    // The agent's answer to the command itself: a refusal ends the round.
    let answer = crate::chats::send_prompt(ctx, chat, prompt).await?;
    let ctx = Arc::clone(ctx);
    let wait = std::time::Duration::from_secs(ctx.config.agent.response_timeout_secs + 5);
    tokio::spawn(async move {
        // The supervisor answers every command within its response timeout.
        let Ok(frames) = tokio::time::timeout(wait, answer.take_all()).await else { return };
        for frame in frames {
            let OutFrame::Json(text) = frame else { continue };
            let Ok(ServerFrame::Agent(frame)) = serde_json::from_str::<ServerFrame>(&text) else { continue };
            if let AgentEvent::Response { success: false, error, .. } = frame.event {
                let error = error.unwrap_or_else(|| "the agent refused the prompt".into());
                fail(&ctx, &link, &request_id, error, DelegateErrorCode::TargetError);
            }
        }
    });
    Ok(())
}

/// Follows a delegate's events (once per delegate while the server runs).
fn follow(ctx: &Arc<ServerContext>, chat: &Arc<Chat>, parent: Option<&str>) {
    let link = ctx.delegates.link(&chat.id, parent);
    let (tx, mut rx) = mpsc::channel(TAP_EVENTS);
    if chat.tap(|| tx) {
        return;
    }
    let ctx = Arc::clone(ctx);
    let id = chat.id.clone();
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            relay(&ctx, &id, &link, event);
        }
    });
}

/// One event of the delegate, as its parent's viewers see it.
fn relay(ctx: &ServerContext, id: &str, link: &Mutex<Link>, event: AgentEvent) {
    let out = {
        let mut st = lock(link);
        match event {
            AgentEvent::TextDelta { delta, .. } => st.round.as_mut().map(|round| {
                if round.text.len() + delta.len() <= MAX_ANSWER_BYTES {
                    round.text.push_str(&delta);
                }
                AgentEvent::DelegateDelta { request_id: round.request_id.clone(), delta }
            }),
            AgentEvent::AgentIdle => st.round.take().map(|round| AgentEvent::DelegateEnd {
                request_id: round.request_id,
                response: DelegateMessage { role: "assistant".into(), content: round.text },
                responder: DelegateResponder { kind: "delegate".into(), session_id: id.to_string() },
                duration_ms: Some(round.started.elapsed().as_millis() as u64),
            }),
            AgentEvent::AgentError { error, .. } => st.round.take().map(|round| AgentEvent::DelegateError {
                request_id: round.request_id,
                error,
                code: DelegateErrorCode::TargetError,
            }),
            AgentEvent::SessionClosed { reason } => st.round.take().map(|round| {
                let cancelled = reason.as_deref() == Some(STOPPED);
                AgentEvent::DelegateError {
                    request_id: round.request_id,
                    error: reason.unwrap_or_else(|| "the delegate's agent stopped".into()),
                    code: if cancelled {
                        DelegateErrorCode::Cancelled
                    } else {
                        DelegateErrorCode::TargetError
                    },
                }
            }),
            _ => None,
        }
    };
    if let Some(event) = out {
        announce(ctx, link, event);
    }
}

/// Ends the round `request_id` (if it is still the current one) with an error.
fn fail(ctx: &ServerContext, link: &Mutex<Link>, request_id: &str, error: String, code: DelegateErrorCode) {
    let ended = {
        let mut st = lock(link);
        match st.round.as_ref().is_some_and(|r| r.request_id == request_id) {
            true => st.round.take(),
            false => None,
        }
    };
    if ended.is_some() {
        announce(ctx, link, AgentEvent::DelegateError { request_id: request_id.to_string(), error, code });
    }
}

/// Into the parent chat's stream, when it has one that is registered.
fn announce(ctx: &ServerContext, link: &Mutex<Link>, event: AgentEvent) {
    let parent = lock(link).parent.clone();
    if let Some(parent) = parent.and_then(|p| ctx.chats.get(&p)) {
        ctx.chats.announce(&parent, event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_loopback_peer_is_local() {
        assert!(check_local("127.0.0.1:1".parse().unwrap()).is_ok());
        assert!(check_local("[::1]:1".parse().unwrap()).is_ok());
        assert!(check_local("[::ffff:127.0.0.1]:1".parse().unwrap()).is_ok());
        assert!(check_local("192.0.2.7:1".parse().unwrap()).is_err());
        assert!(check_local("[::ffff:192.0.2.7]:1".parse().unwrap()).is_err());
    }

    #[test]
    fn prompts_are_bounded() {
        assert!(matches!(check_prompt("  "), Err(Error::BadRequest(_))));
        assert!(matches!(check_prompt(&"x".repeat(MAX_PROMPT_BYTES + 1)), Err(Error::Invalid(_))));
        assert!(check_prompt("go").is_ok());
    }
}
