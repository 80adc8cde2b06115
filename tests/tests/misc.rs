//! Health, features, the served document and error bodies.

use oqto_tests::TestServer;

#[tokio::test]
async fn health_and_features_are_public_and_truthful() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    let health = anon.health_view().send().await.unwrap().into_inner();
    assert_eq!(health.status, "ok");
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    let features = anon.feature_list().send().await.unwrap().into_inner();
    assert!(features.registration_enabled);
    assert!(!features.dev_mode);
    assert!(features.websocket_events, "the mux is always there");
    assert!(features.mmry_enabled, "memories are embedded in the database");
    assert!(features.voice.is_none() && !features.agent_browser_enabled, "neither exists yet");
    assert_eq!((features.sandbox.mode.as_str(), features.sandbox.available), ("bubblewrap", true));
    assert_eq!(features.sandbox.default_profile, "development");
}

#[tokio::test]
async fn a_server_without_a_sandbox_says_so() {
    let options = oqto_tests::Options::default()
        .env("OQTO_SANDBOX__MODE", "off")
        .env("OQTO_AUTH__REGISTRATION_ENABLED", "false")
        .env("OQTO_AUTH__DEV_MODE", "true");
    let off = TestServer::start_with(options).await;
    let features = off.anonymous().feature_list().send().await.unwrap().into_inner();
    assert_eq!((features.sandbox.mode.as_str(), features.sandbox.available), ("off", false));
    // Every flag follows the running configuration.
    assert!(!features.registration_enabled && features.dev_mode);
    assert!(off.log().contains("!!! SANDBOX OFF"), "the operator is told loudly (on stderr, at once)");
    let broken = TestServer::start_with(
        oqto_tests::Options::default().env("OQTO_SANDBOX__BWRAP", "/nonexistent/bwrap"),
    )
    .await;
    let features = broken.anonymous().feature_list().send().await.unwrap().into_inner();
    assert_eq!((features.sandbox.mode.as_str(), features.sandbox.available), ("bubblewrap", false));
    // Nothing starts unsandboxed: the terminal is refused with a clear error.
    broken.user_client("nobwrap").await;
    let token = broken.login("nobwrap", oqto_tests::TEST_PASSWORD).await;
    let mut mux = broken.mux(&token).await;
    let open = oqto_api::mux::TerminalCommand::Open {
        terminal_id: None,
        workspace_path: None,
        session_id: None,
        cols: 80,
        rows: 24,
    };
    mux.send(oqto_api::mux::ClientFrame::Terminal(oqto_api::mux::TerminalRequest {
        id: None,
        command: open,
    }));
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), mux.next()).await.unwrap() {
            Some(oqto_client::mux::MuxEvent::Frame(oqto_api::mux::ServerFrame::Terminal(
                oqto_api::mux::TerminalEvent::Error { error, error_code, .. },
            ))) => {
                assert_eq!(error_code, "ServiceUnavailable");
                assert!(error.contains("sandbox"), "{error}");
                break;
            }
            Some(oqto_client::mux::MuxEvent::Frame(oqto_api::mux::ServerFrame::Terminal(other))) => {
                panic!("a terminal must not open without a sandbox: {other:?}")
            }
            Some(_) => {}
            None => panic!("ended"),
        }
    }
}

#[tokio::test]
async fn served_document_is_the_checked_in_one() {
    let server = TestServer::start().await;
    let served = server.anonymous().openapi_view().send().await.unwrap().into_inner();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../api-spec/openapi/oqto.json");
    let checked_in: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(served, checked_in);
}

#[tokio::test]
async fn bad_input_gets_a_json_4xx() {
    let server = TestServer::start().await;
    let token = server.login("admin", &server.admin_password).await;
    let http = server.http();
    let cases = [
        http.post(format!("{}/api/auth/login", server.url)).header("content-type", "application/json").body("{not json"),
        http.post(format!("{}/api/auth/login", server.url)).json(&serde_json::json!({ "username": 5 })),
        http.get(format!("{}/api/admin/users?limit=lots", server.url)).bearer_auth(&token),
        http.post(format!("{}/api/admin/invite-codes", server.url)).bearer_auth(&token).json(&serde_json::json!({ "max_uses": 1e30 })),
        http.put(format!("{}/api/me", server.url)).bearer_auth(&token).json(&serde_json::json!({ "settings": "x" })),
        http.get(format!("{}/api/me", server.url)).bearer_auth("garbage"),
        http.post(format!("{}/api/admin/users", server.url))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "username": "big", "email": "b@example.org", "display_name": "x".repeat(2_000_000) })),
    ];
    for case in cases {
        let response = case.send().await.unwrap();
        let code = response.status().as_u16();
        assert!((400..500).contains(&code), "status {code}");
        let body: serde_json::Value = response.json().await.expect("a JSON body");
        assert!(body["message"].is_string() && body["request_id"].is_string(), "{body}");
    }
}
