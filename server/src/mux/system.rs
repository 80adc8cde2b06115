//! The `system` channel: ping/pong and subscriptions.

use std::sync::Arc;

use oqto_api::mux::{ServerFrame, SystemEvent, SystemRequest};

use super::Connection;
use crate::context::ServerContext;

pub fn handle(ctx: &Arc<ServerContext>, conn: &Arc<Connection>, request: SystemRequest) {
    match request {
        SystemRequest::Ping => conn.send(&ServerFrame::System(SystemEvent::Pong { ts: super::now_ms() })),
        SystemRequest::Pong => {}
        SystemRequest::Subscribe { session_id, last_seq } => match ctx.chats.get(&session_id) {
            Some(chat) if chat.user_id == conn.caller.user_id => {
                let seq = chat.subscribe(&conn.outbox, last_seq);
                ctx.surfaces.replay(&chat.id, &conn.outbox);
                conn.subscriptions().insert(session_id.clone());
                conn.send(&ServerFrame::System(SystemEvent::Subscribed { session_id, seq }));
            }
            _ => conn.error(
                &ctx.log,
                crate::error::Error::NotFound(format!(
                    "no chat {session_id:?}; create it with session.create"
                )),
                None,
            ),
        },
        SystemRequest::Unsubscribe { session_id } => {
            if let Some(chat) = ctx.chats.get(&session_id) {
                chat.unsubscribe(conn.id);
            }
            conn.subscriptions().remove(&session_id);
            conn.send(&ServerFrame::System(SystemEvent::Unsubscribed { session_id }));
        }
    }
}
