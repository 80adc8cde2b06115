//! `oqtoctl`: the Oqto command line, built only on the generated SDK.
//!
//! Commands are `noun verb` and mirror the operation ids (`user_list` is
//! `oqtoctl user list`). Hand-written commands cover what needs a human
//! touch: `login`, `logout`, `whoami`, `completions`.

mod auth;
mod chat;
mod files;
mod history;
mod invites;
mod misc;
mod output;
mod profile;
mod projects;
mod sessions;
mod term;
mod users;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::output::Output;

/// Command line for an Oqto server.
#[derive(Parser)]
#[command(name = "oqtoctl", version, about)]
struct Cli {
    /// Profile to use (credentials are kept per profile).
    #[arg(long, global = true, env = "OQTO_PROFILE", default_value = "default")]
    profile: String,
    /// Output format; `table` on a terminal, `json` otherwise.
    #[arg(long, short = 'o', global = true, value_enum)]
    output: Option<OutputFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Table,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Log in and store the token in the profile.
    Login(auth::LoginArgs),
    /// Revoke the profile's token and forget it.
    Logout,
    /// Show the logged-in user.
    Whoami,
    /// Manage users (administrators).
    #[command(subcommand)]
    User(users::UserCommand),
    /// Manage invite codes (administrators).
    #[command(subcommand)]
    Invite(invites::InviteCommand),
    /// Manage your workspace sessions.
    #[command(subcommand)]
    Session(sessions::SessionCommand),
    /// Administration beyond users and invites.
    #[command(subcommand)]
    Admin(sessions::AdminCommand),
    /// Send a message to an agent and stream its answer.
    Chat(chat::ChatArgs),
    /// Your chat history: list, grouped, show, rename, search.
    #[command(subcommand)]
    History(history::HistoryCommand),
    /// Your projects.
    #[command(subcommand)]
    Project(projects::ProjectCommand),
    /// A workspace's files.
    #[command(subcommand)]
    Files(files::FilesCmd),
    /// An interactive shell in a workspace session (`Ctrl-]` detaches).
    Term(term::TermArgs),
    /// A workspace's metadata, sandbox and agent resources.
    #[command(subcommand)]
    Workspace(projects::WorkspaceCommand),
    /// List your chats.
    Chats {
        /// Only chats working in this workspace.
        workspace: Option<String>,
    },
    /// Check that the server is up.
    Health,
    /// Show the server's feature flags.
    Features,
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = match cli.output {
        Some(OutputFormat::Json) => true,
        Some(OutputFormat::Table) => false,
        None => !std::io::stdout().is_terminal(),
    };
    let output = Output::new(json);
    match run(cli, output).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, out: Output) -> anyhow::Result<()> {
    let profile = cli.profile;
    match cli.command {
        Command::Login(args) => auth::login(&profile, args, &out).await,
        Command::Logout => auth::logout(&profile).await,
        Command::Whoami => auth::whoami(&profile::connect(&profile)?, &out).await,
        Command::User(cmd) => users::run(&profile::connect(&profile)?, cmd, &out).await,
        Command::Invite(cmd) => invites::run(&profile::connect(&profile)?, cmd, &out).await,
        Command::Session(cmd) => sessions::run(&profile::connect(&profile)?, cmd, &out).await,
        Command::Admin(cmd) => sessions::run_admin(&profile::connect(&profile)?, cmd, &out).await,
        Command::Chat(args) => chat::chat(&profile, args, out.is_json()).await,
        Command::History(cmd) => history::run(&profile::connect(&profile)?, cmd, &out).await,
        Command::Files(cmd) => files::run(&profile, cmd, &out).await,
        Command::Project(cmd) => projects::run_project(&profile::connect(&profile)?, cmd, &out).await,
        Command::Workspace(cmd) => projects::run_workspace(&profile::connect(&profile)?, cmd, &out).await,
        Command::Term(args) => term::run(&profile, args).await,
        Command::Chats { workspace } => chat::chats(&profile, workspace, &out).await,
        Command::Health => misc::health(&profile::connect_anonymous(&profile)?, &out).await,
        Command::Features => misc::features(&profile::connect_anonymous(&profile)?, &out).await,
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "oqtoctl", &mut std::io::stdout());
            Ok(())
        }
    }
}
