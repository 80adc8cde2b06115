//! Logging in and out, registration with invite codes, passwords, throttling.

use oqto_client::types;
use oqto_tests::{Options, TEST_PASSWORD, TestServer, error_body, status};

fn creds(username: &str, password: &str) -> types::LoginCredentials {
    types::LoginCredentials { username: username.into(), password: password.into() }
}

fn registration(username: &str, code: &str) -> types::Registration {
    types::Registration {
        username: username.into(),
        email: format!("{username}@example.org"),
        password: TEST_PASSWORD.into(),
        invite_code: code.into(),
        display_name: None,
    }
}

async fn invite(
    admin: &oqto_client::Client,
    code: &str,
    max_uses: i64,
    expires_in_secs: Option<i64>,
) -> types::InviteCodeView {
    admin
        .invite_code_create()
        .body(types::InviteCodeCreate {
            code: Some(code.into()),
            max_uses: Some(max_uses),
            expires_in_secs,
            note: None,
        })
        .send()
        .await
        .expect("creating an invite")
        .into_inner()
}

#[tokio::test]
async fn login_by_username_or_email_returns_token_and_cookie() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    let by_name = anon.auth_login().body(creds("admin", &server.admin_password)).send().await.unwrap();
    let cookie = by_name.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.starts_with("auth_token="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let token = by_name.into_inner();
    assert_eq!(token.user.role, types::Role::Admin);
    assert!(cookie.contains(&token.token));
    let by_email =
        anon.auth_login().body(creds("ADMIN@localhost", &server.admin_password)).send().await.unwrap();
    assert_eq!(by_email.into_inner().user.id, token.user.id);

    // The cookie alone authenticates too.
    let me = server
        .http()
        .get(format!("{}/api/me", server.url))
        .header("cookie", format!("auth_token={}", token.token))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_refused_alike() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    let (code, body) = error_body(anon.auth_login().body(creds("admin", "not the password")).send().await);
    assert_eq!(code, 401);
    assert_eq!(body.error_code.as_deref(), Some("Unauthorized"));
    assert!(!body.request_id.is_empty());
    let (code, unknown) =
        error_body(anon.auth_login().body(creds("nobody", "not the password")).send().await);
    assert_eq!(code, 401);
    assert_eq!(unknown.message, body.message);
    assert_eq!(status(anon.auth_login().body(creds("", "")).send().await), 422);
}

#[tokio::test]
async fn token_after_logout_is_refused() {
    let server = TestServer::start().await;
    let token = server.login("admin", &server.admin_password).await;
    let other = server.login("admin", &server.admin_password).await;
    let client = server.client(&token);
    client.me_view().send().await.unwrap();
    let out = client.auth_logout().send().await.unwrap();
    let cookie = out.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.contains("Max-Age=0"), "{cookie}");
    assert_eq!(status(client.me_view().send().await), 401);
    // Other sessions of the same user are unaffected.
    server.client(&other).me_view().send().await.unwrap();
    // Logging out without a token is harmless.
    server.anonymous().auth_logout().send().await.unwrap();
}

#[tokio::test]
async fn password_change_invalidates_old_tokens_and_returns_a_new_one() {
    let server = TestServer::start().await;
    let (user, _) = server.user_client("pat").await;
    let wrong = types::PasswordChange {
        current_password: "wrong password".into(),
        new_password: "new password 1".into(),
    };
    assert_eq!(status(user.auth_password_change().body(wrong).send().await), 403);
    let short =
        types::PasswordChange { current_password: TEST_PASSWORD.into(), new_password: "short".into() };
    assert_eq!(status(user.auth_password_change().body(short).send().await), 422);
    let change = types::PasswordChange {
        current_password: TEST_PASSWORD.into(),
        new_password: "new password 1".into(),
    };
    let fresh = user.auth_password_change().body(change).send().await.unwrap().into_inner();
    assert_eq!(status(user.me_view().send().await), 401);
    server.client(&fresh.token).me_view().send().await.unwrap();
    assert_eq!(status(server.anonymous().auth_login().body(creds("pat", TEST_PASSWORD)).send().await), 401);
    server.login("pat", "new password 1").await;
}

#[tokio::test]
async fn deactivated_user_is_refused_at_login_and_with_existing_token() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let (user, view) = server.user_client("dora").await;
    admin.user_deactivate().user_id(view.id.to_string()).send().await.unwrap();
    assert_eq!(status(user.me_view().send().await), 401);
    let (code, body) =
        error_body(server.anonymous().auth_login().body(creds("dora", TEST_PASSWORD)).send().await);
    assert_eq!((code, body.message.as_str()), (403, "account is deactivated"));
    admin.user_activate().user_id(view.id.to_string()).send().await.unwrap();
    // Reactivation does not revive the old token, but logging in works again.
    assert_eq!(status(user.me_view().send().await), 401);
    server.login("dora", TEST_PASSWORD).await;
}

#[tokio::test]
async fn login_is_throttled_per_account_with_retry_after() {
    let options = Options::default()
        .env("OQTO_AUTH__LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")
        .env("OQTO_AUTH__LOGIN_MAX_FAILURES_PER_ADDRESS", "100");
    let server = TestServer::start_with(options).await;
    server.user_client("other").await;
    let anon = server.anonymous();
    for _ in 0..3 {
        assert_eq!(status(anon.auth_login().body(creds("admin", "bad password")).send().await), 401);
    }
    // Even the right password waits now.
    let response = server
        .http()
        .post(format!("{}/api/auth/login", server.url))
        .json(&serde_json::json!({ "username": "admin", "password": server.admin_password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], "TooManyRequests");
    // Another account from the same address is not locked.
    server.login("other", TEST_PASSWORD).await;
}

#[tokio::test]
async fn login_is_throttled_per_address() {
    let options = Options::default()
        .env("OQTO_AUTH__LOGIN_MAX_FAILURES_PER_ACCOUNT", "100")
        .env("OQTO_AUTH__LOGIN_MAX_FAILURES_PER_ADDRESS", "4");
    let server = TestServer::start_with(options).await;
    let anon = server.anonymous();
    for name in ["a1", "a2", "a3", "a4"] {
        assert_eq!(status(anon.auth_login().body(creds(name, "bad password")).send().await), 401);
    }
    assert_eq!(status(anon.auth_login().body(creds("admin", &server.admin_password)).send().await), 429);
}

#[tokio::test]
async fn dev_login_exists_only_in_dev_mode() {
    let server = TestServer::start().await;
    let body = types::DevLogin { username: None };
    assert_eq!(status(server.anonymous().auth_dev_login().body(body.clone()).send().await), 404);
    let dev = TestServer::start_with(Options::default().env("OQTO_AUTH__DEV_MODE", "true")).await;
    let token = dev.anonymous().auth_dev_login().body(body).send().await.unwrap().into_inner();
    assert_eq!(token.user.username, "admin");
    let features = dev.anonymous().feature_list().send().await.unwrap().into_inner();
    assert!(features.dev_mode);
    let missing = types::DevLogin { username: Some("ghost".into()) };
    assert_eq!(status(dev.anonymous().auth_dev_login().body(missing).send().await), 404);
}

#[tokio::test]
async fn registration_consumes_an_invite_and_logs_in() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let code = invite(&admin, "WELCOME-2", 2, None).await;
    let response =
        server.anonymous().auth_register().body(registration("reg1", "WELCOME-2")).send().await.unwrap();
    assert!(response.headers().get("set-cookie").is_some());
    let token = response.into_inner();
    assert_eq!(token.user.role, types::Role::User);
    let me = server.client(&token.token).me_view().send().await.unwrap().into_inner();
    assert_eq!(me.username, "reg1");
    let after = admin.invite_code_view().code_id(code.id.to_string()).send().await.unwrap().into_inner();
    assert_eq!(after.uses_remaining, 1);
    assert_eq!(after.used_by, Some(me.id));
}

#[tokio::test]
async fn bad_invites_are_refused_with_a_reason() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let anon = server.anonymous();
    let reason = |r| async move { error_body(r).1.message };
    invite(&admin, "ONCE", 1, None).await;
    anon.auth_register().body(registration("first", "ONCE")).send().await.unwrap();
    assert_eq!(
        reason(anon.auth_register().body(registration("second", "ONCE")).send().await).await,
        "invite code has no uses left"
    );
    let revoked = invite(&admin, "REVOKED", 5, None).await;
    admin.invite_code_revoke().code_id(revoked.id.to_string()).send().await.unwrap();
    assert_eq!(
        reason(anon.auth_register().body(registration("third", "REVOKED")).send().await).await,
        "invite code has been revoked"
    );
    invite(&admin, "SHORTLIVED", 5, Some(1)).await;
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert_eq!(
        reason(anon.auth_register().body(registration("fourth", "SHORTLIVED")).send().await).await,
        "invite code has expired"
    );
    assert_eq!(
        reason(anon.auth_register().body(registration("fifth", "NOPE")).send().await).await,
        "invite code is not known"
    );
    assert_eq!(status(anon.auth_register().body(registration("fifth", "NOPE")).send().await), 422);
}

#[tokio::test]
async fn taken_username_is_a_conflict_and_keeps_the_invite_use() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let code = invite(&admin, "KEEPME", 1, None).await;
    let mut clash = registration("admin", "KEEPME");
    clash.email = "someone@example.org".into();
    assert_eq!(status(server.anonymous().auth_register().body(clash).send().await), 409);
    let after = admin.invite_code_view().code_id(code.id.to_string()).send().await.unwrap().into_inner();
    assert_eq!(after.uses_remaining, 1, "the failed registration was rolled back");
    let mut bad = registration("x", "KEEPME");
    bad.password = "short".into();
    assert_eq!(status(server.anonymous().auth_register().body(bad).send().await), 422);
}

#[tokio::test]
async fn invite_with_last_use_admits_exactly_one() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    invite(&admin, "LASTONE", 1, None).await;
    let attempts = (0..8).map(|i| {
        let anon = server.anonymous();
        async move { anon.auth_register().body(registration(&format!("racer{i}"), "LASTONE")).send().await }
    });
    let results = futures::future::join_all(attempts).await;
    let admitted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(admitted, 1, "{results:?}");
    for r in results.into_iter().filter(|r| r.is_err()) {
        assert_eq!(status(r), 422);
    }
    let stats = admin.user_stats().send().await.unwrap().into_inner();
    assert_eq!(stats.users, 1);
}

/// Logins sent all at once count as they arrive: no more reach the
/// password check than the account's limit allows.
#[tokio::test]
async fn a_parallel_burst_of_guesses_is_throttled_as_it_arrives() {
    let server = TestServer::start().await;
    server.user_client("burst").await;
    let guesses = (0..30).map(|i| {
        let anon = server.anonymous();
        let password = if i == 29 { TEST_PASSWORD.to_string() } else { format!("wrong-{i}") };
        async move { code(anon.auth_login().body(creds("burst", &password)).send().await) }
    });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers.iter().filter(|s| matches!(s, 200 | 401)).count();
    assert!(checked <= 5, "{checked} attempts reached the password check: {answers:?}");
    assert!(answers.iter().filter(|s| **s == 429).count() >= 25, "{answers:?}");
}

/// The username and the email are one account, with one budget.
#[tokio::test]
async fn username_and_email_share_one_budget() {
    let server = TestServer::start().await;
    server.user_client("twoface").await;
    let anon = server.anonymous();
    for login in ["twoface", "twoface@example.org", "TwoFace", "twoface@example.org", "twoface"] {
        assert_eq!(status(anon.auth_login().body(creds(login, "wrong-password")).send().await), 401);
    }
    let sixth = anon.auth_login().body(creds("twoface@example.org", TEST_PASSWORD)).send().await;
    assert_eq!(status(sixth), 429);
}

/// The status of an answer, success or not.
fn code<T: std::fmt::Debug, E: std::fmt::Debug>(result: Result<T, oqto_client::Error<E>>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(e) => status::<T, E>(Err(e)),
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Password hashing runs one per core, whatever the load: after a first
/// flood of logins, more floods do not grow the server (each argon2 run
/// holds about 19 MiB; unbounded, 60 parallel ones took over 1 GiB).
#[tokio::test]
async fn a_login_flood_keeps_memory_bounded() {
    let options = Options::default().env("OQTO_AUTH__LOGIN_MAX_FAILURES_PER_ADDRESS", "100000");
    let server = TestServer::start_with(options).await;
    let warm = server.anonymous();
    let _ = warm.auth_login().body(creds("nobody", "warming-up")).send().await;
    let flood = || {
        futures::future::join_all((0..60).map(|i| {
            let anon = server.anonymous();
            async move { code(anon.auth_login().body(creds(&format!("u{i}"), "wrong-password")).send().await) }
        }))
    };
    let first = flood().await;
    assert!(first.iter().all(|s| matches!(s, 401 | 503)), "{first:?}");
    let before = rss_kib(server.pid());
    for _ in 0..3 {
        let answers = flood().await;
        assert!(answers.iter().all(|s| matches!(s, 401 | 503)), "{answers:?}");
    }
    let grown_mib = rss_kib(server.pid()).saturating_sub(before) / 1024;
    assert!(grown_mib < 40, "the server grew by {grown_mib} MiB more under 180 more parallel logins");
}
