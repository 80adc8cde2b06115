//! The `agent` channel: chat lifecycle (`session.*`, `list_sessions`) and
//! every other command forwarded to the chat's agent.

use std::sync::Arc;

use oqto_api::mux::{
    AgentCommand, AgentRequest, ChatConfig, ChatOpened, PromptBody, PromptDuplicate, ServerReply,
};
use serde_json::Value;

use super::Connection;
use crate::agent::{chat_summary, commands, respond};
use crate::context::ServerContext;
use crate::db;
use crate::error::Error;

pub async fn handle(ctx: &Arc<ServerContext>, conn: &Arc<Connection>, request: AgentRequest) {
    let AgentRequest { session_id, id, command } = request;
    let cmd = command.name();
    let reply = |result: Result<Option<Value>, Error>| {
        respond(&ctx.log, &conn.outbox, &session_id, id.clone(), cmd, result)
    };
    match command {
        AgentCommand::ListSessions => {
            let chats = ctx.chats.of_user(&conn.caller.user_id).iter().map(|c| chat_summary(c)).collect();
            reply(Ok(Some(typed(ServerReply::Chats(chats)))));
        }
        AgentCommand::SessionCreate { config, last_seq } => {
            reply(open(ctx, conn, &session_id, config, last_seq).await);
        }
        AgentCommand::SessionClose => match own(ctx, conn, &session_id) {
            Ok(chat) => {
                chat.unsubscribe(conn.id);
                conn.subscriptions().remove(&session_id);
                ctx.chats.stop(&chat, "closed").await;
                crate::browser::close_chat(ctx, &session_id);
                reply(Ok(None));
            }
            Err(e) => reply(Err(e)),
        },
        AgentCommand::SessionDelete => {
            let deleted = crate::chats::delete(ctx, &conn.caller.user_id, &session_id).await;
            if deleted.is_ok() {
                conn.subscriptions().remove(&session_id);
            }
            reply(deleted.map(|()| None));
        }
        mut other => {
            let chat = match own(ctx, conn, &session_id) {
                Ok(chat) => chat,
                Err(e) => match before_creation(ctx, conn, &session_id, &other).await {
                    Some(answer) => return reply(answer),
                    None => return reply(Err(e)),
                },
            };
            // An action on a surface answers its waiting request, or
            // reaches the agent as the user's message.
            if let AgentCommand::A2uiAction(action) = other {
                match crate::a2ui::act(ctx, &chat, action) {
                    Ok(None) => return reply(Ok(None)),
                    Ok(Some(message)) => {
                        other = AgentCommand::Prompt(PromptBody { message, images: None, client_id: None })
                    }
                    Err(e) => return reply(Err(e)),
                }
            }
            if matches!(other, AgentCommand::GetMessages) {
                return reply(indexed_messages(ctx, conn, &session_id).await);
            }
            if let AgentCommand::Prompt(body) | AgentCommand::Steer(body) | AgentCommand::FollowUp(body) =
                &other
            {
                if body.message.trim().is_empty() {
                    return reply(Err(Error::Invalid("the message is empty".into())));
                }
                if let Some(client_id) = &body.client_id
                    && chat.seen_client_id(client_id)
                {
                    return reply(Ok(Some(typed(ServerReply::Duplicate(PromptDuplicate {
                        duplicate: true,
                    })))));
                }
            }
            if !chat.is_running()
                && let Err(e) = crate::chats::start(ctx, &chat, true).await
            {
                return reply(Err(e));
            }
            if let AgentCommand::Prompt(body) | AgentCommand::Steer(body) | AgentCommand::FollowUp(body) =
                &other
            {
                ctx.chats.echo_user_message(&chat, conn.id, &body.message, body.client_id.clone());
                if let Some(session) = chat.workspace_session_id() {
                    let _ = crate::sessions::touch(ctx, &chat.user_id, &session).await;
                }
            }
            let Some(agent_command) = commands::to_agent(&other, chat.is_streaming()) else {
                return reply(Err(Error::BadRequest("not an agent command".into())));
            };
            ctx.chats.send(&chat, &conn.outbox, id.clone(), cmd, agent_command);
        }
    }
}

/// The caller's registered chat (another user's is "no chat", too).
fn own(ctx: &ServerContext, conn: &Connection, session_id: &str) -> Result<Arc<crate::agent::Chat>, Error> {
    match ctx.chats.get(session_id) {
        Some(chat) if chat.user_id == conn.caller.user_id => Ok(chat),
        _ => Err(Error::NotFound(format!("no chat {session_id:?}; create it with session.create"))),
    }
}

/// `get_messages` of a chat, answered from the history index (brought up
/// to date first) in the shape `GET /api/chat-history/{id}/messages` has,
/// so that both carry the same stable ids: `{messages: [ChatMessage]}`.
async fn indexed_messages(
    ctx: &ServerContext,
    conn: &Connection,
    chat_id: &str,
) -> Result<Option<Value>, Error> {
    let messages = match crate::history::messages(ctx, &conn.caller, chat_id, Some(1000), None).await {
        Ok(messages) => messages,
        // Nothing written yet.
        Err(Error::NotFound(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(Some(serde_json::json!({ "messages": messages })))
}

/// The answer to a read-only query (or `set_model`) for a chat the caller
/// has not created yet but may: what a new chat would answer (`get_state`
/// and `get_stats` nothing, lists empty, `get_models` the models of the
/// caller's agent directory); a picked model is kept for the creation. A
/// stored chat of the caller's that is not running answers `get_messages`
/// from its history.
/// `None`: not such a command, or not a chat id the caller may create.
async fn before_creation(
    ctx: &ServerContext,
    conn: &Connection,
    chat_id: &str,
    command: &AgentCommand,
) -> Option<Result<Option<Value>, Error>> {
    use AgentCommand as C;
    let probe = matches!(
        command,
        C::GetState
            | C::GetMessages
            | C::GetStats
            | C::GetModels { .. }
            | C::GetCommands
            | C::GetForkPoints
            | C::SetModel { .. }
    );
    if !probe || !crate::chats::valid_id(chat_id) || ctx.chats.get(chat_id).is_some() {
        return None;
    }
    let user_id = &conn.caller.user_id;
    match db::chats::get(&ctx.db.pool, chat_id).await {
        Ok(Some(stored)) if &stored.user_id != user_id => return None,
        // A chat of the caller's that is not running: its history.
        Ok(Some(_)) if matches!(command, C::GetMessages) => {
            return Some(indexed_messages(ctx, conn, chat_id).await);
        }
        Ok(_) => {}
        Err(e) => return Some(Err(e.into())),
    }
    Some(Ok(match command {
        C::GetMessages | C::GetCommands | C::GetForkPoints => Some(Value::Array(vec![])),
        C::GetModels { .. } => Some(serde_json::json!({ "models": configured_models(ctx, user_id) })),
        C::SetModel { provider, model_id } => {
            ctx.chats.remember_model(chat_id, user_id, provider, model_id);
            Some(serde_json::json!({ "provider": provider, "id": model_id }))
        }
        _ => None,
    }))
}

/// The models of the user's agent directory (`models.json`), as the agent
/// lists them (`{provider, id, name?, contextWindow?, maxTokens?}`); never
/// a key or an address. Opened beneath the directory, so a link planted
/// there leads nowhere.
fn configured_models(ctx: &ServerContext, user_id: &str) -> Vec<Value> {
    let agent_dir = ctx.config.user_dir(user_id).join("agent");
    let text =
        crate::workspace::open_root(&agent_dir).ok().and_then(|dir| dir.read_to_string("models.json").ok());
    let config: Value = text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    let mut models = Vec::new();
    for (provider, entry) in config["providers"].as_object().into_iter().flatten() {
        for model in entry["models"].as_array().into_iter().flatten() {
            let Some(id) = model["id"].as_str() else { continue };
            let mut listed = serde_json::json!({ "provider": provider, "id": id });
            for key in ["name", "contextWindow", "maxTokens", "reasoning"] {
                if !model[key].is_null() {
                    listed[key] = model[key].clone();
                }
            }
            models.push(listed);
        }
    }
    models
}

/// A reply of the server's own, as a `response`'s data.
fn typed(reply: ServerReply) -> Value {
    serde_json::to_value(reply).unwrap_or(Value::Null)
}

/// `session.create`: registers the chat (or finds it), subscribes the
/// connection (replaying after `last_seq`), and starts the agent.
async fn open(
    ctx: &Arc<ServerContext>,
    conn: &Arc<Connection>,
    chat_id: &str,
    config: ChatConfig,
    last_seq: Option<u64>,
) -> Result<Option<Value>, Error> {
    let chat = crate::chats::register(ctx, &conn.caller.user_id, chat_id, &config).await?;
    let seq = chat.subscribe(&conn.outbox, last_seq);
    ctx.surfaces.replay(&chat.id, &conn.outbox);
    conn.subscriptions().insert(chat_id.to_string());
    let started = match chat.is_running() {
        true => Ok(false),
        false => crate::chats::start(ctx, &chat, config.continue_session.unwrap_or(true)).await,
    };
    let resumed = match started {
        Ok(resumed) => resumed,
        Err(e) => {
            chat.unsubscribe(conn.id);
            conn.subscriptions().remove(chat_id);
            return Err(e);
        }
    };
    chat.touch();
    let opened = ChatOpened { session_id: chat_id.to_string(), resumed, seq };
    Ok(Some(typed(ServerReply::Opened(opened))))
}
