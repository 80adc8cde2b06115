//! The projects area: the directories of a user's workspace root, each
//! workspace's metadata (`.oqto/workspace.toml`) and sandbox
//! (`.oqto/sandbox.toml`).

use std::path::Path;

use oqto_api::workspace::{
    ProjectFromTemplate, ProjectListQuery, ProjectTemplate, ProjectTemplateList, ProjectView, SandboxProfile,
    SandboxUpdate, SandboxView, WorkspaceMeta, WorkspaceMetaUpdate,
};

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::error::{Error, Result};
use crate::sandbox;
use crate::workspace::WorkspaceDir;

pub const META_FILE: &str = ".oqto/workspace.toml";
const SANDBOX_FILE: &str = ".oqto/sandbox.toml";

/// An existing workspace directory of the caller.
async fn workspace_dir(ctx: &ServerContext, caller: &Caller, requested: &str) -> Result<WorkspaceDir> {
    crate::sessions::existing_workspace(ctx, &caller.user_id, requested).await
}

/// A TOML file beneath `dir` (empty when missing, unreadable, or reached
/// through a symlink out of `dir`).
fn read_table(dir: &Path, file: &str) -> toml::Table {
    cap_std::fs::Dir::open_ambient_dir(dir, cap_std::ambient_authority())
        .and_then(|d| d.read_to_string(file))
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .unwrap_or_default()
}

/// Replaces a TOML file beneath the workspace all at once (a crash never
/// leaves half a file); a link out of the workspace is refused (422), and
/// so is one planted under the temporary file's name.
pub fn write_table(ws: &WorkspaceDir, file: &str, table: &toml::Table) -> Result<()> {
    let text = toml::to_string(table).map_err(|e| Error::Internal(e.into()))?;
    crate::workspace::write_atomic(&ws.open()?, Path::new(file), text.as_bytes())
        .map_err(|e| crate::workspace::io_error(file, e))
}

fn meta_of(table: &toml::Table) -> WorkspaceMeta {
    let text = |k: &str| table.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let flag = |k: &str| table.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
    WorkspaceMeta {
        display_name: text("display_name"),
        language: text("language"),
        pinned: flag("pinned"),
        bootstrap_pending: flag("bootstrap_pending"),
    }
}

pub async fn list(ctx: &ServerContext, caller: &Caller, query: ProjectListQuery) -> Result<Vec<ProjectView>> {
    let (location, home) =
        crate::locations::active_root(ctx, &caller.user_id, query.workspace_id.as_deref()).await?;
    let dir = crate::workspace::resolve(&location, query.path.as_deref().unwrap_or("."))?;
    let mut projects = Vec::new();
    for entry in std::fs::read_dir(&dir.path).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let meta = meta_of(&read_table(&entry.path(), META_FILE));
        // As `workspace_path` takes it: relative to the workspace root when
        // inside it, else absolute.
        let path = entry.path();
        let relative = match path.strip_prefix(&home) {
            Ok(inner) => inner.to_string_lossy().into_owned(),
            Err(_) => path.to_string_lossy().into_owned(),
        };
        projects.push(ProjectView {
            name: meta.display_name.unwrap_or(name),
            path: relative,
            kind: "directory".to_string(),
            pinned: meta.pinned,
        });
    }
    projects.sort_by(|a, b| {
        b.pinned.cmp(&a.pinned).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok(projects)
}

pub async fn meta(ctx: &ServerContext, caller: &Caller, workspace: &str) -> Result<WorkspaceMeta> {
    let dir = workspace_dir(ctx, caller, workspace).await?;
    Ok(meta_of(&read_table(&dir.path, META_FILE)))
}

pub async fn update_meta(
    ctx: &ServerContext,
    caller: &Caller,
    body: WorkspaceMetaUpdate,
) -> Result<WorkspaceMeta> {
    let dir = workspace_dir(ctx, caller, &body.workspace_path).await?;
    let mut table = read_table(&dir.path, META_FILE);
    let mut set_text = |key: &str, value: Option<String>, max: usize| -> Result<()> {
        let Some(value) = value else { return Ok(()) };
        let value = value.trim().to_string();
        if value.chars().count() > max || value.chars().any(char::is_control) {
            return Err(Error::Invalid(format!("{key} must be at most {max} printable characters")));
        }
        if value.is_empty() {
            table.remove(key);
        } else {
            table.insert(key.to_string(), toml::Value::String(value));
        }
        Ok(())
    };
    set_text("display_name", body.display_name, 128)?;
    set_text("language", body.language, 64)?;
    for (key, value) in [("pinned", body.pinned), ("bootstrap_pending", body.bootstrap_pending)] {
        if let Some(value) = value {
            table.insert(key.to_string(), toml::Value::Boolean(value));
        }
    }
    write_table(&dir, META_FILE, &table)?;
    Ok(meta_of(&table))
}

pub(crate) fn stored_sandbox(dir: &Path) -> (Option<String>, SandboxProfile) {
    let table = read_table(dir, SANDBOX_FILE);
    let profile = table.get("profile").and_then(|v| v.as_str()).map(str::to_string);
    let overrides = table.get("overrides").cloned().and_then(|v| v.try_into().ok()).unwrap_or_default();
    (profile, overrides)
}

fn sandbox_view(ctx: &ServerContext, profile: Option<&str>, overrides: SandboxProfile) -> SandboxView {
    let default = &ctx.config.sandbox.default_profile;
    let chosen = sandbox::chosen(default, profile);
    let base = sandbox::builtin(&chosen).unwrap_or_default();
    SandboxView {
        enabled: ctx.sandbox.enabled(),
        profiles: sandbox::PROFILES.iter().map(|p| p.to_string()).collect(),
        effective: sandbox::effective(&base, &overrides),
        profile: chosen,
        overrides,
    }
}

pub async fn sandbox(ctx: &ServerContext, caller: &Caller, workspace: &str) -> Result<SandboxView> {
    let dir = workspace_dir(ctx, caller, workspace).await?;
    let (profile, overrides) = stored_sandbox(&dir.path);
    Ok(sandbox_view(ctx, profile.as_deref(), overrides))
}

pub async fn update_sandbox(
    ctx: &ServerContext,
    caller: &Caller,
    body: SandboxUpdate,
) -> Result<SandboxView> {
    let dir = workspace_dir(ctx, caller, &body.workspace_path).await?;
    let (stored_profile, stored_overrides) = stored_sandbox(&dir.path);
    let profile = body.profile.or(stored_profile);
    let overrides = body.overrides.unwrap_or(stored_overrides);
    sandbox::validate(&ctx.config.sandbox.default_profile, profile.as_deref(), &overrides)?;
    let mut table = toml::Table::new();
    if let Some(p) = &profile {
        table.insert("profile".into(), toml::Value::String(p.clone()));
    }
    table.insert(
        "overrides".into(),
        toml::Value::try_from(&overrides).map_err(|e| Error::Internal(e.into()))?,
    );
    write_table(&dir, SANDBOX_FILE, &table)?;
    Ok(sandbox_view(ctx, profile.as_deref(), overrides))
}

/// Largest logo served.
const MAX_LOGO_BYTES: u64 = 1024 * 1024;

/// A logo's bytes, content type and entity tag.
pub struct Logo {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub etag: String,
}

/// The image type the bytes show, if any.
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_lowercase();
    match bytes {
        [0x89, b'P', b'N', b'G', ..] => Some("image/png"),
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        _ if head.trim_start().starts_with("<svg")
            || (head.trim_start().starts_with("<?xml") && head.contains("<svg")) =>
        {
            Some("image/svg+xml")
        }
        _ => None,
    }
}

pub async fn logo(ctx: &ServerContext, caller: &Caller, path: &str) -> Result<Logo> {
    let file = crate::sessions::resolve(ctx, &caller.user_id, path).await?;
    let inner = file.path.strip_prefix(&file.root).unwrap_or(&file.path);
    let parent_is_logo = inner.parent().and_then(|p| p.file_name()).is_some_and(|n| n == "logo");
    if !parent_is_logo || inner.components().count() < 3 {
        return Err(Error::Invalid("path must name a file in a project's logo/ folder".to_string()));
    }
    let missing = || Error::NotFound(format!("no logo {path:?}"));
    let root = crate::workspace::open_root(&file.root)?;
    let mut handle = root.open(file.below_root()).map_err(|_| missing())?;
    let meta = handle.metadata().map_err(|_| missing())?;
    if !meta.is_file() {
        return Err(missing());
    }
    if meta.len() > MAX_LOGO_BYTES {
        return Err(Error::Invalid(format!("the logo is larger than {MAX_LOGO_BYTES} bytes")));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::io::Read::read_to_end(&mut handle, &mut bytes).map_err(|e| Error::Internal(e.into()))?;
    let content_type = image_type(&bytes)
        .ok_or_else(|| Error::Invalid("the file is not a PNG, JPEG, GIF, WebP or SVG image".to_string()))?;
    let modified = meta
        .modified()
        .ok()
        .map(|t| t.into_std())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis());
    Ok(Logo { etag: format!("\"{:x}-{:x}\"", meta.len(), modified), bytes, content_type })
}

fn template_of(dir: &Path) -> ProjectTemplate {
    let table = read_table(dir, "template.toml");
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    ProjectTemplate {
        path: name.clone(),
        name,
        description: table.get("description").and_then(|v| v.as_str()).map(str::to_string),
        defaults: table
            .get("defaults")
            .and_then(|v| v.as_table())
            .map(|t| t.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default(),
    }
}

pub fn templates(ctx: &ServerContext) -> ProjectTemplateList {
    let dir = ctx.config.templates_dir();
    let mut templates: Vec<ProjectTemplate> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_type().is_ok_and(|t| t.is_dir()) && !e.file_name().to_string_lossy().starts_with('.')
        })
        .map(|e| template_of(&e.path()))
        .collect();
    templates.sort_by(|a, b| a.name.cmp(&b.name));
    ProjectTemplateList { configured: dir.is_dir(), templates }
}

/// Replaces `{{name}}` placeholders.
fn substitute(text: &str, variables: &std::collections::BTreeMap<String, String>) -> String {
    variables.iter().fold(text.to_string(), |t, (k, v)| t.replace(&format!("{{{{{k}}}}}"), v))
}

pub fn copy_template(
    from: &Path,
    dest: &cap_std::fs::Dir,
    to: &Path,
    variables: &std::collections::BTreeMap<String, String>,
) -> std::io::Result<()> {
    let rename =
        |name: &str| (name != "template.toml").then(|| substitute(name, variables).replace(['/', '\\'], "_"));
    crate::util::copy_dir(from, dest, to, &rename, &|text| substitute(text, variables))
}

pub async fn create_from_template(
    ctx: &ServerContext,
    caller: &Caller,
    body: ProjectFromTemplate,
) -> Result<ProjectView> {
    let templates = ctx.config.templates_dir();
    let template = crate::workspace::resolve(&templates, &body.template_path)
        .ok()
        .filter(|t| t.relative != "." && t.path.is_dir())
        .ok_or_else(|| Error::NotFound(format!("no template {:?}", body.template_path)))?;
    let target = crate::sessions::resolve(ctx, &caller.user_id, &body.project_path).await?;
    if target.relative == "." {
        return Err(Error::Invalid("project_path must name a new directory".to_string()));
    }
    let name = target.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut variables = template_of(&template.path).defaults;
    variables.extend(body.variables);
    variables.insert("project_name".into(), name.clone());
    // Created here (it must not exist) and filled beneath the root.
    let root = crate::workspace::open_root(&target.root)?;
    let below = target.below_root();
    if let Some(parent) = below.parent().filter(|p| !p.as_os_str().is_empty()) {
        root.create_dir_all(parent).map_err(|e| crate::workspace::io_error(&target.relative, e))?;
    }
    root.create_dir(&below).map_err(|e| crate::workspace::io_error(&target.relative, e))?;
    let from = template.path.clone();
    let (dest, to) = (root.try_clone().map_err(|e| Error::Internal(e.into()))?, below.clone());
    let copied = tokio::task::spawn_blocking(move || copy_template(&from, &dest, &to, &variables))
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    if let Err(e) = copied {
        let _ = root.remove_dir_all(&below);
        return Err(Error::Internal(anyhow::anyhow!("copying the template: {e}")));
    }
    Ok(ProjectView { name, path: target.relative, kind: "directory".into(), pinned: false })
}
