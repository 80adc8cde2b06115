//! Small helpers shared by several areas.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rand::distr::{Alphanumeric, SampleString};

/// Whether a TCP peer is this machine (loopback, also as an IPv4-mapped
/// IPv6 address); headers never decide this.
pub fn is_local(peer: std::net::SocketAddr) -> bool {
    peer.ip().to_canonical().is_loopback()
}

/// A random string of ASCII letters and digits (about 5.95 bits each).
pub fn random_token(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// Creates a directory (and its parents) readable only by the server's
/// user, when missing.
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path)
}

/// A short name (a category, a store, a tag): trimmed, 1 to `max`
/// printable characters; 422 otherwise.
pub fn checked_name(field: &str, value: &str, max: usize) -> crate::error::Result<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(crate::error::Error::Invalid(format!("{field} must be 1 to {max} printable characters")));
    }
    Ok(value.to_string())
}

/// Tags: at most `max_tags`, each a [`checked_name`], lowercased, each once.
pub fn checked_tags(
    given: &[String],
    max_tags: usize,
    max_chars: usize,
) -> crate::error::Result<Vec<String>> {
    if given.len() > max_tags {
        return Err(crate::error::Error::Invalid(format!("at most {max_tags} tags")));
    }
    let mut out: Vec<String> = Vec::new();
    for tag in given {
        let tag = checked_name("a tag", tag, max_chars)?.to_lowercase();
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// Writes a file readable only by its owner (mode 0600), creating parent
/// directories.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Copies a directory tree of the server's (a template, the resource
/// library) to `to` beneath `dest`, skipping symlinks. `rename` gives each
/// entry's new name (`None` skips it); `edit` rewrites the contents of text
/// files. Everything written is reached through `dest`, so nothing lands
/// outside it whatever links lie there.
pub fn copy_dir(
    from: &Path,
    dest: &cap_std::fs::Dir,
    to: &Path,
    rename: &dyn Fn(&str) -> Option<String>,
    edit: &dyn Fn(&str) -> String,
) -> std::io::Result<()> {
    dest.create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let Some(name) = rename(&entry.file_name().to_string_lossy()) else { continue };
        if kind.is_symlink() {
            continue;
        }
        let target = to.join(name);
        if kind.is_dir() {
            copy_dir(&entry.path(), dest, &target, rename, edit)?;
        } else {
            match String::from_utf8(std::fs::read(entry.path())?) {
                Ok(text) => dest.write(&target, edit(&text))?,
                Err(raw) => dest.write(&target, raw.into_bytes())?,
            }
        }
    }
    Ok(())
}
