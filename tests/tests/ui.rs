//! UI control: each request becomes a `ui.*` event on the caller's own
//! mux connections, never another user's; bodies are checked.

use std::time::Duration;

use oqto_api::mux::{ServerFrame, UiEvent};
use oqto_client::mux::{MuxClient, MuxEvent};
use oqto_client::types;
use oqto_tests::{TEST_PASSWORD, TestServer, status};

/// The next `ui` event on `mux`, within 10 s.
async fn next_ui(mux: &mut MuxClient) -> UiEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, mux.next()).await.expect("no ui event in time") {
            Some(MuxEvent::Frame(ServerFrame::Ui(event))) => return event,
            Some(MuxEvent::Closed { reason, .. }) => panic!("closed: {reason}"),
            None => panic!("ended"),
            _ => {}
        }
    }
}

async fn no_ui(mux: &mut MuxClient) {
    let until = tokio::time::Instant::now() + Duration::from_millis(500);
    while let Ok(Some(frame)) = tokio::time::timeout_at(until, mux.next()).await {
        if let MuxEvent::Frame(ServerFrame::Ui(event)) = frame {
            panic!("another user's client got {event:?}");
        }
    }
}

#[tokio::test]
async fn ui_events_reach_the_callers_own_clients_only() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("xena").await;
    let (_, _) = server.user_client("yuri").await;
    // No client open yet: valid, delivered nowhere.
    let body = types::UiNavigate { path: "/sessions".into(), replace: false };
    let none = client.ui_navigate().body(body.clone()).send().await.unwrap().into_inner();
    assert!(none.success && none.delivered == 0);

    let mut mine = server.mux(&server.login("xena", TEST_PASSWORD).await).await;
    let mut second = server.mux(&server.login("xena", TEST_PASSWORD).await).await;
    let mut theirs = server.mux(&server.login("yuri", TEST_PASSWORD).await).await;
    let sent = client.ui_navigate().body(body).send().await.unwrap().into_inner();
    assert_eq!(sent.delivered, 2);
    for mux in [&mut mine, &mut second] {
        let UiEvent::Navigate(navigate) = next_ui(mux).await else { panic!() };
        assert_eq!((navigate.path.as_str(), navigate.replace), ("/sessions", false));
    }
    no_ui(&mut theirs).await;

    // Each request, its event.
    let theme = types::UiTheme { theme: types::UiThemeName::Dark };
    client.ui_theme().body(theme).send().await.unwrap();
    assert!(
        matches!(next_ui(&mut mine).await, UiEvent::Theme(t) if t.theme == oqto_api::ui::UiThemeName::Dark)
    );
    client.ui_view().body(types::UiView { view: "files".into() }).send().await.unwrap();
    assert!(matches!(next_ui(&mut mine).await, UiEvent::View(v) if v.view == "files"));
    client.ui_palette().body(types::UiPalette { open: true }).send().await.unwrap();
    assert!(matches!(next_ui(&mut mine).await, UiEvent::Palette(p) if p.open));
    let exec = types::UiPaletteExec { command: types::UiPaletteCommand::NewChat, args: None };
    client.ui_palette_exec().body(exec).send().await.unwrap();
    assert!(
        matches!(next_ui(&mut mine).await, UiEvent::PaletteExec(e) if e.command == oqto_api::ui::UiPaletteCommand::NewChat)
    );
    let spot = types::UiSpotlight {
        target: Some("sidebar".into()),
        title: Some("Chats".into()),
        ..Default::default()
    };
    client.ui_spotlight().body(spot).send().await.unwrap();
    assert!(
        matches!(next_ui(&mut mine).await, UiEvent::Spotlight(s) if s.active && s.target.as_deref() == Some("sidebar"))
    );
    let step = types::UiTourStep {
        target: "input".into(),
        title: None,
        description: None,
        action: None,
        position: Some(types::UiPosition::Top),
    };
    let tour = types::UiTour { steps: vec![step.clone(), step], start_index: Some(1), active: true };
    client.ui_tour().body(tour).send().await.unwrap();
    assert!(matches!(next_ui(&mut mine).await, UiEvent::Tour(t) if t.steps.len() == 2));
    client.ui_sidebar().body(types::UiSidebar { collapsed: Some(true) }).send().await.unwrap();
    assert!(matches!(next_ui(&mut mine).await, UiEvent::Sidebar(s) if s.collapsed == Some(true)));
    client
        .ui_panel()
        .body(types::UiPanel { view: Some("terminal".into()), collapsed: None })
        .send()
        .await
        .unwrap();
    assert!(matches!(next_ui(&mut mine).await, UiEvent::Panel(p) if p.view.as_deref() == Some("terminal")));

    // A chat of the caller's only.
    let create = oqto_api::mux::AgentCommand::SessionCreate {
        config: oqto_api::mux::ChatConfig { cwd: Some("w".into()), ..Default::default() },
        last_seq: None,
    };
    assert!(mine.command("ui-chat", create).await.unwrap().success);
    let session = types::UiSession { session_id: "ui-chat".into(), mode: None };
    client.ui_session().body(session.clone()).send().await.unwrap();
    assert!(matches!(next_ui(&mut mine).await, UiEvent::Session(s) if s.session_id == "ui-chat"));
    let (stranger, _) = server.user_client("zed").await;
    assert_eq!(status(stranger.ui_session().body(session).send().await), 404);
    no_ui(&mut theirs).await;
}

#[tokio::test]
async fn ui_bodies_are_checked() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("ugo").await;
    for path in ["https://evil.example/", "//evil.example", "relative"] {
        let body = types::UiNavigate { path: path.into(), replace: false };
        assert_eq!(status(client.ui_navigate().body(body).send().await), 422, "{path}");
    }
    assert_eq!(status(client.ui_view().body(types::UiView { view: "../x".into() }).send().await), 422);
    let empty = types::UiTour { steps: vec![], start_index: None, active: true };
    assert_eq!(status(client.ui_tour().body(empty).send().await), 422);
    let step = types::UiTourStep {
        target: "a".into(),
        title: None,
        description: None,
        action: None,
        position: None,
    };
    let past = types::UiTour { steps: vec![step], start_index: Some(3), active: true };
    assert_eq!(status(client.ui_tour().body(past).send().await), 422);
    let long = types::UiSpotlight { title: Some("x".repeat(2001)), ..Default::default() };
    assert_eq!(status(client.ui_spotlight().body(long).send().await), 422);
    // Closed lists: an unknown theme or palette command does not parse.
    let token = server.login("ugo", TEST_PASSWORD).await;
    let (code, _) = server
        .raw(reqwest::Method::POST, "/api/ui/theme", &token, Some(serde_json::json!({"theme": "neon"})))
        .await;
    assert_eq!(code, 400);
    let body = serde_json::json!({"command": "rm_rf"});
    let (code, _) = server.raw(reqwest::Method::POST, "/api/ui/palette/exec", &token, Some(body)).await;
    assert_eq!(code, 400);
    assert_eq!(
        status(
            server
                .anonymous()
                .ui_theme()
                .body(types::UiTheme { theme: types::UiThemeName::Light })
                .send()
                .await
        ),
        401
    );
}
