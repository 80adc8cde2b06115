//! The chats area: what happens to a chat as a whole, beyond its agent
//! process (which `agent` supervises) and its transport (`mux`, HTTP).

use crate::context::ServerContext;
use crate::db;
use crate::error::{Error, Result};

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
    }
    // Under the indexing lock, so that no indexer writes the chat back.
    let lock = ctx.indexer.lock_of(user_id);
    let _guard = lock.lock().await;
    let dir = ctx.config.user_dir(user_id).join("chats").join(chat_id);
    if let Err(e) = std::fs::remove_dir_all(&dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        return Err(Error::Internal(anyhow::anyhow!("removing {}: {e}", dir.display())));
    }
    db::chats::delete(&ctx.db.pool, chat_id).await?;
    crate::history::announce_deleted(ctx, user_id, chat_id);
    Ok(())
}
