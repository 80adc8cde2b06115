//! `oqtoctl project …` and `oqtoctl workspace …` (`project_list`,
//! `workspace_meta_*`, `workspace_sandbox_*`).

use anyhow::Result;
use clap::Subcommand;
use oqto_client::{Client, types};

use crate::auth::sdk_error;
use crate::output::Output;

#[derive(Subcommand)]
pub enum ProjectCommand {
    /// List your projects (directories of your workspace root).
    List {
        /// List inside this directory instead.
        #[arg(long)]
        path: Option<String>,
    },
    /// List the server's project templates.
    Templates,
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
}

pub async fn run_project(client: &Client, cmd: ProjectCommand, out: &Output) -> Result<()> {
    match cmd {
        ProjectCommand::List { path } => {
            let mut req = client.project_list();
            if let Some(path) = path {
                req = req.path(path);
            }
            out.list(&req.send().await.map_err(sdk_error)?.into_inner(), &["name", "path", "pinned"])
        }
        ProjectCommand::Templates => {
            let list = client.project_template_list().send().await.map_err(sdk_error)?.into_inner();
            out.list(&list.templates, &["name", "path", "description"])
        }
        ProjectCommand::Create { project, template, vars } => {
            let body = types::ProjectFromTemplate {
                template_path: template,
                project_path: project,
                variables: vars.into_iter().collect(),
            };
            out.object(
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
                return out.object(&meta.into_inner());
            }
            let body = types::WorkspaceMetaUpdate {
                workspace_path: workspace,
                display_name,
                language,
                pinned,
                bootstrap_pending: None,
            };
            out.object(
                &client.workspace_meta_update().body(body).send().await.map_err(sdk_error)?.into_inner(),
            )
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
            out.object(&view.map_err(sdk_error)?.into_inner())
        }
    }
}
