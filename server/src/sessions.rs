//! The sessions area: workspace sessions (the runtime of one workspace for
//! one user) and their lifecycle. Chats run inside them (see `agent`).

use oqto_api::sessions::{LocalCleanupReport, OrphanProcess, SessionStatus, SessionUpdateView, SessionView};
use uuid::Uuid;

use crate::auth::{Caller, parse_id};
use crate::context::ServerContext;
use crate::db::sessions::SessionRow;
use crate::db::{self, now_ms, time};
use crate::error::{Error, Result, is_unique_violation};
use crate::read_cache::{self, Page};
use crate::workspace::{self, WorkspaceDir};

const ADJECTIVES: &[&str] = &[
    "amber", "bold", "brave", "bright", "calm", "clever", "cold", "cosy", "crisp", "dark", "deep", "eager",
    "early", "fair", "fast", "fierce", "fond", "gentle", "glad", "golden", "green", "grey", "happy",
    "hidden", "keen", "kind", "late", "lively", "loud", "lucky", "mellow", "misty", "noble", "odd", "pale",
    "plain", "proud", "quick", "quiet", "rapid", "red", "rough", "round", "royal", "rusty", "sharp", "shy",
    "silent", "silver", "slow", "small", "smooth", "soft", "solid", "steady", "still", "sunny", "swift",
    "tall", "tidy", "warm", "wild", "wise", "young",
];
const NOUNS: &[&str] = &[
    "anchor", "apple", "arrow", "badger", "bird", "boat", "bridge", "brook", "candle", "cedar", "cloud",
    "comet", "coral", "crane", "delta", "dune", "eagle", "ember", "falcon", "fern", "field", "flame",
    "forest", "fox", "garden", "harbor", "hill", "island", "lake", "lamp", "leaf", "lion", "maple", "meadow",
    "moon", "moss", "otter", "owl", "pebble", "pine", "planet", "pond", "raven", "reef", "river", "robin",
    "rock", "sail", "shell", "sparrow", "star", "stone", "storm", "stream", "summit", "tiger", "trail",
    "tree", "valley", "willow", "wind", "wolf", "wren", "zephyr",
];

fn readable_id() -> String {
    let pick = |list: &[&'static str]| list[rand::random_range(0..list.len())];
    format!("{}-{}-{}", pick(ADJECTIVES), pick(NOUNS), pick(NOUNS))
}

fn status(row: &SessionRow) -> SessionStatus {
    row.status.parse().unwrap_or(SessionStatus::Failed)
}

/// A stored session as the API shows it.
pub fn view(ctx: &ServerContext, row: &SessionRow) -> Result<SessionView> {
    Ok(SessionView {
        id: parse_id(&row.id)?,
        readable_id: row.readable_id.clone(),
        user_id: parse_id(&row.user_id)?,
        workspace_path: row.workspace_path.clone(),
        status: status(row),
        error_message: row.error_message.clone(),
        runtime_version: row.runtime_version.clone(),
        active_chats: ctx.chats.running_in_session(&row.id).len() as u32,
        created_at: time(row.created_at),
        started_at: row.started_at.map(time),
        stopped_at: row.stopped_at.map(time),
        last_activity_at: time(row.last_activity_at),
    })
}

fn views(ctx: &ServerContext, rows: &[SessionRow]) -> Result<Vec<SessionView>> {
    rows.iter().map(|r| view(ctx, r)).collect()
}

/// The caller's workspace root (created when missing).
pub async fn user_root(ctx: &ServerContext, user_id: &str) -> Result<std::path::PathBuf> {
    let user = crate::users::own_row(ctx, user_id).await?;
    let root = ctx.config.workspace_root(&user.id, &user.username);
    std::fs::create_dir_all(&root).map_err(|e| {
        Error::Internal(anyhow::anyhow!("creating the workspace root {}: {e}", root.display()))
    })?;
    Ok(root)
}

/// Resolves a workspace path of the caller (422 outside the root): a
/// relative one in the workspace root, an absolute one in the workspace
/// root or a shared location.
pub async fn resolve(ctx: &ServerContext, user_id: &str, requested: &str) -> Result<WorkspaceDir> {
    let home = user_root(ctx, user_id).await?;
    let path = std::path::Path::new(requested.trim());
    if !path.is_absolute() || path.starts_with(&home) {
        return workspace::resolve(&home, requested);
    }
    workspace::resolve_in(&crate::locations::roots(ctx, user_id).await?, requested)
}

/// An existing workspace directory of a user (404 when missing, 422
/// outside the root).
pub async fn existing_workspace(ctx: &ServerContext, user_id: &str, requested: &str) -> Result<WorkspaceDir> {
    let dir = resolve(ctx, user_id, requested).await?;
    if !dir.path.is_dir() {
        return Err(Error::NotFound(format!("no workspace {requested:?}")));
    }
    Ok(dir)
}

/// The workspace of one of the caller's sessions (404 for unknown and for
/// others' sessions, and when the workspace is gone).
pub async fn workspace_of(ctx: &ServerContext, caller: &Caller, key: &str) -> Result<WorkspaceDir> {
    let row = load_own(ctx, caller, key).await?;
    existing_workspace(ctx, &caller.user_id, &row.workspace_path).await
}

/// One of the caller's sessions (404 for unknown and for others' sessions).
async fn load_own(ctx: &ServerContext, caller: &Caller, key: &str) -> Result<SessionRow> {
    match db::sessions::get(&ctx.db.pool, key.trim()).await? {
        Some(row) if row.user_id == caller.user_id => Ok(row),
        _ => Err(Error::NotFound(format!("no session {key:?}"))),
    }
}

/// Writes a changed session; its owner's cached list goes.
async fn save(ctx: &ServerContext, row: &SessionRow) -> Result<()> {
    db::sessions::save(&ctx.db.pool, row).await?;
    ctx.read_cache.sessions.changed(&row.user_id);
    Ok(())
}

/// Records activity in a session of `user_id` now.
pub async fn touch(ctx: &ServerContext, user_id: &str, session_id: &str) -> Result<()> {
    db::sessions::touch(&ctx.db.pool, session_id, now_ms()).await?;
    ctx.read_cache.sessions.changed(user_id);
    Ok(())
}

/// Starts (or restarts) a session: enforces the per-user cap, makes sure
/// the directory exists, and records it running.
async fn start(ctx: &ServerContext, row: &mut SessionRow) -> Result<()> {
    let cap = ctx.settings.current().sessions.max_running_per_user as usize;
    let mut running: Vec<SessionRow> = db::sessions::list_for_user(&ctx.db, &row.user_id)
        .await?
        .into_iter()
        .filter(|s| s.id != row.id && status(s) == SessionStatus::Running)
        .collect();
    while running.len() >= cap.max(1) {
        // Least recently active first among those without running chats.
        running.sort_by_key(|s| s.last_activity_at);
        let Some(i) = running.iter().position(|s| ctx.chats.running_in_session(&s.id).is_empty()) else {
            return Err(Error::Conflict(format!(
                "you already run {cap} sessions with active chats; stop one first"
            )));
        };
        let mut victim = running.remove(i);
        stop_row(ctx, &mut victim, "stopped to make room for another session").await?;
    }
    row.status = SessionStatus::Starting.as_str().into();
    save(ctx, row).await?;
    let dir = resolve(ctx, &row.user_id, &row.workspace_path).await?;
    let now = now_ms();
    match dir.create() {
        Ok(()) => {
            row.status = SessionStatus::Running.as_str().into();
            row.error_message = None;
            row.started_at = Some(now);
            row.stopped_at = None;
        }
        Err(e) => {
            row.status = SessionStatus::Failed.as_str().into();
            row.error_message = Some(format!("cannot create the workspace directory: {e}"));
        }
    }
    row.last_activity_at = now;
    save(ctx, row).await?;
    Ok(())
}

/// Stops a session's chats and records it stopped.
async fn stop_row(ctx: &ServerContext, row: &mut SessionRow, reason: &str) -> Result<()> {
    if !status(row).is_active() {
        return Ok(());
    }
    row.status = SessionStatus::Stopping.as_str().into();
    save(ctx, row).await?;
    for chat in ctx.chats.running_in_session(&row.id) {
        ctx.chats.stop(&chat, reason).await;
    }
    ctx.hub.close_terminals_of(&row.id);
    row.status = SessionStatus::Stopped.as_str().into();
    row.stopped_at = Some(now_ms());
    save(ctx, row).await?;
    slog::info!(ctx.log, "session stopped"; "session_id" => &row.id, "reason" => reason);
    Ok(())
}

/// Creates and starts a session for a resolved directory.
async fn create_row(ctx: &ServerContext, user_id: &str, dir: &WorkspaceDir) -> Result<SessionRow> {
    let now = now_ms();
    for _ in 0..8 {
        let mut row = SessionRow {
            id: Uuid::new_v4().to_string(),
            readable_id: readable_id(),
            user_id: user_id.to_string(),
            workspace_path: dir.relative.clone(),
            status: SessionStatus::Pending.as_str().into(),
            error_message: None,
            runtime_version: ctx.config.agent.version.clone(),
            created_at: now,
            started_at: None,
            stopped_at: None,
            last_activity_at: now,
        };
        match db::sessions::insert(&ctx.db.pool, &row).await {
            Ok(()) => {
                ctx.read_cache.sessions.changed(user_id);
                start(ctx, &mut row).await?;
                slog::info!(ctx.log, "session created"; "session_id" => &row.id, "user_id" => user_id);
                return Ok(row);
            }
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Internal(anyhow::anyhow!("no free readable id after 8 tries")))
}

pub async fn list(ctx: &ServerContext, caller: &Caller) -> Result<Vec<SessionView>> {
    views(ctx, &db::sessions::list_for_user(&ctx.db, &caller.user_id).await?)
}

/// [`list`] as its response body, kept until one of the caller's sessions
/// changes or an agent starts or stops.
pub async fn list_page(ctx: &ServerContext, caller: &Caller) -> Result<Page<Vec<SessionView>>> {
    let stamp = ctx.chats.running_changes();
    read_cache::cached(&ctx.read_cache.sessions, &caller.user_id, "", stamp, list(ctx, caller)).await
}

pub async fn create(ctx: &ServerContext, caller: &Caller, workspace_path: &str) -> Result<SessionView> {
    let dir = resolve(ctx, &caller.user_id, workspace_path).await?;
    view(ctx, &create_row(ctx, &caller.user_id, &dir).await?)
}

/// The running session of a workspace (upgraded when outdated), else the
/// most recent stopped one resumed, else a new one. With no workspace, any
/// of the caller's sessions will do, else the root.
pub async fn get_or_create_row(
    ctx: &ServerContext,
    user_id: &str,
    workspace_path: Option<&str>,
) -> Result<SessionRow> {
    let dir = match workspace_path {
        Some(p) => Some(resolve(ctx, user_id, p).await?),
        None => None,
    };
    let mine: Vec<SessionRow> = db::sessions::list_for_user(&ctx.db, user_id)
        .await?
        .into_iter()
        .filter(|s| dir.as_ref().is_none_or(|d| d.relative == s.workspace_path))
        .collect();
    if let Some(mut running) = mine.iter().find(|s| status(s) == SessionStatus::Running).cloned() {
        if running.runtime_version != ctx.config.agent.version {
            upgrade_row(ctx, &mut running).await?;
        }
        touch(ctx, user_id, &running.id).await?;
        return Ok(running);
    }
    if let Some(mut stopped) = mine.into_iter().find(|s| !status(s).is_active()) {
        stopped.runtime_version = ctx.config.agent.version.clone();
        start(ctx, &mut stopped).await?;
        return Ok(stopped);
    }
    let dir = match dir {
        Some(d) => d,
        None => resolve(ctx, user_id, ".").await?,
    };
    create_row(ctx, user_id, &dir).await
}

/// The workspace session a chat working in `dir` belongs to: a running one
/// of the user whose workspace contains `dir`, else that of `dir` itself.
pub async fn session_for_dir(ctx: &ServerContext, user_id: &str, dir: &WorkspaceDir) -> Result<SessionRow> {
    match running_session_containing(ctx, user_id, dir).await? {
        Some(row) => Ok(row),
        None => get_or_create_row(ctx, user_id, Some(&dir.relative)).await,
    }
}

/// The user's running session whose workspace contains `dir` (the innermost).
pub async fn running_session_containing(
    ctx: &ServerContext,
    user_id: &str,
    dir: &WorkspaceDir,
) -> Result<Option<SessionRow>> {
    let contains = |workspace: &str| {
        workspace == "." || dir.relative == workspace || dir.relative.starts_with(&format!("{workspace}/"))
    };
    let mut running: Vec<SessionRow> = db::sessions::list_for_user(&ctx.db, user_id)
        .await?
        .into_iter()
        .filter(|s| status(s) == SessionStatus::Running && contains(&s.workspace_path))
        .collect();
    running.sort_by_key(|s| std::cmp::Reverse(s.workspace_path.len()));
    Ok(running.into_iter().next())
}

/// Makes sure a chat's workspace session runs before its agent starts:
/// resumes it when stopped, or finds (or creates) another for the chat's
/// directory when it was deleted. Returns the session id to use.
pub async fn ensure_running(
    ctx: &ServerContext,
    user_id: &str,
    session_id: Option<&str>,
    dir: &WorkspaceDir,
) -> Result<String> {
    if let Some(id) = session_id
        && let Some(mut row) = db::sessions::get(&ctx.db.pool, id).await?
        && row.user_id == user_id
    {
        if status(&row) != SessionStatus::Running {
            start(ctx, &mut row).await?;
        }
        return Ok(row.id);
    }
    Ok(session_for_dir(ctx, user_id, dir).await?.id)
}

pub async fn get_or_create(
    ctx: &ServerContext,
    caller: &Caller,
    workspace_path: Option<&str>,
) -> Result<SessionView> {
    view(ctx, &get_or_create_row(ctx, &caller.user_id, workspace_path).await?)
}

pub async fn get(ctx: &ServerContext, caller: &Caller, key: &str) -> Result<SessionView> {
    view(ctx, &load_own(ctx, caller, key).await?)
}

pub async fn delete(ctx: &ServerContext, caller: &Caller, key: &str) -> Result<()> {
    let row = load_own(ctx, caller, key).await?;
    if status(&row).is_active() {
        return Err(Error::Conflict("the session is active; stop it first".to_string()));
    }
    db::sessions::delete(&ctx.db.pool, &row.id).await?;
    // Chats of the session lose its readable id in the history list.
    ctx.read_cache.sessions.changed(&row.user_id);
    ctx.read_cache.history.changed(&row.user_id);
    Ok(())
}

pub async fn stop(ctx: &ServerContext, caller: &Caller, key: &str) -> Result<()> {
    let mut row = load_own(ctx, caller, key).await?;
    stop_row(ctx, &mut row, "session stopped").await
}

pub async fn resume(ctx: &ServerContext, caller: &Caller, key: &str) -> Result<SessionView> {
    let mut row = load_own(ctx, caller, key).await?;
    if status(&row) != SessionStatus::Running {
        start(ctx, &mut row).await?;
    }
    view(ctx, &row)
}

pub async fn activity(ctx: &ServerContext, caller: &Caller, key: &str) -> Result<()> {
    let row = load_own(ctx, caller, key).await?;
    touch(ctx, &row.user_id, &row.id).await?;
    Ok(())
}

fn update_view(ctx: &ServerContext, row: &SessionRow) -> Result<SessionUpdateView> {
    Ok(SessionUpdateView {
        session_id: parse_id(&row.id)?,
        update_available: row.runtime_version != ctx.config.agent.version,
        current_version: row.runtime_version.clone(),
        new_digest: ctx.config.agent.version.clone(),
    })
}

pub async fn update_check(ctx: &ServerContext, caller: &Caller, key: &str) -> Result<SessionUpdateView> {
    update_view(ctx, &load_own(ctx, caller, key).await?)
}

pub async fn update_list(ctx: &ServerContext, caller: &Caller) -> Result<Vec<SessionUpdateView>> {
    db::sessions::list_for_user(&ctx.db, &caller.user_id)
        .await?
        .iter()
        .filter(|r| r.runtime_version != ctx.config.agent.version)
        .map(|r| update_view(ctx, r))
        .collect()
}

async fn upgrade_row(ctx: &ServerContext, row: &mut SessionRow) -> Result<()> {
    stop_row(ctx, row, "upgrading the agent runtime").await?;
    row.runtime_version = ctx.config.agent.version.clone();
    start(ctx, row).await
}

pub async fn upgrade(ctx: &ServerContext, caller: &Caller, key: &str) -> Result<SessionView> {
    let mut row = load_own(ctx, caller, key).await?;
    upgrade_row(ctx, &mut row).await?;
    view(ctx, &row)
}

pub async fn admin_list(ctx: &ServerContext) -> Result<Vec<SessionView>> {
    views(ctx, &db::sessions::list_all(&ctx.db.pool).await?)
}

pub async fn admin_delete(ctx: &ServerContext, key: &str) -> Result<()> {
    let mut row = db::sessions::get(&ctx.db.pool, key.trim())
        .await?
        .ok_or_else(|| Error::NotFound(format!("no session {key:?}")))?;
    stop_row(ctx, &mut row, "deleted by an administrator").await?;
    db::sessions::delete(&ctx.db.pool, &row.id).await?;
    // Chats of the session lose its readable id in the history list.
    ctx.read_cache.sessions.changed(&row.user_id);
    ctx.read_cache.history.changed(&row.user_id);
    Ok(())
}

/// Kills the processes of this data dir (agents and sandboxes, found by
/// the marker in their environment) that no chat tracks: what a crashed
/// server left behind. Run at every start and by `admin/local/cleanup`.
pub fn kill_orphans(ctx: &ServerContext) -> Vec<OrphanProcess> {
    // What runs for chats and terminals now, sandboxes' insides included.
    let mut tracked: Vec<u32> = ctx.chats.pids().into_iter().chain(ctx.hub.terminal_pids()).collect();
    let inside: Vec<u32> = tracked.iter().flat_map(|pid| crate::sandbox::launch::descendants(*pid)).collect();
    tracked.extend(inside);
    let marker = format!("{}={}", crate::agent::MARKER_ENV, ctx.agent_marker);
    let mut killed = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        if tracked.contains(&pid) || pid == std::process::id() {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        if !environ.split(|b| *b == 0).any(|var| var == marker.as_bytes()) {
            continue;
        }
        let command = std::fs::read(entry.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim().to_string())
            .unwrap_or_default();
        let target = nix::unistd::Pid::from_raw(pid as i32);
        if nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGKILL).is_ok() {
            slog::warn!(ctx.log, "killed an orphan agent"; "pid" => pid);
            killed.push(OrphanProcess { pid, command });
        }
    }
    killed
}

/// Ends everything a user runs, now: their mux connections close (and
/// their terminals die with them, background jobs included), every chat's
/// agent stops and every active session is recorded stopped. Used when an
/// account is deactivated or deleted.
pub async fn end_user(ctx: &ServerContext, user_id: &str, reason: &str) -> Result<()> {
    ctx.hub.close_user(user_id, oqto_api::mux::CLOSE_UNAUTHORIZED, reason);
    let chats = ctx.chats.of_user(user_id);
    futures::future::join_all(chats.iter().map(|chat| ctx.chats.stop(chat, reason))).await;
    for mut row in db::sessions::list_for_user(&ctx.db, user_id).await? {
        stop_row(ctx, &mut row, reason).await?;
    }
    Ok(())
}

/// Stops running sessions idle for longer than the configured timeout
/// (those with a streaming chat are not idle).
pub async fn stop_idle(ctx: &ServerContext) -> Result<()> {
    let before = now_ms() - (ctx.settings.current().sessions.idle_timeout_secs as i64) * 1000;
    for mut row in db::sessions::idle_running(&ctx.db.pool, before).await? {
        if ctx.chats.running_in_session(&row.id).iter().any(|c| c.is_streaming()) {
            continue;
        }
        stop_row(ctx, &mut row, "idle").await?;
    }
    Ok(())
}

/// Kills agent processes of this data dir that no chat tracks, and resets
/// sessions stuck between states.
pub async fn local_cleanup(ctx: &ServerContext) -> Result<LocalCleanupReport> {
    let killed = kill_orphans(ctx);
    let mut sessions_reset = 0;
    for mut row in db::sessions::list_active(&ctx.db.pool).await? {
        if matches!(status(&row), SessionStatus::Pending | SessionStatus::Starting | SessionStatus::Stopping)
            && ctx.chats.running_in_session(&row.id).is_empty()
        {
            row.status = SessionStatus::Stopped.as_str().into();
            row.stopped_at = Some(now_ms());
            save(ctx, &row).await?;
            sessions_reset += 1;
        }
    }
    Ok(LocalCleanupReport { killed, sessions_reset })
}
