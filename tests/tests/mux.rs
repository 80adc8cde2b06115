//! The multiplexed WebSocket with the stand-in agent: chat lifecycle,
//! several viewers, ownership, replay after a reconnect, crashes, slow
//! readers, malformed frames, limits and timeouts.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use oqto_api::mux::{
    AgentCommand, AgentEvent, AgentEventFrame, ChatConfig, ChatOpened, ClientFrame, PromptBody,
    PromptDuplicate, ServerFrame, ServerReply, SystemEvent, SystemRequest,
};
use oqto_client::mux::{MuxClient, MuxEvent};
use oqto_tests::{Options, TEST_PASSWORD, TestServer};
use tokio_tungstenite::tungstenite::Message;

fn create(cwd: &str) -> AgentCommand {
    AgentCommand::SessionCreate {
        config: ChatConfig { cwd: Some(cwd.into()), ..Default::default() },
        last_seq: None,
    }
}

fn prompt(text: &str) -> AgentCommand {
    AgentCommand::Prompt(PromptBody { message: text.into(), images: None, client_id: None })
}

/// Agent events of `chat` until `stop` matches one (inclusive), within 20 s.
async fn events_until(
    mux: &mut MuxClient,
    chat: &str,
    stop: impl Fn(&AgentEvent) -> bool,
) -> Vec<AgentEventFrame> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let event =
            tokio::time::timeout_at(deadline, mux.next()).await.expect("timed out waiting for events");
        match event {
            Some(MuxEvent::Frame(ServerFrame::Agent(frame))) if frame.session_id == chat => {
                let done = stop(&frame.event);
                out.push(frame);
                if done {
                    return out;
                }
            }
            Some(MuxEvent::Closed { reason, .. }) => panic!("connection closed: {reason}"),
            None => panic!("connection ended"),
            _ => {}
        }
    }
}

fn text_of(frames: &[AgentEventFrame]) -> String {
    frames
        .iter()
        .filter_map(|f| match &f.event {
            AgentEvent::TextDelta { delta, .. } => Some(delta.as_str()),
            _ => None,
        })
        .collect()
}

fn is_idle(e: &AgentEvent) -> bool {
    matches!(e, AgentEvent::AgentIdle)
}

async fn user_mux(server: &TestServer, name: &str) -> (oqto_client::Client, MuxClient, String) {
    let (client, _) = server.user_client(name).await;
    let token = server.login(name, TEST_PASSWORD).await;
    let mux = server.mux(&token).await;
    (client, mux, token)
}

#[tokio::test]
async fn chat_lifecycle_with_history_across_stop_and_resume() {
    let server = TestServer::start().await;
    let (client, mut mux, _) = user_mux(&server, "lily").await;
    let created = mux.command("chat-1", create("proj")).await.unwrap();
    assert!(created.success, "{:?}", created.error);
    let ServerReply::Opened(opened) = created.reply().unwrap() else { panic!("{created:?}") };
    assert!(!opened.resumed);
    let reply = mux.command("chat-1", prompt("hello world")).await.unwrap();
    assert!(reply.success);
    let frames = events_until(&mut mux, "chat-1", is_idle).await;
    assert_eq!(text_of(&frames), "You said: hello world");
    let seqs: Vec<u64> = frames.iter().filter_map(|f| f.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(frames.iter().any(|f| matches!(f.event, AgentEvent::SessionCreated { resumed: false, .. })));

    // The chat lives in a workspace session; stopping it stops the chat.
    let sessions = client.session_list().send().await.unwrap().into_inner();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].workspace_path, "proj");
    assert_eq!(sessions[0].active_chats, 1);
    client.session_stop().session_id(sessions[0].id.to_string()).send().await.unwrap();
    let closed = events_until(&mut mux, "chat-1", |e| matches!(e, AgentEvent::SessionClosed { .. })).await;
    assert!(
        matches!(&closed.last().unwrap().event, AgentEvent::SessionClosed { reason: Some(r) } if r == "session stopped")
    );
    let stopped = client.session_list().send().await.unwrap().into_inner();
    assert_eq!((stopped[0].status, stopped[0].active_chats), (oqto_client::types::SessionStatus::Stopped, 0));

    // Using the chat again resumes its workspace session.
    let again = mux.command("chat-1", create("proj")).await.unwrap();
    assert!(
        matches!(again.reply().unwrap(), ServerReply::Opened(ChatOpened { resumed: true, .. })),
        "{again:?}"
    );
    let messages = mux.command("chat-1", AgentCommand::GetMessages).await.unwrap();
    let list = messages.data.unwrap()["messages"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2, "the history survived: {list:?}");

    let session =
        client.session_view().session_id(sessions[0].id.to_string()).send().await.unwrap().into_inner();
    assert_eq!(session.status, oqto_client::types::SessionStatus::Running);
    let listed = mux.command("", AgentCommand::ListSessions).await.unwrap();
    let ServerReply::Chats(chats) = listed.reply().unwrap() else { panic!() };
    assert_eq!(chats[0].session_id, "chat-1");
    let deleted = mux.command("chat-1", AgentCommand::SessionDelete).await.unwrap();
    assert!(deleted.success);
    let listed = mux.command("", AgentCommand::ListSessions).await.unwrap();
    assert!(matches!(listed.reply().unwrap(), ServerReply::Chats(chats) if chats.is_empty()));
    let after = mux
        .command(
            "chat-1",
            AgentCommand::Prompt(PromptBody {
                message: "still there?".into(),
                images: None,
                client_id: None,
            }),
        )
        .await
        .unwrap();
    assert!(!after.success, "a deleted chat takes no prompt");
}

/// What the original web client sends for the chat id it picked, before
/// its first prompt creates the chat: read-only queries answer as a new
/// chat would, `get_models` lists the user's configured models, and a
/// picked model is the one the chat starts with. Another user's chat id is
/// still refused.
#[tokio::test]
async fn queries_before_creation_answer_like_a_new_chat() {
    let server = TestServer::start().await;
    let (_, me) = server.user_client("early").await;
    let token = server.login("early", TEST_PASSWORD).await;
    let mux = server.mux(&token).await;
    let agent_dir = server.data_dir.path().join("users").join(me.id.to_string()).join("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let models = r#"{"providers": {"local": {"baseUrl": "http://127.0.0.1:9", "apiKey": "sk-secret",
        "api": "openai-completions", "models": [{"id": "echo-3", "name": "Echo three", "contextWindow": 8192}]}}}"#;
    std::fs::write(agent_dir.join("models.json"), models).unwrap();

    let state = mux.command("web-1", AgentCommand::GetState).await.unwrap();
    assert!(state.success && state.data.is_none(), "{state:?}");
    let stats = mux.command("web-1", AgentCommand::GetStats).await.unwrap();
    assert!(stats.success && stats.data.is_none());
    for query in [AgentCommand::GetMessages, AgentCommand::GetCommands, AgentCommand::GetForkPoints] {
        let answer = mux.command("web-1", query).await.unwrap();
        assert_eq!(answer.data, Some(serde_json::json!([])), "{answer:?}");
    }
    let listed = mux.command("web-1", AgentCommand::GetModels { workdir: Some(".".into()) }).await.unwrap();
    let listed = listed.data.unwrap();
    assert_eq!(listed["models"][0]["id"], "echo-3");
    assert_eq!(listed["models"][0]["provider"], "local");
    assert!(!listed.to_string().contains("sk-secret") && !listed.to_string().contains("127.0.0.1"));
    let picked = mux
        .command("web-1", AgentCommand::SetModel { provider: "standin".into(), model_id: "echo-9".into() });
    assert!(picked.await.unwrap().success);
    assert!(mux.command("web-1", create(".")).await.unwrap().success);
    let state = mux.command("web-1", AgentCommand::GetState).await.unwrap();
    assert_eq!(state.data.unwrap()["model"]["id"], "echo-9");

    // Another user's chat id: refused, as before.
    let (_, other, _) = user_mux(&server, "intruder").await;
    let refused = other.command("web-1", AgentCommand::GetState).await.unwrap();
    assert!(!refused.success);
    let refused = other.command("web-1", AgentCommand::GetMessages).await.unwrap();
    assert!(!refused.success);
    drop(mux);
}

#[tokio::test]
async fn several_chats_in_one_workspace_and_tool_events() {
    let server = TestServer::start().await;
    let (client, mut mux, _) = user_mux(&server, "tom").await;
    for chat in ["a", "b"] {
        assert!(mux.command(chat, create("shared")).await.unwrap().success);
    }
    assert_eq!(client.session_list().send().await.unwrap().into_inner().len(), 1);
    mux.command("a", prompt("/tool run it")).await.unwrap();
    let frames = events_until(&mut mux, "a", is_idle).await;
    let names: Vec<String> = frames.iter().map(|f| f.event.name()).collect();
    for expected in [
        "stream.tool_call_start",
        "tool.start",
        "tool.progress",
        "tool.end",
        "stream.text_delta",
        "agent.idle",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
    assert!(frames.iter().any(|f| matches!(&f.event, AgentEvent::ToolEnd { name, is_error: false, duration_ms: Some(_), .. } if name == "bash")));
    mux.command("b", prompt("second chat")).await.unwrap();
    let frames = events_until(&mut mux, "b", is_idle).await;
    assert_eq!(text_of(&frames), "You said: second chat");
}

#[tokio::test]
async fn two_clients_see_the_same_events_in_the_same_order() {
    let server = TestServer::start().await;
    let (_, mut first, token) = user_mux(&server, "duo").await;
    let mut second = server.mux(&token).await;
    assert!(first.command("shared", create(".")).await.unwrap().success);
    assert!(second.command("shared", create(".")).await.unwrap().success);
    first.command("shared", prompt("/slow one two three four")).await.unwrap();
    let a = events_until(&mut first, "shared", is_idle).await;
    let b = events_until(&mut second, "shared", is_idle).await;
    // The second viewer joined after the chat started: compare from the prompt on.
    let from = b.iter().filter_map(|f| f.seq).min().unwrap();
    let key = |frames: &[AgentEventFrame]| -> Vec<(u64, String)> {
        frames
            .iter()
            .filter(|f| !matches!(f.event, AgentEvent::UserMessage { .. }))
            .filter_map(|f| Some((f.seq?, f.event.name())))
            .filter(|(seq, _)| *seq >= from)
            .collect()
    };
    assert_eq!(key(&a), key(&b));
    assert!(b.iter().any(|f| matches!(&f.event, AgentEvent::UserMessage { message, .. } if message == "/slow one two three four")),
        "the prompt is shown to the other viewer");
    assert!(!a.iter().any(|f| matches!(f.event, AgentEvent::UserMessage { .. })), "not echoed to its sender");
}

#[tokio::test]
async fn a_chat_cannot_work_outside_the_workspace_root() {
    let server = TestServer::start().await;
    let (_, mux, _) = user_mux(&server, "esc").await;
    for cwd in ["..", "../other", "/etc", "a/../../b"] {
        let created = mux.command("escape", create(cwd)).await.unwrap();
        assert!(!created.success, "{cwd}");
        assert!(created.error.unwrap().contains("inside your workspace root"));
    }
    for bad_id in ["../x", ".hidden", "a/b", ""] {
        assert!(!mux.command(bad_id, create(".")).await.unwrap().success, "{bad_id:?}");
    }
}

#[tokio::test]
async fn another_users_chat_is_refused() {
    let server = TestServer::start().await;
    let (_, mut owner, _) = user_mux(&server, "owner").await;
    let (_, mut other, _) = user_mux(&server, "intruder").await;
    assert!(owner.command("private", create(".")).await.unwrap().success);
    let taken = other.command("private", create(".")).await.unwrap();
    assert!(!taken.success);
    let denied = other.command("private", prompt("let me in")).await.unwrap();
    assert!(!denied.success);
    other
        .send(ClientFrame::System(SystemRequest::Subscribe { session_id: "private".into(), last_seq: None }));
    loop {
        match tokio::time::timeout(Duration::from_secs(5), other.next()).await.unwrap() {
            Some(MuxEvent::Frame(ServerFrame::System(SystemEvent::Error { .. }))) => break,
            Some(MuxEvent::Frame(ServerFrame::System(SystemEvent::Connected { .. }))) => {}
            other => panic!("expected an error frame, got {other:?}"),
        }
    }
    // Nothing of the owner's chat reaches the intruder.
    owner.command("private", prompt("secret")).await.unwrap();
    events_until(&mut owner, "private", is_idle).await;
    let leaked = tokio::time::timeout(Duration::from_millis(300), other.next()).await;
    assert!(!matches!(leaked, Ok(Some(MuxEvent::Frame(ServerFrame::Agent(_))))), "{leaked:?}");
}

#[tokio::test]
async fn reconnect_mid_stream_replays_without_loss_or_duplicates() {
    let server = TestServer::start().await;
    let (_, mut mux, _) = user_mux(&server, "roam").await;
    assert!(mux.command("r", create(".")).await.unwrap().success);
    let words: Vec<String> = (0..15).map(|i| format!("w{i}")).collect();
    mux.command("r", prompt(&format!("/slow {}", words.join(" ")))).await.unwrap();
    let mut frames = events_until(&mut mux, "r", |e| matches!(e, AgentEvent::TextDelta { .. })).await;
    mux.reconnect();
    frames.extend(events_until(&mut mux, "r", is_idle).await);
    let text = text_of(&frames);
    assert_eq!(text.trim_end(), words.join(" "));
    let seqs: Vec<u64> = frames.iter().filter_map(|f| f.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "strictly increasing, no duplicates: {seqs:?}");
}

#[tokio::test]
async fn replay_beyond_the_window_asks_for_a_resync() {
    let server = TestServer::start_with(Options::default().env("OQTO_AGENT__REPLAY_EVENTS", "8")).await;
    let (_, mut mux, token) = user_mux(&server, "gap").await;
    assert!(mux.command("g", create(".")).await.unwrap().success);
    mux.command("g", prompt("/flood 50")).await.unwrap();
    events_until(&mut mux, "g", is_idle).await;
    let mut late = server.mux(&token).await;
    late.send(ClientFrame::System(SystemRequest::Subscribe { session_id: "g".into(), last_seq: Some(1) }));
    let frames = events_until(&mut late, "g", |e| matches!(e, AgentEvent::ResyncRequired { .. })).await;
    assert!(
        matches!(frames.last().unwrap().event, AgentEvent::ResyncRequired { dropped_count, .. } if dropped_count > 0)
    );
}

#[tokio::test]
async fn agent_crash_mid_stream_is_reported_and_the_chat_resumes() {
    let server = TestServer::start().await;
    let (_, mut mux, _) = user_mux(&server, "crash").await;
    assert!(mux.command("c", create(".")).await.unwrap().success);
    mux.command("c", prompt("/crash now please")).await.unwrap();
    let frames = events_until(&mut mux, "c", |e| matches!(e, AgentEvent::SessionClosed { .. })).await;
    let error =
        frames.iter().position(|f| matches!(&f.event, AgentEvent::AgentError { recoverable: true, .. }));
    let idle = frames.iter().position(|f| matches!(f.event, AgentEvent::AgentIdle));
    assert!(error.is_some() && idle > error, "a crashed turn ends with agent.idle: {frames:?}");
    // The next message starts the agent again from its session file.
    assert!(mux.command("c", prompt("are you back")).await.unwrap().success);
    let frames = events_until(&mut mux, "c", is_idle).await;
    assert!(frames.iter().any(|f| matches!(f.event, AgentEvent::SessionCreated { resumed: true, .. })));
    assert_eq!(text_of(&frames), "You said: are you back");
}

#[tokio::test]
async fn garbage_from_the_agent_is_skipped() {
    let server = TestServer::start().await;
    let (_, mut mux, _) = user_mux(&server, "junk").await;
    assert!(mux.command("j", create(".")).await.unwrap().success);
    mux.command("j", prompt("/garbage then text")).await.unwrap();
    let frames = events_until(&mut mux, "j", is_idle).await;
    assert_eq!(text_of(&frames), "You said: /garbage then text");
    assert!(server.anonymous().health_view().send().await.is_ok());
}

/// A raw socket, for what the typed client would not do.
async fn raw_socket(server: &TestServer, token: &str) -> oqto_tests::RawMux {
    server.raw_mux(token).await
}

async fn send_json(ws: &mut oqto_tests::RawMux, v: serde_json::Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

#[tokio::test]
async fn a_slow_reader_gets_coalesced_deltas_and_a_hopeless_one_is_closed() {
    let server = TestServer::start().await;
    let (_, _) = server.user_client("slow").await;
    let token = server.login("slow", TEST_PASSWORD).await;
    let mut ws = raw_socket(&server, &token).await;
    send_json(
        &mut ws,
        serde_json::json!({"channel":"agent","session_id":"s","cmd":"session.create","config":{}}),
    )
    .await;
    send_json(&mut ws, serde_json::json!({"channel":"agent","session_id":"s","id":"p","cmd":"prompt","message":"/flood 100000"})).await;
    // Do not read while the agent floods.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut deltas = 0usize;
    let mut text = String::new();
    loop {
        let Some(Ok(Message::Text(t))) =
            tokio::time::timeout(Duration::from_secs(20), ws.next()).await.unwrap()
        else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
        if v["event"] == "stream.text_delta" {
            deltas += 1;
            text.push_str(v["delta"].as_str().unwrap());
        }
        if v["event"] == "agent.idle" {
            break;
        }
    }
    assert_eq!(text.len(), 200_000, "every character arrived");
    assert!(deltas < 100_000, "{deltas} deltas: consecutive ones were merged");

    let tight = TestServer::start_with(Options::default().env("OQTO_MUX__QUEUE_BYTES", "65536")).await;
    let (_, _) = tight.user_client("hopeless").await;
    let token = tight.login("hopeless", TEST_PASSWORD).await;
    let mut ws = raw_socket(&tight, &token).await;
    send_json(
        &mut ws,
        serde_json::json!({"channel":"agent","session_id":"h","cmd":"session.create","config":{}}),
    )
    .await;
    send_json(
        &mut ws,
        serde_json::json!({"channel":"agent","session_id":"h","cmd":"prompt","message":"/flood 300000"}),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut close_code = None;
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_secs(20), ws.next()).await {
        match message {
            Ok(Message::Close(frame)) => {
                close_code = frame.map(|f| u16::from(f.code));
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert_eq!(close_code, Some(oqto_api::mux::CLOSE_TOO_SLOW));
}

#[tokio::test]
async fn malformed_frames_get_errors_and_the_connection_stays_open() {
    let server = TestServer::start().await;
    let (_, _) = server.user_client("mal").await;
    let token = server.login("mal", TEST_PASSWORD).await;
    let mut ws = raw_socket(&server, &token).await;
    let next_json = async |ws: &mut tokio_tungstenite::WebSocketStream<_>| -> serde_json::Value {
        loop {
            if let Some(Ok(Message::Text(t))) =
                tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap()
            {
                return serde_json::from_str(t.as_str()).unwrap();
            }
        }
    };
    let connected = next_json(&mut ws).await;
    assert_eq!(
        (connected["channel"].as_str(), connected["type"].as_str()),
        (Some("system"), Some("connected"))
    );
    for bad in [
        "not json",
        r#"{"channel":"nope"}"#,
        r#"{"channel":"agent","session_id":"x","id":"q1","cmd":"bogus"}"#,
    ] {
        ws.send(Message::Text(bad.into())).await.unwrap();
        let error = next_json(&mut ws).await;
        assert_eq!(error["type"], "error", "{bad}: {error}");
        assert!(error["error"].as_str().unwrap().contains("malformed frame"));
    }
    ws.send(Message::Text(r#"{"channel":"agent","session_id":"x","id":"q2","cmd":"bogus"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["id"], "q2", "the error names the request");
    send_json(
        &mut ws,
        serde_json::json!({"channel":"agent","session_id":"e","id":"c","cmd":"session.create","config":{}}),
    )
    .await;
    send_json(
        &mut ws,
        serde_json::json!({"channel":"agent","session_id":"e","id":"empty","cmd":"prompt","message":"   "}),
    )
    .await;
    loop {
        let v = next_json(&mut ws).await;
        if v["id"] == "empty" {
            assert_eq!((v["event"].as_str(), v["success"].as_bool()), (Some("response"), Some(false)));
            break;
        }
    }
    send_json(&mut ws, serde_json::json!({"channel":"system","type":"ping"})).await;
    loop {
        if next_json(&mut ws).await["type"] == "pong" {
            break;
        }
    }
    // An oversized frame ends the connection.
    let huge = format!(r#"{{"channel":"system","type":"ping","pad":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let _ = ws.send(Message::Text(huge.into())).await;
    let mut ended = false;
    while let Ok(message) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        if matches!(message, None | Some(Err(_)) | Some(Ok(Message::Close(_)))) {
            ended = true;
            break;
        }
    }
    assert!(ended);
}

#[tokio::test]
async fn prompts_with_a_client_id_are_idempotent() {
    let server = TestServer::start().await;
    let (_, mut mux, _) = user_mux(&server, "idem").await;
    assert!(mux.command("i", create(".")).await.unwrap().success);
    let once = AgentCommand::Prompt(PromptBody {
        message: "only once".into(),
        images: None,
        client_id: Some("m1".into()),
    });
    assert!(mux.command("i", once.clone()).await.unwrap().success);
    events_until(&mut mux, "i", is_idle).await;
    let again = mux.command("i", once).await.unwrap();
    assert!(matches!(again.reply().unwrap(), ServerReply::Duplicate(PromptDuplicate { duplicate: true })));
    let state = mux.command("i", AgentCommand::GetMessages).await.unwrap();
    assert_eq!(state.data.unwrap()["messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn idle_chats_stop_and_resume_on_use() {
    let server = TestServer::start_with(Options::default().env("OQTO_AGENT__IDLE_TIMEOUT_SECS", "1")).await;
    let (_, mut mux, _) = user_mux(&server, "idle").await;
    assert!(mux.command("z", create(".")).await.unwrap().success);
    let closed = events_until(&mut mux, "z", |e| matches!(e, AgentEvent::SessionClosed { .. })).await;
    assert!(
        matches!(&closed.last().unwrap().event, AgentEvent::SessionClosed { reason: Some(r) } if r == "idle")
    );
    assert!(mux.command("z", prompt("wake up")).await.unwrap().success);
    let frames = events_until(&mut mux, "z", is_idle).await;
    assert_eq!(text_of(&frames), "You said: wake up");
}

#[tokio::test]
async fn the_watchdog_reports_a_silent_agent() {
    let server = TestServer::start_with(Options::default().env("OQTO_AGENT__WATCHDOG_SECS", "1")).await;
    let (_, mut mux, _) = user_mux(&server, "dog").await;
    assert!(mux.command("d", create(".")).await.unwrap().success);
    assert!(mux.command("d", prompt("/silent")).await.unwrap().success);
    let frames = events_until(&mut mux, "d", is_idle).await;
    let names: Vec<String> = frames.iter().map(|f| f.event.name()).collect();
    assert_eq!(&names[names.len() - 2..], ["agent.error", "agent.idle"], "{names:?}");
}

#[tokio::test]
async fn limits_on_running_chats() {
    let server = TestServer::start_with(Options::default().env("OQTO_AGENT__MAX_CHATS_PER_USER", "1")).await;
    let (_, mux, _) = user_mux(&server, "lim").await;
    assert!(mux.command("one", create(".")).await.unwrap().success);
    let second = mux.command("two", create(".")).await.unwrap();
    assert!(!second.success);
    assert!(second.error.unwrap().contains("close one first"));
    assert!(mux.command("one", AgentCommand::SessionClose).await.unwrap().success);
    let again = mux.command("two", create(".")).await.unwrap();
    assert!(again.success, "{:?}\n{}", again.error, server.log());
}

#[tokio::test]
async fn upgrade_needs_a_valid_token_and_revocation_closes_the_socket() {
    let server = TestServer::start_with(Options::default().env("OQTO_MUX__PING_INTERVAL_SECS", "1")).await;
    let url = format!("{}/api/ws/mux", server.url.replace("http://", "ws://"));
    match tokio_tungstenite::connect_async(format!("{url}?token=garbage")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected a 401, got {other:?}"),
    }
    let (client, _) = server.user_client("rev").await;
    let token = server.login("rev", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    // The connection registers right after the upgrade.
    let mut debug = server.anonymous().mux_debug_view().send().await.unwrap().into_inner();
    for _ in 0..50 {
        if debug.connections == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        debug = server.anonymous().mux_debug_view().send().await.unwrap().into_inner();
    }
    assert_eq!(debug.connections, 1);
    assert!(!serde_json::to_string(&debug).unwrap().contains("rev@"), "no emails in the debug view");
    let _ = client;
    server.client(&token).auth_logout().send().await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match mux.next().await {
                Some(MuxEvent::Closed { code, .. }) => return code,
                None => return None,
                _ => {}
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(closed, Some(oqto_api::mux::CLOSE_UNAUTHORIZED));
}

#[tokio::test]
async fn every_agent_command_gets_exactly_one_response() {
    let server = TestServer::start().await;
    let (_, mux, token) = user_mux(&server, "cmds").await;
    assert!(mux.command("k", create(".")).await.unwrap().success);
    let body = |m: &str| PromptBody { message: m.into(), images: None, client_id: None };
    let commands = vec![
        AgentCommand::GetState,
        AgentCommand::GetMessages,
        AgentCommand::GetStats,
        AgentCommand::GetModels { workdir: None },
        AgentCommand::GetCommands,
        AgentCommand::GetForkPoints,
        AgentCommand::SetModel { provider: "standin".into(), model_id: "echo-2".into() },
        AgentCommand::CycleModel,
        AgentCommand::SetThinkingLevel { level: "low".into() },
        AgentCommand::CycleThinkingLevel,
        AgentCommand::SetAutoCompaction { enabled: true },
        AgentCommand::SetAutoRetry { enabled: false },
        AgentCommand::Compact { instructions: None },
        AgentCommand::AbortRetry,
        AgentCommand::SetSessionName { name: "named".into() },
        AgentCommand::Fork { entry_id: "nope".into() },
        AgentCommand::InputResponse {
            request_id: "r1".into(),
            value: None,
            confirmed: Some(true),
            cancelled: None,
        },
        AgentCommand::Steer(body("steer me")),
        AgentCommand::FollowUp(body("and then")),
        AgentCommand::Abort,
        AgentCommand::ListSessions,
    ];
    // Raw frames with ids, to count the responses per id.
    let mut ws = raw_socket(&server, &token).await;
    send_json(&mut ws, serde_json::json!({"channel":"agent","session_id":"k","id":"attach","cmd":"session.create","config":{}})).await;
    for (i, command) in commands.iter().enumerate() {
        let request = oqto_api::mux::AgentRequest {
            session_id: "k".into(),
            id: Some(format!("q{i}")),
            command: command.clone(),
        };
        let frame = ClientFrame::Agent(request);
        ws.send(Message::Text(serde_json::to_string(&frame).unwrap().into())).await.unwrap();
    }
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < commands.len() + 1 {
        let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout_at(deadline, ws.next()).await else {
            panic!("missing responses: {seen:?}")
        };
        let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
        if v["event"] == "response" {
            *seen.entry(v["id"].as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    // Let any duplicate arrive before checking.
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(100), ws.next()).await
    {
        let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
        if v["event"] == "response" {
            *seen.entry(v["id"].as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    let state = mux.command("k", AgentCommand::GetState).await.unwrap();
    assert_eq!(state.data.unwrap()["model"]["id"], "echo-2");
}

#[tokio::test]
async fn idle_workspace_sessions_stop() {
    let server =
        TestServer::start_with(Options::default().env("OQTO_SESSIONS__IDLE_TIMEOUT_SECS", "1")).await;
    let (client, _) = server.user_client("sleepy").await;
    let session = server.open_workspace(&client, "w").await;
    let mut status = session.status;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = client
            .session_view()
            .session_id(session.id.to_string())
            .send()
            .await
            .unwrap()
            .into_inner()
            .status;
        if status == oqto_client::types::SessionStatus::Stopped {
            break;
        }
    }
    assert_eq!(status, oqto_client::types::SessionStatus::Stopped);
}

/// The stand-in agent started with `--linger` (it outlives a closed stdin).
fn lingering(options: Options) -> Options {
    let linger = format!(
        "{}]",
        oqto_tests::standin_agent_command().trim_end_matches(']').to_string() + ", '--linger'"
    );
    options.env("OQTO_AGENT__COMMAND", &linger)
}

#[tokio::test]
async fn agents_orphaned_by_a_crash_are_killed_at_the_next_start() {
    let options = lingering(Options::default().env("OQTO_SANDBOX__MODE", "off"));
    let mut server = TestServer::start_with(options.clone()).await;
    let (_, mut mux, _) = user_mux(&server, "crashy").await;
    assert!(mux.command("o", create(".")).await.unwrap().success);
    // A full turn first: the agent has written all it writes on its own (a
    // write after the crash would end it with SIGPIPE before any cleanup).
    assert!(mux.command("o", prompt("hello")).await.unwrap().success);
    events_until(&mut mux, "o", is_idle).await;
    let chat_dir = server.data_dir.path().join("users");
    assert_eq!(oqto_tests::processes_appearing(&chat_dir.to_string_lossy(), 1).await.len(), 1);
    server.restart_with(options).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !oqto_tests::processes_mentioning(&chat_dir.to_string_lossy()).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the orphan survived the restart");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while !server.log().contains("killed a process left by an earlier run") {
        assert!(std::time::Instant::now() < deadline, "the kill is logged:\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The admin's cleanup finds nothing left, and kills nothing alive.
    let (_, mux, _) = user_mux(&server, "alive").await;
    assert!(mux.command("a", create(".")).await.unwrap().success);
    oqto_tests::processes_appearing(&chat_dir.to_string_lossy(), 1).await;
    let admin = server.admin_client().await;
    let report = admin.admin_local_cleanup().send().await.unwrap().into_inner();
    assert!(report.killed.is_empty(), "{report:?}");
    assert_eq!(oqto_tests::processes_mentioning(&chat_dir.to_string_lossy()).len(), 1);
}

#[tokio::test]
async fn a_sandboxed_agent_dies_with_a_crashed_server() {
    let options = lingering(Options::default());
    let mut server = TestServer::start_with(options.clone()).await;
    let (_, mux, _) = user_mux(&server, "crashy").await;
    assert!(mux.command("o", create(".")).await.unwrap().success);
    let chat_dir = server.data_dir.path().join("users");
    assert!(!oqto_tests::processes_appearing(&chat_dir.to_string_lossy(), 1).await.is_empty());
    server.restart_with(options).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !oqto_tests::processes_mentioning(&chat_dir.to_string_lossy()).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the agent outlived the server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Live sandboxes are never taken for orphans.
    let (_, mux, _) = user_mux(&server, "alive").await;
    assert!(mux.command("a", create(".")).await.unwrap().success);
    // The sandbox's three processes: bubblewrap outside, bubblewrap inside, the agent.
    let running = oqto_tests::processes_appearing(&chat_dir.to_string_lossy(), 3).await;
    let admin = server.admin_client().await;
    let report = admin.admin_local_cleanup().send().await.unwrap().into_inner();
    assert!(report.killed.is_empty(), "{report:?}");
    let after = oqto_tests::processes_mentioning(&chat_dir.to_string_lossy());
    assert!(running.iter().all(|pid| after.contains(pid)), "{running:?} -> {after:?}");
}

#[tokio::test]
async fn browsers_open_the_mux_with_a_single_use_ticket() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("browser").await;
    let ticket = client.mux_ticket_create().send().await.unwrap().into_inner();
    let url = format!("{}/api/ws/mux?token={}", server.url.replace("http://", "ws://"), ticket.ticket);
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("the ticket opens the mux");
    let Some(Ok(Message::Text(first))) = ws.next().await else { panic!("no connected frame") };
    assert!(first.as_str().contains("connected"));
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("a used ticket must be refused, got {other:?}"),
    }
    // A ticket is no API token.
    let fresh = client.mux_ticket_create().send().await.unwrap().into_inner();
    assert_eq!(oqto_tests::status(server.client(&fresh.ticket).me_view().send().await), 401);
    assert_eq!(oqto_tests::status(server.anonymous().mux_ticket_create().send().await), 401);
}

/// Opens the mux with a hand-made upgrade request (cookie, origin, query).
async fn upgrade(
    server: &TestServer,
    query: &str,
    headers: &[(&str, &str)],
) -> Result<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>, u16>
{
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}/api/ws/mux{query}", server.url.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("upgrade failed: {e}"),
    }
}

#[tokio::test]
async fn a_cookie_opens_the_mux_only_from_the_servers_own_origin() {
    let server = TestServer::start_with(
        Options::default().env("OQTO_SERVER__ALLOWED_ORIGINS", "['https://app.example.org']"),
    )
    .await;
    server.user_client("origin").await;
    let token = server.login("origin", TEST_PASSWORD).await;
    let cookie = format!("auth_token={token}");
    let own = server.url.clone();
    assert!(upgrade(&server, "", &[("cookie", &cookie), ("origin", &own)]).await.is_ok());
    assert!(
        upgrade(&server, "", &[("cookie", &cookie), ("origin", "https://app.example.org")]).await.is_ok()
    );
    assert!(upgrade(&server, "", &[("cookie", &cookie)]).await.is_ok(), "no Origin: not a browser");
    let foreign = [("cookie", cookie.as_str()), ("origin", "https://evil.example")];
    assert_eq!(upgrade(&server, "", &foreign).await.err(), Some(403));
    // Credentials another site cannot know are not affected.
    let bearer = format!("Bearer {token}");
    assert!(
        upgrade(&server, "", &[("authorization", &bearer), ("origin", "https://evil.example")]).await.is_ok()
    );
}

#[tokio::test]
async fn the_debug_view_shows_chat_ids_to_admins_only_and_tokens_never_reach_the_log() {
    let server = TestServer::start().await;
    let (_, mux, token) = user_mux(&server, "dbg").await;
    assert!(mux.command("secret-chat", create(".")).await.unwrap().success);
    let _by_query = upgrade(&server, &format!("?token={token}"), &[]).await.unwrap();
    let anonymous = server.anonymous().mux_debug_view().send().await.unwrap().into_inner();
    assert!(anonymous.connections >= 1);
    assert!(anonymous.details.is_empty(), "{anonymous:?}");
    let user = server.client(&token).mux_debug_view().send().await.unwrap().into_inner();
    assert!(user.details.is_empty(), "{user:?}");
    let admin = server.admin_client().await.mux_debug_view().send().await.unwrap().into_inner();
    assert!(admin.details.iter().any(|c| c.subscriptions.contains(&"secret-chat".to_string())), "{admin:?}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !server.log().contains("token=REDACTED") {
        assert!(std::time::Instant::now() < deadline, "the upgrade is logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = server.log();
    assert!(!log.contains(&token), "a token reached the log");
}

#[tokio::test]
async fn sigterm_ends_agents_and_terminals_and_exits_cleanly() {
    let mut server = TestServer::start().await;
    let (_, mux, _) = user_mux(&server, "term").await;
    assert!(mux.command("t", create(".")).await.unwrap().success);
    let open = oqto_api::mux::TerminalCommand::Open {
        terminal_id: Some("sh".into()),
        workspace_path: None,
        session_id: None,
        cols: 80,
        rows: 24,
    };
    mux.send(ClientFrame::Terminal(oqto_api::mux::TerminalRequest { id: None, command: open }));
    let users = server.data_dir.path().join("users");
    let started = oqto_tests::processes_appearing(&users.to_string_lossy(), 2).await;
    assert!(started.len() >= 2, "the agent and the shell did not start");
    let status = server.terminate(Duration::from_secs(10)).expect("the server exits within its grace time");
    assert!(status.success(), "{status:?}");
    assert!(
        oqto_tests::processes_mentioning(&users.to_string_lossy()).is_empty(),
        "something outlived the server"
    );
}
