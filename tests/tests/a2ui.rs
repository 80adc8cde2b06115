//! A2UI surfaces: shown to the chat's viewers (and to a viewer arriving
//! later), a blocking request answered by the user's `a2ui.action` or its
//! timeout, a non-blocking action reaching the agent, and another user's
//! chat refused.

use std::time::Duration;

use oqto_api::mux::{
    A2uiActionBody, AgentCommand, AgentEvent, AgentEventFrame, ChatConfig, ClientFrame, ServerFrame,
    SystemRequest,
};
use oqto_client::mux::{MuxClient, MuxEvent};
use oqto_client::types;
use oqto_tests::{TEST_PASSWORD, TestServer, error_body, status};

fn form(surface_id: &str) -> Vec<serde_json::Value> {
    vec![
        serde_json::json!({"surfaceUpdate": {"surfaceId": surface_id, "components": [
            {"id": "root", "component": {"Column": {"children": {"explicitList": ["name", "ok"]}}}},
            {"id": "name", "component": {"TextField": {"label": {"literalString": "Name"}, "text": {"path": "/name"}}}},
            {"id": "ok", "component": {"Button": {"child": "ok_text", "action": {"name": "submit", "context": [{"key": "name", "value": {"path": "/name"}}]}}}}
        ]}}),
        serde_json::json!({"beginRendering": {"surfaceId": surface_id, "root": "root"}}),
    ]
}

fn surface(
    session_id: &str,
    surface_id: &str,
    blocking: bool,
    timeout_secs: Option<u64>,
) -> types::A2uiSurfaceCreate {
    types::A2uiSurfaceCreate {
        session_id: session_id.into(),
        surface_id: Some(surface_id.into()),
        messages: form(surface_id),
        blocking,
        timeout_secs,
    }
}

fn action(surface_id: &str, request_id: Option<String>, name: &str) -> AgentCommand {
    let mut context = serde_json::Map::new();
    context.insert("name".into(), "Ada".into());
    AgentCommand::A2uiAction(A2uiActionBody {
        surface_id: surface_id.into(),
        request_id,
        action: oqto_api::a2ui::A2uiAction {
            action_name: name.into(),
            source_component_id: "ok".into(),
            context,
        },
    })
}

/// Agent events of `chat` until one matches, within 20 s.
async fn until(
    mux: &mut MuxClient,
    chat: &str,
    wanted: impl Fn(&AgentEventFrame) -> bool,
) -> AgentEventFrame {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, mux.next()).await.expect("the event did not come") {
            Some(MuxEvent::Frame(ServerFrame::Agent(frame)))
                if frame.session_id == chat && wanted(&frame) =>
            {
                return frame;
            }
            Some(MuxEvent::Closed { reason, .. }) => panic!("closed: {reason}"),
            None => panic!("ended"),
            _ => {}
        }
    }
}

fn is_surface(frame: &AgentEventFrame) -> bool {
    matches!(frame.event, AgentEvent::A2uiSurface { .. })
}

async fn open_chat(mux: &MuxClient, chat: &str) {
    let create = AgentCommand::SessionCreate {
        config: ChatConfig { cwd: Some("a2".into()), ..Default::default() },
        last_seq: None,
    };
    assert!(mux.command(chat, create).await.unwrap().success);
}

#[tokio::test]
async fn a_blocking_surface_waits_for_the_users_action() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("abby").await;
    let mut mux = server.mux(&server.login("abby", TEST_PASSWORD).await).await;
    open_chat(&mux, "a2-chat").await;

    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.a2ui_surface_create().body(surface("a2-chat", "ask", true, Some(30))).send().await }
    });
    let shown = until(&mut mux, "a2-chat", is_surface).await;
    let AgentEvent::A2uiSurface { surface_id, messages, blocking, request_id } = shown.event else {
        unreachable!()
    };
    assert_eq!((surface_id.as_str(), blocking, messages.len()), ("ask", true, 2));
    let request_id = request_id.expect("a blocking surface names its request");
    let acted = mux.command("a2-chat", action("ask", Some(request_id.clone()), "submit")).await.unwrap();
    assert!(acted.success, "{acted:?}");
    let answered = waiting.await.unwrap().unwrap().into_inner();
    assert_eq!(answered.request_id.as_deref(), Some(request_id.as_str()));
    let got = answered.action.expect("the user's action");
    assert_eq!((got.action_name.as_str(), got.source_component_id.as_str()), ("submit", "ok"));
    assert_eq!(got.context["name"], "Ada");

    // Unanswered: 408 with the JSON error body; the surface stays.
    let (code, body) =
        error_body(client.a2ui_surface_create().body(surface("a2-chat", "late", true, Some(1))).send().await);
    assert_eq!(code, 408);
    assert_eq!(body.error_code.as_deref(), Some("RequestTimeout"));

    // Another user cannot show a surface in the chat, nor act on it.
    let (other, _) = server.user_client("bert").await;
    assert_eq!(
        status(other.a2ui_surface_create().body(surface("a2-chat", "x", false, None)).send().await),
        404
    );
    let their_mux = server.mux(&server.login("bert", TEST_PASSWORD).await).await;
    assert!(!their_mux.command("a2-chat", action("late", None, "submit")).await.unwrap().success);
    assert_eq!(
        status(other.a2ui_surface_delete().session_id("a2-chat").surface_id("late").send().await),
        404
    );

    // Messages are A2UI messages, bounded.
    let bad = types::A2uiSurfaceCreate {
        messages: vec![serde_json::json!({"script": {}})],
        ..surface("a2-chat", "b", false, None)
    };
    assert_eq!(status(client.a2ui_surface_create().body(bad).send().await), 422);
    let none = types::A2uiSurfaceCreate { messages: vec![], ..surface("a2-chat", "b", false, None) };
    assert_eq!(status(client.a2ui_surface_create().body(none).send().await), 422);
    assert_eq!(
        status(client.a2ui_surface_create().body(surface("a2-chat", "../x", false, None)).send().await),
        422
    );
}

#[tokio::test]
async fn open_surfaces_reach_late_viewers_and_actions_reach_the_agent() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("cora").await;
    let token = server.login("cora", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    open_chat(&mux, "a2-late").await;
    let shown =
        client.a2ui_surface_create().body(surface("a2-late", "note", false, None)).send().await.unwrap();
    assert!(shown.into_inner().request_id.is_none());
    until(&mut mux, "a2-late", is_surface).await;

    // A viewer that subscribes now gets the open surface.
    let mut late = server.mux(&token).await;
    late.send(ClientFrame::System(SystemRequest::Subscribe { session_id: "a2-late".into(), last_seq: None }));
    let replayed = until(&mut late, "a2-late", is_surface).await;
    assert!(matches!(&replayed.event, AgentEvent::A2uiSurface { surface_id, .. } if surface_id == "note"));

    // A non-blocking surface's action is the user's message to the agent (the stand-in echoes it).
    assert!(mux.command("a2-late", action("note", None, "thumbs_up")).await.unwrap().success);
    let echoed = until(&mut mux, "a2-late", |f| {
        matches!(&f.event, AgentEvent::TextDelta { delta, .. } if delta.contains("thumbs_up"))
            || matches!(&f.event, AgentEvent::MessageEnd { message } if message.to_string().contains("thumbs_up"))
    })
    .await;
    assert!(echoed.seq.is_some());

    // Removed: viewers are told, the surface is gone.
    let removed = client.a2ui_surface_delete().session_id("a2-late").surface_id("note").send().await.unwrap();
    assert!(removed.into_inner().success);
    let told = until(&mut late, "a2-late", |f| {
        matches!(&f.event, AgentEvent::A2uiSurface { messages, .. } if messages[0].get("deleteSurface").is_some())
    })
    .await;
    assert!(told.seq.is_some());
    assert_eq!(
        status(client.a2ui_surface_delete().session_id("a2-late").surface_id("note").send().await),
        404
    );
    assert!(!mux.command("a2-late", action("note", None, "again")).await.unwrap().success);
}
