//! The `terminal` mux channel: a real PTY in the workspace.

use std::time::Duration;

use base64::Engine;
use oqto_api::mux::{ClientFrame, ServerFrame, TerminalCommand, TerminalEvent, TerminalRequest};
use oqto_client::mux::{MuxClient, MuxEvent};
use oqto_tests::{TEST_PASSWORD, TestServer};

fn send(mux: &MuxClient, command: TerminalCommand) {
    mux.send(ClientFrame::Terminal(TerminalRequest { id: Some("t".into()), command }));
}

/// Collects terminal output until `needle` shows up (or an exit/error).
async fn until(mux: &mut MuxClient, needle: &str) -> (String, Option<TerminalEvent>) {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match tokio::time::timeout_at(deadline, mux.next())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in {text:?}"))
        {
            Some(MuxEvent::Frame(ServerFrame::Terminal(TerminalEvent::Output { data_base64, .. }))) => {
                let bytes = base64::engine::general_purpose::STANDARD.decode(data_base64).unwrap();
                text.push_str(&String::from_utf8_lossy(&bytes));
                if text.contains(needle) {
                    return (text, None);
                }
            }
            Some(MuxEvent::Frame(ServerFrame::Terminal(other))) => {
                if matches!(other, TerminalEvent::Opened { .. }) && needle == "opened" {
                    return (text, Some(other));
                }
                if !matches!(other, TerminalEvent::Opened { .. }) {
                    return (text, Some(other));
                }
            }
            Some(_) => {}
            None => panic!("ended"),
        }
    }
}

#[tokio::test]
async fn a_pty_echoes_resizes_and_closes() {
    let server = TestServer::start().await;
    server.user_client("tty").await;
    let token = server.login("tty", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    let open = TerminalCommand::Open {
        terminal_id: Some("t1".into()),
        workspace_path: Some("shell".into()),
        session_id: None,
        cols: 80,
        rows: 24,
    };
    send(&mux, open);
    let (_, opened) = until(&mut mux, "opened").await;
    assert!(matches!(opened, Some(TerminalEvent::Opened { .. })), "{opened:?}");
    send(&mux, TerminalCommand::Input { terminal_id: "t1".into(), data: "echo hi-$((40+2)); pwd\n".into() });
    let (text, _) = until(&mut mux, "hi-42").await;
    assert!(text.contains("hi-42"), "{text}");
    send(&mux, TerminalCommand::Resize { terminal_id: "t1".into(), cols: 100, rows: 30 });
    send(&mux, TerminalCommand::Input { terminal_id: "t1".into(), data: "stty size\n".into() });
    until(&mut mux, "30 100").await;
    send(&mux, TerminalCommand::Input { terminal_id: "t1".into(), data: "exit\n".into() });
    let (_, end) = until(&mut mux, "\u{0}never").await;
    assert!(matches!(end, Some(TerminalEvent::Exit { .. })), "{end:?}");
    send(&mux, TerminalCommand::Input { terminal_id: "t1".into(), data: "x".into() });
    let (_, error) = until(&mut mux, "\u{0}never").await;
    assert!(matches!(error, Some(TerminalEvent::Error { .. })), "{error:?}");
    let escape = TerminalCommand::Open {
        terminal_id: None,
        workspace_path: Some("../..".into()),
        session_id: None,
        cols: 80,
        rows: 24,
    };
    send(&mux, escape);
    let (_, refused) = until(&mut mux, "\u{0}never").await;
    assert!(matches!(refused, Some(TerminalEvent::Error { .. })), "{refused:?}");
}

#[tokio::test]
async fn terminals_close_when_their_session_stops() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("tty2").await;
    let session = server.open_workspace(&client, "w").await;
    let token = server.login("tty2", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    let open = TerminalCommand::Open {
        terminal_id: Some("s1".into()),
        workspace_path: None,
        session_id: Some(session.readable_id.clone()),
        cols: 80,
        rows: 24,
    };
    send(&mux, open);
    until(&mut mux, "opened").await;
    send(&mux, TerminalCommand::Input { terminal_id: "s1".into(), data: "pwd\n".into() });
    let (text, _) = until(&mut mux, "/w").await;
    assert!(text.contains("/w"), "{text}");
    client.session_stop().session_id(session.id.to_string()).send().await.unwrap();
    let (_, end) = until(&mut mux, "\u{0}never").await;
    assert!(matches!(end, Some(TerminalEvent::Exit { .. })), "{end:?}");
}

/// A program that stops reading its input never stalls the server: input
/// queues up to a bound, then is refused with an error for that terminal.
#[tokio::test]
async fn a_terminal_that_stops_reading_never_stalls_the_server() {
    let server = TestServer::start().await;
    server.user_client("stuck").await;
    let token = server.login("stuck", TEST_PASSWORD).await;
    let mut muxes = Vec::new();
    for n in 0..3 {
        let mut mux = server.mux(&token).await;
        let open = TerminalCommand::Open {
            terminal_id: Some(format!("s{n}")),
            workspace_path: None,
            session_id: None,
            cols: 80,
            rows: 24,
        };
        send(&mux, open);
        until(&mut mux, "opened").await;
        send(
            &mux,
            TerminalCommand::Input { terminal_id: format!("s{n}"), data: "stty -icanon; sleep 300\n".into() },
        );
        let chunk = "x".repeat(16 * 1024);
        for _ in 0..200 {
            send(&mux, TerminalCommand::Input { terminal_id: format!("s{n}"), data: chunk.clone() });
        }
        muxes.push(mux);
    }
    let health = tokio::time::timeout(Duration::from_secs(5), server.anonymous().health_view().send()).await;
    assert!(health.expect("the server answers while terminals are stuck").is_ok());
    let (_, refused) = until(&mut muxes[0], "\u{0}never").await;
    match refused {
        Some(TerminalEvent::Error { error, error_code, .. }) => {
            assert!(error.contains("not reading"), "{error}");
            assert_eq!(error_code, "Conflict");
        }
        other => panic!("expected the input to be refused, got {other:?}"),
    }
}

/// Terminals are capped per user, over all of the user's connections.
#[tokio::test]
async fn terminals_are_capped_per_user() {
    let server = TestServer::start().await;
    server.user_client("many").await;
    let token = server.login("many", TEST_PASSWORD).await;
    let mut muxes = Vec::new();
    for n in 0..9 {
        let mut mux = server.mux(&token).await;
        let open = TerminalCommand::Open {
            terminal_id: Some(format!("m{n}")),
            workspace_path: None,
            session_id: None,
            cols: 80,
            rows: 24,
        };
        send(&mux, open);
        let (_, event) = until(&mut mux, "opened").await;
        if n < 8 {
            assert!(matches!(event, Some(TerminalEvent::Opened { .. })), "{n}: {event:?}");
        } else {
            assert!(
                matches!(event, Some(TerminalEvent::Error { .. })),
                "the ninth must be refused: {event:?}"
            );
        }
        muxes.push(mux);
    }
}
