//! Onboarding: the guided first steps and the first workspace, as the
//! original web client drives them for a new account.

use oqto_client::types;
use oqto_tests::{TestServer, status};

#[tokio::test]
async fn a_new_account_bootstraps_its_first_workspace_once() {
    let server = TestServer::start().await;
    let (client, me) = server.user_client("newbie").await;
    // What the client sends first: the projects, then the bootstrap.
    assert!(client.project_list().send().await.unwrap().into_inner().is_empty());
    let body =
        types::OnboardingBootstrap { display_name: "Administrator".into(), language: Some("en".into()) };
    let made = client.onboarding_bootstrap().body(body.clone()).send().await.unwrap().into_inner();
    assert_eq!(made.workspace_path, "main");
    let root = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace/main");
    for file in ["AGENTS.md", "BOOTSTRAP.md", "PERSONALITY.md", "USER.md", ".pi/context.json"] {
        assert!(root.join(file).is_file(), "{file} is missing");
    }
    assert!(std::fs::read_to_string(root.join("USER.md")).unwrap().contains("Administrator"));
    let context: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join(".pi/context.json")).unwrap()).unwrap();
    assert_eq!(context["context_files"].as_array().unwrap().len(), 4);
    let projects = client.project_list().send().await.unwrap().into_inner();
    assert_eq!((projects[0].path.as_str(), projects[0].pinned), ("main", true));
    let meta = client.workspace_meta_view().workspace_path("main").send().await.unwrap().into_inner();
    assert!(meta.bootstrap_pending);

    // Again: the same answer, the user's edits kept.
    std::fs::write(root.join("USER.md"), "mine\n").unwrap();
    let again = client.onboarding_bootstrap().body(body).send().await.unwrap().into_inner();
    assert_eq!(again.workspace_path, "main");
    assert_eq!(std::fs::read_to_string(root.join("USER.md")).unwrap(), "mine\n");

    let blank = types::OnboardingBootstrap { display_name: "  ".into(), language: None };
    assert_eq!(status(client.onboarding_bootstrap().body(blank).send().await), 422);
    let bad = types::OnboardingBootstrap { display_name: "Ada".into(), language: Some("en us".into()) };
    assert_eq!(status(client.onboarding_bootstrap().body(bad).send().await), 422);
}

#[tokio::test]
async fn onboarding_moves_through_its_stages_per_user() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("learner").await;
    let (other, _) = server.user_client("other").await;
    let fresh = client.onboarding_view().send().await.unwrap().into_inner();
    assert!(fresh.needs_onboarding && !fresh.completed);
    assert_eq!(fresh.stage, types::OnboardingStage::Language);

    let body = types::OnboardingUpdate {
        language: Some("de-AT".into()),
        languages: Some(vec!["en".into()]),
        user_level: Some(types::UserLevel::Intermediate),
        ..Default::default()
    };
    let changed = client.onboarding_update().body(body).send().await.unwrap().into_inner();
    assert_eq!((changed.language.as_deref(), changed.languages.len()), (Some("de-AT"), 1));
    assert!(changed.started_at.is_some());
    let bad = types::OnboardingUpdate { language: Some("!!".into()), ..Default::default() };
    assert_eq!(status(client.onboarding_update().body(bad).send().await), 422);

    let mut stage = changed.stage;
    for _ in 0..5 {
        stage = client.onboarding_advance().send().await.unwrap().into_inner().stage;
    }
    assert_eq!(stage, types::OnboardingStage::Complete);
    let check = client.onboarding_check().send().await.unwrap().into_inner();
    assert!(check.completed && !check.needs_onboarding);
    let done = client.onboarding_view().send().await.unwrap().into_inner();
    assert!(done.unlocked.sidebar && done.unlocked.file_tree && !done.unlocked.terminal);
    assert!(done.completed_at.is_some());

    let unlocked = client.onboarding_unlock().component("model-picker").send().await.unwrap().into_inner();
    assert!(unlocked.unlocked.model_picker);
    assert_eq!(status(client.onboarding_unlock().component("kitchen").send().await), 400);

    // Each user's own: the other one is untouched.
    assert!(other.onboarding_check().send().await.unwrap().into_inner().needs_onboarding);
    let reset = client.onboarding_reset().send().await.unwrap().into_inner();
    assert!(reset.needs_onboarding && !reset.unlocked.model_picker);
    let god = client.onboarding_godmode().send().await.unwrap().into_inner();
    assert!(god.godmode && god.unlocked.terminal && god.unlocked.voice && !god.needs_onboarding);
    assert_eq!(god.user_level, types::UserLevel::Technical);
    client.onboarding_reset().send().await.unwrap();
    assert!(client.onboarding_complete().send().await.unwrap().into_inner().completed);

    // The state is the server's: `PUT /api/me` cannot write it.
    let mut settings = serde_json::Map::new();
    settings.insert("onboarding".into(), serde_json::json!({ "completed": false }));
    let body = types::MeUpdate { settings: Some(settings), ..Default::default() };
    assert_eq!(status(client.me_update().body(body).send().await), 422);
    // Profile changes leave it alone, and no step is lost when steps and
    // updates race: five steps from the start complete it.
    client.onboarding_reset().send().await.unwrap();
    let steps = (0..5).map(|_| client.onboarding_advance().send());
    let updates = (0..8).map(|n| {
        let mut settings = serde_json::Map::new();
        settings.insert("theme".into(), serde_json::json!(n));
        client.me_update().body(types::MeUpdate { settings: Some(settings), ..Default::default() }).send()
    });
    let (steps, updates) = tokio::join!(futures::future::join_all(steps), futures::future::join_all(updates));
    assert!(steps.iter().all(|r| r.is_ok()) && updates.iter().all(|r| r.is_ok()));
    let after = client.onboarding_view().send().await.unwrap().into_inner();
    assert!(after.completed, "completion survived every profile update");
    assert!(client.me_view().send().await.unwrap().into_inner().settings.contains_key("theme"));
}
