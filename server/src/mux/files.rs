//! The `files` channel: reading and changing a workspace's files, and
//! watching it. Every file is reached through the workspace's directory
//! handle ([`WorkspaceDir::open`]): `..`, absolute paths and symlinks
//! pointing out are refused by the kernel, without a check-then-use race.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use notify::{EventKind, RecursiveMode, Watcher};
use oqto_api::mux::{FileEntry, FileStat, FilesCommand, FilesEvent, FilesRequest, ListEntry, ServerFrame};

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
    if let FilesCommand::CopyToWorkspace {
        source_workspace_path,
        source_path,
        target_workspace_path,
        target_path,
    } = command
    {
        let copy = Copy { source_workspace_path, source_path, target_workspace_path, target_path };
        let event = copy_to_workspace(ctx, conn, id.clone(), copy).await;
        return reply(ctx, conn, id, event);
    }
    let (worker_conn, worker_id, bus) = (Arc::clone(conn), id.clone(), Arc::clone(&ctx.bus));
    // File work is blocking: it runs on the blocking pool, never on an
    // async worker thread.
    let result = match crate::sessions::existing_workspace(ctx, &conn.caller.user_id, &workspace_path).await {
        Ok(ws) => tokio::task::spawn_blocking(move || run(&worker_conn, bus, &ws, worker_id, command))
            .await
            .unwrap_or_else(|e| Err(Error::Internal(anyhow::anyhow!("files task: {e}")))),
        Err(e) => Err(e),
    };
    reply(ctx, conn, id, result);
}

fn reply(ctx: &ServerContext, conn: &Connection, id: Option<String>, result: Result<impl Into<Answer>>) {
    match result.map(Into::into) {
        Ok(Answer::Frame(event)) => send(conn, event),
        Ok(Answer::Binary(frame)) => conn.send_binary(frame),
        Err(e) => {
            let (error_code, error) = conn.failure(&ctx.log, e);
            send(conn, FilesEvent::Error { id, error, error_code });
        }
    }
}

/// The fields of a `copy_to_workspace`.
struct Copy {
    source_workspace_path: String,
    source_path: String,
    target_workspace_path: String,
    target_path: String,
}

/// Copies between two of the caller's workspaces, each reached through its
/// own handle; an existing target is refused.
async fn copy_to_workspace(
    ctx: &ServerContext,
    conn: &Connection,
    id: Option<String>,
    copy: Copy,
) -> Result<FilesEvent> {
    let user = &conn.caller.user_id;
    let source = crate::sessions::existing_workspace(ctx, user, &copy.source_workspace_path).await?;
    let target = crate::sessions::existing_workspace(ctx, user, &copy.target_workspace_path).await?;
    tokio::task::spawn_blocking(move || {
        let (from_dir, to_dir) = (source.open()?, target.open()?);
        let (from, to) = (inside(&source, &copy.source_path)?, inside(&target, &copy.target_path)?);
        if to_dir.symlink_metadata(&to).is_ok() {
            return Err(Error::Conflict(format!("{} exists in the target workspace", copy.target_path)));
        }
        if to == Path::new(".") {
            return Err(Error::Invalid("target_path must name a new entry".into()));
        }
        let files_copied =
            workspace::copy_between(&from_dir, &from, &to_dir, &to).map_err(io(&copy.target_path))?;
        Ok(FilesEvent::CopyToWorkspaceResult {
            id,
            source_workspace_path: source.relative,
            target_workspace_path: target.relative,
            files_copied,
            success: true,
        })
    })
    .await
    .unwrap_or_else(|e| Err(Error::Internal(anyhow::anyhow!("files task: {e}"))))
}

fn io(path: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| workspace::io_error(path, e)
}

fn modified(meta: &cap_std::fs::Metadata) -> Option<i64> {
    millis(meta.modified())
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

/// Removes a file, a link, an empty directory or (`recursive`) a tree.
fn remove(dir: &Dir, path: &Path, recursive: bool) -> std::io::Result<()> {
    let meta = dir.symlink_metadata(path)?;
    match (meta.is_dir(), recursive) {
        (true, true) => dir.remove_dir_all(path),
        (true, false) => dir.remove_dir(path),
        (false, _) => dir.remove_file(path),
    }
}

fn millis(time: std::io::Result<cap_std::time::SystemTime>) -> Option<i64> {
    time.ok()
        .map(|t| t.into_std())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
}

/// What is at `path` (a link is described, not followed).
fn stat(dir: &Dir, path: &Path) -> FileStat {
    use cap_std::fs::PermissionsExt;
    let Ok(meta) = dir.symlink_metadata(path) else {
        return FileStat::default();
    };
    FileStat {
        exists: true,
        is_file: meta.is_file(),
        is_dir: meta.is_dir(),
        is_symlink: meta.file_type().is_symlink(),
        size: meta.len(),
        modified_at: modified(&meta),
        created_at: millis(meta.created()),
        mode: meta.permissions().mode() & 0o7777,
    }
}

/// One directory's entries, directories first, then by name ignoring case.
fn list(dir: &Dir, path: &Path, hidden: bool, shown: &str) -> Result<Vec<ListEntry>> {
    let listing = dir.read_dir(path).map_err(|e| workspace::io_error(shown, e))?;
    let mut entries: Vec<ListEntry> = Vec::new();
    for item in listing.flatten().take(MAX_TREE_ENTRIES) {
        let name = item.file_name().to_string_lossy().into_owned();
        if !hidden && name.starts_with('.') {
            continue;
        }
        let Ok(meta) = item.metadata() else { continue };
        let is_symlink = item.file_type().is_ok_and(|t| t.is_symlink());
        entries.push(ListEntry {
            name,
            is_dir: meta.is_dir() && !is_symlink,
            is_symlink,
            size: meta.len(),
            modified_at: modified(&meta),
        });
    }
    entries.sort_by(|a, b| {
        b.is_dir.cmp(&a.is_dir).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok(entries)
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

/// What a command answers: a frame, or a read's bytes in a binary frame.
enum Answer {
    Frame(FilesEvent),
    Binary(Vec<u8>),
}

impl From<FilesEvent> for Answer {
    fn from(event: FilesEvent) -> Answer {
        Answer::Frame(event)
    }
}

fn run(
    conn: &Arc<Connection>,
    bus: Arc<crate::bus::Bus>,
    ws: &WorkspaceDir,
    id: Option<String>,
    command: FilesCommand,
) -> Result<Answer> {
    let dir = ws.open()?;
    let is_root = |p: &Path| p == Path::new(".");
    Ok(Answer::Frame(match command {
        FilesCommand::Tree { path, depth, include_hidden } => {
            let at = inside(ws, path.as_deref().unwrap_or("."))?;
            let mut budget = MAX_TREE_ENTRIES;
            let depth = depth.unwrap_or(1).clamp(1, 8);
            let entries = tree(&dir, &at, depth, include_hidden.unwrap_or(false), &mut budget)?;
            FilesEvent::TreeResult { id, truncated: budget == 0, entries }
        }
        FilesCommand::Stat { path } => {
            let stat = stat(&dir, &inside(ws, &path)?);
            FilesEvent::StatResult { id, path, stat }
        }
        FilesCommand::List { path, include_hidden } => {
            let path = path.unwrap_or_else(|| ".".into());
            let entries = list(&dir, &inside(ws, &path)?, include_hidden.unwrap_or(false), &path)?;
            FilesEvent::ListResult { id, path, entries }
        }
        FilesCommand::Read { path, binary } => {
            let file = inside(ws, &path)?;
            let handle = dir.open(&file).map_err(io(&path))?;
            let size = handle.metadata().map_err(io(&path))?.len();
            if size > MAX_READ_BYTES {
                return Err(Error::Invalid(format!(
                    "{path} is {size} bytes; files over {MAX_READ_BYTES} bytes cannot be read here"
                )));
            }
            // What the file holds now, never more than the bound (it may
            // grow while it is read).
            let mut bytes = Vec::with_capacity(size as usize);
            std::io::Read::read_to_end(&mut std::io::Read::take(handle, MAX_READ_BYTES), &mut bytes)
                .map_err(io(&path))?;
            let size = bytes.len() as u64;
            if binary == Some(true) {
                let header = FilesEvent::ReadResult { id, path, size, content: String::new() };
                return Ok(Answer::Binary(oqto_api::mux::binary_frame(&ServerFrame::Files(header), &bytes)));
            }
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
            FilesEvent::WriteResult { id, path, success: true }
        }
        FilesCommand::CreateDirectory { path, create_parents } => {
            let at = inside(ws, &path)?;
            let made =
                if create_parents.unwrap_or(false) { dir.create_dir_all(&at) } else { dir.create_dir(&at) };
            made.map_err(io(&path))?;
            FilesEvent::CreateDirectoryResult { id, path, success: true }
        }
        FilesCommand::Rename { from, to } => {
            let (a, b) = (inside(ws, &from)?, inside(ws, &to)?);
            if is_root(&a) {
                return Err(Error::Invalid("the workspace itself cannot be renamed".into()));
            }
            dir.rename(&a, &dir, &b).map_err(io(&to))?;
            FilesEvent::RenameResult { id, from, to, success: true }
        }
        FilesCommand::Move { from, to, overwrite } => {
            let (a, b) = (inside(ws, &from)?, inside(ws, &to)?);
            if is_root(&a) || (b.starts_with(&a) && a != b) {
                return Err(Error::Invalid("cannot move the workspace or a directory into itself".into()));
            }
            if dir.symlink_metadata(&b).is_ok() {
                if !overwrite.unwrap_or(false) {
                    return Err(Error::Conflict(format!("{to} exists; set overwrite to replace it")));
                }
                remove(&dir, &b, true).map_err(io(&to))?;
            }
            dir.rename(&a, &dir, &b).map_err(io(&to))?;
            FilesEvent::MoveResult { id, from, to, success: true }
        }
        FilesCommand::CopyToWorkspace { .. } => {
            return Err(Error::BadRequest("copy_to_workspace is answered before this point".into()));
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
            FilesEvent::CopyResult { id, from, to, success: true }
        }
        FilesCommand::Delete { path, recursive } => {
            let target = inside(ws, &path)?;
            if is_root(&target) {
                return Err(Error::Invalid("the workspace itself cannot be deleted here".into()));
            }
            remove(&dir, &target, recursive.unwrap_or(false)).map_err(io(&path))?;
            FilesEvent::DeleteResult { id, path, success: true }
        }
        FilesCommand::WatchFiles => {
            watch(conn, bus, ws.relative.clone(), ws.path.clone())?;
            FilesEvent::WatchFilesResult { id, workspace_path: ws.relative.clone(), success: true }
        }
        FilesCommand::UnwatchFiles => {
            conn.watchers().remove(&ws.relative);
            FilesEvent::UnwatchFilesResult { id, workspace_path: ws.relative.clone(), success: true }
        }
    }))
}

/// Starts pushing `file_changed` events of a workspace to the connection
/// (and publishing them on the bus, `files.changed` in the workspace's
/// scope, while someone watches).
fn watch(
    conn: &Arc<Connection>,
    bus: Arc<crate::bus::Bus>,
    workspace_path: String,
    root: PathBuf,
) -> Result<()> {
    let failed = |e: notify::Error| Error::Internal(anyhow::anyhow!("watching a workspace: {e}"));
    let target = Arc::downgrade(conn);
    let label = workspace_path.clone();
    let base = root.clone();
    let scope_id = crate::bus::workspace_scope_id(&root);
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
            let Ok(inner) = path.strip_prefix(&base) else { continue };
            // Hidden entries (`.git`, a write's temporary file) are not reported.
            if inner.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.')) {
                continue;
            }
            let relative = inner.display().to_string();
            let changed = FilesEvent::FileChanged {
                workspace_path: label.clone(),
                event_type: event_type.into(),
                path: relative,
                entry_type: if is_dir { "directory" } else { "file" }.into(),
            };
            if let Ok(payload) = serde_json::to_value(&changed) {
                bus.publish_server(oqto_api::bus::BusScope::Workspace, &scope_id, "files.changed", payload);
            }
            send(&conn, changed);
        }
    })
    .map_err(failed)?;
    watcher.watch(&root, RecursiveMode::Recursive).map_err(failed)?;
    conn.watchers().insert(workspace_path, watcher);
    Ok(())
}
