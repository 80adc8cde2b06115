//! The test harness (dev mode only): what it injects takes the paths real
//! events and surfaces take (the original's was on in every debug build).

use oqto_api::a2ui::{A2uiSurfaceCreate, A2uiSurfaceResult};
use oqto_api::testing::{TestA2uiSample, TestEvent, TestEventSent};

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::error::{Error, Result};

/// 404 unless the server runs in dev mode.
fn dev_mode(ctx: &ServerContext) -> Result<()> {
    if ctx.config.auth.dev_mode { Ok(()) } else { Err(Error::NotFound("no such route".into())) }
}

pub async fn event(ctx: &ServerContext, caller: &Caller, body: TestEvent) -> Result<TestEventSent> {
    dev_mode(ctx)?;
    let chat = crate::a2ui::open_chat(ctx, caller, &body.session_id).await?;
    let seq = ctx.chats.announce(&chat, body.event);
    Ok(TestEventSent { success: true, seq })
}

pub async fn a2ui(
    ctx: &ServerContext,
    caller: &Caller,
    body: A2uiSurfaceCreate,
) -> Result<A2uiSurfaceResult> {
    dev_mode(ctx)?;
    crate::a2ui::show(ctx, caller, body).await
}

/// A name field and a submit button.
pub async fn a2ui_sample(
    ctx: &ServerContext,
    caller: &Caller,
    body: TestA2uiSample,
) -> Result<A2uiSurfaceResult> {
    dev_mode(ctx)?;
    let id = format!("sample_{}", uuid::Uuid::new_v4().simple());
    let messages = vec![
        serde_json::json!({"surfaceUpdate": {"surfaceId": id, "components": [
            {"id": "root", "component": {"Column": {"children": {"explicitList": ["title", "name", "submit"]}}}},
            {"id": "title", "component": {"Text": {"text": {"literalString": "What should I call you?"}}}},
            {"id": "name", "component": {"TextField": {"label": {"literalString": "Name"}, "text": {"path": "/name"}}}},
            {"id": "submit_text", "component": {"Text": {"text": {"literalString": "Submit"}}}},
            {"id": "submit", "component": {"Button": {"child": "submit_text",
                "action": {"name": "submit", "context": [{"key": "name", "value": {"path": "/name"}}]}}}}
        ]}}),
        serde_json::json!({"dataModelUpdate": {"surfaceId": id, "contents": [{"key": "name", "valueString": ""}]}}),
        serde_json::json!({"beginRendering": {"surfaceId": id, "root": "root"}}),
    ];
    let surface = A2uiSurfaceCreate {
        session_id: body.session_id,
        surface_id: Some(id),
        messages,
        blocking: body.blocking,
        timeout_secs: None,
    };
    crate::a2ui::show(ctx, caller, surface).await
}
