//! Model providers through the SDK and `oqtoctl`: stored with their keys
//! sealed and never shown; every user's `models.json` names the model
//! proxy and the user's own proxy token; the proxy relays to a loopback
//! provider with the real key; catalog lookups; syncs; the refusals.

use oqto_client::types;
use oqto_tests::loopback::{Answer, Loopback};
use oqto_tests::{TestServer, status};
use serde_json::{Value, json};

const KEY: &str = "sk-provider-secret-key-4242";

fn provider(name: &str, base_url: &str, api_key: Option<&str>) -> types::ProviderCreate {
    let mut body = json!({
        "name": name,
        "type": "openai-compatible",
        "base_url": base_url,
        "models": [{ "id": "scripted", "name": "Scripted", "context_window": 32000, "max_tokens": 4096 }],
    });
    if let Some(key) = api_key {
        body["api_key"] = json!(key);
    }
    serde_json::from_value(body).unwrap()
}

fn models_json(server: &TestServer, user_id: &str) -> Value {
    let path = server.data_dir.path().join("users").join(user_id).join("agent").join("models.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

// Several threads: the loopback provider answers while the server relays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_are_kept_sealed_and_reached_through_the_model_proxy() {
    let upstream = Loopback::start(|req| {
        Answer::new(200, "application/json", format!("{{\"seen\":\"{} {}\"}}", req.method, req.target))
    })
    .await;
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let (user, me) = server.user_client("modeller").await;
    let base = format!("{}/v1", upstream.url);

    // Added with its key: the answer says it has one and never shows it.
    let made = admin.eavs_provider_upsert().body(provider("loop", &base, Some(KEY))).send().await.unwrap();
    assert!(made.has_api_key);
    assert_eq!((made.pi_api.as_str(), made.model_count), ("openai-completions", 1));
    let admin_token = server.login("admin", &server.admin_password).await;
    for path in ["/api/admin/eavs/providers", "/api/admin/eavs/sync-models"] {
        let method = if path.ends_with("providers") { reqwest::Method::GET } else { reqwest::Method::POST };
        let text = server
            .http()
            .request(method, format!("{}{path}", server.url))
            .bearer_auth(&admin_token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!text.contains(KEY), "{path} showed the key: {text}");
    }
    let listed = admin.eavs_provider_list().send().await.unwrap().into_inner();
    assert_eq!(listed.providers.len(), 1);
    assert_eq!(listed.eavs_url, format!("{}/api/llm", server.url));
    assert!(!server.log().contains(KEY), "the key reached the log");

    // The user's models.json: the proxy's address and the user's own token.
    let models = models_json(&server, &me.id.to_string());
    let entry = &models["providers"]["loop"];
    assert_eq!(entry["baseUrl"], format!("{}/api/llm/loop", server.url));
    assert_eq!(entry["models"][0]["contextWindow"], 32000);
    let token = entry["apiKey"].as_str().unwrap().to_string();
    assert!(!models.to_string().contains(KEY));

    // The proxy: the user's token in, the provider's key out.
    let http = server.http();
    let answer = http
        .post(format!("{}/api/llm/loop/chat/completions?stream=1", server.url))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"model\":\"scripted\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<Value>().await.unwrap()["seen"], "POST /v1/chat/completions?stream=1");
    let got = upstream.received().pop().unwrap();
    let header = |name: &str| got.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(header("authorization"), Some(format!("Bearer {KEY}")));
    assert_eq!(got.body, b"{\"model\":\"scripted\"}");
    // The same token as an API key header (Anthropic's and Azure's way).
    let by_header = http
        .get(format!("{}/api/llm/loop/models", server.url))
        .header("x-api-key", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), 200);

    // Other credentials, an unknown provider.
    let session = server.login("modeller", oqto_tests::TEST_PASSWORD).await;
    let refused = http.get(format!("{}/api/llm/loop/models", server.url)).bearer_auth(&session).send().await;
    assert_eq!(refused.unwrap().status(), 401, "a session token is not a proxy token");
    let anonymous = http.get(format!("{}/api/llm/loop/models", server.url)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let unknown =
        http.get(format!("{}/api/llm/nothing/models", server.url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let requests = upstream.received().len();
    assert_eq!(requests, 2, "refused requests reached the provider");

    // Replaced without a key: the stored one stays.
    let mut renamed = provider("loop", &base, None);
    renamed.models[0].name = Some("Renamed".into());
    assert!(admin.eavs_provider_upsert().body(renamed).send().await.unwrap().has_api_key);
    http.get(format!("{}/api/llm/loop/models", server.url)).bearer_auth(&token).send().await.unwrap();
    let got = upstream.received().pop().unwrap();
    assert!(got.headers.iter().any(|(k, v)| k == "authorization" && v == &format!("Bearer {KEY}")));
    assert_eq!(models_json(&server, &me.id.to_string())["providers"]["loop"]["models"][0]["name"], "Renamed");

    // A provider the user added themself stays through a sync.
    let path = server.data_dir.path().join("users").join(me.id.to_string()).join("agent").join("models.json");
    let mut own = models_json(&server, &me.id.to_string());
    own["providers"]["mine"] = json!({ "baseUrl": "http://example.invalid", "api": "openai-completions" });
    std::fs::write(&path, serde_json::to_vec(&own).unwrap()).unwrap();
    let synced = admin.eavs_models_sync().send().await.unwrap().into_inner();
    assert_eq!((synced.users, synced.providers, synced.failed.len()), (2, 1, 0));
    assert!(models_json(&server, &me.id.to_string())["providers"]["mine"].is_object());
    // A file the user broke is left as it is, and the sync says so.
    std::fs::write(&path, b"{ not json").unwrap();
    let synced = admin.eavs_models_sync().send().await.unwrap().into_inner();
    assert_eq!((synced.users, synced.failed.len()), (1, 1), "{synced:?}");
    assert_eq!(synced.failed[0].user_id, me.id.to_string());
    assert!(synced.failed[0].error.contains("not a JSON object"), "{synced:?}");
    assert_eq!(std::fs::read(&path).unwrap(), b"{ not json");
    // The users route writes it too.
    std::fs::remove_file(&path).unwrap();
    let body: types::UserConfigSync = serde_json::from_value(json!({ "user_id": me.id })).unwrap();
    let results = admin.user_config_sync().body(body).send().await.unwrap().into_inner();
    assert!(results[0].ok, "{results:?}");
    assert!(models_json(&server, &me.id.to_string())["providers"]["loop"].is_object());
    // A new account gets the providers at once.
    let (_, newcomer) = server.user_client("newcomer").await;
    assert!(models_json(&server, &newcomer.id.to_string())["providers"]["loop"].is_object());

    // The catalog.
    let gpt = admin.eavs_catalog_lookup().model_id("gpt-4o").send().await.unwrap().into_inner();
    assert_eq!((gpt.provider.as_str(), gpt.model.context_window), ("openai", Some(128000)));
    assert_eq!(status(admin.eavs_catalog_lookup().model_id("no-such-model").send().await), 404);

    // Bad input, other callers.
    let bad: types::ProviderCreate =
        serde_json::from_value(json!({ "name": "../x", "type": "openai", "models": [{ "id": "m" }] }))
            .unwrap();
    assert_eq!(status(admin.eavs_provider_upsert().body(bad).send().await), 422);
    let no_base: types::ProviderCreate =
        serde_json::from_value(json!({ "name": "azure1", "type": "azure", "models": [{ "id": "m" }] }))
            .unwrap();
    assert_eq!(status(admin.eavs_provider_upsert().body(no_base).send().await), 422);
    let unknown_type: types::ProviderCreate =
        serde_json::from_value(json!({ "name": "x", "type": "mystery", "models": [{ "id": "m" }] })).unwrap();
    assert_eq!(status(admin.eavs_provider_upsert().body(unknown_type).send().await), 422);
    assert_eq!(status(user.eavs_provider_list().send().await), 403);
    assert_eq!(status(user.eavs_provider_upsert().body(provider("u", &base, Some("k"))).send().await), 403);
    assert_eq!(status(server.anonymous().eavs_models_sync().send().await), 401);

    // Removed: gone from the files, the proxy and the list.
    let deleted = admin.eavs_provider_delete().name("loop").send().await.unwrap().into_inner();
    assert_eq!(deleted.deleted, "loop");
    let models = models_json(&server, &me.id.to_string());
    assert!(models["providers"].get("loop").is_none(), "{models}");
    let gone = http.get(format!("{}/api/llm/loop/models", server.url)).bearer_auth(&token).send().await;
    assert_eq!(gone.unwrap().status(), 404);
    assert_eq!(status(admin.eavs_provider_delete().name("loop").send().await), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oqtoctl_manages_providers() {
    let server = TestServer::start().await;
    let token = server.login("admin", &server.admin_password).await;
    let ctl = |args: &[&str]| {
        let out =
            server.oqtoctl().env("OQTO_TOKEN", &token).args(["-o", "json"]).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains(KEY), "{args:?} printed the key");
        serde_json::from_str::<Value>(&text).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("provider.json");
    let body = json!({
        "name": "cli", "type": "openai", "api_key": KEY,
        "models": [{ "id": "gpt-4o-mini" }],
    });
    std::fs::write(&file, body.to_string()).unwrap();
    let made = ctl(&["admin", "providers", "set", "--json-body", file.to_str().unwrap()]);
    assert_eq!(
        (made["has_api_key"].as_bool(), made["pi_api"].as_str()),
        (Some(true), Some("openai-completions"))
    );
    let listed = ctl(&["admin", "providers", "list"]);
    assert_eq!(listed["providers"][0]["name"], "cli");
    let synced = ctl(&["admin", "providers", "sync"]);
    assert_eq!(synced["providers"], 1);
    let found = ctl(&["admin", "providers", "catalog", "claude-sonnet-4-20250514"]);
    assert_eq!(found["provider"], "anthropic");
    assert_eq!(ctl(&["admin", "providers", "rm", "cli"])["deleted"], "cli");
}
