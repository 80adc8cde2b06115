//! The chats area: what happens to a chat as a whole, beyond its agent
//! process (which `agent` supervises) and its transport (`mux`, HTTP).

use std::sync::Arc;

use oqto_api::mux::{AgentCommand, ChatConfig, PromptBody};

use crate::agent::{Chat, ChatSetup, commands};
use crate::context::ServerContext;
use crate::db;
use crate::error::{Error, Result};
use crate::mux::outbox::Outbox;

/// Whether a chat id is well-formed: 1 to 128 letters, digits, `.`, `_`
/// or `-`, not starting with a dot (it names a directory).
pub fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && !id.starts_with('.')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Another account's chat id: refused without saying more.
fn taken() -> Error {
    Error::Conflict("that chat id belongs to another account".into())
}

/// Registers `user_id`'s chat `chat_id` (stored with its directory and
/// workspace session) or finds it registered; does not start its agent.
/// `config.cwd` is resolved and confined like every workspace path.
pub async fn register(
    ctx: &ServerContext,
    user_id: &str,
    chat_id: &str,
    config: &ChatConfig,
) -> Result<Arc<Chat>> {
    if !valid_id(chat_id) {
        return Err(Error::Invalid("session_id must be 1 to 128 letters, digits, '.', '_' or '-'".into()));
    }
    let harness = config.harness.clone().unwrap_or_else(|| "pi".into());
    if harness != "pi" {
        return Err(Error::Invalid(format!("unknown harness {harness:?} (only \"pi\" is supported)")));
    }
    match ctx.chats.get(chat_id) {
        Some(chat) if chat.user_id != user_id => return Err(taken()),
        Some(chat) => return Ok(chat),
        None => {}
    }
    let stored = db::chats::get(&ctx.db.pool, chat_id).await?;
    if stored.as_ref().is_some_and(|c| c.user_id != user_id) {
        return Err(taken());
    }
    let requested_cwd = config.cwd.clone().or(stored.map(|c| c.cwd)).unwrap_or_else(|| ".".into());
    let dir = crate::sessions::resolve(ctx, user_id, &requested_cwd).await?;
    dir.create()?;
    let session = crate::sessions::session_for_dir(ctx, user_id, &dir).await?;
    let user_dir = ctx.config.user_dir(user_id);
    let chosen = ctx.chats.take_model(chat_id, user_id);
    let (provider, model) = match (config.provider.clone(), config.model.clone(), chosen) {
        (None, None, Some((provider, model))) => (Some(provider), Some(model)),
        (provider, model, _) => (provider, model),
    };
    let setup = ChatSetup {
        workspace: dir.clone(),
        session_dir: user_dir.join("chats").join(chat_id),
        agent_dir: user_dir.join("agent"),
        home: dir.root.clone(),
        workspace_session_id: Some(session.id.clone()),
        provider,
        model,
    };
    let now = db::now_ms();
    let row = db::chats::ChatRow {
        id: chat_id.to_string(),
        user_id: user_id.to_string(),
        workspace_session_id: Some(session.id),
        cwd: dir.relative,
        harness: harness.clone(),
        created_at: now,
        last_activity_at: now,
    };
    db::chats::upsert(&ctx.db.pool, &row).await?;
    ctx.read_cache.history.changed(user_id);
    Ok(ctx.chats.insert(chat_id, user_id, &harness, setup))
}

/// Starts a registered chat's agent (its workspace session first, resumed
/// when stopped); `continue_session` picks up its session file. Whether
/// it resumed one.
pub async fn start(ctx: &Arc<ServerContext>, chat: &Arc<Chat>, continue_session: bool) -> Result<bool> {
    let session = chat.workspace_session_id();
    let dir = chat.workspace_dir();
    let id = crate::sessions::ensure_running(ctx, &chat.user_id, session.as_deref(), &dir).await?;
    if session.as_deref() != Some(id.as_str()) {
        ctx.read_cache.sessions.changed(&chat.user_id);
    }
    chat.set_workspace_session(id);
    ctx.chats.start(chat, continue_session)
}

/// Sends `prompt` to a chat's running agent as its user would (a
/// follow-up while it works), shown to its viewers. Returns where the
/// agent's answer to the command itself arrives (its acceptance or
/// refusal); the answer's text comes as the chat's events.
pub async fn send_prompt(ctx: &ServerContext, chat: &Arc<Chat>, prompt: &str) -> Result<Arc<Outbox>> {
    ctx.chats.echo_user_message(chat, 0, prompt, None);
    let body = PromptBody { message: prompt.to_string(), images: None, client_id: None };
    let command = match chat.is_streaming() {
        true => AgentCommand::FollowUp(body),
        false => AgentCommand::Prompt(body),
    };
    let Some(agent_command) = commands::to_agent(&command, chat.is_streaming()) else {
        return Err(Error::Internal(anyhow::anyhow!("a prompt is an agent command")));
    };
    if let Some(session) = chat.workspace_session_id() {
        let _ = crate::sessions::touch(ctx, &chat.user_id, &session).await;
    }
    let answer = Arc::new(Outbox::new(0, 16, 1024 * 1024));
    ctx.chats.send(chat, &answer, None, command.name(), agent_command);
    Ok(answer)
}

/// Who owns a chat: the registered one's owner, else the stored one's
/// (`None` for an unknown id).
pub async fn owner(ctx: &ServerContext, chat_id: &str) -> Result<Option<String>> {
    if let Some(chat) = ctx.chats.get(chat_id) {
        return Ok(Some(chat.user_id.clone()));
    }
    if chat_id.len() > 128 {
        return Ok(None);
    }
    Ok(db::chats::get(&ctx.db.pool, chat_id).await?.map(|c| c.user_id))
}

/// `Ok` when the chat is `user_id`'s; another user's chat, like an unknown
/// one, is a 404 (never a 403 that says it exists).
pub async fn check_own(ctx: &ServerContext, user_id: &str, chat_id: &str) -> Result<()> {
    match owner(ctx, chat_id).await? {
        Some(owner) if owner == user_id => Ok(()),
        _ => Err(Error::NotFound(format!("no chat {chat_id:?}"))),
    }
}

/// Deletes the caller's chat for good: its agent is stopped, its session
/// files, its index and its messages removed, and the caller's connections
/// told. Another user's chat, like an unknown one, is a 404.
pub async fn delete(ctx: &ServerContext, user_id: &str, chat_id: &str) -> Result<()> {
    let not_found = || Error::NotFound(format!("no chat {chat_id:?}"));
    let registered = ctx.chats.get(chat_id);
    if registered.as_ref().is_some_and(|chat| chat.user_id != user_id) {
        return Err(not_found());
    }
    match db::chats::get(&ctx.db.pool, chat_id).await? {
        Some(stored) if stored.user_id != user_id => return Err(not_found()),
        None if registered.is_none() => return Err(not_found()),
        _ => {}
    }
    if let Some(chat) = registered {
        ctx.chats.stop(&chat, "deleted").await;
        ctx.chats.remove(chat_id);
        ctx.surfaces.forget_chat(chat_id);
        ctx.delegates.forget(chat_id);
    }
    crate::browser::close_chat(ctx, chat_id);
    // Under the indexing lock, so that no indexer writes the chat back.
    let lock = ctx.indexer.lock_of(user_id);
    let _guard = lock.write().await;
    let dir = ctx.config.user_dir(user_id).join("chats").join(chat_id);
    if let Err(e) = std::fs::remove_dir_all(&dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        return Err(Error::Internal(anyhow::anyhow!("removing {}: {e}", dir.display())));
    }
    db::chats::delete(&ctx.db.pool, chat_id).await?;
    ctx.read_cache.history.changed(user_id);
    crate::history::announce_deleted(ctx, user_id, chat_id);
    Ok(())
}
