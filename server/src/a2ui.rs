//! A2UI surfaces of chats: shown to the chat's viewers through the chat's
//! event stream, kept while open (a viewer that subscribes later gets
//! them), and, when blocking, answered by the user's `a2ui.action` on the
//! mux. The original accepted surfaces from anyone and never delivered
//! them; blocking calls always timed out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oqto_api::a2ui::{A2uiAction, A2uiSurfaceCreate, A2uiSurfaceResult};
use oqto_api::mux::{A2uiActionBody, AgentEvent, AgentEventFrame, ServerFrame};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::agent::Chat;
use crate::auth::Caller;
use crate::context::ServerContext;
use crate::error::{Error, Result};
use crate::mux::outbox::{OutFrame, Outbox};

const MESSAGE_KINDS: &[&str] = &["surfaceUpdate", "dataModelUpdate", "beginRendering", "deleteSurface"];
const MAX_MESSAGES: usize = 100;
const MAX_BYTES: usize = 256 * 1024;
const MAX_OPEN_PER_CHAT: usize = 32;
const DEFAULT_TIMEOUT_SECS: u64 = 300;
const MAX_TIMEOUT_SECS: u64 = 3600;

/// What ends a blocking request.
enum Outcome {
    Action(A2uiAction),
    Removed,
}

struct Surface {
    messages: Vec<Value>,
    request_id: Option<String>,
    waiter: Option<oneshot::Sender<Outcome>>,
}

/// The open surfaces, by chat and surface id.
#[derive(Default)]
pub struct Surfaces {
    open: Mutex<HashMap<String, HashMap<String, Surface>>>,
}

impl Surfaces {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, Surface>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends a chat's open surfaces to a viewer that just subscribed.
    pub fn replay(&self, chat_id: &str, outbox: &Outbox) {
        let open = self.lock();
        for (surface_id, surface) in open.get(chat_id).into_iter().flatten() {
            let frame = ServerFrame::Agent(AgentEventFrame {
                session_id: chat_id.to_string(),
                ts: chrono::Utc::now().timestamp_millis(),
                seq: None,
                event: event(surface_id, surface),
            });
            outbox.push(OutFrame::from_frame(&frame));
        }
    }

    /// Forgets a chat's surfaces (it was deleted); waiting requests end.
    pub fn forget_chat(&self, chat_id: &str) {
        for (_, mut surface) in self.lock().remove(chat_id).unwrap_or_default() {
            if let Some(waiter) = surface.waiter.take() {
                let _ = waiter.send(Outcome::Removed);
            }
        }
    }
}

fn event(surface_id: &str, surface: &Surface) -> AgentEvent {
    AgentEvent::A2uiSurface {
        surface_id: surface_id.to_string(),
        messages: surface.messages.clone(),
        blocking: surface.waiter.is_some(),
        request_id: surface.request_id.clone().filter(|_| surface.waiter.is_some()),
    }
}

fn check_surface_id(id: &str) -> Result<()> {
    let fine =
        (1..=128).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if fine {
        Ok(())
    } else {
        Err(Error::Invalid("surface_id must be 1 to 128 letters, digits, _ . or -".into()))
    }
}

/// Each message is an object with exactly one A2UI kind, whose value is an
/// object; the whole is bounded.
fn check_messages(messages: &[Value]) -> Result<()> {
    if messages.is_empty() || messages.len() > MAX_MESSAGES {
        return Err(Error::Invalid(format!("a surface has 1 to {MAX_MESSAGES} messages")));
    }
    for (n, message) in messages.iter().enumerate() {
        let kind = message.as_object().filter(|m| m.len() == 1).and_then(|m| m.iter().next());
        match kind {
            Some((name, body)) if MESSAGE_KINDS.contains(&name.as_str()) && body.is_object() => {}
            _ => {
                return Err(Error::Invalid(format!(
                    "message {n} must be an object with one of {} holding an object",
                    MESSAGE_KINDS.join(", ")
                )));
            }
        }
    }
    if serde_json::to_vec(messages).map_or(usize::MAX, |v| v.len()) > MAX_BYTES {
        return Err(Error::Invalid(format!("the messages must be at most {MAX_BYTES} bytes serialized")));
    }
    Ok(())
}

/// The caller's open chat (404 for another user's, 409 when not open).
pub async fn open_chat(ctx: &ServerContext, caller: &Caller, chat_id: &str) -> Result<Arc<Chat>> {
    let not_found = || Error::NotFound(format!("no chat {chat_id:?}"));
    // A chat's agent shows surfaces in its own chat only.
    if caller.chat.as_deref().is_some_and(|own| own != chat_id) {
        return Err(not_found());
    }
    crate::chats::check_own(ctx, &caller.user_id, chat_id).await?;
    ctx.chats.get(chat_id).ok_or_else(|| {
        Error::Conflict(format!("chat {chat_id:?} is not open; open it first (session.create)"))
    })
}

/// Shows a surface; a blocking one waits for the user's action.
pub async fn show(
    ctx: &ServerContext,
    caller: &Caller,
    body: A2uiSurfaceCreate,
) -> Result<A2uiSurfaceResult> {
    let chat = open_chat(ctx, caller, &body.session_id).await?;
    let surface_id = body.surface_id.unwrap_or_else(|| format!("surface_{}", uuid::Uuid::new_v4().simple()));
    check_surface_id(&surface_id)?;
    check_messages(&body.messages)?;
    let timeout = body.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS);
    if !(1..=MAX_TIMEOUT_SECS).contains(&timeout) {
        return Err(Error::Invalid(format!("timeout_secs must be between 1 and {MAX_TIMEOUT_SECS}")));
    }
    let request_id = body.blocking.then(|| format!("req_{}", uuid::Uuid::new_v4().simple()));
    let (waiter, answer) = if body.blocking {
        let (tx, rx) = oneshot::channel();
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let surface = Surface { messages: body.messages, request_id: request_id.clone(), waiter };
    let shown = event(&surface_id, &surface);
    {
        let mut open = ctx.surfaces.lock();
        let of_chat = open.entry(chat.id.clone()).or_default();
        if !of_chat.contains_key(&surface_id) && of_chat.len() >= MAX_OPEN_PER_CHAT {
            return Err(Error::Conflict(format!(
                "a chat shows at most {MAX_OPEN_PER_CHAT} surfaces; remove one"
            )));
        }
        if let Some(mut replaced) = of_chat.insert(surface_id.clone(), surface)
            && let Some(waiter) = replaced.waiter.take()
        {
            let _ = waiter.send(Outcome::Removed);
        }
    }
    ctx.chats.announce(&chat, shown);
    let result =
        A2uiSurfaceResult { success: true, surface_id: surface_id.clone(), request_id, action: None };
    let Some(answer) = answer else { return Ok(result) };
    match tokio::time::timeout(Duration::from_secs(timeout), answer).await {
        Ok(Ok(Outcome::Action(action))) => Ok(A2uiSurfaceResult { action: Some(action), ..result }),
        Ok(Ok(Outcome::Removed)) | Ok(Err(_)) => {
            Err(Error::Conflict("the surface was removed before the user acted".into()))
        }
        Err(_) => {
            // The surface stays; its actions now go to the agent.
            if let Some(surface) = ctx.surfaces.lock().get_mut(&chat.id).and_then(|c| c.get_mut(&surface_id))
            {
                surface.waiter = None;
            }
            Err(Error::Timeout(format!("the user did not act within {timeout} seconds")))
        }
    }
}

/// Removes a surface and tells the chat's viewers.
pub async fn remove(
    ctx: &ServerContext,
    caller: &Caller,
    chat_id: &str,
    surface_id: &str,
) -> Result<A2uiSurfaceResult> {
    let chat = open_chat(ctx, caller, chat_id).await?;
    let removed = ctx.surfaces.lock().get_mut(chat_id).and_then(|c| c.remove(surface_id));
    let Some(mut removed) = removed else {
        return Err(Error::NotFound(format!("no surface {surface_id:?} in this chat")));
    };
    if let Some(waiter) = removed.waiter.take() {
        let _ = waiter.send(Outcome::Removed);
    }
    let delete = serde_json::json!({ "deleteSurface": { "surfaceId": surface_id } });
    let event = AgentEvent::A2uiSurface {
        surface_id: surface_id.to_string(),
        messages: vec![delete],
        blocking: false,
        request_id: None,
    };
    ctx.chats.announce(&chat, event);
    Ok(A2uiSurfaceResult {
        success: true,
        surface_id: surface_id.to_string(),
        request_id: None,
        action: None,
    })
}

/// The user acted on a surface of their chat: a waiting request gets the
/// action (`None`); otherwise the text of the user message that tells the
/// agent.
pub fn act(ctx: &ServerContext, chat: &Chat, body: A2uiActionBody) -> Result<Option<String>> {
    let mut open = ctx.surfaces.lock();
    let Some(surface) = open.get_mut(&chat.id).and_then(|c| c.get_mut(&body.surface_id)) else {
        return Err(Error::NotFound(format!("no surface {:?} in this chat", body.surface_id)));
    };
    if surface.waiter.is_some() {
        if body.request_id.is_some() && body.request_id != surface.request_id {
            return Err(Error::Conflict("this action answers another request of the surface".into()));
        }
        if let Some(waiter) = surface.waiter.take() {
            let _ = waiter.send(Outcome::Action(body.action));
            return Ok(None);
        }
    }
    let told = serde_json::json!({
        "surface_id": body.surface_id,
        "action_name": body.action.action_name,
        "source_component_id": body.action.source_component_id,
        "context": body.action.context,
    });
    Ok(Some(format!("[A2UI action] {told}")))
}
