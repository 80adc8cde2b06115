//! Workspace sessions over HTTP.

use oqto_client::types;
use oqto_tests::{Options, TestServer, status};
use reqwest::Method;

fn create(path: &str) -> types::SessionCreate {
    types::SessionCreate { workspace_path: path.into() }
}

#[tokio::test]
async fn session_lifecycle() {
    let server = TestServer::start().await;
    let (user, me) = server.user_client("sam").await;
    let created = user.session_create().body(create("proj/app")).send().await.unwrap().into_inner();
    assert_eq!(created.status, types::SessionStatus::Running);
    assert_eq!(created.workspace_path, "proj/app");
    assert_eq!(created.user_id, me.id);
    assert!(created.started_at.is_some());
    let root = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace");
    assert!(root.join("proj/app").is_dir(), "the workspace directory was created");

    let id = created.id.to_string();
    let by_readable = user.session_view().session_id(&created.readable_id).send().await.unwrap().into_inner();
    assert_eq!(by_readable.id, created.id);
    // The list (kept serialised between changes) follows every change.
    let list = || async { user.session_list().send().await.unwrap().into_inner() };
    let before = list().await;
    assert_eq!(before.len(), 1);
    user.session_activity().session_id(&id).send().await.unwrap();
    let touched = list().await;
    assert!(touched[0].last_activity_at >= before[0].last_activity_at);
    assert_eq!(touched[0].status, types::SessionStatus::Running);

    assert_eq!(status(user.session_delete().session_id(&id).send().await), 409);
    user.session_stop().session_id(&id).send().await.unwrap();
    user.session_stop().session_id(&id).send().await.unwrap();
    let stopped = user.session_view().session_id(&id).send().await.unwrap().into_inner();
    assert_eq!(stopped.status, types::SessionStatus::Stopped);
    assert!(stopped.stopped_at.is_some());
    assert_eq!(list().await[0].status, types::SessionStatus::Stopped);

    let resumed = user.session_resume().session_id(&id).send().await.unwrap().into_inner();
    assert_eq!(resumed.status, types::SessionStatus::Running);
    assert_eq!(list().await[0].status, types::SessionStatus::Running);
    user.session_stop().session_id(&id).send().await.unwrap();
    user.session_delete().session_id(&id).send().await.unwrap();
    assert_eq!(status(user.session_view().session_id(&id).send().await), 404);
    assert!(list().await.is_empty());
    assert!(root.join("proj/app").is_dir(), "deleting a session keeps the workspace");
}

#[tokio::test]
async fn get_or_create_reuses_resumes_and_creates() {
    let server = TestServer::start().await;
    let (user, _) = server.user_client("gina").await;
    let first = user
        .session_get_or_create()
        .body(types::SessionGetOrCreate::default())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.workspace_path, ".");
    let again = user
        .session_get_or_create()
        .body(types::SessionGetOrCreate::default())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.id, first.id);
    let ws = types::SessionForWorkspace { workspace_path: "other".into() };
    let other =
        user.session_get_or_create_for_workspace().body(ws.clone()).send().await.unwrap().into_inner();
    assert_ne!(other.id, first.id);
    user.session_stop().session_id(other.id.to_string()).send().await.unwrap();
    let resumed = user.session_get_or_create_for_workspace().body(ws).send().await.unwrap().into_inner();
    assert_eq!((resumed.id, resumed.status), (other.id, types::SessionStatus::Running));
    assert_eq!(user.session_list().send().await.unwrap().into_inner().len(), 2);
}

#[tokio::test]
async fn paths_outside_the_workspace_root_are_refused() {
    let server = TestServer::start().await;
    let (user, _) = server.user_client("pia").await;
    for bad in ["..", "a/../../b", "/etc", "/tmp/x"] {
        assert_eq!(status(user.session_create().body(create(bad)).send().await), 422, "{bad}");
    }
    let inside = user.session_create().body(create("a/../b")).send().await.unwrap().into_inner();
    assert_eq!(inside.workspace_path, "b");
}

#[tokio::test]
async fn the_running_cap_stops_the_least_recently_active_session() {
    let server =
        TestServer::start_with(Options::default().env("OQTO_SESSIONS__MAX_RUNNING_PER_USER", "2")).await;
    let (user, _) = server.user_client("cap").await;
    let a = user.session_create().body(create("a")).send().await.unwrap().into_inner();
    let b = user.session_create().body(create("b")).send().await.unwrap().into_inner();
    user.session_activity().session_id(a.id.to_string()).send().await.unwrap();
    let c = user.session_create().body(create("c")).send().await.unwrap().into_inner();
    let state = |id: uuid::Uuid| {
        let user = &user;
        async move { user.session_view().session_id(id.to_string()).send().await.unwrap().into_inner().status }
    };
    assert_eq!(state(a.id).await, types::SessionStatus::Running);
    assert_eq!(state(b.id).await, types::SessionStatus::Stopped);
    assert_eq!(state(c.id).await, types::SessionStatus::Running);
}

#[tokio::test]
async fn sessions_are_private_and_admins_see_all() {
    let server = TestServer::start().await;
    let (alice, _) = server.user_client("alice").await;
    let (bob, _) = server.user_client("bobby").await;
    let mine = alice.session_create().body(create("x")).send().await.unwrap().into_inner();
    let id = mine.id.to_string();
    assert_eq!(status(bob.session_view().session_id(&id).send().await), 404);
    assert_eq!(status(bob.session_stop().session_id(&id).send().await), 404);
    assert_eq!(status(bob.session_view().session_id(&mine.readable_id).send().await), 404);
    let admin = server.admin_client().await;
    let all = admin.admin_session_list().send().await.unwrap().into_inner();
    assert_eq!(all.len(), 1);
    admin.admin_session_delete().session_id(&id).send().await.unwrap();
    assert_eq!(status(alice.session_view().session_id(&id).send().await), 404);
    let report = admin.admin_local_cleanup().send().await.unwrap().into_inner();
    assert!(report.killed.is_empty());
}

#[tokio::test]
async fn runtime_updates_and_upgrade() {
    let mut server = TestServer::start_with(Options::default().env("OQTO_AGENT__VERSION", "v1")).await;
    let (user, _) = server.user_client("upg").await;
    let token = server.login("upg", oqto_tests::TEST_PASSWORD).await;
    let session = user.session_create().body(create("w")).send().await.unwrap().into_inner();
    let id = session.id.to_string();
    let check = user.session_update_view().session_id(&id).send().await.unwrap().into_inner();
    assert!(!check.update_available);
    server.restart_with(Options::default().env("OQTO_AGENT__VERSION", "v2")).await;
    let user = server.client(&token);
    let check = user.session_update_view().session_id(&id).send().await.unwrap().into_inner();
    assert!(check.update_available);
    assert_eq!((check.current_version.as_str(), check.new_digest.as_str()), ("v1", "v2"));
    assert_eq!(user.session_update_list().send().await.unwrap().into_inner().len(), 1);
    let upgraded = user.session_upgrade().session_id(&id).send().await.unwrap().into_inner();
    assert_eq!((upgraded.runtime_version.as_str(), upgraded.status), ("v2", types::SessionStatus::Running));
    assert!(user.session_update_list().send().await.unwrap().into_inner().is_empty());
}

#[tokio::test]
async fn original_session_paths_are_served() {
    let server = TestServer::start().await;
    let token = server.login("admin", &server.admin_password).await;
    let empty = Some(serde_json::json!({}));
    let (code, created) = server.raw(Method::POST, "/api/sessions/get-or-create", &token, empty).await;
    assert_eq!((code, &created["status"]), (200, &serde_json::json!("running")));
    let workspace = Some(serde_json::json!({ "workspace_path": "p" }));
    let (code, _) =
        server.raw(Method::POST, "/api/sessions/get-or-create-for-workspace", &token, workspace).await;
    assert_eq!(code, 200);
    let (code, updates) = server.raw(Method::GET, "/api/sessions/updates", &token, None).await;
    assert_eq!((code, updates), (200, serde_json::json!([])));
}
