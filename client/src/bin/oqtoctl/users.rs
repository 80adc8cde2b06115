//! `oqtoctl user create|update|sync-configs`: the user administration that
//! reads passwords or names users; the rest of `user` is generated.

use anyhow::{Result, bail};
use clap::Subcommand;
use oqto_client::{Client, types};

use crate::auth::read_password;
use crate::failure::sdk_error;
use crate::output::Output;

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
    /// Change a user (by id, username or email).
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
    /// Make sure per-user directories exist (all users, or one).
    SyncConfigs {
        #[arg(long)]
        user: Option<String>,
    },
}

/// Resolves a user given by id, username or email to its id.
pub async fn resolve(client: &Client, user: &str) -> Result<String> {
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
        UserCommand::Create { username, email, display_name, role, password_stdin } => {
            let password = if password_stdin { Some(read_password(true, "Password")?) } else { None };
            let body =
                types::UserCreate { username, email, display_name, password, role: role.map(Into::into) };
            let created = client.user_create().body(body).send().await.map_err(sdk_error)?.into_inner();
            out.item(&created)
        }
        UserCommand::Update { user, username, email, display_name, avatar_url, role, password_stdin } => {
            let id = resolve(client, &user).await?;
            let password = if password_stdin { Some(read_password(true, "Password")?) } else { None };
            let body = types::UserUpdate {
                username,
                email,
                display_name,
                avatar_url,
                role: role.map(Into::into),
                password,
                is_active: None,
            };
            out.item(
                &client.user_update().user_id(id).body(body).send().await.map_err(sdk_error)?.into_inner(),
            )
        }
        UserCommand::SyncConfigs { user } => {
            let user_id = match user {
                Some(u) => Some(resolve(client, &u).await?.parse()?),
                None => None,
            };
            let body = types::UserConfigSync { user_id };
            let results = client.user_config_sync().body(body).send().await.map_err(sdk_error)?.into_inner();
            out.item(&results)
        }
    }
}
