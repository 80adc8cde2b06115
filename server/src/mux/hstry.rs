//! The `hstry` channel: history queries over the mux. A chat's messages are
//! only ever returned to its owner (the original did not check).

use std::sync::Arc;

use oqto_api::mux::{HstryData, HstryEvent, HstryRequest, ServerFrame};

use super::Connection;
use crate::context::ServerContext;

pub async fn handle(ctx: &Arc<ServerContext>, conn: &Arc<Connection>, request: HstryRequest) {
    let HstryRequest::Query { id, session_id, query, limit } = request;
    let caller = &conn.caller;
    let data = match (session_id, query) {
        (Some(chat), _) => {
            crate::history::messages(ctx, caller, &chat, limit, None).await.map(HstryData::Messages)
        }
        (None, Some(q)) => crate::history::search(ctx, caller, &q, limit).await.map(HstryData::Search),
        (None, None) => Err(crate::error::Error::BadRequest("name a session_id or a query".into())),
    };
    let event = match data {
        Ok(data) => HstryEvent::Result { id, data },
        Err(e) => {
            let (error_code, error) = conn.failure(&ctx.log, e);
            HstryEvent::Error { id, error, error_code }
        }
    };
    conn.send(&ServerFrame::Hstry(event));
}
