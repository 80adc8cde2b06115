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
    // The agent browser is there where Chromium is installed.
    let chromium = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("chromium").is_file()));
    assert_eq!(features.agent_browser_enabled, chromium);
    // Voice is there when the server can speak (espeak-ng) or a service is
    // configured (the voice tests cover both).
    let speaks =
        std::process::Command::new("espeak-ng").arg("--version").output().is_ok_and(|o| o.status.success());
    assert_eq!(features.voice.is_some(), speaks);
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

/// Every error the server writes carries `error` (the original's clients
/// show it) beside `message`, `error_code` and `request_id`, and keeps its
/// headers; only Dropshot's own errors (no such route, unparseable input)
/// keep Dropshot's body.
#[tokio::test]
async fn every_error_body_of_ours_says_error() {
    let server = TestServer::start().await;
    let token = server.login("admin", &server.admin_password).await;
    let http = server.http();
    let wrong = serde_json::json!({"username": "admin", "password": "wrong password"});
    let response = http.post(format!("{}/api/auth/login", server.url)).json(&wrong).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], body["message"], "{body}");
    assert_eq!(body["error"], "wrong username or password");
    assert_eq!(
        (body["error_code"].as_str(), body["request_id"].as_str()),
        (Some("Unauthorized"), Some(request_id.as_str()))
    );
    for (method, path, code) in [
        (reqwest::Method::GET, "/api/admin/users/nobody", 404),
        (reqwest::Method::GET, "/api/workspace/memories?workspace_path=../x", 422),
        (reqwest::Method::GET, "/api/admin/feedback?limit=0", 400),
    ] {
        let (status, body) = server.raw(method, path, &token, None).await;
        assert_eq!(status, code, "{path}: {body}");
        assert!(body["error"].is_string() && body["error"] == body["message"], "{path}: {body}");
        assert!(body["request_id"].is_string() && body["error_code"].is_string(), "{path}: {body}");
    }
    // The headers of an error stay: 429 with Retry-After.
    let mut limited = None;
    for _ in 0..30 {
        let response = http.post(format!("{}/api/auth/login", server.url)).json(&wrong).send().await.unwrap();
        if response.status().as_u16() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("429 after repeated failures");
    assert!(limited.headers().contains_key("retry-after"));
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["error_code"], "TooManyRequests");
    assert!(body["error"].as_str().unwrap().contains("try again"), "{body}");
    // Dropshot's own: an unknown route.
    let (status, body) = server.raw(reqwest::Method::GET, "/api/no-such-route", &token, None).await;
    assert_eq!(status, 404);
    assert!(body["message"].is_string() && body["request_id"].is_string(), "{body}");
}

/// A client on an allowed origin (a desktop build, a dev server) gets
/// preflight answers and CORS headers on every reply, errors included; any
/// other origin gets neither.
#[tokio::test]
async fn an_allowed_origin_may_call_the_api_across_origins() {
    let allowed = "http://localhost:5173";
    let options =
        oqto_tests::Options::default().env("OQTO_SERVER__ALLOWED_ORIGINS", &format!("[\"{allowed}\"]"));
    let server = TestServer::start_with(options).await;
    let http = server.http();
    let preflight = |origin: &str, path: &str| {
        http.request(reqwest::Method::OPTIONS, format!("{}{path}", server.url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, authorization")
            .send()
    };
    let ok = preflight(allowed, "/api/auth/login").await.unwrap();
    assert_eq!(ok.status().as_u16(), 204);
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], allowed);
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    assert_eq!(h["access-control-allow-headers"], "content-type, authorization");
    // Paths with variables too.
    let item = preflight(allowed, "/api/session/s1/memories/m1").await.unwrap();
    assert_eq!(item.status().as_u16(), 204);
    let refused = preflight("https://evil.example", "/api/auth/login").await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert!(!refused.headers().contains_key("access-control-allow-origin"));
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("not allowed"), "{body}");

    // The real request: a wrong password is readable by the page (CORS headers on the error).
    let wrong = serde_json::json!({"username": "admin", "password": "wrong password"});
    let response = http
        .post(format!("{}/api/auth/login", server.url))
        .header("origin", allowed)
        .json(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers()["access-control-allow-origin"], allowed);
    assert_eq!(response.headers()["vary"], "Origin");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "wrong username or password");
    let login = serde_json::json!({"username": "admin", "password": server.admin_password});
    let response = http
        .post(format!("{}/api/auth/login", server.url))
        .header("origin", allowed)
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], allowed);
    assert_eq!(response.headers()["access-control-allow-credentials"], "true");
    // Another origin's request gets no CORS headers (its page cannot read the answer).
    let other = http
        .get(format!("{}/api/health", server.url))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    let same = http.get(format!("{}/api/health", server.url)).send().await.unwrap();
    assert!(!same.headers().contains_key("access-control-allow-origin"));
}
