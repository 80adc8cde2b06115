//! Projects (workspace directories) and per-workspace settings: metadata
//! and the sandbox profile.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Query of `project_list`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ProjectListQuery {
    /// List inside this directory (relative to the location) instead of
    /// the location itself.
    #[serde(default)]
    pub path: Option<String>,
    /// List the active location of this group (default `default`).
    #[serde(default)]
    pub workspace_id: Option<String>,
}

/// A project: a non-hidden directory in the active location.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ProjectView {
    /// Display name (`display_name` of its `.oqto/workspace.toml`, else the
    /// directory name).
    pub name: String,
    /// Path relative to your workspace root, or absolute for a project in a
    /// shared location outside it: what `workspace_path` takes everywhere.
    pub path: String,
    /// Always `directory`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Pinned in the project list.
    pub pinned: bool,
}

/// Names a workspace (relative to your workspace root, or absolute inside it).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct WorkspaceQuery {
    pub workspace_path: String,
}

/// A workspace's metadata, kept in its `.oqto/workspace.toml`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct WorkspaceMeta {
    /// Name shown instead of the directory name.
    pub display_name: Option<String>,
    /// Main language of the project.
    pub language: Option<String>,
    /// Pinned in the project list.
    pub pinned: bool,
    /// The onboarding bootstrap has not run yet.
    pub bootstrap_pending: bool,
}

/// Changes to a workspace's metadata; absent fields are kept.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct WorkspaceMetaUpdate {
    /// The workspace.
    pub workspace_path: String,
    /// New display name (up to 128 characters); empty removes it.
    #[serde(default)]
    pub display_name: Option<String>,
    /// New language (up to 64 characters); empty removes it.
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub pinned: Option<bool>,
    #[serde(default)]
    pub bootstrap_pending: Option<bool>,
}

/// How strictly a sandbox filter applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SandboxMode {
    /// Not applied.
    #[default]
    Off,
    /// Violations are logged.
    Log,
    /// Violations are refused.
    Enforce,
}

/// What the agent of a workspace may do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct SandboxProfile {
    /// Paths the agent may not read.
    #[serde(default)]
    pub deny_read: Vec<String>,
    /// Paths the agent may write (besides the workspace).
    #[serde(default)]
    pub allow_write: Vec<String>,
    /// Paths the agent may not write.
    #[serde(default)]
    pub deny_write: Vec<String>,
    /// No network access.
    #[serde(default)]
    pub isolate_network: bool,
    /// Own PID namespace.
    #[serde(default)]
    pub isolate_pid: bool,
    /// Drop every capability.
    #[serde(default)]
    pub drop_all_caps: bool,
    /// Set `no_new_privs`.
    #[serde(default)]
    pub no_new_privs: bool,
    /// Seccomp filtering. Recorded but not applied by this server: its
    /// isolation comes from bubblewrap's namespaces, binds and limits.
    #[serde(default)]
    pub seccomp_mode: SandboxMode,
    /// Landlock filesystem rules. Recorded but not applied by this server
    /// (the mount namespace decides what can be reached).
    #[serde(default)]
    pub landlock_mode: SandboxMode,
    /// Extra read-only bind mounts.
    #[serde(default)]
    pub extra_ro_bind: Vec<String>,
    /// Extra read-write bind mounts.
    #[serde(default)]
    pub extra_rw_bind: Vec<String>,
    /// Most processes (and threads) the sandbox may hold at once.
    #[serde(default)]
    pub max_processes: Option<u64>,
    /// Most memory one process may allocate, in MiB (its data segment).
    #[serde(default)]
    pub max_memory_mb: Option<u64>,
    /// Most CPU time one process may use, in seconds.
    #[serde(default)]
    pub max_cpu_secs: Option<u64>,
}

/// A workspace's effective sandbox.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SandboxView {
    /// Whether this server applies the profile (bubblewrap); `false` only
    /// when the operator switched the sandbox off (`sandbox.mode = "off"`).
    pub enabled: bool,
    /// The profile in effect (the server's default unless the workspace
    /// picked a stricter one).
    pub profile: String,
    /// The built-in profiles, from the loosest to the strictest.
    pub profiles: Vec<String>,
    /// The workspace's own additions (`.oqto/sandbox.toml`).
    pub overrides: SandboxProfile,
    /// The profile with the workspace's additions applied.
    pub effective: SandboxProfile,
}

/// A workspace's sandbox change. It may only add restrictions: a looser
/// profile, new `allow_write` entries, read-write binds, turning an
/// isolation off or a looser mode is refused (422, naming the field).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SandboxUpdate {
    /// The workspace.
    pub workspace_path: String,
    /// A profile at least as strict as the server's default.
    #[serde(default)]
    pub profile: Option<String>,
    /// The workspace's additions (they replace the stored ones).
    #[serde(default)]
    pub overrides: Option<SandboxProfile>,
}

/// Query of `project_logo_view`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ProjectLogoQuery {
    /// The logo file, relative to your workspace root; it must lie in a
    /// project's `logo/` folder (`myproject/logo/logo.png`).
    pub path: String,
}

/// Path of the original's `GET /api/projects/logo/{*path}`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ProjectLogoPath {
    /// As `ProjectLogoQuery::path`, one segment per element.
    pub path: Vec<String>,
}

/// A project template.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ProjectTemplate {
    /// Directory name of the template.
    pub name: String,
    /// Path to pass as `template_path` (relative to the templates directory).
    pub path: String,
    /// From the template's `template.toml`.
    pub description: Option<String>,
    /// Variables and their default values (`[defaults]` of `template.toml`).
    pub defaults: std::collections::BTreeMap<String, String>,
}

/// The server's project templates.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ProjectTemplateList {
    /// Whether a templates directory exists on this server.
    pub configured: bool,
    pub templates: Vec<ProjectTemplate>,
}

/// A new project made from a template.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ProjectFromTemplate {
    /// The template (as listed).
    pub template_path: String,
    /// The new project, relative to your workspace root; it must not exist.
    pub project_path: String,
    /// Values for `{{name}}` placeholders in file contents and names
    /// (`project_name` is always set to the project's directory name).
    #[serde(default)]
    pub variables: std::collections::BTreeMap<String, String>,
}

/// Where a location's directory lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LocationKind {
    /// A directory on this server.
    #[default]
    Local,
    /// A directory on another machine (not supported by this server: refused with 422).
    Remote,
}

/// A workspace location: a root directory whose subdirectories are
/// projects. Every user has the built-in `home` location (their workspace
/// root) in the `default` group; users add their own inside it, admins
/// add shared ones anywhere.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct WorkspaceLocation {
    /// `{workspace_id}/{location_id}`, plus a `shared:` prefix for shared ones.
    pub id: String,
    /// The group of locations this one belongs to (`default` unless chosen).
    pub workspace_id: String,
    /// The location's name within its group.
    pub location_id: String,
    pub kind: LocationKind,
    /// The directory on the server (for you: `{username}` and `{user_id}` of
    /// a shared location are filled in).
    pub path: String,
    /// Whether `/api/projects` lists this location for its group.
    pub is_active: bool,
    /// Configured by an admin for every user.
    pub shared: bool,
    /// The built-in `home` location (your workspace root); it cannot be changed.
    pub builtin: bool,
}

/// Query of `project_location_list`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct LocationListQuery {
    /// Only this group.
    #[serde(default)]
    pub workspace_id: Option<String>,
}

/// Adds a location, or changes the one with the same group and name.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct LocationUpsert {
    /// The group (default `default`).
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Name within the group: 1 to 64 letters, digits, `-`, `_` or `.`;
    /// `home` in the `default` group is the built-in location.
    pub location_id: String,
    /// Only `local` is supported.
    #[serde(default)]
    pub kind: LocationKind,
    /// Your own location: a directory inside your workspace root (relative
    /// to it, or absolute), created when missing. A shared location (admins
    /// only): an absolute path, where `{username}` and `{user_id}` are
    /// filled in per user.
    pub path: String,
    /// Make it a shared location, seen by every user (admins only).
    #[serde(default)]
    pub shared: bool,
    /// Also make it the active location of its group.
    #[serde(default)]
    pub set_active: bool,
}

/// Picks the active location of a group.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct LocationSelect {
    /// The group (default `default`).
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// A location of that group (yours or a shared one).
    pub location_id: String,
}

/// Whether every resource of a kind is applied, or a chosen few.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResourceMode {
    /// Every resource of the server's library.
    #[default]
    All,
    /// The selected ones (and the mandatory ones).
    Custom,
}

/// One skill, extension or prompt template of the server's library.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct PiResource {
    /// Its name (directory or file name without extension).
    pub name: String,
    /// From its front matter, or its first line.
    pub description: Option<String>,
    /// Applied to the workspace.
    pub selected: bool,
    /// Always applied (server configuration).
    pub mandatory: bool,
}

/// The agent's resources for one workspace: which skills, extensions and
/// prompt templates of the server's library are in its `.pi/` folder.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct PiResources {
    pub skills_mode: ResourceMode,
    pub extensions_mode: ResourceMode,
    pub prompts_mode: ResourceMode,
    pub skills: Vec<PiResource>,
    pub extensions: Vec<PiResource>,
    pub prompts: Vec<PiResource>,
}

/// Applies a selection of the library to a workspace's `.pi/` folder:
/// selected resources are copied in, resources applied earlier and no
/// longer selected are removed; the workspace's own files are never touched.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct PiResourcesApply {
    /// The workspace.
    pub workspace_path: String,
    #[serde(default)]
    pub skills_mode: ResourceMode,
    #[serde(default)]
    pub extensions_mode: ResourceMode,
    #[serde(default)]
    pub prompts_mode: ResourceMode,
    /// Names of skills, used in `custom` mode.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Names of extensions, used in `custom` mode.
    #[serde(default)]
    pub extensions: Vec<String>,
    /// Names of prompt templates, used in `custom` mode.
    #[serde(default)]
    pub prompts: Vec<String>,
}
