//! The caller's profile and user administration.

use oqto_client::types;
use oqto_tests::{TestServer, error_body, status};
use reqwest::Method;

#[tokio::test]
async fn me_update_merges_settings_and_refuses_reserved_keys() {
    let server = TestServer::start().await;
    let (user, _) = server.user_client("mia").await;
    let settings = |v: serde_json::Value| v.as_object().unwrap().clone();
    let first = types::MeUpdate {
        display_name: Some("Mia M.".into()),
        avatar_url: Some("https://example.org/mia.png".into()),
        settings: Some(settings(serde_json::json!({ "theme": "dark", "font": "mono" }))),
    };
    let me = user.me_update().body(first).send().await.unwrap().into_inner();
    assert_eq!(me.display_name, "Mia M.");
    let second = types::MeUpdate {
        display_name: None,
        avatar_url: Some(String::new()),
        settings: Some(settings(serde_json::json!({ "theme": null, "lang": "de" }))),
    };
    let me = user.me_update().body(second).send().await.unwrap().into_inner();
    assert_eq!(
        serde_json::Value::Object(me.settings.clone()),
        serde_json::json!({ "font": "mono", "lang": "de" })
    );
    assert_eq!(me.avatar_url, None);
    assert_eq!(me.display_name, "Mia M.");
    let reserved = types::MeUpdate {
        display_name: None,
        avatar_url: None,
        settings: Some(settings(serde_json::json!({ "onboarding": { "completed": true } }))),
    };
    let (code, body) = error_body(user.me_update().body(reserved).send().await);
    assert_eq!((code, body.error_code.as_deref()), (422, Some("InvalidValue")));
    let bad_name = types::MeUpdate { display_name: Some("  ".into()), avatar_url: None, settings: None };
    assert_eq!(status(user.me_update().body(bad_name).send().await), 422);
    // Nothing of the refused updates was written.
    let me = user.me_view().send().await.unwrap().into_inner();
    assert_eq!(me.display_name, "Mia M.");
    assert!(!me.settings.contains_key("onboarding"));
}

#[tokio::test]
async fn admin_manages_users_end_to_end() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let created = admin
        .user_create()
        .body(types::UserCreate {
            username: "Carol".into(),
            email: "Carol@Example.org".into(),
            password: None,
            display_name: Some("Carol C".into()),
            role: None,
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    let password = created.generated_password.clone().expect("generated password");
    assert_eq!(created.user.email, "carol@example.org");
    assert_eq!(created.user.role, types::Role::User);
    server.login("carol", &password).await;

    let id = created.user.id.to_string();
    let shown = admin.user_view().user_id(&id).send().await.unwrap().into_inner();
    assert_eq!(shown.username, "Carol");

    let dup = types::UserCreate {
        username: "carol".into(),
        email: "other@example.org".into(),
        password: None,
        display_name: None,
        role: None,
    };
    assert_eq!(status(admin.user_create().body(dup).send().await), 409);
    let bad = types::UserCreate {
        username: "no spaces allowed".into(),
        email: "x@example.org".into(),
        password: None,
        display_name: None,
        role: None,
    };
    assert_eq!(status(admin.user_create().body(bad).send().await), 422);

    let update = types::UserUpdate {
        display_name: Some("Carol Admin".into()),
        role: Some(types::Role::Admin),
        ..Default::default()
    };
    let updated = admin.user_update().user_id(&id).body(update).send().await.unwrap().into_inner();
    assert_eq!((updated.role, updated.display_name.as_str()), (types::Role::Admin, "Carol Admin"));

    let admins = admin.user_list().role(types::Role::Admin).send().await.unwrap().into_inner();
    assert_eq!(admins.len(), 2);
    let found = admin.user_list().search("CAROL").send().await.unwrap().into_inner();
    assert_eq!(found.len(), 1);
    let none = admin.user_list().search("%").send().await.unwrap().into_inner();
    assert!(none.is_empty(), "LIKE wildcards are escaped");
    let page = admin.user_list().limit(1u32).offset(1u32).send().await.unwrap().into_inner();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, created.user.id);
    assert_eq!(status(admin.user_list().limit(0u32).send().await), 400);

    let stats = admin.user_stats().send().await.unwrap().into_inner();
    assert_eq!((stats.total, stats.admins, stats.users, stats.active), (2, 2, 0, 2));

    admin.user_delete().user_id(&id).send().await.unwrap();
    assert_eq!(status(admin.user_view().user_id(&id).send().await), 404);
    assert_eq!(status(admin.user_delete().user_id(&id).send().await), 404);
    assert_eq!(status(admin.user_view().user_id("not-a-uuid").send().await), 404);
}

#[tokio::test]
async fn role_change_takes_effect_at_once() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let (user, view) = server.client_for_new_user("promoted", types::Role::Admin).await;
    user.user_list().send().await.unwrap();
    let demote = types::UserUpdate { role: Some(types::Role::User), ..Default::default() };
    admin.user_update().user_id(view.id.to_string()).body(demote).send().await.unwrap();
    assert_eq!(status(user.user_list().send().await), 401, "tokens from before the role change are void");
    let token = server.login("promoted", oqto_tests::TEST_PASSWORD).await;
    assert_eq!(status(server.client(&token).user_list().send().await), 403);
}

#[tokio::test]
async fn the_last_administrator_cannot_be_removed() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let me = admin.me_view().send().await.unwrap().into_inner();
    let id = me.id.to_string();
    assert_eq!(status(admin.user_delete().user_id(&id).send().await), 409);
    assert_eq!(status(admin.user_deactivate().user_id(&id).send().await), 409);
    let demote = types::UserUpdate { role: Some(types::Role::User), ..Default::default() };
    assert_eq!(status(admin.user_update().user_id(&id).body(demote).send().await), 409);
    let (other, _) = server.client_for_new_user("second", types::Role::Admin).await;
    // With a second admin, that one may remove the first...
    other.user_deactivate().user_id(&id).send().await.unwrap();
    assert_eq!(status(admin.me_view().send().await), 401);
    // ...and is then the last one, whom nobody can deactivate.
    let third = types::UserCreate {
        username: "third".into(),
        email: "third@example.org".into(),
        password: Some(oqto_tests::TEST_PASSWORD.into()),
        display_name: None,
        role: Some(types::Role::Admin),
    };
    other.user_create().body(third).send().await.unwrap();
    let third = server.client(&server.login("third", oqto_tests::TEST_PASSWORD).await);
    let second_id = other.me_view().send().await.unwrap().into_inner().id.to_string();
    third.user_deactivate().user_id(&second_id).send().await.unwrap();
    let third_id = third.me_view().send().await.unwrap().into_inner().id.to_string();
    assert_eq!(status(third.user_delete().user_id(&third_id).send().await), 409);
}

#[tokio::test]
async fn config_sync_creates_per_user_directories() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let (_, user) = server.user_client("syncer").await;
    let results = admin
        .user_config_sync()
        .body(types::UserConfigSync { user_id: Some(user.id) })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(results.len(), 1);
    assert!(results[0].ok);
    assert_eq!(results[0].created.len(), 2);
    assert!(server.data_dir.path().join("users").join(user.id.to_string()).join("workspace").is_dir());
    let all = admin
        .user_config_sync()
        .body(types::UserConfigSync { user_id: None })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.len(), 2);
    let again = all.iter().find(|r| r.user_id == user.id).unwrap();
    assert!(again.created.is_empty());
    let unknown = types::UserConfigSync { user_id: Some(uuid::Uuid::new_v4()) };
    assert_eq!(status(admin.user_config_sync().body(unknown).send().await), 404);
}

#[tokio::test]
async fn original_collection_paths_are_served() {
    let server = TestServer::start().await;
    let token = server.login("admin", &server.admin_password).await;
    let (code, stats) = server.raw(Method::GET, "/api/admin/users/stats", &token, None).await;
    assert_eq!((code, &stats["admins"]), (200, &serde_json::json!(1)));
    let (code, _) =
        server.raw(Method::POST, "/api/admin/users/sync-configs", &token, Some(serde_json::json!({}))).await;
    assert_eq!(code, 200);
    let (code, _) =
        server.raw(Method::POST, "/api/admin/users/whatever", &token, Some(serde_json::json!({}))).await;
    assert_eq!(code, 404);
    // A cross-site form can post text/plain without asking: refused, as on typed routes.
    let form = server
        .http()
        .post(format!("{}/api/admin/users/sync-configs", server.url))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 400);
    let anonymous = server.http().get(format!("{}/api/admin/users/stats", server.url)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}
