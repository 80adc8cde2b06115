//! Projects, workspace metadata and the workspace sandbox.

use oqto_client::types;
use oqto_tests::{Options, TestServer, status};

#[tokio::test]
async fn projects_and_workspace_metadata() {
    let server = TestServer::start().await;
    let (client, me) = server.user_client("proj").await;
    let root = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace");
    for dir in ["beta", "alpha", ".hidden", "alpha/inner"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("file.txt"), "not a project").unwrap();
    let projects = client.project_list().send().await.unwrap().into_inner();
    let names: Vec<&str> = projects.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    let inner = client.project_list().path("alpha").send().await.unwrap().into_inner();
    assert_eq!(inner[0].path, "alpha/inner");
    assert_eq!(status(client.project_list().path("..").send().await), 422);

    let query = |w: &str| client.workspace_meta_view().workspace_path(w.to_string());
    assert!(!query("beta").send().await.unwrap().into_inner().pinned);
    // Other keys of the file survive an update.
    std::fs::create_dir_all(root.join("beta/.oqto")).unwrap();
    std::fs::write(root.join("beta/.oqto/workspace.toml"), "custom = \"kept\"\n").unwrap();
    let update = types::WorkspaceMetaUpdate {
        workspace_path: "beta".into(),
        display_name: Some("Beta Project".into()),
        language: Some("rust".into()),
        pinned: Some(true),
        bootstrap_pending: None,
    };
    let meta = client.workspace_meta_update().body(update).send().await.unwrap().into_inner();
    assert_eq!((meta.display_name.as_deref(), meta.pinned), (Some("Beta Project"), true));
    let file = std::fs::read_to_string(root.join("beta/.oqto/workspace.toml")).unwrap();
    assert!(file.contains("custom = \"kept\""), "{file}");
    let projects = client.project_list().send().await.unwrap().into_inner();
    assert_eq!(projects[0].name, "Beta Project", "pinned first, under its display name");

    let too_long = types::WorkspaceMetaUpdate {
        workspace_path: "beta".into(),
        display_name: Some("x".repeat(200)),
        language: None,
        pinned: None,
        bootstrap_pending: None,
    };
    assert_eq!(status(client.workspace_meta_update().body(too_long).send().await), 422);
    assert_eq!(status(query("missing").send().await), 404);
    assert_eq!(status(query("../../etc").send().await), 422);
}

#[tokio::test]
async fn a_workspace_sandbox_may_only_get_stricter() {
    let server =
        TestServer::start_with(Options::default().env("OQTO_SANDBOX__DEFAULT_PROFILE", "minimal")).await;
    let (client, me) = server.user_client("box").await;
    let root = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace");
    std::fs::create_dir_all(root.join("w")).unwrap();
    let view = client.workspace_sandbox_view().workspace_path("w").send().await.unwrap().into_inner();
    assert_eq!(view.profile, "minimal");
    assert_eq!(view.profiles, ["development", "minimal", "strict"]);

    let change = |profile: Option<&str>, overrides: Option<types::SandboxProfile>| types::SandboxUpdate {
        workspace_path: "w".into(),
        profile: profile.map(str::to_string),
        overrides,
    };
    let message = |r| match oqto_tests::error_body(r) {
        (422, body) => body.message,
        (code, body) => panic!("expected 422, got {code}: {body:?}"),
    };
    let looser = client.workspace_sandbox_update().body(change(Some("development"), None)).send().await;
    assert!(message(looser).starts_with("profile:"));
    let writes = types::SandboxProfile { allow_write: vec!["/etc".into()], ..Default::default() };
    let more = client.workspace_sandbox_update().body(change(None, Some(writes))).send().await;
    assert!(message(more).starts_with("allow_write:"));
    let binds = types::SandboxProfile { extra_rw_bind: vec!["/srv".into()], ..Default::default() };
    let rw = client.workspace_sandbox_update().body(change(None, Some(binds))).send().await;
    assert!(message(rw).starts_with("extra_rw_bind:"));

    let stricter = types::SandboxProfile {
        isolate_network: true,
        deny_read: vec!["/data".into()],
        ..Default::default()
    };
    let view = client
        .workspace_sandbox_update()
        .body(change(Some("strict"), Some(stricter)))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(view.profile, "strict");
    assert!(view.effective.isolate_network && view.effective.deny_read.contains(&"/data".to_string()));
    assert_eq!(view.effective.seccomp_mode, types::SandboxMode::Enforce);

    // A hand-edited file that tries to loosen is not honoured.
    std::fs::write(
        root.join("w/.oqto/sandbox.toml"),
        "profile = \"development\"\n[overrides]\nallow_write = [\"/etc\", \"/tmp\"]\nextra_rw_bind = [\"/\"]\n",
    )
    .unwrap();
    let view = client.workspace_sandbox_view().workspace_path("w").send().await.unwrap().into_inner();
    assert_eq!(view.profile, "minimal");
    assert_eq!(view.effective.allow_write, ["/tmp"]);
    assert!(view.effective.extra_rw_bind.is_empty());
}

#[tokio::test]
async fn project_logos_are_images_from_a_logo_folder_only() {
    let server = TestServer::start().await;
    let (client, me) = server.user_client("logo").await;
    let root = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace");
    std::fs::create_dir_all(root.join("app/logo")).unwrap();
    let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0];
    std::fs::write(root.join("app/logo/logo.png"), png).unwrap();
    std::fs::write(root.join("app/logo/notes.txt"), "not an image").unwrap();
    std::fs::write(root.join("app/secret.png"), png).unwrap();
    std::fs::write(server.data_dir.path().join("outside.png"), png).unwrap();

    let response = client.project_logo_view().path("app/logo/logo.png").send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "image/png");
    assert!(response.headers().contains_key("etag"));
    assert!(response.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    let token = server.login("logo", oqto_tests::TEST_PASSWORD).await;
    let (code, _) =
        server.raw(reqwest::Method::GET, "/api/projects/logo/app/logo/logo.png", &token, None).await;
    assert_eq!(code, 200, "the original's wildcard path");
    for (path, expected) in [
        ("app/logo/notes.txt", 422),
        ("app/secret.png", 422),
        ("app/logo/missing.png", 404),
        ("../../outside.png", 422),
        ("/etc/passwd", 422),
    ] {
        let result = client.project_logo_view().path(path).send().await.map(|_| ());
        assert_eq!(status(result), expected, "{path}");
    }
}

#[tokio::test]
async fn projects_from_templates() {
    let server = TestServer::start().await;
    let (client, me) = server.user_client("tmpl").await;
    let empty = client.project_template_list().send().await.unwrap().into_inner();
    assert!(!empty.configured && empty.templates.is_empty());
    let templates = server.data_dir.path().join("templates/rust-cli");
    std::fs::create_dir_all(templates.join("src")).unwrap();
    std::fs::write(
        templates.join("template.toml"),
        "description = \"A CLI\"\n[defaults]\nauthor = \"Nobody\"\n",
    )
    .unwrap();
    std::fs::write(
        templates.join("Cargo.toml"),
        "[package]\nname = \"{{project_name}}\"\nauthors = [\"{{author}}\"]\n",
    )
    .unwrap();
    std::fs::write(templates.join("src/{{project_name}}.rs"), "// {{project_name}}\n").unwrap();
    let list = client.project_template_list().send().await.unwrap().into_inner();
    assert_eq!(list.templates[0].description.as_deref(), Some("A CLI"));
    assert_eq!(list.templates[0].defaults["author"], "Nobody");

    let body = |project: &str| types::ProjectFromTemplate {
        template_path: "rust-cli".into(),
        project_path: project.into(),
        variables: [("author".to_string(), "Ada".to_string())].into_iter().collect(),
    };
    let made = client.project_create_from_template().body(body("tool")).send().await.unwrap().into_inner();
    assert_eq!(made.path, "tool");
    let root = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace/tool");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"tool\"") && manifest.contains("\"Ada\""), "{manifest}");
    assert!(root.join("src/tool.rs").exists());
    assert!(!root.join("template.toml").exists());
    assert_eq!(status(client.project_create_from_template().body(body("tool")).send().await), 409);
    assert_eq!(status(client.project_create_from_template().body(body("../escape")).send().await), 422);
    let unknown = types::ProjectFromTemplate { template_path: "../../etc".into(), ..body("other") };
    assert_eq!(status(client.project_create_from_template().body(unknown).send().await), 404);
}

/// The original web client's first calls for a new account: the projects of
/// a workspace root that does not exist yet are none, not a 422.
#[tokio::test]
async fn a_new_account_lists_no_projects() {
    let server = TestServer::start().await;
    let (client, me) = server.user_client("fresh").await;
    let root = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace");
    let _ = std::fs::remove_dir_all(&root);
    assert!(client.project_list().send().await.unwrap().into_inner().is_empty());
    assert!(client.project_list().path(".").send().await.unwrap().into_inner().is_empty());
    assert!(root.is_dir());
}
