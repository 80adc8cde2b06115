//! Projects (workspace directories) and per-workspace settings: metadata
//! and the sandbox profile.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Query of `project_list`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ProjectListQuery {
    /// List inside this directory (relative to your workspace root) instead
    /// of the root itself.
    #[serde(default)]
    pub path: Option<String>,
}

/// A project: a non-hidden directory in your workspace root.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ProjectView {
    /// Display name (`display_name` of its `.oqto/workspace.toml`, else the
    /// directory name).
    pub name: String,
    /// Path relative to your workspace root.
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
    /// Seccomp filtering.
    #[serde(default)]
    pub seccomp_mode: SandboxMode,
    /// Landlock filesystem rules.
    #[serde(default)]
    pub landlock_mode: SandboxMode,
    /// Extra read-only bind mounts.
    #[serde(default)]
    pub extra_ro_bind: Vec<String>,
    /// Extra read-write bind mounts.
    #[serde(default)]
    pub extra_rw_bind: Vec<String>,
}

/// A workspace's effective sandbox.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SandboxView {
    /// Whether sandboxing is enabled on this server.
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
