//! Personal API keys: shown once, used as a bearer token within their
//! scopes, refused once revoked or expired or when the account is off.

use oqto_client::types;
use oqto_tests::{TestServer, status};

fn create(name: &str, scopes: Option<Vec<types::ApiKeyScope>>) -> types::ApiKeyCreate {
    types::ApiKeyCreate { name: name.into(), scopes, expires_at: None }
}

#[tokio::test]
async fn a_key_works_within_its_scopes_until_revoked() {
    let server = TestServer::start().await;
    let (client, me) = server.user_client("keyholder").await;
    let made = client.api_key_create().body(create("ci", None)).send().await.unwrap().into_inner();
    assert!(made.key.starts_with("oqto_") && made.key.len() > 40);
    assert!(made.key.starts_with(&made.prefix));
    assert_eq!(made.scopes, [types::ApiKeyScope::Read, types::ApiKeyScope::Write]);
    let listed = client.api_key_list().send().await.unwrap().into_inner();
    assert_eq!(listed.len(), 1);
    assert!(!serde_json::to_string(&listed).unwrap().contains(&made.key), "the key is shown once only");

    let by_key = oqto_client::client_with_token(&server.url, Some(&made.key)).unwrap();
    assert_eq!(by_key.me_view().send().await.unwrap().into_inner().id, me.id);
    let body = types::MeUpdate { display_name: Some("Via Key".into()), ..Default::default() };
    assert_eq!(by_key.me_update().body(body).send().await.unwrap().into_inner().display_name, "Via Key");
    // Never: keys, the password, the mux, admin routes.
    assert_eq!(status(by_key.api_key_list().send().await), 403);
    assert_eq!(status(by_key.api_key_create().body(create("more", None)).send().await), 403);
    assert_eq!(status(by_key.mux_ticket_create().send().await), 403);
    let change = types::PasswordChange { current_password: "x".into(), new_password: "yyyyyyyyyy".into() };
    assert_eq!(status(by_key.auth_password_change().body(change).send().await), 403);
    assert_eq!(status(by_key.user_list().send().await), 403);
    assert!(client.api_key_list().send().await.unwrap().into_inner()[0].last_used_at.is_some());

    // A read-only key reads and changes nothing.
    let read = client
        .api_key_create()
        .body(create("reader", Some(vec![types::ApiKeyScope::Read])))
        .send()
        .await
        .unwrap()
        .into_inner();
    let reader = oqto_client::client_with_token(&server.url, Some(&read.key)).unwrap();
    assert!(reader.session_list().send().await.is_ok());
    let body = types::MeUpdate { display_name: Some("Nope".into()), ..Default::default() };
    assert_eq!(status(reader.me_update().body(body).send().await), 403);

    // Revoked: refused at once, still listed.
    let revoked = client.api_key_revoke().key_id(made.id.to_string()).send().await.unwrap().into_inner();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(status(by_key.me_view().send().await), 401);
    client.api_key_delete().key_id(read.id.to_string()).send().await.unwrap();
    assert_eq!(status(reader.me_view().send().await), 401);
    assert_eq!(client.api_key_list().send().await.unwrap().into_inner().len(), 1);
    assert_eq!(status(client.api_key_delete().key_id(read.id.to_string()).send().await), 404);
    let forged = oqto_client::client_with_token(&server.url, Some("oqto_0000")).unwrap();
    assert_eq!(status(forged.me_view().send().await), 401);
}

#[tokio::test]
async fn keys_are_their_owners_and_die_with_the_account() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let (client, me) = server.user_client("temp").await;
    let (other, _) = server.user_client("stranger").await;
    let admin_scope = create("root", Some(vec![types::ApiKeyScope::Admin]));
    assert_eq!(status(client.api_key_create().body(admin_scope.clone()).send().await), 422);
    assert_eq!(status(client.api_key_create().body(create("  ", None)).send().await), 422);
    let past = types::ApiKeyCreate {
        name: "old".into(),
        scopes: None,
        expires_at: Some(chrono::Utc::now() - chrono::Duration::hours(1)),
    };
    assert_eq!(status(client.api_key_create().body(past).send().await), 422);

    let made = client.api_key_create().body(create("mine", None)).send().await.unwrap().into_inner();
    assert_eq!(status(other.api_key_revoke().key_id(made.id.to_string()).send().await), 404);
    assert_eq!(status(other.api_key_delete().key_id(made.id.to_string()).send().await), 404);
    let by_key = oqto_client::client_with_token(&server.url, Some(&made.key)).unwrap();
    admin.user_deactivate().user_id(me.id.to_string()).send().await.unwrap();
    assert_eq!(status(by_key.me_view().send().await), 401);
    admin.user_activate().user_id(me.id.to_string()).send().await.unwrap();
    assert!(by_key.me_view().send().await.is_ok(), "a key outlives a deactivation, not its use during one");
    // Deactivation voided the session token: log in again.
    let token = server.login("temp", oqto_tests::TEST_PASSWORD).await;
    let client = oqto_client::client_with_token(&server.url, Some(&token)).unwrap();

    // An expiring key stops at its time; an admin key reaches admin routes.
    let soon = types::ApiKeyCreate {
        name: "soon".into(),
        scopes: None,
        expires_at: Some(chrono::Utc::now() + chrono::Duration::milliseconds(800)),
    };
    let soon = client.api_key_create().body(soon).send().await.unwrap().into_inner();
    let by_soon = oqto_client::client_with_token(&server.url, Some(&soon.key)).unwrap();
    assert!(by_soon.me_view().send().await.is_ok());
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(status(by_soon.me_view().send().await), 401);
    let root = admin.api_key_create().body(admin_scope).send().await.unwrap().into_inner();
    let by_root = oqto_client::client_with_token(&server.url, Some(&root.key)).unwrap();
    assert!(by_root.user_list().send().await.is_ok());
    assert_eq!(
        status(by_root.me_view().send().await),
        403,
        "admin alone does not read the caller's own data"
    );

    let providers = server.anonymous().oauth_provider_list().send().await.unwrap().into_inner();
    assert!(!providers.enabled && providers.providers.is_empty());
}
