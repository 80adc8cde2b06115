//! The `files` mux channel: reading and changing a workspace's files, path
//! confinement, and watching.

use std::time::Duration;

use oqto_api::mux::{ClientFrame, FilesCommand, FilesEvent, FilesRequest, ServerFrame};
use oqto_client::mux::{MuxClient, MuxEvent};
use oqto_tests::{TEST_PASSWORD, TestServer};

async fn call(mux: &mut MuxClient, id: &str, ws: &str, command: FilesCommand) -> FilesEvent {
    mux.send(ClientFrame::Files(FilesRequest { id: Some(id.into()), workspace_path: ws.into(), command }));
    loop {
        match tokio::time::timeout(Duration::from_secs(10), mux.next()).await.expect("no reply") {
            Some(MuxEvent::Frame(ServerFrame::Files(event))) => {
                let reply_id = match &event {
                    FilesEvent::TreeResult { id, .. }
                    | FilesEvent::StatResult { id, .. }
                    | FilesEvent::ReadResult { id, .. }
                    | FilesEvent::Done { id, .. }
                    | FilesEvent::Error { id, .. } => id.clone(),
                    FilesEvent::FileChanged { .. } => None,
                };
                if reply_id.as_deref() == Some(id) {
                    return event;
                }
            }
            Some(_) => {}
            None => panic!("connection ended"),
        }
    }
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn error(event: FilesEvent) -> String {
    match event {
        FilesEvent::Error { error, .. } => error,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn files_round_trip_inside_the_workspace() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("filer").await;
    server.open_workspace(&client, "site").await;
    let token = server.login("filer", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    let write = FilesCommand::Write {
        path: "src/main.rs".into(),
        content: b64("fn main() {}\n"),
        create_parents: Some(true),
    };
    assert!(matches!(call(&mut mux, "w", "site", write).await, FilesEvent::Done { .. }));
    match call(&mut mux, "r", "site", FilesCommand::Read { path: "src/main.rs".into() }).await {
        FilesEvent::ReadResult { content, size, .. } => {
            assert_eq!((content, size), (b64("fn main() {}\n"), 13));
        }
        other => panic!("{other:?}"),
    }
    call(&mut mux, "d", "site", FilesCommand::CreateDirectory { path: "docs".into(), create_parents: None })
        .await;
    call(
        &mut mux,
        "c",
        "site",
        FilesCommand::Copy { from: "src".into(), to: "backup".into(), overwrite: None },
    )
    .await;
    call(&mut mux, "m", "site", FilesCommand::Rename { from: "docs".into(), to: "guide".into() }).await;
    match call(&mut mux, "t", "site", FilesCommand::Tree { path: None, depth: Some(2), include_hidden: None })
        .await
    {
        FilesEvent::TreeResult { entries, truncated, .. } => {
            let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
            assert_eq!(names, ["backup", "guide", "src"]);
            assert_eq!(entries[0].children.as_ref().unwrap()[0].path, "backup/main.rs");
            assert!(!truncated);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        error(
            call(
                &mut mux,
                "c2",
                "site",
                FilesCommand::Copy { from: "src".into(), to: "backup".into(), overwrite: None }
            )
            .await
        )
        .contains("exists")
    );
    assert!(
        !error(
            call(&mut mux, "x", "site", FilesCommand::Delete { path: "backup".into(), recursive: None })
                .await
        )
        .is_empty()
    );
    call(&mut mux, "x2", "site", FilesCommand::Delete { path: "backup".into(), recursive: Some(true) }).await;
    match call(&mut mux, "s", "site", FilesCommand::Stat { path: "src/main.rs".into() }).await {
        FilesEvent::StatResult { entry, .. } => assert_eq!((entry.kind.as_str(), entry.size), ("file", 13)),
        other => panic!("{other:?}"),
    }
    assert!(
        error(
            call(
                &mut mux,
                "bad",
                "site",
                FilesCommand::Write { path: "x".into(), content: "***".into(), create_parents: None }
            )
            .await
        )
        .contains("base64")
    );
}

#[tokio::test]
async fn no_path_escapes_the_workspace() {
    let server = TestServer::start().await;
    let (client, me) = server.user_client("jail").await;
    server.open_workspace(&client, "ws").await;
    let root = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace");
    let outside = server.data_dir.path().join("secret.txt");
    std::fs::write(&outside, "top secret").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("ws/link")).unwrap();
    std::os::unix::fs::symlink(server.data_dir.path(), root.join("ws/dirlink")).unwrap();
    let token = server.login("jail", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    for path in ["../ws2/x", "../../secret.txt", "/etc/passwd", "link", "dirlink/secret.txt"] {
        let e = error(call(&mut mux, path, "ws", FilesCommand::Read { path: path.into() }).await);
        assert!(e.contains("inside your workspace root"), "{path}: {e}");
    }
    let write =
        FilesCommand::Write { path: "dirlink/new.txt".into(), content: b64("x"), create_parents: None };
    assert!(error(call(&mut mux, "w", "ws", write).await).contains("inside"));
    assert!(!server.data_dir.path().join("new.txt").exists());
    let escape_ws =
        call(&mut mux, "ws", "../..", FilesCommand::Tree { path: None, depth: None, include_hidden: None })
            .await;
    assert!(error(escape_ws).contains("inside"));
    let delete_root = FilesCommand::Delete { path: ".".into(), recursive: Some(true) };
    assert!(error(call(&mut mux, "root", "ws", delete_root).await).contains("cannot be deleted"));
}

#[tokio::test]
async fn watched_workspaces_push_changes() {
    let server = TestServer::start().await;
    let (client, me) = server.user_client("watcher").await;
    server.open_workspace(&client, "w").await;
    let token = server.login("watcher", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    assert!(matches!(call(&mut mux, "watch", "w", FilesCommand::WatchFiles).await, FilesEvent::Done { .. }));
    let root = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace/w");
    std::fs::write(root.join("notes.md"), "hello").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, mux.next()).await.expect("no file_changed event") {
            Some(MuxEvent::Frame(ServerFrame::Files(FilesEvent::FileChanged {
                path,
                event_type,
                workspace_path,
                ..
            }))) => {
                assert_eq!(workspace_path, "w");
                if path == "notes.md" && (event_type == "file_created" || event_type == "file_modified") {
                    break;
                }
            }
            Some(_) => {}
            None => panic!("connection ended"),
        }
    }
}
