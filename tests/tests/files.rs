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
                if event.id() == Some(id) {
                    return event;
                }
            }
            Some(_) => {}
            None => panic!("connection ended"),
        }
    }
}

fn b64(text: impl AsRef<[u8]>) -> String {
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
    assert!(matches!(
        call(&mut mux, "w", "site", write).await,
        FilesEvent::WriteResult { success: true, ref path, .. } if path == "src/main.rs"
    ));
    match call(&mut mux, "r", "site", FilesCommand::Read { path: "src/main.rs".into(), binary: None }).await {
        FilesEvent::ReadResult { content, size, .. } => {
            assert_eq!((content, size), (b64("fn main() {}\n"), 13));
        }
        other => panic!("{other:?}"),
    }
    // The same bytes raw in a binary frame: every byte value, a newline first.
    let raw: Vec<u8> = (0..=255u8).rev().chain(0..=255u8).cycle().take(70_000).collect();
    let put = FilesCommand::Write { path: ".raw.bin".into(), content: b64(&raw), create_parents: None };
    call(&mut mux, "w2", "site", put).await;
    let reader = server.mux(&token).await;
    assert_eq!(reader.read_file("site", ".raw.bin").await.unwrap(), raw);
    assert_eq!(reader.read_file("site", "src/main.rs").await.unwrap(), b"fn main() {}\n");
    let missing = reader.read_file("site", "nope.txt").await.unwrap_err().to_string();
    assert!(missing.contains("nope.txt"), "{missing}");
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
        FilesEvent::StatResult { stat, .. } => {
            assert!(stat.exists && stat.is_file && !stat.is_dir && !stat.is_symlink);
            assert_eq!(stat.size, 13);
            assert!(stat.modified_at.is_some() && stat.mode & 0o600 == 0o600);
        }
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
        let e =
            error(call(&mut mux, path, "ws", FilesCommand::Read { path: path.into(), binary: None }).await);
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
    assert!(matches!(
        call(&mut mux, "watch", "w", FilesCommand::WatchFiles).await,
        FilesEvent::WatchFilesResult { success: true, .. }
    ));
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

/// Links planted in a workspace (by its user's code) pointing out of it:
/// dangling, to `/`, hard links, a `.trx` link, links under the names of
/// temporary files, `..` in every command. Nothing outside is read,
/// written or created.
#[tokio::test]
async fn links_out_of_the_workspace_lead_nowhere() {
    use oqto_api::mux::{TrxCommand, TrxEvent, TrxIssueCreate, TrxRequest};
    use std::os::unix::fs::symlink;
    let server = TestServer::start().await;
    let (client, me) = server.user_client("linker").await;
    server.open_workspace(&client, "site").await;
    let site = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace/site");
    let outside = tempfile::tempdir().unwrap();
    let out = outside.path();
    std::fs::write(out.join("hard.txt"), "outside").unwrap();
    std::fs::write(site.join("real.txt"), "inside").unwrap();
    symlink(out.join("new.txt"), site.join("dangling")).unwrap();
    symlink("/", site.join("slash")).unwrap();
    std::fs::hard_link(out.join("hard.txt"), site.join("hard.txt")).unwrap();
    std::fs::create_dir_all(site.join(".oqto")).unwrap();
    symlink(out.join("meta"), site.join(".oqto/workspace.toml.tmp")).unwrap();
    symlink(out.join("sandbox"), site.join(".oqto/sandbox.toml.tmp")).unwrap();
    symlink(out.join("trx"), site.join(".trx")).unwrap();

    let token = server.login("linker", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    let write =
        |path: &str| FilesCommand::Write { path: path.into(), content: b64("x"), create_parents: Some(true) };
    let refused = [
        write("dangling"),
        write("slash/tmp/planted"),
        write("../planted"),
        FilesCommand::Read { path: "slash/etc/hostname".into(), binary: None },
        FilesCommand::Read { path: "slash/etc/hostname".into(), binary: Some(true) },
        FilesCommand::Read { path: "../../../../etc/hostname".into(), binary: Some(true) },
        FilesCommand::Stat { path: "../..".into() },
        FilesCommand::Tree { path: Some("..".into()), depth: None, include_hidden: None },
        FilesCommand::Tree { path: Some("slash".into()), depth: None, include_hidden: None },
        FilesCommand::CreateDirectory { path: "../made".into(), create_parents: Some(true) },
        FilesCommand::CreateDirectory { path: "dangling/made".into(), create_parents: Some(true) },
        FilesCommand::Rename { from: "real.txt".into(), to: "../moved.txt".into() },
        FilesCommand::Rename { from: "real.txt".into(), to: "slash/tmp/moved.txt".into() },
        FilesCommand::Copy { from: "real.txt".into(), to: "../copied.txt".into(), overwrite: Some(true) },
        FilesCommand::Copy { from: "real.txt".into(), to: "dangling".into(), overwrite: Some(true) },
        FilesCommand::Copy { from: "slash/etc/hostname".into(), to: "stolen".into(), overwrite: None },
        FilesCommand::Delete { path: "..".into(), recursive: Some(true) },
        FilesCommand::Delete { path: "slash/tmp".into(), recursive: Some(true) },
    ];
    for (n, command) in refused.into_iter().enumerate() {
        let shown = format!("{command:?}");
        match call(&mut mux, &format!("c{n}"), "site", command).await {
            FilesEvent::Error { error_code, error, .. } => {
                assert!(!error.contains(&*out.to_string_lossy()), "{shown}: {error}");
                assert!(!error.contains(&*server.data_dir.path().to_string_lossy()), "{shown}: {error}");
                assert_ne!(error_code, "Internal", "{shown}: {error}");
            }
            other => panic!("{shown} must be refused, got {other:?}"),
        }
    }
    // Writing onto a hard link replaces the workspace's name, never the file elsewhere.
    assert!(matches!(call(&mut mux, "hw", "site", write("hard.txt")).await, FilesEvent::WriteResult { .. }));
    assert_eq!(std::fs::read_to_string(out.join("hard.txt")).unwrap(), "outside");
    // The issue list, the workspace's metadata and sandbox.
    let create = TrxCommand::Create {
        data: TrxIssueCreate {
            title: "t".into(),
            description: None,
            issue_type: None,
            priority: None,
            parent_id: None,
        },
    };
    mux.send(ClientFrame::Trx(TrxRequest {
        id: Some("trx".into()),
        workspace_path: "site".into(),
        command: create,
    }));
    loop {
        match tokio::time::timeout(Duration::from_secs(10), mux.next()).await.unwrap() {
            Some(MuxEvent::Frame(ServerFrame::Trx(event))) => {
                assert!(matches!(event, TrxEvent::Error { .. }), "{event:?}");
                break;
            }
            Some(_) => {}
            None => panic!("ended"),
        }
    }
    client
        .workspace_meta_update()
        .body(oqto_client::types::WorkspaceMetaUpdate {
            workspace_path: "site".into(),
            display_name: Some("Site".into()),
            language: None,
            pinned: Some(true),
            bootstrap_pending: None,
        })
        .send()
        .await
        .unwrap();
    client
        .workspace_sandbox_update()
        .body(oqto_client::types::SandboxUpdate {
            workspace_path: "site".into(),
            profile: Some("strict".into()),
            overrides: None,
        })
        .send()
        .await
        .unwrap();
    let mut left: Vec<_> = std::fs::read_dir(out).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, ["hard.txt"], "something was written outside the workspace");
    assert!(!server.data_dir.path().join("users").join("planted").exists());
}

/// A directory swapped for a link out while writes go on: no write lands
/// outside (the check and the use are one kernel lookup).
#[tokio::test]
async fn a_link_swapped_in_between_check_and_use_leads_nowhere() {
    let server = TestServer::start().await;
    let (client, me) = server.user_client("racer").await;
    server.open_workspace(&client, "race").await;
    let ws = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace/race");
    let outside = tempfile::tempdir().unwrap();
    let out = outside.path().to_path_buf();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (ws, out, stop) = (ws.clone(), out.clone(), std::sync::Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::remove_dir_all(ws.join("d"));
                let _ = std::fs::create_dir(ws.join("d"));
                let _ = std::fs::remove_dir_all(ws.join("d"));
                let _ = std::os::unix::fs::symlink(&out, ws.join("d"));
                let _ = std::fs::remove_file(ws.join("d"));
            }
        })
    };
    let token = server.login("racer", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    for n in 0..300 {
        let write = FilesCommand::Write { path: format!("d/f{n}"), content: b64("x"), create_parents: None };
        call(&mut mux, &format!("w{n}"), "race", write).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().unwrap();
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "a write landed outside the workspace");
}

/// Sends `frame` as JSON and returns the reply with its `id`.
async fn raw_call(ws: &mut oqto_tests::RawMux, frame: serde_json::Value) -> serde_json::Value {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let id = frame["id"].clone();
    ws.send(Message::Text(frame.to_string().into())).await.unwrap();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("no reply");
        if let Some(Ok(Message::Text(text))) = next {
            let reply: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            if reply["channel"] == "files" && reply["id"] == id {
                return reply;
            }
        }
    }
}

/// Every files command, as the original web client sends it, gets the
/// original's `…_result` reply.
#[tokio::test]
async fn every_files_command_gets_its_result() {
    use serde_json::json;
    let server = TestServer::start().await;
    let (client, _) = server.user_client("webfiles").await;
    server.open_workspace(&client, "site").await;
    server.open_workspace(&client, "other").await;
    let token = server.login("webfiles", TEST_PASSWORD).await;
    let mut ws = server.raw_mux(&token).await;
    let f = |id: &str, kind: &str, rest: serde_json::Value| {
        let mut frame = json!({ "channel": "files", "id": id, "type": kind, "workspace_path": "site" });
        frame.as_object_mut().unwrap().extend(rest.as_object().unwrap().clone());
        frame
    };
    let r = raw_call(
        &mut ws,
        f("1", "write", json!({ "path": "a/One.txt", "content": b64("one"), "create_parents": true })),
    )
    .await;
    assert_eq!(
        (r["type"].as_str(), r["path"].as_str(), r["success"].as_bool()),
        (Some("write_result"), Some("a/One.txt"), Some(true))
    );
    let r = raw_call(&mut ws, f("2", "create_directory", json!({ "path": "b" }))).await;
    assert_eq!((r["type"].as_str(), r["success"].as_bool()), (Some("create_directory_result"), Some(true)));
    let r = raw_call(&mut ws, f("3", "write", json!({ "path": "zeta.txt", "content": b64("z") }))).await;
    assert_eq!(r["type"], "write_result");
    let r = raw_call(&mut ws, f("4", "list", json!({ "path": "." }))).await;
    assert_eq!(r["type"], "list_result");
    let names: Vec<&str> =
        r["entries"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b", "zeta.txt"], "directories first");
    assert_eq!(
        (r["entries"][0]["is_dir"].as_bool(), r["entries"][2]["size"].as_u64()),
        (Some(true), Some(1))
    );
    assert!(r["entries"][2]["modified_at"].is_i64());
    let r = raw_call(&mut ws, f("5", "stat", json!({ "path": "a/One.txt" }))).await;
    assert_eq!(
        (r["type"].as_str(), r["stat"]["exists"].as_bool(), r["stat"]["size"].as_u64()),
        (Some("stat_result"), Some(true), Some(3))
    );
    let r = raw_call(&mut ws, f("6", "stat", json!({ "path": "nothing" }))).await;
    assert_eq!(r["stat"]["exists"], false);
    let r = raw_call(&mut ws, f("7", "rename", json!({ "from": "zeta.txt", "to": "z.txt" }))).await;
    assert_eq!(
        (r["type"].as_str(), r["from"].as_str(), r["to"].as_str(), r["success"].as_bool()),
        (Some("rename_result"), Some("zeta.txt"), Some("z.txt"), Some(true))
    );
    let r = raw_call(&mut ws, f("8", "copy", json!({ "from": "z.txt", "to": "b/z.txt" }))).await;
    assert_eq!(r["type"], "copy_result");
    let r = raw_call(&mut ws, f("9", "move", json!({ "from": "b/z.txt", "to": "a/z.txt" }))).await;
    assert_eq!((r["type"].as_str(), r["success"].as_bool()), (Some("move_result"), Some(true)));
    let r = raw_call(&mut ws, f("10", "move", json!({ "from": "z.txt", "to": "a/z.txt" }))).await;
    assert_eq!((r["type"].as_str(), r["error_code"].as_str()), (Some("error"), Some("Conflict")), "{r}");
    let r =
        raw_call(&mut ws, f("11", "move", json!({ "from": "z.txt", "to": "a/z.txt", "overwrite": true })))
            .await;
    assert_eq!(r["type"], "move_result");
    let copy = json!({ "channel": "files", "id": "12", "type": "copy_to_workspace",
        "source_workspace_path": "site", "source_path": "a", "target_workspace_path": "other", "target_path": "from-site" });
    let r = raw_call(&mut ws, copy).await;
    assert_eq!(
        (r["type"].as_str(), r["files_copied"].as_u64(), r["success"].as_bool()),
        (Some("copy_to_workspace_result"), Some(2), Some(true)),
        "{r}"
    );
    let outside = json!({ "channel": "files", "id": "13", "type": "copy_to_workspace",
        "source_workspace_path": "site", "source_path": "a", "target_workspace_path": "../../elsewhere", "target_path": "x" });
    assert_eq!(raw_call(&mut ws, outside).await["type"], "error");
    let r = raw_call(&mut ws, f("14", "delete", json!({ "path": "b", "recursive": true }))).await;
    assert_eq!((r["type"].as_str(), r["path"].as_str()), (Some("delete_result"), Some("b")));
    let r = raw_call(&mut ws, f("15", "watch_files", json!({}))).await;
    assert_eq!(
        (r["type"].as_str(), r["workspace_path"].as_str()),
        (Some("watch_files_result"), Some("site"))
    );
    let r = raw_call(&mut ws, f("16", "unwatch_files", json!({}))).await;
    assert_eq!((r["type"].as_str(), r["success"].as_bool()), (Some("unwatch_files_result"), Some(true)));
}
