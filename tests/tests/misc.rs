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
    assert!(!features.websocket_events && !features.mmry_enabled && features.voice.is_none());
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
