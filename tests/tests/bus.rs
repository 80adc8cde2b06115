//! The event bus over the mux `bus` channel and the admin routes: a chat's
//! events reach its owner's subscription and nobody else's, workspace and
//! global scopes are their owners' and administrators', `pull` reads the
//! recent ones, floods are bounded.

use std::time::Duration;

use oqto_api::bus::{BusEvent, BusPublish, BusScope, BusSource};
use oqto_api::mux::{
    AgentCommand, BusCommand, BusFrame, BusReply, BusTopics, ChatConfig, PromptBody, ServerFrame,
};
use oqto_client::mux::{MuxClient, MuxEvent};
use oqto_client::types;
use oqto_tests::{TEST_PASSWORD, TestServer, status};

fn topics(scope: BusScope, scope_id: &str, patterns: &[&str]) -> BusTopics {
    BusTopics { topics: patterns.iter().map(|p| p.to_string()).collect(), scope, scope_id: scope_id.into() }
}

fn publish(scope: BusScope, scope_id: &str, topic: &str, payload: serde_json::Value) -> BusPublish {
    BusPublish {
        scope,
        scope_id: scope_id.into(),
        topic: topic.into(),
        payload,
        v: 1,
        priority: None,
        ttl_ms: None,
        idempotency_key: None,
        correlation_id: None,
    }
}

async fn user_mux(server: &TestServer, name: &str) -> (oqto_client::Client, MuxClient) {
    let (client, _) = server.user_client(name).await;
    let token = server.login(name, TEST_PASSWORD).await;
    (client, server.mux(&token).await)
}

/// Bus events on `mux` until one on `topic` arrives, within 20 s.
async fn event_on(mux: &mut MuxClient, topic: &str) -> (BusEvent, Vec<BusEvent>) {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, mux.next()).await.expect("no bus event in time") {
            Some(MuxEvent::Frame(ServerFrame::Bus(BusFrame::Event(event)))) => {
                if event.topic == topic {
                    return (event, seen);
                }
                seen.push(event);
            }
            Some(MuxEvent::Closed { reason, .. }) => panic!("closed: {reason}"),
            None => panic!("ended"),
            _ => {}
        }
    }
}

/// No bus event at all on `mux` for a while.
async fn quiet(mux: &mut MuxClient) {
    let until = tokio::time::Instant::now() + Duration::from_millis(600);
    while let Ok(Some(frame)) = tokio::time::timeout_at(until, mux.next()).await {
        if let MuxEvent::Frame(ServerFrame::Bus(BusFrame::Event(event))) = frame {
            panic!("an event reached a connection that may not see it: {event:?}");
        }
    }
}

fn error_of(result: anyhow::Result<BusReply>) -> String {
    result.expect_err("refused").to_string()
}

#[tokio::test]
async fn a_chats_events_reach_its_owner_only() {
    let server = TestServer::start().await;
    let (_, mut owner) = user_mux(&server, "bea").await;
    let (_, mut other) = user_mux(&server, "carl").await;
    let create = AgentCommand::SessionCreate {
        config: ChatConfig { cwd: Some("proj".into()), ..Default::default() },
        last_seq: None,
    };
    assert!(owner.command("bus-chat", create).await.unwrap().success);

    let held =
        owner.bus(BusCommand::Subscribe(topics(BusScope::Session, "bus-chat", &["chat.**"]))).await.unwrap();
    assert!(
        matches!(&held, BusReply::Subscriptions { subscriptions } if subscriptions == &["session:bus-chat:chat.**"]),
        "{held:?}"
    );
    // Another user's chat is not found (never "forbidden", which would say it exists).
    let refused =
        error_of(other.bus(BusCommand::Subscribe(topics(BusScope::Session, "bus-chat", &["**"]))).await);
    assert!(refused.starts_with("ObjectNotFound"), "{refused}");
    let refused = error_of(other.bus(BusCommand::Subscribe(topics(BusScope::Session, "*", &["**"]))).await);
    assert!(refused.starts_with("Forbidden"), "{refused}");
    let refused =
        error_of(other.bus(BusCommand::Subscribe(topics(BusScope::Global, "global", &["**"]))).await);
    assert!(refused.starts_with("Forbidden"), "{refused}");

    let prompt =
        AgentCommand::Prompt(PromptBody { message: "hello bus".into(), images: None, client_id: None });
    assert!(owner.command("bus-chat", prompt).await.unwrap().success);
    let (end, before) = event_on(&mut owner, "chat.agent.idle").await;
    assert_eq!(end.scope, BusScope::Session);
    assert_eq!(end.scope_id, "bus-chat");
    assert!(matches!(&end.source, BusSource::Agent { session_id, .. } if session_id == "bus-chat"));
    let kinds: Vec<&str> = before.iter().map(|e| e.topic.as_str()).collect();
    assert!(kinds.contains(&"chat.stream.message_end"), "{kinds:?}");
    assert!(!kinds.contains(&"chat.stream.text_delta"), "deltas stay on the chat's stream: {kinds:?}");
    let message_end = before.iter().find(|e| e.topic == "chat.stream.message_end").unwrap();
    assert_eq!(message_end.payload["event"], "stream.message_end");
    quiet(&mut other).await;

    // The ring answers pull, for the owner only.
    let pulled = owner
        .bus(BusCommand::Pull {
            topics: topics(BusScope::Session, "bus-chat", &["chat.**"]),
            since_ts: None,
            limit: Some(2),
        })
        .await
        .unwrap();
    let BusReply::Events { events } = pulled else { panic!("{pulled:?}") };
    assert_eq!(events.len(), 2);
    assert_eq!(events.last().unwrap().topic, "chat.agent.idle");
    assert!(events[0].ts <= events[1].ts);
    let refused = other
        .bus(BusCommand::Pull {
            topics: topics(BusScope::Session, "bus-chat", &["**"]),
            since_ts: None,
            limit: None,
        })
        .await;
    assert!(error_of(refused).starts_with("ObjectNotFound"));

    // A client's own publish in its chat's scope reaches it, stamped as its own.
    let body = publish(BusScope::Session, "bus-chat", "app.state.cursor", serde_json::json!({"line": 3}));
    let published = owner.bus(BusCommand::Publish(body)).await.unwrap();
    let BusReply::Published { event_id } = published else { panic!() };
    let unsubscribed =
        owner.bus(BusCommand::Subscribe(topics(BusScope::Session, "bus-chat", &["app.**"]))).await.unwrap();
    assert!(matches!(unsubscribed, BusReply::Subscriptions { subscriptions } if subscriptions.len() == 2));
    let body = publish(BusScope::Session, "bus-chat", "app.state.cursor", serde_json::json!({"line": 4}));
    owner.bus(BusCommand::Publish(body)).await.unwrap();
    let (cursor, _) = event_on(&mut owner, "app.state.cursor").await;
    assert_ne!(cursor.event_id, event_id, "the first publish came before the subscription");
    assert_eq!(cursor.payload["line"], 4);
    assert!(matches!(cursor.source, BusSource::Frontend { .. }));
    let refused = other
        .bus(BusCommand::Publish(publish(BusScope::Session, "bus-chat", "x", serde_json::Value::Null)))
        .await;
    assert!(error_of(refused).starts_with("ObjectNotFound"));
}

#[tokio::test]
async fn workspace_and_global_scopes_and_the_admin_routes() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let (alice_client, mut alice) = user_mux(&server, "alice").await;
    let (_, bob) = user_mux(&server, "bob").await;

    // A workspace is its owner's, by relative or absolute path; outside the root is refused.
    alice
        .bus(BusCommand::Subscribe(topics(BusScope::Workspace, "site", &["files.*", "notes.**"])))
        .await
        .unwrap();
    let refused =
        error_of(bob.bus(BusCommand::Subscribe(topics(BusScope::Workspace, "../alice/site", &["**"]))).await);
    assert!(refused.starts_with("InvalidValue"), "{refused}");

    // Bob's "site" is his own workspace: Alice's subscription does not see it.
    let body = publish(BusScope::Workspace, "site", "notes.saved", serde_json::json!({"by": "bob"}));
    bob.bus(BusCommand::Publish(body)).await.unwrap();
    quiet(&mut alice).await;
    let body = publish(BusScope::Workspace, "site", "notes.saved", serde_json::json!({"by": "alice"}));
    alice.bus(BusCommand::Publish(body)).await.unwrap();
    let (saved, _) = event_on(&mut alice, "notes.saved").await;
    assert_eq!(saved.payload["by"], "alice");
    assert!(saved.scope_id.ends_with("/site") && saved.scope_id.starts_with('/'), "{}", saved.scope_id);

    // File changes of a watched workspace are published in its scope.
    server.open_workspace(&alice_client, "site").await;
    let watch = oqto_api::mux::FilesCommand::WatchFiles;
    alice.files("site", watch).await.unwrap();
    let write = oqto_api::mux::FilesCommand::Write {
        path: "a.txt".into(),
        content: "eA==".into(),
        create_parents: None,
    };
    alice.files("site", write).await.unwrap();
    let (changed, _) = event_on(&mut alice, "files.changed").await;
    // (hidden files, like the write's temporary one, are not reported)
    assert_eq!(changed.source, BusSource::Backend);
    assert_eq!(changed.payload["path"], "a.txt");

    // Global: administrators only, over the mux and over HTTP.
    let refused = error_of(
        bob.bus(BusCommand::Publish(publish(BusScope::Global, "global", "hi", serde_json::Value::Null)))
            .await,
    );
    assert!(refused.starts_with("Forbidden"), "{refused}");
    let admin_token = server.login("admin", &server.admin_password).await;
    let mut console = server.mux(&admin_token).await;
    console.bus(BusCommand::Subscribe(topics(BusScope::Global, "global", &["**"]))).await.unwrap();
    console.bus(BusCommand::Subscribe(topics(BusScope::Workspace, "*", &["notes.*"]))).await.unwrap();
    let body = types::BusPublish {
        scope: types::BusScope::Global,
        scope_id: "global".into(),
        topic: "maintenance.soon".into(),
        payload: Some(serde_json::json!({"in_minutes": 5})),
        v: 1,
        priority: Some("high".into()),
        ttl_ms: None,
        idempotency_key: Some("m-1".into()),
        correlation_id: None,
    };
    let first = admin.bus_publish().body(body.clone()).send().await.unwrap().into_inner();
    assert!(matches!(&first.source, types::BusSource::Admin { .. }), "{:?}", first.source);
    let (notice, _) = event_on(&mut console, "maintenance.soon").await;
    assert_eq!(notice.event_id, first.event_id);
    assert_eq!(notice.priority.as_deref(), Some("high"));
    // The same idempotency key: accepted, answered with the first event, not delivered again.
    let again = admin.bus_publish().body(body).send().await.unwrap().into_inner();
    assert_eq!(again.event_id, first.event_id);
    // Every workspace's events, for the administrator's `*`.
    let body = publish(BusScope::Workspace, "site", "notes.saved", serde_json::json!({"by": "bob"}));
    bob.bus(BusCommand::Publish(body)).await.unwrap();
    let (seen, skipped) = event_on(&mut console, "notes.saved").await;
    assert_eq!(seen.payload["by"], "bob");
    assert!(skipped.iter().all(|e| e.topic != "maintenance.soon"), "delivered once: {skipped:?}");

    let (user, _) = server.user_client("dora").await;
    assert_eq!(status(user.bus_stats().send().await), 403);
    assert_eq!(status(server.anonymous().bus_stats().send().await), 401);
    let stats = admin.bus_stats().send().await.unwrap().into_inner();
    assert!(stats.published >= 5, "{stats:?}");
    assert!(stats.delivered >= 3 && stats.dropped_authz >= 1 && stats.deduplicated == 1, "{stats:?}");
    assert_eq!(stats.subscribers, 2);
    assert_eq!((stats.ring_capacity, stats.ring_max_bytes), (5000, 32 * 1024 * 1024));
    assert!(stats.ring_bytes > 0);

    let bad = types::BusPublish {
        scope: types::BusScope::Global,
        scope_id: "global".into(),
        topic: "two..dots".into(),
        payload: None,
        v: 1,
        priority: None,
        ttl_ms: None,
        idempotency_key: None,
        correlation_id: None,
    };
    assert_eq!(status(admin.bus_publish().body(bad.clone()).send().await), 422);
    let huge = types::BusPublish {
        topic: "big".into(),
        payload: Some(serde_json::json!("x".repeat(70_000))),
        ..bad
    };
    assert_eq!(status(admin.bus_publish().body(huge).send().await), 422);
}

#[tokio::test]
async fn publishing_floods_are_refused_and_bad_commands_explained() {
    let server = TestServer::start().await;
    let (_, mux) = user_mux(&server, "flo").await;
    // 150 publishes at once against a burst of 100 and 100/s: however slow
    // this machine is, what the elapsed time allows is accepted, no more.
    let began = std::time::Instant::now();
    let sent = (0..150).map(|n| {
        let body = publish(BusScope::Workspace, "w", "tick", serde_json::json!(n));
        mux.bus(BusCommand::Publish(body))
    });
    let results = futures::future::join_all(sent).await;
    let allowed = 100 + (began.elapsed().as_secs_f64() * 100.0).ceil() as usize;
    let mut refused = 0;
    for result in results {
        if let Err(e) = result {
            assert!(e.to_string().starts_with("TooManyRequests"), "{e}");
            refused += 1;
        }
    }
    assert!(
        refused >= 150usize.saturating_sub(allowed),
        "{refused} of 150 refused; at most {allowed} allowed"
    );
    for patterns in [&[][..], &["a.b*"][..]] {
        let e = error_of(mux.bus(BusCommand::Subscribe(topics(BusScope::Workspace, "w", patterns))).await);
        assert!(e.starts_with("InvalidValue"), "{e}");
    }
    let many: Vec<String> = (0..32).map(|n| format!("t{n}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    mux.bus(BusCommand::Subscribe(topics(BusScope::Workspace, "w", &many))).await.unwrap();
    // Repeating held subscriptions adds none.
    mux.bus(BusCommand::Subscribe(topics(BusScope::Workspace, "w", &many[..16]))).await.unwrap();
    let more: Vec<String> = (32..64).map(|n| format!("t{n}")).collect();
    let more: Vec<&str> = more.iter().map(String::as_str).collect();
    mux.bus(BusCommand::Subscribe(topics(BusScope::Workspace, "w", &more[..]))).await.unwrap();
    let e = error_of(mux.bus(BusCommand::Subscribe(topics(BusScope::Workspace, "w", &["one.more"]))).await);
    assert!(e.starts_with("Conflict"), "{e}");
    let pull = BusCommand::Pull {
        topics: topics(BusScope::Workspace, "w", &["**"]),
        since_ts: None,
        limit: Some(5000),
    };
    assert!(error_of(mux.bus(pull).await).starts_with("InvalidValue"));

    // A malformed bus frame is answered on `system` like any other, and the connection stays.
    let token = server.login("flo", TEST_PASSWORD).await;
    let mut raw = server.raw_mux(&token).await;
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let frame = serde_json::json!({"channel": "bus", "type": "subscribe", "id": "s1", "scope": "planet"});
    raw.send(Message::Text(frame.to_string().into())).await.unwrap();
    let frame = serde_json::json!({"channel": "bus", "type": "subscribe", "id": "s2", "topics": ["**"], "scope": "global", "scope_id": "global"});
    raw.send(Message::Text(frame.to_string().into())).await.unwrap();
    let mut answers = Vec::new();
    while answers.len() < 2 {
        let Some(Ok(Message::Text(text))) =
            tokio::time::timeout(Duration::from_secs(10), raw.next()).await.unwrap()
        else {
            panic!("the connection ended")
        };
        let value: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
        if value["channel"] == "bus" || value["type"] == "error" {
            answers.push(value);
        }
    }
    assert_eq!(answers[0]["type"], "error", "{answers:?}");
    assert_eq!(answers[0]["id"], "s1");
    assert_eq!(answers[1]["type"], "response");
    assert_eq!(answers[1]["success"], false);
    assert_eq!(answers[1]["error_code"], "Forbidden");
}
