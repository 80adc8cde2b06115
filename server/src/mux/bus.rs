//! The `bus` channel: publish, subscribe, unsubscribe and pull, each
//! answered by a `response` frame; subscribed events arrive as `event`
//! frames. Scope rules are [`crate::bus::authorize`]'s.

use std::sync::Arc;

use oqto_api::bus::BusSource;
use oqto_api::mux::{BusCommand, BusFrame, BusReply, BusRequest, ServerFrame};

use super::Connection;
use crate::bus;
use crate::context::ServerContext;
use crate::error::Result;

pub async fn handle(ctx: &Arc<ServerContext>, conn: &Arc<Connection>, request: BusRequest) {
    let BusRequest { id, command } = request;
    let frame = match run(ctx, conn, command).await {
        Ok(data) => BusFrame::Response { id, success: true, error: None, error_code: None, data: Some(data) },
        Err(e) => {
            let (error_code, error) = conn.failure(&ctx.log, e);
            BusFrame::Response {
                id,
                success: false,
                error: Some(error),
                error_code: Some(error_code),
                data: None,
            }
        }
    };
    conn.send(&ServerFrame::Bus(frame));
}

async fn run(ctx: &ServerContext, conn: &Connection, command: BusCommand) -> Result<BusReply> {
    let caller = &conn.caller;
    Ok(match command {
        BusCommand::Publish(body) => {
            let session_id = (body.scope == oqto_api::bus::BusScope::Session).then(|| body.scope_id.clone());
            let source = BusSource::Frontend { user_id: caller.user_id.clone(), session_id };
            let publisher = format!("conn:{}", conn.id);
            BusReply::Published {
                event_id: bus::publish(ctx, caller, &publisher, source, body).await?.event_id,
            }
        }
        BusCommand::Subscribe(topics) => BusReply::Subscriptions {
            subscriptions: bus::subscribe(ctx, caller, &conn.outbox, topics).await?,
        },
        BusCommand::Unsubscribe(topics) => {
            BusReply::Subscriptions { subscriptions: bus::unsubscribe(ctx, caller, conn.id, topics).await? }
        }
        BusCommand::Pull { topics, since_ts, limit } => {
            BusReply::Events { events: bus::pull(ctx, caller, topics, since_ts, limit).await? }
        }
    })
}
