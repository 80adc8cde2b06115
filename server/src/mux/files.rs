//! The `files` channel: reading and changing a workspace's files, and
//! watching it. Every file is reached through the workspace's directory
//! handle ([`WorkspaceDir::open`]): `..`, absolute paths and symlinks
//! pointing out are refused by the kernel, without a check-then-use race.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use notify::{EventKind, RecursiveMode, Watcher};
use oqto_api::mux::{FileEntry, FilesCommand, FilesEvent, FilesRequest, ServerFrame};

use cap_std::fs::Dir;

use super::Connection;
use crate::context::ServerContext;
use crate::error::{Error, Result};
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
    let (worker_conn, worker_id) = (Arc::clone(conn), id.clone());
    // File work is blocking: it runs on the blocking pool, never on an
    // async worker thread.
    let result = match crate::sessions::existing_workspace(ctx, &conn.caller.user_id, &workspace_path).await {
        Ok(ws) => tokio::task::spawn_blocking(move || run(&worker_conn, &ws, worker_id, command))
            .await
            .unwrap_or_else(|e| Err(Error::Internal(anyhow::anyhow!("files task: {e}")))),
        Err(e) => Err(e),
    };
    match result {
        Ok(event) => send(conn, event),
        Err(e) => {
            let (error_code, error) = conn.failure(&ctx.log, e);
            send(conn, FilesEvent::Error { id, error, error_code });
        }
    }
}

fn io(path: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| workspace::io_error(path, e)
}

fn modified(meta: &cap_std::fs::Metadata) -> Option<i64> {
    meta.modified()
        .ok()
        .map(|t| t.into_std())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
}

/// A path inside the workspace, as the workspace-relative path to use with
/// the workspace's handle; `..` past the workspace and absolute paths
/// elsewhere are refused by name here, links by the handle.
fn inside(ws: &WorkspaceDir, path: &str) -> Result<PathBuf> {
    let root = std::fs::canonicalize(&ws.path).unwrap_or_else(|_| ws.path.clone());
    let resolved = if Path::new(path.trim()).is_absolute() {
        workspace::resolve(&root, path)?
    } else {
        workspace::resolve(&ws.path, path)?
    };
    Ok(PathBuf::from(resolved.relative))
}

fn entry(dir: &Dir, path: &Path) -> Result<FileEntry> {
    let shown = path.display().to_string();
    let meta = dir.symlink_metadata(path).map_err(|e| workspace::io_error(&shown, e))?;
    let kind = if meta.file_type().is_symlink() {
        "symlink"
    } else if meta.is_dir() {
        "directory"
    } else {
        "file"
    };
    Ok(FileEntry {
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        path: if shown == "." { String::new() } else { shown },
        kind: kind.to_string(),
        size: meta.len(),
        modified: modified(&meta),
        children: None,
    })
}

fn tree(dir: &Dir, path: &Path, depth: u32, hidden: bool, budget: &mut usize) -> Result<Vec<FileEntry>> {
    let shown = path.display().to_string();
    let listing = dir.read_dir(path).map_err(|e| workspace::io_error(&shown, e))?;
    let mut names: Vec<_> = listing.flatten().map(|e| e.file_name()).collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        if !hidden && name.to_string_lossy().starts_with('.') {
            continue;
        }
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        let child = if path == Path::new(".") { PathBuf::from(&name) } else { path.join(&name) };
        let mut e = entry(dir, &child)?;
        if e.kind == "directory" && depth > 1 {
            e.children = Some(tree(dir, &child, depth - 1, hidden, budget)?);
        }
        out.push(e);
    }
    Ok(out)
}

fn run(
    conn: &Arc<Connection>,
    ws: &WorkspaceDir,
    id: Option<String>,
    command: FilesCommand,
) -> Result<FilesEvent> {
    let dir = ws.open()?;
    let done = |command: &str, path: &str| FilesEvent::Done {
        id: id.clone(),
        command: command.into(),
        path: path.into(),
    };
    let is_root = |p: &Path| p == Path::new(".");
    Ok(match command {
        FilesCommand::Tree { path, depth, include_hidden } => {
            let at = inside(ws, path.as_deref().unwrap_or("."))?;
            let mut budget = MAX_TREE_ENTRIES;
            let depth = depth.unwrap_or(1).clamp(1, 8);
            let entries = tree(&dir, &at, depth, include_hidden.unwrap_or(false), &mut budget)?;
            FilesEvent::TreeResult { id, truncated: budget == 0, entries }
        }
        FilesCommand::Stat { path } => {
            FilesEvent::StatResult { id, entry: entry(&dir, &inside(ws, &path)?)? }
        }
        FilesCommand::Read { path } => {
            let file = inside(ws, &path)?;
            let mut handle = dir.open(&file).map_err(io(&path))?;
            let size = handle.metadata().map_err(io(&path))?.len();
            if size > MAX_READ_BYTES {
                return Err(Error::Invalid(format!(
                    "{path} is {size} bytes; files over {MAX_READ_BYTES} bytes cannot be read here"
                )));
            }
            let mut bytes = Vec::with_capacity(size as usize);
            std::io::Read::read_to_end(&mut handle, &mut bytes).map_err(io(&path))?;
            FilesEvent::ReadResult { id, path, size, content: BASE64.encode(bytes) }
        }
        FilesCommand::Write { path, content, create_parents } => {
            let file = inside(ws, &path)?;
            let bytes = BASE64
                .decode(content.as_bytes())
                .map_err(|e| Error::Invalid(format!("content is not base64: {e}")))?;
            if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                if create_parents.unwrap_or(false) {
                    workspace::ensure_dir(&dir, parent).map_err(io(&path))?;
                } else {
                    dir.metadata(parent).map_err(io(&path))?;
                }
            }
            workspace::write_atomic(&dir, &file, &bytes).map_err(io(&path))?;
            done("write", &path)
        }
        FilesCommand::CreateDirectory { path, create_parents } => {
            let at = inside(ws, &path)?;
            let made =
                if create_parents.unwrap_or(false) { dir.create_dir_all(&at) } else { dir.create_dir(&at) };
            made.map_err(io(&path))?;
            done("create_directory", &path)
        }
        FilesCommand::Rename { from, to } => {
            let (a, b) = (inside(ws, &from)?, inside(ws, &to)?);
            if is_root(&a) {
                return Err(Error::Invalid("the workspace itself cannot be renamed".into()));
            }
            dir.rename(&a, &dir, &b).map_err(io(&to))?;
            done("rename", &to)
        }
        FilesCommand::Copy { from, to, overwrite } => {
            let (a, b) = (inside(ws, &from)?, inside(ws, &to)?);
            if dir.symlink_metadata(&b).is_ok() && !overwrite.unwrap_or(false) {
                return Err(Error::Conflict(format!("{to} exists; set overwrite to replace it")));
            }
            if is_root(&a) || b.starts_with(&a) {
                return Err(Error::Invalid("cannot copy a directory into itself".into()));
            }
            workspace::copy_tree(&dir, &a, &b).map_err(io(&to))?;
            done("copy", &to)
        }
        FilesCommand::Delete { path, recursive } => {
            let target = inside(ws, &path)?;
            if is_root(&target) {
                return Err(Error::Invalid("the workspace itself cannot be deleted here".into()));
            }
            let meta = dir.symlink_metadata(&target).map_err(io(&path))?;
            let removed = match (meta.is_dir(), recursive.unwrap_or(false)) {
                (true, true) => dir.remove_dir_all(&target),
                (true, false) => dir.remove_dir(&target),
                (false, _) => dir.remove_file(&target),
            };
            removed.map_err(io(&path))?;
            done("delete", &path)
        }
        FilesCommand::WatchFiles => {
            watch(conn, ws.relative.clone(), ws.path.clone())?;
            done("watch_files", ".")
        }
        FilesCommand::UnwatchFiles => {
            conn.watchers().remove(&ws.relative);
            done("unwatch_files", ".")
        }
    })
}

/// Starts pushing `file_changed` events of a workspace to the connection.
fn watch(conn: &Arc<Connection>, workspace_path: String, root: PathBuf) -> Result<()> {
    let failed = |e: notify::Error| Error::Internal(anyhow::anyhow!("watching a workspace: {e}"));
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
    .map_err(failed)?;
    watcher.watch(&root, RecursiveMode::Recursive).map_err(failed)?;
    conn.watchers().insert(workspace_path, watcher);
    Ok(())
}
