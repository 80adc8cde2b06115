//! codexbar: the server runs the operator's codexbar and passes on its
//! JSON; a fake `codexbar` script stands in for it.

use std::os::unix::fs::PermissionsExt;

use oqto_tests::{Options, TestServer, error_body, status};

/// Writes an executable script `dir/codexbar`.
fn script(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("codexbar");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn codexbar_on_the_path_is_run_and_its_json_returned() {
    let bin = tempfile::tempdir().unwrap();
    // Answers only the newest form, and shows it got a clean environment.
    script(
        bin.path(),
        r#"[ "$*" = "usage --provider all --source cli --format json" ] || exit 2
printf '{"providers":[{"id":"codex","used_percent":42}],"secret_seen":"%s"}' "${OQTO_AUTH__DEV_MODE:-}""#,
    );
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap());
    let server =
        TestServer::start_with(Options::default().env("PATH", &path).env("OQTO_AUTH__DEV_MODE", "false"))
            .await;
    let (client, _) = server.user_client("counter").await;
    let usage = client.codexbar_usage_view().send().await.unwrap().into_inner();
    assert_eq!(usage["providers"][0]["used_percent"], 42);
    assert_eq!(usage["secret_seen"], "", "the server's environment leaked into codexbar");

    let out = server
        .oqtoctl()
        .env("OQTO_TOKEN", server.login("counter", oqto_tests::TEST_PASSWORD).await)
        .args(["-o", "json", "codexbar", "usage"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"used_percent\": 42"));
    assert_eq!(status(server.anonymous().codexbar_usage_view().send().await), 401);
}

#[tokio::test]
async fn an_older_codexbar_a_failing_one_and_none() {
    let bin = tempfile::tempdir().unwrap();
    // An older version: no --format, but --json.
    let older = script(
        bin.path(),
        r#"case "$*" in *--format*) echo "unknown option --format" >&2; exit 64;; esac
echo '{"version":"old"}'"#,
    );
    let mut server =
        TestServer::start_with(Options::default().env("OQTO_CODEXBAR__BIN", older.to_str().unwrap())).await;
    let (client, _) = server.user_client("counter").await;
    let usage = client.codexbar_usage_view().send().await.unwrap().into_inner();
    assert_eq!(usage["version"], "old");

    // Prints no JSON whatever it is asked.
    script(bin.path(), "echo 'not json'");
    let (code, body) = error_body(client.codexbar_usage_view().send().await);
    assert_eq!((code, body.error_code.as_deref()), (502, Some("BadGateway")), "{body:?}");
    assert!(body.message.contains("no JSON"), "{body:?}");

    // Not installed.
    let gone = bin.path().join("missing").join("codexbar");
    server.restart_with(Options::default().env("OQTO_CODEXBAR__BIN", gone.to_str().unwrap())).await;
    let client = server.client(&server.login("counter", oqto_tests::TEST_PASSWORD).await);
    let (code, body) = error_body(client.codexbar_usage_view().send().await);
    assert_eq!(code, 404);
    assert!(body.message.contains("codexbar not available"), "{body:?}");
}
