//! `oqtoctl project locations|create|logo` and `oqtoctl workspace …`
//! (`project_location_*`, `project_create_from_template`, `project_logo_view`,
//! `workspace_meta_*`, `workspace_sandbox_*`, `workspace_pi_resources_*`):
//! the commands that take friendlier arguments than the generated ones.

use anyhow::Result;
use clap::Subcommand;
use oqto_client::{Client, types};

use crate::failure::sdk_error;
use crate::output::Output;

#[derive(Subcommand)]
pub enum ProjectCommand {
    /// List your workspace locations, add one, or pick the active one.
    Locations {
        #[command(subcommand)]
        action: Option<LocationAction>,
        /// Only this group.
        #[arg(long)]
        group: Option<String>,
    },
    /// Create a project from a template.
    Create {
        /// The new project's directory (relative to your workspace root).
        project: String,
        #[arg(long)]
        template: String,
        /// Template variables, `name=value` (repeatable).
        #[arg(long = "var", value_parser = parse_var)]
        vars: Vec<(String, String)>,
    },
    /// A project's logo (a file in its `logo/` folder), to a file or stdout.
    Logo {
        /// The logo's path, relative to your workspace root
        /// (`garden/logo/logo.svg`).
        path: String,
        /// Write it here instead of to standard output.
        #[arg(long, short = 'O')]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum LocationAction {
    /// Add or change a location.
    Add {
        /// Its name within the group.
        name: String,
        /// A directory inside your workspace root; for `--shared`, an
        /// absolute path (`{username}` and `{user_id}` are filled in).
        path: String,
        #[arg(long)]
        group: Option<String>,
        /// A location for every user (admins only).
        #[arg(long)]
        shared: bool,
        /// Also make it the active location of its group.
        #[arg(long)]
        activate: bool,
    },
    /// Make a location the active one of its group.
    Use {
        name: String,
        #[arg(long)]
        group: Option<String>,
    },
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{s:?} is not name=value"))
}

#[derive(Subcommand)]
pub enum WorkspaceCommand {
    /// Show (or, with options, change) a workspace's metadata.
    Meta {
        workspace: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        language: Option<String>,
        #[arg(long)]
        pinned: Option<bool>,
    },
    /// Show a workspace's effective sandbox (or pick a stricter profile).
    Sandbox {
        workspace: String,
        /// development, minimal or strict (at least the server's default).
        #[arg(long)]
        sandbox_profile: Option<String>,
    },
    /// Show a workspace's agent resources, or apply a selection: `all`, or
    /// names separated by commas (empty for none); kinds not given keep
    /// their selection.
    Resources {
        workspace: String,
        #[arg(long)]
        skills: Option<String>,
        #[arg(long)]
        extensions: Option<String>,
        #[arg(long)]
        prompts: Option<String>,
    },
}

/// A kind's new selection: `all`, or names separated by commas; none given
/// keeps the current one.
fn selection(
    given: Option<String>,
    mode: types::ResourceMode,
    current: &[types::PiResource],
) -> (types::ResourceMode, Vec<String>) {
    match given.as_deref().map(str::trim) {
        Some("all") => (types::ResourceMode::All, vec![]),
        Some(names) => (
            types::ResourceMode::Custom,
            names.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_string).collect(),
        ),
        None => {
            (mode, current.iter().filter(|r| r.selected && !r.mandatory).map(|r| r.name.clone()).collect())
        }
    }
}

pub async fn run_project(client: &Client, cmd: ProjectCommand, out: &Output) -> Result<()> {
    match cmd {
        ProjectCommand::Locations { action: None, group } => {
            let mut req = client.project_location_list();
            if let Some(group) = group {
                req = req.workspace_id(group);
            }
            let list = req.send().await.map_err(sdk_error)?.into_inner();
            out.item(&list)
        }
        ProjectCommand::Locations {
            action: Some(LocationAction::Add { name, path, group, shared, activate }),
            ..
        } => {
            let body = types::LocationUpsert {
                workspace_id: group,
                location_id: name,
                kind: types::LocationKind::Local,
                path,
                shared,
                set_active: activate,
            };
            out.item(
                &client.project_location_upsert().body(body).send().await.map_err(sdk_error)?.into_inner(),
            )
        }
        ProjectCommand::Locations { action: Some(LocationAction::Use { name, group }), .. } => {
            let body = types::LocationSelect { workspace_id: group, location_id: name };
            out.item(
                &client.project_location_activate().body(body).send().await.map_err(sdk_error)?.into_inner(),
            )
        }
        ProjectCommand::Logo { path, out: file } => {
            use futures::TryStreamExt;
            let logo = client.project_logo_view().path(path).send().await.map_err(sdk_error)?.into_inner();
            let mut stream = logo.into_inner();
            let mut bytes = Vec::new();
            while let Some(chunk) = stream.try_next().await? {
                bytes.extend_from_slice(&chunk);
            }
            match file {
                Some(file) => {
                    std::fs::write(&file, &bytes)?;
                    out.done(&format!("wrote {} ({} bytes)", file.display(), bytes.len()))
                }
                None => Ok(std::io::Write::write_all(&mut std::io::stdout(), &bytes)?),
            }
        }
        ProjectCommand::Create { project, template, vars } => {
            let body = types::ProjectFromTemplate {
                template_path: template,
                project_path: project,
                variables: vars.into_iter().collect(),
            };
            out.item(
                &client
                    .project_create_from_template()
                    .body(body)
                    .send()
                    .await
                    .map_err(sdk_error)?
                    .into_inner(),
            )
        }
    }
}

pub async fn run_workspace(client: &Client, cmd: WorkspaceCommand, out: &Output) -> Result<()> {
    match cmd {
        WorkspaceCommand::Meta { workspace, display_name, language, pinned } => {
            if display_name.is_none() && language.is_none() && pinned.is_none() {
                let meta =
                    client.workspace_meta_view().workspace_path(workspace).send().await.map_err(sdk_error)?;
                return out.item(&meta.into_inner());
            }
            let body = types::WorkspaceMetaUpdate {
                workspace_path: workspace,
                display_name,
                language,
                pinned,
                bootstrap_pending: None,
            };
            out.item(&client.workspace_meta_update().body(body).send().await.map_err(sdk_error)?.into_inner())
        }
        WorkspaceCommand::Sandbox { workspace, sandbox_profile } => {
            let view = match sandbox_profile {
                None => client.workspace_sandbox_view().workspace_path(workspace).send().await,
                Some(profile) => {
                    let body = types::SandboxUpdate {
                        workspace_path: workspace,
                        profile: Some(profile),
                        overrides: None,
                    };
                    client.workspace_sandbox_update().body(body).send().await
                }
            };
            out.item(&view.map_err(sdk_error)?.into_inner())
        }
        WorkspaceCommand::Resources { workspace, skills, extensions, prompts } => {
            let current = client
                .workspace_pi_resources_view()
                .workspace_path(workspace.clone())
                .send()
                .await
                .map_err(sdk_error)?
                .into_inner();
            if skills.is_none() && extensions.is_none() && prompts.is_none() {
                return out.item(&current);
            }
            let (skills_mode, skills) = selection(skills, current.skills_mode, &current.skills);
            let (extensions_mode, extensions) =
                selection(extensions, current.extensions_mode, &current.extensions);
            let (prompts_mode, prompts) = selection(prompts, current.prompts_mode, &current.prompts);
            let body = types::PiResourcesApply {
                workspace_path: workspace,
                skills_mode,
                extensions_mode,
                prompts_mode,
                skills,
                extensions,
                prompts,
            };
            out.item(
                &client
                    .workspace_pi_resources_apply()
                    .body(body)
                    .send()
                    .await
                    .map_err(sdk_error)?
                    .into_inner(),
            )
        }
    }
}
