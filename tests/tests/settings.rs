//! Settings through the SDK: users see and change only their own keys,
//! administrators the server's (checked, written atomically with a `.bak`,
//! applied live where they can be), a broken file is refused, the agent's
//! files are each user's own, and secrets never appear.

use std::time::Duration;

use oqto_api::mux::{AgentCommand, AgentEvent, ChatConfig, ServerFrame};
use oqto_client::mux::MuxEvent;
use oqto_client::types;
use oqto_tests::{TEST_PASSWORD, TestServer, error_body, status};

fn change(pairs: &[(&str, serde_json::Value)]) -> types::SettingsUpdate {
    types::SettingsUpdate { values: pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect() }
}

fn config_file(server: &TestServer) -> std::path::PathBuf {
    server.config_home.path().join("oqto/config.toml")
}

#[tokio::test]
async fn users_see_and_change_only_their_own_settings() {
    let server = TestServer::start().await;
    let (user, _) = server.user_client("sam").await;
    let (other, _) = server.user_client("tia").await;

    let mine = user.settings_view().send().await.unwrap().into_inner();
    let mut keys: Vec<&String> = mine.keys().collect();
    keys.sort();
    assert_eq!(keys, ["ui.language", "ui.shortcuts", "ui.theme"], "a user sees only their own keys");
    assert_eq!(mine["ui.theme"].value, Some(serde_json::json!("system")));
    assert!(!mine["ui.theme"].is_configured && mine["ui.theme"].live);
    let schema = user.settings_schema_view().send().await.unwrap().into_inner().to_string();
    assert!(schema.contains("\"x-scope\":\"user\"") && !schema.contains("jwt_secret_file"), "{schema}");

    // Server keys: refused, and no unknown or bad key gets through.
    let admin_key = change(&[("auth.registration_enabled", serde_json::json!(false))]);
    assert_eq!(status(user.settings_update().body(admin_key).send().await), 403);
    let bad = change(&[("ui.theme", serde_json::json!("neon")), ("ui.nothing", serde_json::json!(1))]);
    let (code, body) = error_body(user.settings_update().body(bad).send().await);
    assert_eq!(code, 422);
    let message = body.message.as_str();
    assert!(message.contains("ui.theme") && message.contains("ui.nothing: no such setting"), "{message}");
    // A bad value next to a good one: nothing is written.
    let mixed = change(&[("ui.language", serde_json::json!("de")), ("ui.theme", serde_json::json!(7))]);
    assert_eq!(status(user.settings_update().body(mixed).send().await), 422);
    let unchanged = user.settings_view().send().await.unwrap().into_inner();
    assert!(!unchanged["ui.language"].is_configured);

    let done = change(&[
        ("ui.theme", serde_json::json!("dark")),
        ("ui.shortcuts", serde_json::json!({"new_chat": "mod+k"})),
    ]);
    let done = user.settings_update().body(done).send().await.unwrap().into_inner();
    assert_eq!(done.values["ui.theme"].value, Some(serde_json::json!("dark")));
    assert!(done.values["ui.theme"].is_configured && done.restart_required.is_empty());
    assert_eq!(done.values["ui.theme"].default, Some(serde_json::json!("system")));
    // Per user: the other account and the server file are untouched.
    let theirs = other.settings_view().send().await.unwrap().into_inner();
    assert_eq!(theirs["ui.theme"].value, Some(serde_json::json!("system")));
    assert!(!config_file(&server).exists(), "a user's setting never goes into the server's file");
    // `null` returns a key to its default.
    let reset =
        user.settings_update().body(change(&[("ui.theme", serde_json::Value::Null)])).send().await.unwrap();
    assert!(!reset.into_inner().values["ui.theme"].is_configured);

    let huge: serde_json::Map<String, serde_json::Value> =
        (0..2000).map(|n| (format!("action_{n}"), serde_json::json!("mod+shift+k"))).collect();
    let huge = change(&[("ui.shortcuts", serde_json::Value::Object(huge))]);
    assert_eq!(status(user.settings_update().body(huge).send().await), 422, "a user's value is bounded");

    assert_eq!(status(user.settings_reload().send().await), 403);
    assert_eq!(status(user.settings_view().app("nope").send().await), 404);
    assert_eq!(status(server.anonymous().settings_view().send().await), 401);
}

#[tokio::test]
async fn administrators_change_the_server_live_and_on_disk() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let all = admin.settings_view().send().await.unwrap().into_inner();
    assert!(all.len() > 40 && all.contains_key("agent.idle_timeout_secs"));
    let url = &all["database.url"];
    assert!(url.value.is_none() && url.default.is_none() && url.has_value.is_some(), "{url:?}");
    assert!(all["agent.command"].is_configured, "set by the environment");

    // A bad value names the key and why; nothing is written.
    let bad = change(&[
        ("agent.idle_timeout_secs", serde_json::json!("soon")),
        ("log.level", serde_json::json!("loud")),
    ]);
    let (code, body) = error_body(admin.settings_update().body(bad).send().await);
    assert_eq!(code, 422);
    let message = body.message.as_str();
    assert!(message.contains("agent.idle_timeout_secs:") && message.contains("log.level:"), "{message}");
    assert!(!config_file(&server).exists());
    // A key the environment sets stays as set.
    let pinned = change(&[("agent.command", serde_json::json!(["pi"]))]);
    let (code, body) = error_body(admin.settings_update().body(pinned).send().await);
    assert_eq!(code, 422);
    assert!(body.message.contains("environment"), "{body:?}");

    // Live: a chat idle for a second stops, without a restart.
    let live = change(&[
        ("agent.idle_timeout_secs", serde_json::json!(1)),
        ("mux.queue_frames", serde_json::json!(2048)),
    ]);
    let updated = admin.settings_update().body(live).send().await.unwrap().into_inner();
    assert_eq!(updated.restart_required, ["mux.queue_frames"]);
    assert_eq!(updated.values["agent.idle_timeout_secs"].value, Some(serde_json::json!(1)));
    let text = std::fs::read_to_string(config_file(&server)).unwrap();
    assert!(text.contains("idle_timeout_secs = 1"), "{text}");
    server.user_client("una").await;
    let token = server.login("una", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    let create = AgentCommand::SessionCreate {
        config: ChatConfig { cwd: Some(".".into()), ..Default::default() },
        last_seq: None,
    };
    assert!(mux.command("idle-now", create).await.unwrap().success);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match tokio::time::timeout_at(deadline, mux.next()).await.expect("the chat did not stop when idle") {
            Some(MuxEvent::Frame(ServerFrame::Agent(frame))) if frame.session_id == "idle-now" => {
                if let AgentEvent::SessionClosed { reason } = frame.event {
                    assert_eq!(reason.as_deref(), Some("idle"));
                    break;
                }
            }
            Some(MuxEvent::Closed { reason, .. }) => panic!("closed: {reason}"),
            None => panic!("ended"),
            _ => {}
        }
    }

    // A second change keeps the previous file as .bak; registration turns off at once.
    let off = change(&[("auth.registration_enabled", serde_json::json!(false))]);
    admin.settings_update().body(off).send().await.unwrap();
    let bak = config_file(&server).with_file_name("config.toml.bak");
    assert!(std::fs::read_to_string(&bak).unwrap().contains("idle_timeout_secs = 1"));
    assert!(!server.anonymous().feature_list().send().await.unwrap().into_inner().registration_enabled);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(config_file(&server)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A broken file is refused by reload; the running configuration stays.
    std::fs::write(config_file(&server), "[auth\nregistration_enabled = ").unwrap();
    let (code, body) = error_body(admin.settings_reload().send().await);
    assert_eq!(code, 422);
    assert!(body.message.contains("running configuration stays"), "{body:?}");
    let still = admin.settings_view().send().await.unwrap().into_inner();
    assert_eq!(still["auth.registration_enabled"].value, Some(serde_json::json!(false)));
    // An edit on disk is picked up by the watcher.
    std::fs::write(config_file(&server), "[auth]\nregistration_enabled = true\n").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !server.anonymous().feature_list().send().await.unwrap().into_inner().registration_enabled {
        assert!(tokio::time::Instant::now() < deadline, "the edited file was not re-read");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reloaded = admin.settings_reload().send().await.unwrap().into_inner();
    assert_eq!(reloaded.status, "reloaded");
}

#[tokio::test]
async fn the_agent_files_are_each_users_own_and_keys_stay_secret() {
    let server = TestServer::start().await;
    let (user, me) = server.user_client("vic").await;
    let (other, _) = server.user_client("wes").await;
    let secret = "sk-test-0123456789abcdef";
    let provider = change(&[
        ("providers.local.baseUrl", serde_json::json!("http://127.0.0.1:1/v1")),
        ("providers.local.api", serde_json::json!("openai-completions")),
        ("providers.local.apiKey", serde_json::json!(secret)),
        ("providers.local.models", serde_json::json!([{"id": "tiny", "contextWindow": 4096}])),
    ]);
    let updated = user.settings_update().app("pi-models").body(provider).send().await.unwrap().into_inner();
    let key = &updated.values["providers.local.apiKey"];
    assert_eq!((key.value.as_ref(), key.has_value), (None, Some(true)));
    let shown = user.settings_view().app("pi-models").send().await.unwrap().into_inner();
    assert_eq!(shown["providers.local.baseUrl"].value, Some(serde_json::json!("http://127.0.0.1:1/v1")));
    assert!(!serde_json::to_string(&shown).unwrap().contains(secret), "the key is never shown");
    let file = server.data_dir.path().join("users").join(me.id.to_string()).join("agent/models.json");
    assert!(std::fs::read_to_string(file).unwrap().contains(secret), "it is in the user's own file");
    assert!(other.settings_view().app("pi-models").send().await.unwrap().into_inner().is_empty());
    // The picker lists the user's model.
    let bad = change(&[("providers.local.api", serde_json::json!("carrier-pigeon"))]);
    assert_eq!(status(user.settings_update().app("pi-models").body(bad).send().await), 422);
    let agent = change(&[
        ("defaultModel", serde_json::json!("tiny")),
        ("defaultThinkingLevel", serde_json::json!("low")),
    ]);
    let agent = user.settings_update().app("pi-agent").body(agent).send().await.unwrap().into_inner();
    assert_eq!(agent.values["defaultModel"].value, Some(serde_json::json!("tiny")));
    let bad = change(&[("defaultThinkingLevel", serde_json::json!("ludicrous"))]);
    assert_eq!(status(user.settings_update().app("pi-agent").body(bad).send().await), 422);
    let schema = user.settings_schema_view().app("pi-models").send().await.unwrap().into_inner();
    assert!(schema.to_string().contains("baseUrl"));

    // No response of any settings route carries the key.
    let token = server.login("vic", TEST_PASSWORD).await;
    for path in ["/api/settings?app=pi-models", "/api/settings/schema?app=pi-models", "/api/settings"] {
        let (_, body) = server.raw(reqwest::Method::GET, path, &token, None).await;
        assert!(!body.to_string().contains(secret), "{path}");
    }
}
