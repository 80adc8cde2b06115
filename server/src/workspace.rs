//! Users' workspaces: resolving a requested workspace path inside the
//! caller's workspace root, never outside it, and opening what lies in it.
//!
//! [`resolve`] checks a path by its names (for clear errors); the files
//! themselves are always reached through [`WorkspaceDir::open`], a
//! directory handle below which the kernel resolves every path
//! (`openat2` with `RESOLVE_BENEATH`, through cap-std): no `..`, absolute
//! path or symlink leads out, dangling or not, and nothing swapped in
//! between a check and a use can redirect it.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use cap_std::fs::{Dir, OpenOptions};

use crate::error::{Error, Result};

/// A directory inside a user's workspace root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceDir {
    /// Absolute path.
    pub path: PathBuf,
    /// As the API shows it: relative to the user's workspace root (`.` for
    /// the root itself), or absolute in another of the user's roots.
    pub relative: String,
    /// The root it lies in.
    pub root: PathBuf,
}

/// Resolves `requested` in one of `roots`: a relative path in the first
/// (the user's workspace root), an absolute one in the first root holding it.
pub fn resolve_in(roots: &[PathBuf], requested: &str) -> Result<WorkspaceDir> {
    let (home, others) = roots.split_first().ok_or_else(outside)?;
    let trimmed = Path::new(requested.trim());
    if trimmed.is_absolute()
        && !trimmed.starts_with(home)
        && let Some(root) = others.iter().find(|r| trimmed.starts_with(r))
    {
        let mut dir = resolve(root, requested)?;
        dir.relative = dir.path.to_string_lossy().into_owned();
        return Ok(dir);
    }
    resolve(home, requested)
}

/// Resolves `requested` (relative to `root`, or absolute inside it) and
/// refuses anything that leaves the root: `..` past the root, absolute
/// paths elsewhere, and symlinks whose target lies outside.
pub fn resolve(root: &Path, requested: &str) -> Result<WorkspaceDir> {
    let requested = requested.trim();
    if requested.contains('\0') {
        return Err(Error::Invalid("workspace_path must not contain NUL".to_string()));
    }
    let requested = Path::new(if requested.is_empty() { "." } else { requested });
    // A new account's root (or a shared location's) exists from its first use.
    if std::fs::symlink_metadata(root).is_err() {
        crate::util::private_dir(root).map_err(|e| {
            Error::Internal(anyhow::anyhow!("creating the workspace root {}: {e}", root.display()))
        })?;
    }
    let relative_part = if requested.is_absolute() {
        requested.strip_prefix(root).map_err(|_| outside())?
    } else {
        requested
    };
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in relative_part.components() {
        match component {
            Component::Normal(p) => parts.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop().ok_or_else(outside)?;
            }
            Component::RootDir | Component::Prefix(_) => return Err(outside()),
        }
    }
    let path = parts.iter().fold(root.to_path_buf(), |p, c| p.join(c));
    // Follow symlinks of whatever part already exists; a link counts as
    // existing even when it dangles (its target would be created outside).
    let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut existing = path.clone();
    while std::fs::symlink_metadata(&existing).is_err() {
        if !existing.pop() {
            break;
        }
    }
    match std::fs::canonicalize(&existing) {
        Ok(real) if !real.starts_with(&real_root) => return Err(outside()),
        Err(_) if existing.starts_with(root) && existing != root => return Err(outside()),
        _ => {}
    }
    let relative = if parts.is_empty() {
        ".".to_string()
    } else {
        parts.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>().join("/")
    };
    Ok(WorkspaceDir { path, relative, root: root.to_path_buf() })
}

impl WorkspaceDir {
    /// This directory relative to its root (`.` for the root itself).
    pub fn below_root(&self) -> PathBuf {
        match self.path.strip_prefix(&self.root) {
            Ok(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// A handle on this directory, opened from its root beneath the root:
    /// what lies under it is reached only through [`Dir`]'s methods.
    pub fn open(&self) -> Result<Dir> {
        let root = open_root(&self.root)?;
        let below = self.below_root();
        if below == Path::new(".") {
            return Ok(root);
        }
        root.open_dir(&below).map_err(|e| io_error(&self.relative, e))
    }

    /// Creates this directory (and its parents) beneath its root.
    pub fn create(&self) -> Result<()> {
        open_root(&self.root)?.create_dir_all(self.below_root()).map_err(|e| io_error(&self.relative, e))
    }
}

/// A handle on a workspace root (a path the server chose, not the user).
pub fn open_root(root: &Path) -> Result<Dir> {
    Dir::open_ambient_dir(root, cap_std::ambient_authority())
        .map_err(|e| Error::Internal(anyhow::anyhow!("opening {}: {e}", root.display())))
}

/// Turns an error of a confined file operation into a domain error whose
/// message names only the workspace path (never a server path).
pub fn io_error(path: &str, e: std::io::Error) -> Error {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => Error::NotFound(format!("{path}: no such file or directory")),
        AlreadyExists => Error::Conflict(format!("{path} exists already")),
        DirectoryNotEmpty => Error::Conflict(format!("{path} is a directory that is not empty")),
        NotADirectory => Error::Invalid(format!("{path}: a part of the path is not a directory")),
        IsADirectory => Error::Invalid(format!("{path} is a directory")),
        InvalidInput | InvalidFilename => Error::Invalid(format!("{path}: not a valid path")),
        PermissionDenied => {
            Error::Invalid(format!("{path} leads outside the workspace or may not be changed"))
        }
        _ if e.raw_os_error() == Some(nix::libc::ELOOP) || e.raw_os_error() == Some(nix::libc::EXDEV) => {
            Error::Invalid(format!("{path} leads outside the workspace"))
        }
        _ => Error::Internal(anyhow::anyhow!("{path}: {e}")),
    }
}

/// Replaces a file's contents all at once: written to a fresh temporary
/// sibling (created new, so a link planted under that name is refused),
/// then renamed over the target (a rename replaces a link, never follows it).
/// A hard link to a file elsewhere is replaced too, never written through.
pub fn write_atomic(dir: &Dir, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace_with(dir, path, &mut &bytes[..])
}

/// As [`write_atomic`], with the contents read from `source`.
pub fn replace_with(dir: &Dir, path: &Path, source: &mut dyn std::io::Read) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        ensure_dir(dir, parent)?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", crate::util::random_token(12)));
    let mut file = dir.open_with(&tmp, OpenOptions::new().write(true).create_new(true))?;
    // The replacement keeps the replaced file's permissions (a script stays executable).
    let kept = match dir.symlink_metadata(path) {
        Ok(old) if old.is_file() => file.set_permissions(old.permissions()),
        _ => Ok(()),
    };
    let written = kept.and_then(|()| std::io::copy(source, &mut file)).and_then(|_| file.sync_all());
    drop(file);
    match written.and_then(|()| dir.rename(&tmp, dir, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = dir.remove_file(&tmp);
            Err(e)
        }
    }
}

/// Makes `path` a directory beneath `dir` (creating it and its parents);
/// a link out of `dir` in its place is refused as an escape, not reported
/// as "exists".
pub fn ensure_dir(dir: &Dir, path: &Path) -> std::io::Result<()> {
    let _ = dir.create_dir_all(path);
    dir.open_dir(path).map(drop)
}

/// Appends to a file (creating it and its directory), beneath `dir`. A
/// file with other hard links is refused: it may be a file elsewhere.
pub fn append(dir: &Dir, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use cap_std::fs::MetadataExt;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        ensure_dir(dir, parent)?;
    }
    let mut file = dir.open_with(path, OpenOptions::new().append(true).create(true))?;
    if file.metadata()?.nlink() > 1 {
        return Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
    }
    file.write_all(bytes)
}

/// Copies a file or a directory tree within `dir`, skipping symlinks (a
/// link is never followed out).
pub fn copy_tree(dir: &Dir, from: &Path, to: &Path) -> std::io::Result<()> {
    copy_between(dir, from, dir, to).map(drop)
}

/// Copies `from` beneath `source` to `to` beneath `target` (a directory
/// with everything in it; links are skipped), returning how many files it
/// copied.
pub fn copy_between(source: &Dir, from: &Path, target: &Dir, to: &Path) -> std::io::Result<u64> {
    let meta = source.symlink_metadata(from)?;
    if meta.is_symlink() {
        return Ok(0);
    }
    if meta.is_dir() {
        target.create_dir_all(to)?;
        let mut copied = 0;
        for child in source.read_dir(from)? {
            let name = child?.file_name();
            copied += copy_between(source, &from.join(&name), target, &to.join(&name))?;
        }
        Ok(copied)
    } else {
        replace_with(target, to, &mut source.open(from)?).map(|()| 1)
    }
}

fn outside() -> Error {
    Error::Invalid("workspace_path must lie inside your workspace root".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        assert_eq!(resolve(&root, "").unwrap().relative, ".");
        assert_eq!(resolve(&root, "a/./b").unwrap().relative, "a/b");
        assert_eq!(resolve(&root, "a/b/../c").unwrap().relative, "a/c");
        assert_eq!(resolve(&root, root.join("a").to_str().unwrap()).unwrap().relative, "a");
        assert!(resolve(&root, "..").is_err());
        assert!(resolve(&root, "a/../../x").is_err());
        assert!(resolve(&root, "/etc").is_err());
        std::os::unix::fs::symlink(dir.path(), root.join("escape")).unwrap();
        assert!(resolve(&root, "escape/x").is_err());
        std::os::unix::fs::symlink(root.join("a"), root.join("inside")).unwrap();
        assert_eq!(resolve(&root, "inside/b").unwrap().relative, "inside/b");
    }

    #[test]
    fn dangling_links_out_count_as_outside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere/new"), root.join("x")).unwrap();
        assert!(resolve(&root, "x").is_err());
        assert!(resolve(&root, "x/y").is_err());
        assert!(resolve(&root, "fresh/file").is_ok());
    }

    #[test]
    fn confined_operations_never_leave_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        let ws = resolve(&root, ".").unwrap().open().unwrap();
        std::os::unix::fs::symlink(dir.path().join("planted"), root.join("dangling")).unwrap();
        std::os::unix::fs::symlink("/", root.join("slash")).unwrap();
        assert!(ws.write("dangling", b"x").is_err());
        assert!(append(&ws, Path::new("dangling"), b"x").is_err());
        assert!(ws.write("slash/tmp/planted", b"x").is_err());
        assert!(ws.read("../root/dangling").is_err());
        assert!(!dir.path().join("planted").exists());
        // A link planted under a temporary name is never written through.
        write_atomic(&ws, Path::new("a/file.toml"), b"one").unwrap();
        write_atomic(&ws, Path::new("a/file.toml"), b"two").unwrap();
        assert_eq!(std::fs::read(root.join("a/file.toml")).unwrap(), b"two");
        std::os::unix::fs::symlink(dir.path().join("planted"), root.join("a/link")).unwrap();
        write_atomic(&ws, Path::new("a/link"), b"three").unwrap();
        assert!(!dir.path().join("planted").exists());
        assert!(!std::fs::symlink_metadata(root.join("a/link")).unwrap().is_symlink());
        copy_tree(&ws, Path::new("a"), Path::new("b")).unwrap();
        assert_eq!(std::fs::read(root.join("b/file.toml")).unwrap(), b"two");
    }

    #[test]
    fn absolute_paths_pick_their_root() {
        let dir = tempfile::tempdir().unwrap();
        let (home, shared) = (dir.path().join("home"), dir.path().join("shared"));
        std::fs::create_dir_all(home.join("p")).unwrap();
        std::fs::create_dir_all(shared.join("q")).unwrap();
        let roots = [home.clone(), shared.clone()];
        assert_eq!(resolve_in(&roots, "p").unwrap().relative, "p");
        assert_eq!(resolve_in(&roots, home.join("p").to_str().unwrap()).unwrap().relative, "p");
        let q = resolve_in(&roots, shared.join("q").to_str().unwrap()).unwrap();
        assert_eq!((q.relative.as_str(), q.root.as_path()), (shared.join("q").to_str().unwrap(), &*shared));
        assert!(resolve_in(&roots, shared.join("../x").to_str().unwrap()).is_err());
        assert!(resolve_in(&roots, dir.path().join("other").to_str().unwrap()).is_err());
        assert!(resolve_in(&roots, "../shared/q").is_err());
    }
}
