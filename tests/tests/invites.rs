//! Invite codes.

use oqto_client::types;
use oqto_tests::{TestServer, status};
use reqwest::Method;

#[tokio::test]
async fn invite_codes_end_to_end() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let me = admin.me_view().send().await.unwrap().into_inner();
    let random = admin
        .invite_code_create()
        .body(types::InviteCodeCreate::default())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!((random.max_uses, random.uses_remaining, random.is_valid), (1, 1, true));
    assert_eq!(random.created_by, Some(me.id));
    assert_eq!(random.code.len(), 14);
    let named = admin
        .invite_code_create()
        .body(types::InviteCodeCreate {
            code: Some("TEAM-2026".into()),
            max_uses: Some(10),
            expires_in_secs: Some(3600),
            note: Some("for the team".into()),
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(named.expires_at.is_some());
    let dup = types::InviteCodeCreate { code: Some("TEAM-2026".into()), ..Default::default() };
    assert_eq!(status(admin.invite_code_create().body(dup).send().await), 409);
    for bad in [
        types::InviteCodeCreate { code: Some("x".into()), ..Default::default() },
        types::InviteCodeCreate { max_uses: Some(0), ..Default::default() },
        types::InviteCodeCreate { expires_in_secs: Some(-5), ..Default::default() },
    ] {
        assert_eq!(status(admin.invite_code_create().body(bad).send().await), 422);
    }

    let batch = admin
        .invite_code_batch_create()
        .body(types::InviteCodeBatchCreate {
            count: 5,
            uses_per_code: 2,
            expires_in_secs: None,
            prefix: Some("B-".into()),
            note: None,
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.len(), 5);
    assert!(batch.iter().all(|c| c.code.starts_with("B-") && c.max_uses == 2));
    let too_many = types::InviteCodeBatchCreate {
        count: 5000,
        uses_per_code: 1,
        expires_in_secs: None,
        prefix: None,
        note: None,
    };
    assert_eq!(status(admin.invite_code_batch_create().body(too_many).send().await), 422);

    let all = admin.invite_code_list().send().await.unwrap().into_inner();
    assert_eq!(all.len(), 7);
    let revoked =
        admin.invite_code_revoke().code_id(batch[0].id.to_string()).send().await.unwrap().into_inner();
    assert!(!revoked.is_valid && revoked.revoked_at.is_some());
    let again =
        admin.invite_code_revoke().code_id(batch[0].id.to_string()).send().await.unwrap().into_inner();
    assert_eq!(again.revoked_at, revoked.revoked_at, "revoking twice keeps the first time");
    let valid = admin.invite_code_list().valid(true).send().await.unwrap().into_inner();
    assert_eq!(valid.len(), 6);
    let invalid = admin.invite_code_list().valid(false).send().await.unwrap().into_inner();
    assert_eq!(invalid.len(), 1);
    let mine = admin.invite_code_list().created_by(me.id).limit(3u32).send().await.unwrap().into_inner();
    assert_eq!(mine.len(), 3);

    let stats = admin.invite_code_stats().send().await.unwrap().into_inner();
    assert_eq!((stats.total, stats.valid, stats.revoked, stats.total_uses), (7, 6, 1, 0));

    admin.invite_code_delete().code_id(named.id.to_string()).send().await.unwrap();
    assert_eq!(status(admin.invite_code_view().code_id(named.id.to_string()).send().await), 404);
    assert_eq!(
        status(admin.invite_code_revoke().code_id(uuid::Uuid::new_v4().to_string()).send().await),
        404
    );
}

#[tokio::test]
async fn original_invite_paths_are_served() {
    let server = TestServer::start().await;
    let token = server.login("admin", &server.admin_password).await;
    let batch = serde_json::json!({ "count": 3, "uses_per_code": 1 });
    let (code, _) = server.raw(Method::POST, "/api/admin/invite-codes/batch", &token, Some(batch)).await;
    assert_eq!(code, 201);
    let (code, stats) = server.raw(Method::GET, "/api/admin/invite-codes/stats", &token, None).await;
    assert_eq!((code, &stats["total"]), (200, &serde_json::json!(3)));
    let bad = serde_json::json!({ "count": "many" });
    let (code, body) = server.raw(Method::POST, "/api/admin/invite-codes/batch", &token, Some(bad)).await;
    assert_eq!(code, 400);
    assert!(body["message"].as_str().unwrap().contains("unable to parse JSON body"));
}
