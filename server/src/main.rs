//! `oqto`: the Oqto server and its offline administration commands.

mod a2ui;
mod agent;
mod api;
mod api_socket;
mod auth;
mod body;
mod browser;
mod bus;
mod chats;
mod codexbar;
mod config;
mod context;
mod cors;
mod db;
mod delegate;
mod eavs;
mod egress;
mod error;
mod feedback;
mod feeds;
mod history;
mod hstry;
mod invites;
mod keys;
mod locations;
mod memories;
mod metrics;
mod misc;
mod mux;
mod onboarding;
mod pi_resources;
mod projects;
mod proxy;
mod read_cache;
mod redact;
mod sandbox;
mod scheduler;
mod server;
mod sessions;
mod settings;
mod sldr;
mod testing;
mod ui;
mod users;
mod util;
mod voice;
mod workspace;

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};

/// The Oqto server: a multi-user server for AI coding agents.
#[derive(Parser)]
#[command(name = "oqto", version)]
struct Cli {
    /// Config file (TOML); default `$XDG_CONFIG_HOME/oqto/config.toml`.
    #[arg(long, global = true, env = "OQTO_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (database, secrets, per-user data).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL (`sqlite://…` or `postgres://…`).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage accounts directly in the configured database.
    #[command(subcommand)]
    User(UserCommand),
    /// Apply database migrations and exit.
    Migrate,
}

#[derive(Args)]
struct ServeArgs {
    /// Address and port to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    bind: Option<SocketAddr>,
    /// Enable `POST /api/auth/dev-login` for loopback callers.
    #[arg(long)]
    dev_mode: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account (the first administrator, typically).
    Create {
        /// Email address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Login name; derived from the email when absent.
        #[arg(long)]
        username: Option<String>,
        /// Make the account an administrator.
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input (the first line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set an account's password (its tokens stop working).
    SetPassword {
        /// Username or email of the account.
        #[arg(long)]
        user: String,
        /// Read the password from standard input (the first line).
        #[arg(long)]
        password_stdin: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("oqto: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oqto: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let mut overrides =
        Overrides { data_dir: cli.data_dir, database_url: cli.database_url, ..Default::default() };
    if let Command::Serve(args) = &cli.command {
        overrides.bind = args.bind;
        overrides.dev_mode = args.dev_mode.then_some(true);
    }
    let sources = config::Sources::read(cli.config.as_deref(), std::env::vars(), &overrides)?;
    let config = sources.config()?;
    match cli.command {
        Command::Serve(_) => server::serve(sources).await,
        Command::Migrate => {
            let db = db::Db::connect(&config.database_url(), 1).await?;
            println!("migrations applied ({:?})", db.backend);
            Ok(())
        }
        Command::User(command) => user_command(config, sources, command).await,
    }
}

/// Reads a password from stdin (`--password-stdin` or a pipe) or prompts.
fn read_password(from_stdin: bool) -> Result<String> {
    let password = if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Repeat password: ")?;
        anyhow::ensure!(first == again, "the passwords differ");
        first
    };
    Ok(password)
}

async fn user_command(config: Config, sources: config::Sources, command: UserCommand) -> Result<()> {
    let (log, level) = server::logger(&config)?;
    let ctx = context::ServerContext::open(config, log, sources, level).await?;
    match command {
        UserCommand::Create { email, name, username, admin, password_stdin } => {
            let password = read_password(password_stdin)?;
            let username = username.unwrap_or_else(|| {
                email
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                    .collect()
            });
            let role = if admin { oqto_api::users::Role::Admin } else { oqto_api::users::Role::User };
            let body = oqto_api::users::UserCreate {
                username,
                email,
                password: Some(password),
                display_name: Some(name),
                role: Some(role),
            };
            let created = users::create(&ctx, body).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created {} ({}) as {}", created.user.username, created.user.email, created.user.role);
        }
        UserCommand::SetPassword { user, password_stdin } => {
            let password = read_password(password_stdin)?;
            let row = db::users::find_by_login(&ctx.db.pool, &user)
                .await?
                .with_context(|| format!("no account {user:?}"))?;
            let update = oqto_api::users::UserUpdate { password: Some(password), ..Default::default() };
            let system = auth::Caller::with_session(String::new(), oqto_api::users::Role::Admin);
            users::update(&ctx, &system, &row.id, update).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("password of {} changed; its existing tokens no longer work", row.username);
        }
    }
    Ok(())
}
