//! The test harness: present in dev mode only, and what it injects
//! reaches the caller's chat like the real thing.

use std::time::Duration;

use oqto_api::mux::{AgentCommand, AgentEvent, AgentEventFrame, ChatConfig, ServerFrame};
use oqto_client::mux::{MuxClient, MuxEvent};
use oqto_client::types;
use oqto_tests::{Options, TEST_PASSWORD, TestServer, status};

async fn until(mux: &mut MuxClient, wanted: impl Fn(&AgentEventFrame) -> bool) -> AgentEventFrame {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, mux.next()).await.expect("the event did not come") {
            Some(MuxEvent::Frame(ServerFrame::Agent(frame))) if wanted(&frame) => return frame,
            Some(MuxEvent::Closed { reason, .. }) => panic!("closed: {reason}"),
            None => panic!("ended"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn the_harness_injects_through_the_real_paths_in_dev_mode() {
    let server = TestServer::start_with(Options::default().env("OQTO_AUTH__DEV_MODE", "true")).await;
    let (client, _) = server.user_client("dev").await;
    let mut mux = server.mux(&server.login("dev", TEST_PASSWORD).await).await;
    let create = AgentCommand::SessionCreate {
        config: ChatConfig { cwd: Some("t".into()), ..Default::default() },
        last_seq: None,
    };
    assert!(mux.command("t-chat", create).await.unwrap().success);

    let event = serde_json::json!({"event": "agent.working", "phase": "thinking"});
    let body =
        types::TestEvent { session_id: "t-chat".into(), event: serde_json::from_value(event).unwrap() };
    let sent = client.test_event().body(body).send().await.unwrap().into_inner();
    let got = until(
        &mut mux,
        |f| matches!(&f.event, AgentEvent::AgentWorking { phase, .. } if phase == "thinking"),
    )
    .await;
    assert_eq!(got.seq, Some(sent.seq), "it took the chat's stream");

    let sample = types::TestA2uiSample { session_id: "t-chat".into(), blocking: false };
    let shown = client.test_a2ui_sample().body(sample).send().await.unwrap().into_inner();
    let got = until(&mut mux, |f| matches!(&f.event, AgentEvent::A2uiSurface { .. })).await;
    let AgentEvent::A2uiSurface { surface_id, messages, .. } = got.event else { unreachable!() };
    assert_eq!(surface_id, shown.surface_id);
    assert!(messages.iter().any(|m| m.get("beginRendering").is_some()));
    let custom = types::A2uiSurfaceCreate {
        session_id: "t-chat".into(),
        surface_id: Some("custom".into()),
        messages: vec![serde_json::json!({"beginRendering": {"surfaceId": "custom", "root": "root"}})],
        blocking: false,
        timeout_secs: None,
    };
    assert!(client.test_a2ui().body(custom).send().await.unwrap().into_inner().success);

    // Another user's chat is not theirs to inject into.
    let (other, _) = server.user_client("other").await;
    let event = serde_json::json!({"event": "agent.idle"});
    let body =
        types::TestEvent { session_id: "t-chat".into(), event: serde_json::from_value(event).unwrap() };
    assert_eq!(status(other.test_event().body(body).send().await), 404);
}

#[tokio::test]
async fn the_harness_is_absent_without_dev_mode() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("prod").await;
    let event = serde_json::json!({"event": "agent.idle"});
    let body = types::TestEvent { session_id: "x".into(), event: serde_json::from_value(event).unwrap() };
    assert_eq!(status(client.test_event().body(body.clone()).send().await), 404);
    let sample = types::TestA2uiSample { session_id: "x".into(), blocking: false };
    assert_eq!(status(client.test_a2ui_sample().body(sample).send().await), 404);
    let custom = types::A2uiSurfaceCreate {
        session_id: "x".into(),
        surface_id: None,
        messages: vec![serde_json::json!({"beginRendering": {"surfaceId": "s", "root": "root"}})],
        blocking: false,
        timeout_secs: None,
    };
    assert_eq!(status(client.test_a2ui().body(custom).send().await), 404);
    assert_eq!(status(server.anonymous().test_event().body(body).send().await), 401);
}
