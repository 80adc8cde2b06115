//! `oqtoctl user …`: user administration (`user_*` operations).

use anyhow::{Result, bail};
use clap::Subcommand;
use oqto_client::{Client, types};

use crate::auth::{read_password, sdk_error};
use crate::output::Output;

const COLUMNS: &[&str] = &["id", "username", "email", "display_name", "role", "is_active", "last_login_at"];

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    User,
    Admin,
    Service,
}

impl From<RoleArg> for types::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::User => types::Role::User,
            RoleArg::Admin => types::Role::Admin,
            RoleArg::Service => types::Role::Service,
        }
    }
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// List users.
    List {
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// Only active (true) or inactive (false) users.
        #[arg(long)]
        active: Option<bool>,
        /// Substring of username, email or display name.
        #[arg(long)]
        search: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        offset: Option<u32>,
    },
    /// Create a user (a password is generated unless --password-stdin).
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// Read the initial password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Show a user (by id, username or email).
    Show { user: String },
    /// Change a user.
    Update {
        user: String,
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        avatar_url: Option<String>,
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// Read a new password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete a user.
    Delete { user: String },
    /// Activate a user.
    Activate { user: String },
    /// Deactivate a user (their tokens stop working).
    Deactivate { user: String },
    /// Counts of users by role.
    Stats,
    /// Make sure per-user directories exist (all users, or one).
    SyncConfigs {
        #[arg(long)]
        user: Option<String>,
    },
}

/// Resolves a user given by id, username or email to its id.
async fn resolve(client: &Client, user: &str) -> Result<String> {
    if uuid::Uuid::parse_str(user).is_ok() {
        return Ok(user.to_string());
    }
    let found = client.user_list().search(user).limit(1000u32).send().await.map_err(sdk_error)?.into_inner();
    let wanted = user.to_lowercase();
    match found.iter().find(|u| u.username.to_lowercase() == wanted || u.email == wanted) {
        Some(u) => Ok(u.id.to_string()),
        None => bail!("no user {user:?}"),
    }
}

pub async fn run(client: &Client, cmd: UserCommand, out: &Output) -> Result<()> {
    match cmd {
        UserCommand::List { role, active, search, limit, offset } => {
            let mut req = client.user_list();
            if let Some(role) = role {
                req = req.role(types::Role::from(role));
            }
            if let Some(active) = active {
                req = req.is_active(active);
            }
            if let Some(search) = search {
                req = req.search(search);
            }
            if let Some(limit) = limit {
                req = req.limit(limit);
            }
            if let Some(offset) = offset {
                req = req.offset(offset);
            }
            out.list(&req.send().await.map_err(sdk_error)?.into_inner(), COLUMNS)
        }
        UserCommand::Create { username, email, display_name, role, password_stdin } => {
            let password = if password_stdin { Some(read_password(true)?) } else { None };
            let body =
                types::UserCreate { username, email, display_name, password, role: role.map(Into::into) };
            let created = client.user_create().body(body).send().await.map_err(sdk_error)?.into_inner();
            out.object(&created)
        }
        UserCommand::Show { user } => {
            let id = resolve(client, &user).await?;
            out.object(&client.user_view().user_id(id).send().await.map_err(sdk_error)?.into_inner())
        }
        UserCommand::Update { user, username, email, display_name, avatar_url, role, password_stdin } => {
            let id = resolve(client, &user).await?;
            let password = if password_stdin { Some(read_password(true)?) } else { None };
            let body = types::UserUpdate {
                username,
                email,
                display_name,
                avatar_url,
                role: role.map(Into::into),
                password,
                is_active: None,
            };
            out.object(
                &client.user_update().user_id(id).body(body).send().await.map_err(sdk_error)?.into_inner(),
            )
        }
        UserCommand::Delete { user } => {
            let id = resolve(client, &user).await?;
            client.user_delete().user_id(&id).send().await.map_err(sdk_error)?;
            out.done(&format!("deleted user {id}"))
        }
        UserCommand::Activate { user } => {
            let id = resolve(client, &user).await?;
            out.object(&client.user_activate().user_id(id).send().await.map_err(sdk_error)?.into_inner())
        }
        UserCommand::Deactivate { user } => {
            let id = resolve(client, &user).await?;
            out.object(&client.user_deactivate().user_id(id).send().await.map_err(sdk_error)?.into_inner())
        }
        UserCommand::Stats => out.object(&client.user_stats().send().await.map_err(sdk_error)?.into_inner()),
        UserCommand::SyncConfigs { user } => {
            let user_id = match user {
                Some(u) => Some(resolve(client, &u).await?.parse()?),
                None => None,
            };
            let body = types::UserConfigSync { user_id };
            let results = client.user_config_sync().body(body).send().await.map_err(sdk_error)?.into_inner();
            out.list(&results, &["user_id", "username", "ok", "created", "error"])
        }
    }
}
