//! Delegation: a chat's agent starts a real child chat with its own token,
//! the chat's viewers follow it as `delegate.*` events, the delegate's
//! messages are its real history, a delegate may delegate up to the depth
//! limit, running delegates are bounded, other users see nothing, and only
//! a caller on this machine is answered, whatever the headers say.

use std::time::Duration;

use oqto_api::mux::{AgentCommand, AgentEvent, ChatConfig, ServerFrame};
use oqto_client::mux::{MuxClient, MuxEvent};
use oqto_client::{Client, types};
use oqto_tests::{Options, TEST_PASSWORD, TestServer, answer_of, error_body, status, token_in};

fn start(directory: &str, prompt: &str) -> types::DelegateStart {
    types::DelegateStart { directory: directory.into(), prompt: prompt.into(), agent: None }
}

/// Polls the delegate's status until it is `wanted` (at most 20 s).
async fn until_status(client: &Client, id: &str, wanted: types::DelegateState) -> types::DelegateStatus {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let now = client.delegate_status().session_id(id).send().await.unwrap().into_inner();
        if now.status == wanted {
            return now;
        }
        assert!(tokio::time::Instant::now() < deadline, "the delegate stayed {:?}", now.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `delegate.*` events of `chat` until `delegate.end` or `delegate.error`.
async fn round(mux: &mut MuxClient, chat: &str) -> Vec<AgentEvent> {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, mux.next()).await.expect("the delegate's events") {
            Some(MuxEvent::Frame(ServerFrame::Agent(frame))) if frame.session_id == chat => {
                let last =
                    matches!(frame.event, AgentEvent::DelegateEnd { .. } | AgentEvent::DelegateError { .. });
                if matches!(
                    frame.event,
                    AgentEvent::DelegateStart { .. }
                        | AgentEvent::DelegateDelta { .. }
                        | AgentEvent::DelegateEnd { .. }
                        | AgentEvent::DelegateError { .. }
                ) {
                    events.push(frame.event);
                }
                if last {
                    return events;
                }
            }
            Some(MuxEvent::Closed { reason, .. }) => panic!("closed: {reason}"),
            Some(_) => {}
            None => panic!("the mux ended"),
        }
    }
}

/// The text of a delegate's latest assistant message.
async fn last_answer(client: &Client, id: &str) -> String {
    let messages = client.delegate_messages().session_id(id).limit(1).send().await.unwrap().into_inner();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].role, "assistant");
    messages[0].content.clone()
}

#[tokio::test]
async fn a_chats_agent_delegates_and_its_viewers_follow() {
    let options = Options::default()
        .env("OQTO_AGENT__DELEGATE_MAX_DEPTH", "2")
        .env("OQTO_AGENT__DELEGATE_MAX_RUNNING", "3");
    let server = TestServer::start_with(options).await;
    let (user, _) = server.user_client("ada").await;
    let token = server.login("ada", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    let config = ChatConfig { cwd: Some("proj".into()), ..Default::default() };
    assert!(
        mux.command("parent", AgentCommand::SessionCreate { config, last_seq: None }).await.unwrap().success
    );
    let agent = oqto_client::client_with_token(
        &server.url,
        Some(&token_in(&answer_of(&mut mux, "parent", oqto_tests::PRINT_AGENT_ENV).await)),
    )
    .unwrap();

    // The chat's agent starts a delegate in a directory beside its own.
    let child =
        agent.delegate_start().body(start("sub", "hello delegate")).send().await.unwrap().into_inner();
    assert!(child.id.starts_with("dlg-"), "{child:?}");
    assert_eq!((child.parent_session_id.as_deref(), child.depth), (Some("parent"), 1));
    assert_eq!((child.source.as_str(), child.workspace_path.as_str()), ("chat", "proj/sub"));
    let events = round(&mut mux, "parent").await;
    let AgentEvent::DelegateStart { request_id, target_session_id, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(target_session_id, &child.id);
    let streamed: String = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::DelegateDelta { request_id: r, delta } if r == request_id => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    let Some(AgentEvent::DelegateEnd { request_id: ended, response, responder, .. }) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!((ended, response.content.as_str()), (request_id, "You said: hello delegate"));
    assert_eq!(streamed, response.content);
    assert_eq!(responder.session_id, child.id);

    // Its messages are its real history; it is also a chat of the user's.
    until_status(&agent, &child.id, types::DelegateState::Idle).await;
    let messages = agent.delegate_messages().session_id(&child.id).send().await.unwrap().into_inner();
    let said: Vec<_> = messages.iter().map(|m| (m.role.as_str(), m.content.as_str())).collect();
    assert_eq!(said, [("user", "hello delegate"), ("assistant", "You said: hello delegate")]);
    assert!(user.chat_history_view().session_id(&child.id).send().await.is_ok());

    // Another prompt is a new round.
    agent
        .delegate_prompt()
        .session_id(&child.id)
        .body(types::DelegatePrompt { prompt: "again".into() })
        .send()
        .await
        .unwrap();
    let events = round(&mut mux, "parent").await;
    assert!(matches!(&events[0], AgentEvent::DelegateStart { request_id, .. } if request_id.ends_with(":2")));
    assert!(
        matches!(events.last(), Some(AgentEvent::DelegateEnd { response, .. }) if response.content == "You said: again")
    );

    // A delegate may delegate, up to the depth limit (2 here).
    let print = types::DelegatePrompt { prompt: oqto_tests::PRINT_AGENT_ENV.into() };
    agent.delegate_prompt().session_id(&child.id).body(print.clone()).send().await.unwrap();
    round(&mut mux, "parent").await;
    until_status(&agent, &child.id, types::DelegateState::Idle).await;
    let child_agent =
        oqto_client::client_with_token(&server.url, Some(&token_in(&last_answer(&agent, &child.id).await)))
            .unwrap();
    let grandchild =
        child_agent.delegate_start().body(start(".", "deeper")).send().await.unwrap().into_inner();
    assert_eq!((grandchild.depth, grandchild.parent_session_id.as_deref()), (2, Some(child.id.as_str())));
    assert_eq!(grandchild.workspace_path, "proj/sub");
    until_status(&agent, &grandchild.id, types::DelegateState::Idle).await;
    child_agent.delegate_prompt().session_id(&grandchild.id).body(print).send().await.unwrap();
    until_status(&agent, &grandchild.id, types::DelegateState::Idle).await;
    let deepest = oqto_client::client_with_token(
        &server.url,
        Some(&token_in(&last_answer(&agent, &grandchild.id).await)),
    )
    .unwrap();
    let refused = deepest.delegate_start().body(start(".", "too deep")).send().await;
    assert_eq!(status(refused), 403);

    // A chat's token lists its own children; the user's lists them all.
    let listed = |list: Vec<types::DelegateStatus>| list.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(listed(agent.delegate_list().send().await.unwrap().into_inner()), [child.id.as_str()]);
    assert_eq!(
        listed(user.delegate_list().send().await.unwrap().into_inner()),
        [grandchild.id.clone(), child.id.clone()]
    );

    // Running delegates are bounded (3 here): the user's own is the third.
    let third = user.delegate_start().body(start("third", "hi")).send().await.unwrap().into_inner();
    assert_eq!((third.source.as_str(), third.parent_session_id.as_deref(), third.depth), ("user", None, 1));
    let (code, refused) = error_body(user.delegate_start().body(start("fourth", "hi")).send().await);
    assert_eq!(code, 429);
    assert!(refused.message.contains("agent.delegate_max_running"), "{}", refused.message);

    // Stopping one makes room; a prompt in progress ends as cancelled.
    agent
        .delegate_prompt()
        .session_id(&child.id)
        .body(types::DelegatePrompt { prompt: "/slow a b c d e f g h i j k l m n o p".into() })
        .send()
        .await
        .unwrap();
    let stopped = agent.delegate_stop().session_id(&child.id).send().await.unwrap().into_inner();
    assert_eq!((stopped.session_id.as_str(), stopped.status.as_str()), (child.id.as_str(), "stopped"));
    let events = round(&mut mux, "parent").await;
    assert!(
        matches!(
            events.last(),
            Some(AgentEvent::DelegateError { code: oqto_api::delegate::DelegateErrorCode::Cancelled, .. })
        ),
        "{events:?}"
    );
    until_status(&agent, &child.id, types::DelegateState::Stopped).await;
    assert!(user.delegate_start().body(start("fourth", "hi")).send().await.is_ok());

    // Bad input.
    assert_eq!(status(agent.delegate_start().body(start("x", "  ")).send().await), 400);
    assert_eq!(status(agent.delegate_start().body(start("/etc", "hi")).send().await), 422);
    let other = types::DelegateStart { agent: Some("codex".into()), ..start("x", "hi") };
    assert_eq!(status(agent.delegate_start().body(other).send().await), 422);
    assert_eq!(status(agent.delegate_status().session_id("dlg-nope").send().await), 404);

    // Another user sees none of it.
    let (mallory, _) = server.user_client("mallory").await;
    assert_eq!(status(mallory.delegate_status().session_id(&child.id).send().await), 404);
    assert_eq!(status(mallory.delegate_messages().session_id(&child.id).send().await), 404);
    assert_eq!(status(mallory.delegate_stop().session_id(&child.id).send().await), 404);
    let prompt = types::DelegatePrompt { prompt: "hi".into() };
    assert_eq!(status(mallory.delegate_prompt().session_id(&child.id).body(prompt).send().await), 404);
    assert!(mallory.delegate_list().send().await.unwrap().into_inner().is_empty());

    // Anonymous callers on this machine: 401.
    assert_eq!(status(server.anonymous().delegate_list().send().await), 401);
}

/// This machine's address on its default route (never loopback).
fn outside_address() -> std::net::IpAddr {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    // No packet is sent: connecting a UDP socket only picks the route.
    socket.connect("192.0.2.1:9").expect("this machine needs a non-loopback route for this test");
    let ip = socket.local_addr().unwrap().ip();
    assert!(!ip.is_loopback() && !ip.is_unspecified(), "no non-loopback address: {ip}");
    ip
}

#[tokio::test]
async fn delegation_refuses_another_machine_whatever_the_headers_say() {
    let options = Options { bind: Some(format!("{}:0", outside_address())), ..Default::default() };
    let server = TestServer::start_with(options).await;
    assert!(!server.url.contains("127.0.0.1"), "{}", server.url);
    let token = server.login("admin", &server.admin_password).await;
    let client = server.client(&token);
    // The rest of the API answers…
    assert!(client.me_view().send().await.is_ok());
    // …delegation does not, however the request claims to be local.
    let http = reqwest::Client::new();
    for (header, value) in [
        ("x-forwarded-for", "127.0.0.1"),
        ("forwarded", "for=127.0.0.1"),
        ("x-real-ip", "127.0.0.1"),
        ("host", "127.0.0.1"),
    ] {
        let reply = http
            .get(format!("{}/api/delegate/sessions", server.url))
            .bearer_auth(&token)
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 403, "with {header}: {value}");
        let body: serde_json::Value = reply.json().await.unwrap();
        assert_eq!(body["error_code"], "Forbidden");
    }
    let refused = client.delegate_start().body(start(".", "hi")).send().await;
    assert_eq!(status(refused), 403);
    assert_eq!(status(server.anonymous().delegate_list().send().await), 403, "refused before authentication");
}

#[tokio::test]
async fn oqtoctl_delegates() {
    let server = TestServer::start().await;
    server.user_client("cli").await;
    let token = server.login("cli", TEST_PASSWORD).await;
    let run = |args: &[&str]| {
        let out =
            server.oqtoctl().args(["-o", "json"]).args(args).env("OQTO_TOKEN", &token).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let started = run(&["delegate", "start", "work", "hello"]);
    let id = started["id"].as_str().unwrap().to_string();
    assert_eq!(started["workspace_path"], "work");
    let client = server.client(&token);
    until_status(&client, &id, types::DelegateState::Idle).await;
    assert_eq!(run(&["delegate", "status", &id])["status"], "idle");
    let messages = run(&["delegate", "messages", &id, "--limit", "1"]);
    assert_eq!(messages[0]["content"], "You said: hello");
    assert_eq!(run(&["delegate", "prompt", &id, "more"])["id"], id.as_str());
    until_status(&client, &id, types::DelegateState::Idle).await;
    assert_eq!(run(&["delegate", "list"])[0]["id"], id.as_str());
    assert_eq!(run(&["delegate", "stop", &id])["status"], "stopped");
}

/// The stand-in agent itself, in its sandbox, calls the API with its own
/// token through `OQTO_SOCKET`: it delegates, shows a surface, and is
/// refused on an administrator's route even in an administrator's chat.
#[tokio::test]
async fn the_agent_itself_delegates_and_shows_a_surface() {
    let server = TestServer::start().await;
    let token = server.login("admin", &server.admin_password).await;
    let mut mux = server.mux(&token).await;
    let config = ChatConfig { cwd: Some("proj".into()), ..Default::default() };
    assert!(
        mux.command("boss", AgentCommand::SessionCreate { config, last_seq: None }).await.unwrap().success
    );
    let call = |method: &str, path: &str, body: &str| {
        format!(
            "curl -s -o /dev/null -w '{path}=%{{http_code}} ' --unix-socket \"$OQTO_SOCKET\" -X {method} \
             -H \"Authorization: Bearer $OQTO_TOKEN\" -H 'content-type: application/json' \
             -d '{body}' http://oqto{path}"
        )
    };
    let script = [
        call("POST", "/api/delegate/start", r#"{"directory":"helper","prompt":"from the agent"}"#),
        call(
            "POST",
            "/api/a2ui/surface",
            r#"{"session_id":"boss","surface_id":"s1","messages":[{"beginRendering":{"surfaceId":"s1","root":"r"}}],"blocking":false}"#,
        ),
        call("GET", "/api/admin/users", ""),
    ]
    .join("; ");
    let answer = answer_of(&mut mux, "boss", &format!("/sh {script}")).await;
    assert!(answer.contains("/api/delegate/start=201"), "{answer}");
    assert!(answer.contains("/api/a2ui/surface=200"), "{answer}");
    assert!(answer.contains("/api/admin/users=403"), "{answer}");
    let listed = server.client(&token).delegate_list().send().await.unwrap().into_inner();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].parent_session_id.as_deref(), listed[0].workspace_path.as_str()),
        (Some("boss"), "proj/helper")
    );
    // The chat's viewers see both: a viewer replaying the chat's stream
    // from its start, then following it.
    let mut mux = server.mux(&token).await;
    let replay = AgentCommand::SessionCreate { config: ChatConfig::default(), last_seq: Some(0) };
    assert!(mux.command("boss", replay).await.unwrap().success);
    let mut saw_surface = false;
    let mut saw_end = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !(saw_surface && saw_end) {
        match tokio::time::timeout_at(deadline, mux.next()).await.expect("the surface and the delegate's end")
        {
            Some(MuxEvent::Frame(ServerFrame::Agent(frame))) if frame.session_id == "boss" => {
                match frame.event {
                    AgentEvent::A2uiSurface { surface_id, .. } => saw_surface |= surface_id == "s1",
                    AgentEvent::DelegateEnd { response, .. } => {
                        assert_eq!(response.content, "You said: from the agent");
                        saw_end = true;
                    }
                    _ => {}
                }
            }
            Some(_) => {}
            None => panic!("the mux ended"),
        }
    }
}
