//! Users' workspaces: resolving a requested workspace path inside the
//! caller's workspace root, never outside it.

use std::path::{Component, Path, PathBuf};

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
    // Follow symlinks of whatever part already exists.
    let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut existing = path.clone();
    while !existing.exists() {
        if !existing.pop() {
            break;
        }
    }
    if let Ok(real) = std::fs::canonicalize(&existing)
        && !real.starts_with(&real_root)
    {
        return Err(outside());
    }
    let relative = if parts.is_empty() {
        ".".to_string()
    } else {
        parts.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>().join("/")
    };
    Ok(WorkspaceDir { path, relative, root: root.to_path_buf() })
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
