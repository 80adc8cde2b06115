//! The trust boundary between users: what a user's terminal and a user's
//! agent can reach on a server with two accounts (nothing of the server,
//! nothing of the other user), a strict profile without network, and an
//! account that ends takes everything it runs with it.

use std::time::Duration;

use base64::Engine;
use oqto_api::mux::{
    AgentCommand, AgentEvent, ChatConfig, ClientFrame, PromptBody, ServerFrame, TerminalCommand,
    TerminalEvent, TerminalRequest,
};
use oqto_client::mux::{MuxClient, MuxEvent};
use oqto_client::types;
use oqto_tests::{Options, TEST_PASSWORD, TestServer};

/// The end of a script's output: computed, so the echo of the typed line
/// does not match it.
const DONE: &str = "__DONE__42";

/// Opens terminal `id` in `workspace`, types `script` and returns what it
/// printed until [`DONE`].
async fn in_terminal(mux: &mut MuxClient, id: &str, workspace: &str, script: &str) -> String {
    let open = TerminalCommand::Open {
        terminal_id: Some(id.into()),
        workspace_path: Some(workspace.into()),
        session_id: None,
        cols: 200,
        rows: 50,
    };
    mux.send(ClientFrame::Terminal(TerminalRequest { id: None, command: open }));
    let data = format!("{script}\necho __DONE__$((40+2))\n");
    mux.send(ClientFrame::Terminal(TerminalRequest {
        id: None,
        command: TerminalCommand::Input { terminal_id: id.into(), data },
    }));
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let event = tokio::time::timeout_at(deadline, mux.next()).await.unwrap_or_else(|_| panic!("{text}"));
        match event {
            Some(MuxEvent::Frame(ServerFrame::Terminal(TerminalEvent::Output { data_base64, .. }))) => {
                let bytes = base64::engine::general_purpose::STANDARD.decode(data_base64).unwrap();
                text.push_str(&String::from_utf8_lossy(&bytes));
                if text.contains(DONE) {
                    return text;
                }
            }
            Some(MuxEvent::Frame(ServerFrame::Terminal(TerminalEvent::Error { error, .. }))) => {
                panic!("terminal error: {error}")
            }
            Some(_) => {}
            None => panic!("the connection ended: {text}"),
        }
    }
}

/// Runs `script` through the stand-in agent's shell (`/sh`), in chat
/// `chat` in `workspace`; returns the agent's answer.
async fn in_agent(mux: &mut MuxClient, chat: &str, workspace: &str, script: &str) -> String {
    let config = ChatConfig { cwd: Some(workspace.into()), ..Default::default() };
    let created = mux.command(chat, AgentCommand::SessionCreate { config, last_seq: None }).await.unwrap();
    assert!(created.success, "{:?}", created.error);
    let prompt = PromptBody { message: format!("/sh {script}"), images: None, client_id: None };
    assert!(mux.command(chat, AgentCommand::Prompt(prompt)).await.unwrap().success);
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, mux.next()).await.expect("agent answer") {
            Some(MuxEvent::Frame(ServerFrame::Agent(frame))) if frame.session_id == chat => match frame.event
            {
                AgentEvent::TextDelta { delta, .. } => text.push_str(&delta),
                AgentEvent::AgentIdle => return text,
                _ => {}
            },
            Some(_) => {}
            None => panic!("the connection ended"),
        }
    }
}

struct Victim {
    workspace: std::path::PathBuf,
    models: std::path::PathBuf,
}

/// User A with a secret in the workspace and an API key in the agent's
/// `models.json`.
async fn victim(server: &TestServer) -> Victim {
    let (_, alice) = server.user_client("alice").await;
    let user_dir = server.data_dir.path().join("users").join(alice.id.to_string());
    let workspace = user_dir.join("workspace");
    std::fs::create_dir_all(&workspace).unwrap();
    std::fs::write(workspace.join("diary.txt"), "alice's secret").unwrap();
    std::fs::create_dir_all(user_dir.join("agent")).unwrap();
    let models = user_dir.join("agent/models.json");
    std::fs::write(&models, r#"{"providers":{"x":{"apiKey":"sk-alice"}}}"#).unwrap();
    Victim { workspace, models }
}

/// A shell script that tries each way out and prints `name=reachable` or
/// `name=refused` for each.
fn probes(server: &TestServer, victim: &Victim) -> String {
    let data = server.data_dir.path().display();
    let pid = server.pid();
    let config = server.config_home.path().display();
    let (ws, models) = (victim.workspace.display(), victim.models.display());
    format!(
        "t() {{ if sh -c \"$2\" >/dev/null 2>&1; then echo \"$1=reachable\"; else echo \"$1=refused\"; fi; }}; \
         t secret 'cat {data}/jwt-secret'; t database 'cat {data}/oqto.db'; t config 'ls {config}'; \
         t other_workspace 'cat {ws}/diary.txt'; t other_models 'cat {models}'; \
         t server_environ 'cat /proc/{pid}/environ'; t signal_server 'kill -0 {pid}'; \
         t write_data_dir 'touch {data}/planted && test -e {data}/oqto.db'; \
         t write_other_workspace 'touch {ws}/planted'; \
         t own_home 'touch $HOME/mine'; \
         echo server_env=$(env | grep -v -e '^OQTO_TOKEN=' -e '^OQTO_URL=' -e '^OQTO_SESSION_ID=' -e '^OQTO_SOCKET=' \
           | grep -c -e OQTO_ -e XDG_CONFIG_HOME -e canary-value)"
    )
}

fn assert_contained(output: &str) {
    for refused in [
        "secret",
        "database",
        "config",
        "other_workspace",
        "other_models",
        "server_environ",
        "signal_server",
        "write_data_dir",
        "write_other_workspace",
    ] {
        assert!(output.contains(&format!("{refused}=refused")), "{refused} must be refused:\n{output}");
    }
    assert!(output.contains("own_home=reachable"), "the user's own workspace must be writable:\n{output}");
    assert!(output.contains("server_env=0"), "the server's environment leaked:\n{output}");
}

async fn two_users() -> (TestServer, Victim, MuxClient) {
    let server = TestServer::start_with(Options::default().env("OQTO_TEST_CANARY", "canary-value")).await;
    let victim = victim(&server).await;
    server.user_client("bob").await;
    let token = server.login("bob", TEST_PASSWORD).await;
    let mux = server.mux(&token).await;
    (server, victim, mux)
}

#[tokio::test]
async fn a_terminal_reaches_nothing_of_the_server_or_of_another_user() {
    let (server, victim, mut mux) = two_users().await;
    let output = in_terminal(&mut mux, "t1", ".", &probes(&server, &victim)).await;
    assert_contained(&output);
    assert!(!server.data_dir.path().join("planted").exists());
    assert!(!victim.workspace.join("planted").exists());
}

#[tokio::test]
async fn an_agent_reaches_nothing_of_the_server_or_of_another_user() {
    let (server, victim, mut mux) = two_users().await;
    let output = in_agent(&mut mux, "probe", ".", &probes(&server, &victim)).await;
    assert!(output.starts_with("exit=0"), "{output}");
    assert_contained(&output);
    assert!(!server.data_dir.path().join("planted").exists());
    assert!(!victim.workspace.join("planted").exists());
}

#[tokio::test]
async fn a_strict_workspace_has_no_network() {
    let server = TestServer::start().await;
    let (client, carol) = server.user_client("carol").await;
    let root = server.data_dir.path().join("users").join(carol.id.to_string()).join("workspace");
    std::fs::create_dir_all(root.join("tight")).unwrap();
    let token = server.login("carol", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    let port = server.url.rsplit(':').next().unwrap().to_string();
    let probe = format!(
        "if (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; then echo net=open; else echo net=closed; fi"
    );
    let open = in_terminal(&mut mux, "t1", "loose", &probe).await;
    assert!(open.contains("net=open"), "the default profile has network:\n{open}");
    client
        .workspace_sandbox_update()
        .body(types::SandboxUpdate {
            workspace_path: "tight".into(),
            profile: Some("strict".into()),
            overrides: None,
        })
        .send()
        .await
        .unwrap();
    let closed = in_terminal(&mut mux, "t2", "tight", &probe).await;
    assert!(closed.contains("net=closed"), "a strict workspace must have no network:\n{closed}");

    // Its agent reaches the server all the same, through the API socket
    // bound into the sandbox, with its own token.
    let script = format!(
        "{probe}; echo socket=$OQTO_SOCKET; curl -s --unix-socket \"$OQTO_SOCKET\" \
         -H \"Authorization: Bearer $OQTO_TOKEN\" http://oqto/api/me"
    );
    let answer = in_agent(&mut mux, "tight-chat", "tight", &script).await;
    assert!(answer.contains("net=closed"), "{answer}");
    assert!(answer.contains("socket=/run/oqto/api.sock"), "{answer}");
    assert!(answer.contains(r#""username":"carol""#), "the agent must reach the API:\n{answer}");
    // The SDK speaks through it too (the peer is this machine).
    let socket = server.data_dir.path().join("run/api.sock");
    let over_socket = oqto_client::client_with("http://oqto", Some(&token), Some(&socket)).unwrap();
    assert_eq!(over_socket.me_view().send().await.unwrap().into_inner().username, "carol");
    assert!(over_socket.delegate_list().send().await.is_ok());
}

#[tokio::test]
async fn deactivation_ends_chats_shells_and_background_jobs_at_once() {
    let server = TestServer::start().await;
    let (_, dave) = server.user_client("dave").await;
    let token = server.login("dave", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    in_terminal(&mut mux, "t1", ".", "sleep 4242 & sleep 4343 &").await;
    in_agent(&mut mux, "chat", ".", "echo started").await;
    assert_eq!(oqto_tests::processes_appearing("sleep 4242", 1).await.len(), 1);
    assert_eq!(oqto_tests::processes_appearing("sleep 4343", 1).await.len(), 1);
    let chat_dir = server.data_dir.path().join("users").join(dave.id.to_string()).join("chats");
    assert!(!oqto_tests::processes_mentioning(&chat_dir.to_string_lossy()).is_empty());

    let admin = server.admin_client().await;
    let started = std::time::Instant::now();
    admin.user_deactivate().user_id(dave.id.to_string()).send().await.unwrap();
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(1), mux.next()).await.expect("the socket stays open") {
            Some(MuxEvent::Closed { code, .. }) => break code,
            Some(_) => {}
            None => break None,
        }
    };
    assert_eq!(closed, Some(oqto_api::mux::CLOSE_UNAUTHORIZED));
    while !oqto_tests::processes_mentioning("sleep 4242").is_empty()
        || !oqto_tests::processes_mentioning("sleep 4343").is_empty()
        || !oqto_tests::processes_mentioning(&chat_dir.to_string_lossy()).is_empty()
    {
        assert!(started.elapsed() < Duration::from_secs(1), "processes outlived the account");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_data_dir_and_the_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start().await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(server.data_dir.path()), 0o700);
    if oqto_tests::backend() == oqto_tests::Backend::Sqlite {
        assert_eq!(mode(&server.data_dir.path().join("oqto.db")), 0o600);
    }
    assert_eq!(mode(&server.data_dir.path().join("jwt-secret")), 0o600);
}
