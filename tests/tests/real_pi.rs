//! The real Pi coding agent, driven through Oqto, against a scripted
//! OpenAI-compatible model server on loopback: a prompt, a tool call that
//! Pi really runs (bash), and a streamed answer.
//!
//! Pi is found at `OQTO_PI_BIN` or `target/pi/node_modules/.bin/pi`
//! (`.ci/run` installs it with npm). Without it the test says so loudly and
//! passes, except under CI, where it fails.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use oqto_api::mux::{AgentCommand, AgentEvent, ChatConfig, PromptBody, ServerFrame};
use oqto_client::mux::MuxEvent;
use oqto_client::types;
use oqto_tests::{Options, TEST_PASSWORD, TestServer};
use serde_json::{Value, json};

const MARKER: &str = "oqto-real-pi";
/// The key of the loopback provider; only the model server may see it.
const PROVIDER_KEY: &str = "sk-loopback-provider-key-0123456789";

fn pi_binary() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("OQTO_PI_BIN") {
        return Some(PathBuf::from(path));
    }
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/pi/node_modules/.bin/pi"));
    path.exists().then_some(path)
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    let body = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "scripted",
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
    });
    format!("data: {body}\n\n")
}

/// The scripted model: asks for a bash tool call first, answers in text
/// once the tool result is in the conversation.
fn completion(request: &Value) -> String {
    let has_tool_result =
        request["messages"].as_array().is_some_and(|m| m.iter().any(|m| m["role"] == "tool"));
    let mut out = String::new();
    if has_tool_result {
        out.push_str(&chunk(json!({ "role": "assistant", "content": "The command printed " }), None));
        out.push_str(&chunk(json!({ "content": format!("{MARKER}.") }), None));
        out.push_str(&chunk(json!({}), Some("stop")));
    } else {
        let call = json!({ "index": 0, "id": "call_1", "type": "function", "function": { "name": "bash", "arguments": "" } });
        out.push_str(&chunk(json!({ "role": "assistant", "content": null, "tool_calls": [call] }), None));
        let args = json!({ "command": format!("echo {MARKER}") }).to_string();
        out.push_str(&chunk(
            json!({ "tool_calls": [{ "index": 0, "function": { "arguments": args } }] }),
            None,
        ));
        out.push_str(&chunk(json!({}), Some("tool_calls")));
    }
    out.push_str("data: [DONE]\n\n");
    out
}

/// The `Authorization` headers the model server saw.
type Seen = Arc<std::sync::Mutex<Vec<String>>>;

/// Starts the scripted model server; returns its base URL, a request
/// counter and the credentials it was sent.
async fn model_server() -> (String, Arc<AtomicUsize>, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let served = Arc::clone(&count);
    let seen: Seen = Arc::default();
    let saw = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let served = Arc::clone(&served);
            let saw = Arc::clone(&saw);
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let served = Arc::clone(&served);
                    let saw = Arc::clone(&saw);
                    async move {
                        let path = req.uri().path().to_string();
                        if let Some(auth) = req.headers().get("authorization").and_then(|v| v.to_str().ok()) {
                            saw.lock().unwrap().push(auth.to_string());
                        }
                        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let (status, content_type, text) = if path.ends_with("/chat/completions") {
                            served.fetch_add(1, Ordering::SeqCst);
                            (200, "text/event-stream", completion(&request))
                        } else {
                            (404, "application/json", "{}".to_string())
                        };
                        let mut response = Response::new(Full::new(Bytes::from(text)));
                        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        response.headers_mut().insert("content-type", content_type.parse().unwrap());
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (url, count, seen)
}

#[tokio::test]
async fn the_real_pi_agent_runs_a_tool_and_streams_its_answer() {
    let Some(pi) = pi_binary() else {
        assert!(std::env::var("CI").is_err(), "CI must run the real Pi test: install it with `.ci/run`");
        eprintln!(
            "\n!!! SKIPPED the real Pi test: no `pi` (set OQTO_PI_BIN or run `.ci/run` to install it)\n"
        );
        return;
    };
    let (base_url, requests, credentials) = model_server().await;
    let command = format!("['{}', '--mode', 'rpc', '--offline']", pi.display());
    let server = TestServer::start_with(Options::default().env("OQTO_AGENT__COMMAND", &command)).await;
    let (client, user) = server.user_client("pia").await;
    // The model comes from a provider the server holds the key of: the
    // agent's models.json names the server's model proxy and the user's
    // proxy token, never the key.
    let admin = server.admin_client().await;
    let provider: types::ProviderCreate = serde_json::from_value(json!({
        "name": "loopback",
        "type": "openai-compatible",
        "api_key": PROVIDER_KEY,
        "base_url": base_url,
        "models": [{ "id": "scripted", "name": "Scripted", "context_window": 32000, "max_tokens": 4096 }],
    }))
    .unwrap();
    admin.eavs_provider_upsert().body(provider).send().await.unwrap();
    let agent_dir = server.data_dir.path().join("users").join(user.id.to_string()).join("agent");
    let models = std::fs::read_to_string(agent_dir.join("models.json")).unwrap();
    assert!(!models.contains(PROVIDER_KEY), "the provider's key reached the agent: {models}");

    let token = server.login("pia", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    let config = ChatConfig {
        cwd: Some("repo".into()),
        provider: Some("loopback".into()),
        model: Some("scripted".into()),
        ..Default::default()
    };
    let created =
        mux.command("pi-chat", AgentCommand::SessionCreate { config, last_seq: None }).await.unwrap();
    assert!(created.success, "{:?}\n{}", created.error, server.log());
    let state = mux.command("pi-chat", AgentCommand::GetState).await.unwrap();
    assert!(state.success, "{:?}\n{}", state.error, server.log());
    assert_eq!(state.data.as_ref().unwrap()["model"]["id"], "scripted", "{state:?}");

    let body = PromptBody { message: "Run the marker command.".into(), images: None, client_id: None };
    let accepted = mux.command("pi-chat", AgentCommand::Prompt(body)).await.unwrap();
    assert!(accepted.success, "{:?}", accepted.error);
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        match tokio::time::timeout_at(deadline, mux.next()).await {
            Ok(Some(MuxEvent::Frame(ServerFrame::Agent(frame)))) if frame.session_id == "pi-chat" => {
                let idle = matches!(frame.event, AgentEvent::AgentIdle);
                events.push(frame.event);
                if idle {
                    break;
                }
            }
            Ok(Some(_)) => {}
            other => panic!("no agent.idle: {other:?}\nevents: {events:?}\nserver log:\n{}", server.log()),
        }
    }
    let tool_output = events
        .iter()
        .find_map(|e| match e {
            AgentEvent::ToolEnd { name, output, is_error: false, .. } if name == "bash" => {
                Some(output.to_string())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no successful bash tool.end in {events:?}"));
    assert!(tool_output.contains(MARKER), "{tool_output}");
    assert!(events.iter().any(|e| matches!(e, AgentEvent::ToolStart { name, .. } if name == "bash")));
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::TextDelta { delta, .. } => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, format!("The command printed {MARKER}."));
    assert_eq!(requests.load(Ordering::SeqCst), 2, "one completion for the tool call, one for the answer");
    let sent = credentials.lock().unwrap().clone();
    assert_eq!(sent, vec![format!("Bearer {PROVIDER_KEY}"); 2], "the proxy adds the provider's key");

    let messages = mux.command("pi-chat", AgentCommand::GetMessages).await.unwrap();
    assert!(messages.data.unwrap()["messages"].as_array().unwrap().len() >= 4);
    // Pi wrote its session file where Oqto told it to.
    let chat_dir =
        server.data_dir.path().join("users").join(user.id.to_string()).join("chats").join("pi-chat");
    let files: Vec<_> = std::fs::read_dir(&chat_dir).unwrap().flatten().collect();
    assert!(files.iter().any(|f| f.path().extension().is_some_and(|x| x == "jsonl")), "{files:?}");

    // The history of Pi's own session file, as soon as the agent is idle.
    let history = client.chat_history_message_list().session_id("pi-chat").send().await.unwrap().into_inner();
    let roles: Vec<&str> = history.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles.first(), Some(&"user"), "{history:?}");
    assert!(history.iter().any(|m| m.role == "assistant" && m.content.contains(MARKER)), "{history:?}");
    let entry = client.chat_history_view().session_id("pi-chat").send().await.unwrap().into_inner();
    assert_eq!(entry.title.as_deref(), Some("Run the marker command."));
    let hits = client.search().q(MARKER).send().await.unwrap().into_inner().hits;
    assert!(hits.iter().any(|h| h.session_id == "pi-chat"), "{hits:?}");
}
