//! The `files` channel: reading and changing a workspace's files, and
//! watching it. Every path is resolved inside the workspace (`..`,
//! absolute paths and symlinks pointing out are refused), and the
//! workspace inside the caller's workspace root.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use notify::{EventKind, RecursiveMode, Watcher};
use oqto_api::mux::{FileEntry, FilesCommand, FilesEvent, FilesRequest, ServerFrame};

use super::Connection;
use crate::context::ServerContext;
use crate::workspace::{self, WorkspaceDir};

/// Largest file `read` returns.
const MAX_READ_BYTES: u64 = 8 * 1024 * 1024;
/// Most entries one `tree` returns.
const MAX_TREE_ENTRIES: usize = 5000;

fn send(conn: &Connection, event: FilesEvent) {
    conn.send(&ServerFrame::Files(event));
}

pub async fn handle(ctx: &Arc<ServerContext>, conn: &Arc<Connection>, request: FilesRequest) {
    let FilesRequest { id, workspace_path, command } = request;
    let result = run(ctx, conn, &workspace_path, id.clone(), command).await;
    if let Err(error) = result {
        send(conn, FilesEvent::Error { id, error });
    }
}

fn io(e: std::io::Error) -> String {
    e.to_string()
}

fn modified(meta: &std::fs::Metadata) -> Option<i64> {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
}

fn entry(root: &Path, path: &Path) -> Result<FileEntry, String> {
    let meta = std::fs::symlink_metadata(path).map_err(io)?;
    let kind = if meta.file_type().is_symlink() {
        "symlink"
    } else if meta.is_dir() {
        "directory"
    } else {
        "file"
    };
    Ok(FileEntry {
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        path: path.strip_prefix(root).map(|p| p.display().to_string()).unwrap_or_default(),
        kind: kind.to_string(),
        size: meta.len(),
        modified: modified(&meta),
        children: None,
    })
}

fn tree(
    root: &Path,
    dir: &Path,
    depth: u32,
    hidden: bool,
    budget: &mut usize,
) -> Result<Vec<FileEntry>, String> {
    let mut names: Vec<_> = std::fs::read_dir(dir).map_err(io)?.flatten().map(|e| e.path()).collect();
    names.sort();
    let mut out = Vec::new();
    for path in names {
        if !hidden && path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            continue;
        }
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        let mut e = entry(root, &path)?;
        if e.kind == "directory" && depth > 1 {
            e.children = Some(tree(root, &path, depth - 1, hidden, budget)?);
        }
        out.push(e);
    }
    Ok(out)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(from)?.is_dir() {
        std::fs::create_dir_all(to)?;
        for child in std::fs::read_dir(from)? {
            let child = child?;
            if child.file_type()?.is_symlink() {
                continue; // links are not followed out of the workspace
            }
            copy_tree(&child.path(), &to.join(child.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}

async fn run(
    ctx: &Arc<ServerContext>,
    conn: &Arc<Connection>,
    workspace_path: &str,
    id: Option<String>,
    command: FilesCommand,
) -> Result<(), String> {
    let ws = crate::sessions::existing_workspace(ctx, &conn.caller.user_id, workspace_path)
        .await
        .map_err(|e| e.to_string())?;
    let root = std::fs::canonicalize(&ws.path).map_err(io)?;
    let inside =
        |p: &str| -> Result<WorkspaceDir, String> { workspace::resolve(&root, p).map_err(|e| e.to_string()) };
    let done = |command: &str, path: &str| FilesEvent::Done {
        id: id.clone(),
        command: command.into(),
        path: path.into(),
    };
    let event = match command {
        FilesCommand::Tree { path, depth, include_hidden } => {
            let dir = inside(path.as_deref().unwrap_or("."))?;
            let depth = depth.unwrap_or(1).clamp(1, 8);
            let mut budget = MAX_TREE_ENTRIES;
            let root = root.clone();
            let entries = tokio::task::spawn_blocking(move || {
                tree(&root, &dir.path, depth, include_hidden.unwrap_or(false), &mut budget)
                    .map(|e| (e, budget))
            })
            .await
            .map_err(|e| e.to_string())??;
            FilesEvent::TreeResult { id, truncated: entries.1 == 0, entries: entries.0 }
        }
        FilesCommand::Stat { path } => {
            FilesEvent::StatResult { id, entry: entry(&root, &inside(&path)?.path)? }
        }
        FilesCommand::Read { path } => {
            let file = inside(&path)?.path;
            let size = std::fs::metadata(&file).map_err(io)?.len();
            if size > MAX_READ_BYTES {
                return Err(format!(
                    "{path} is {size} bytes; files over {MAX_READ_BYTES} bytes cannot be read here"
                ));
            }
            let bytes = tokio::fs::read(&file).await.map_err(io)?;
            FilesEvent::ReadResult { id, path, size, content: BASE64.encode(bytes) }
        }
        FilesCommand::Write { path, content, create_parents } => {
            let file = inside(&path)?.path;
            let bytes =
                BASE64.decode(content.as_bytes()).map_err(|e| format!("content is not base64: {e}"))?;
            if create_parents.unwrap_or(false)
                && let Some(parent) = file.parent()
            {
                tokio::fs::create_dir_all(parent).await.map_err(io)?;
            }
            tokio::fs::write(&file, bytes).await.map_err(io)?;
            done("write", &path)
        }
        FilesCommand::CreateDirectory { path, create_parents } => {
            let dir = inside(&path)?.path;
            let made = if create_parents.unwrap_or(false) {
                std::fs::create_dir_all(&dir)
            } else {
                std::fs::create_dir(&dir)
            };
            made.map_err(io)?;
            done("create_directory", &path)
        }
        FilesCommand::Rename { from, to } => {
            let (a, b) = (inside(&from)?.path, inside(&to)?.path);
            if a == root {
                return Err("the workspace itself cannot be renamed".into());
            }
            tokio::fs::rename(&a, &b).await.map_err(io)?;
            done("rename", &to)
        }
        FilesCommand::Copy { from, to, overwrite } => {
            let (a, b) = (inside(&from)?.path, inside(&to)?.path);
            if b.exists() && !overwrite.unwrap_or(false) {
                return Err(format!("{to} exists; set overwrite to replace it"));
            }
            if b.starts_with(&a) {
                return Err("cannot copy a directory into itself".into());
            }
            tokio::task::spawn_blocking(move || copy_tree(&a, &b))
                .await
                .map_err(|e| e.to_string())?
                .map_err(io)?;
            done("copy", &to)
        }
        FilesCommand::Delete { path, recursive } => {
            let target = inside(&path)?.path;
            if target == root {
                return Err("the workspace itself cannot be deleted here".into());
            }
            let meta = std::fs::symlink_metadata(&target).map_err(io)?;
            let removed = if meta.is_dir() {
                if recursive.unwrap_or(false) {
                    std::fs::remove_dir_all(&target)
                } else {
                    std::fs::remove_dir(&target)
                }
            } else {
                std::fs::remove_file(&target)
            };
            removed.map_err(io)?;
            done("delete", &path)
        }
        FilesCommand::WatchFiles => {
            watch(conn, ws.relative.clone(), root.clone())?;
            done("watch_files", ".")
        }
        FilesCommand::UnwatchFiles => {
            conn.watchers().remove(&ws.relative);
            done("unwatch_files", ".")
        }
    };
    send(conn, event);
    Ok(())
}

/// Starts pushing `file_changed` events of a workspace to the connection.
fn watch(conn: &Arc<Connection>, workspace_path: String, root: PathBuf) -> Result<(), String> {
    let target = Arc::downgrade(conn);
    let label = workspace_path.clone();
    let base = root.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let (Ok(event), Some(conn)) = (event, target.upgrade()) else { return };
        for path in &event.paths {
            let is_dir = path.is_dir()
                || matches!(
                    event.kind,
                    EventKind::Create(notify::event::CreateKind::Folder)
                        | EventKind::Remove(notify::event::RemoveKind::Folder)
                );
            let event_type = match (event.kind, is_dir) {
                (EventKind::Create(_), true) => "dir_created",
                (EventKind::Create(_), false) => "file_created",
                (EventKind::Remove(_), true) => "dir_deleted",
                (EventKind::Remove(_), false) => "file_deleted",
                (EventKind::Modify(_), false) => "file_modified",
                _ => continue,
            };
            let relative = path.strip_prefix(&base).map(|p| p.display().to_string()).unwrap_or_default();
            send(
                &conn,
                FilesEvent::FileChanged {
                    workspace_path: label.clone(),
                    event_type: event_type.into(),
                    path: relative,
                    entry_type: if is_dir { "directory" } else { "file" }.into(),
                },
            );
        }
    })
    .map_err(|e| e.to_string())?;
    watcher.watch(&root, RecursiveMode::Recursive).map_err(|e| e.to_string())?;
    conn.watchers().insert(workspace_path, watcher);
    Ok(())
}
