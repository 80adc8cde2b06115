//! `oqtoctl`: the Oqto command line, built only on the generated SDK.
//!
//! Every operation of the API has a command. Most are progenitor's
//! generated ones (`generated_cli.rs`), placed in the tree by
//! [`commands::place`], an exhaustive `match` over the operations. The
//! commands below are written by hand: the ones that keep a profile, read a
//! password, stream over the mux, or take friendlier arguments.

mod api;
mod auth;
mod browser;
mod bus;
mod chat;
mod commands;
mod failure;
mod files;
#[allow(unused, clippy::all, clippy::pedantic)]
mod generated_cli;
mod metrics;
mod output;
mod profile;
mod projects;
mod scheduler;
mod settings;
mod term;
mod users;
mod voice;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use serde_json::Value;

use crate::failure::UsageError;
use crate::generated_cli::CliCommand;
use crate::output::{Format, Output};

/// Command line for an Oqto server.
///
/// Credentials are kept per profile (`login`); `OQTO_URL` and `OQTO_TOKEN`
/// override the profile's. Exit codes: 0 success, 1 the server refused (its
/// message and request id are printed) or could not be reached, 2 usage.
#[derive(Parser)]
#[command(name = "oqtoctl", version, about)]
struct Cli {
    /// Profile to use (credentials are kept per profile).
    #[arg(long, global = true, env = "OQTO_PROFILE", default_value = "default")]
    profile: String,
    /// Output format; `table` on a terminal, `json` otherwise.
    #[arg(long, short = 'o', global = true, value_enum)]
    output: Option<Format>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Log in and store the token in the profile.
    Login(auth::LoginArgs),
    /// Revoke the profile's token and forget it.
    Logout,
    /// Create an account with an invite code and log in.
    Register(auth::RegisterArgs),
    /// Show the logged-in user (the same as `me view`).
    Whoami,
    /// Your own account.
    #[command(subcommand)]
    Me(auth::MeCommand),
    /// Manage users (administrators).
    #[command(subcommand)]
    User(users::UserCommand),
    /// Speak and listen through the server's voice services.
    #[command(subcommand)]
    Voice(voice::VoiceCommand),
    /// Your chats' browsers: start, act, screenshots and the live screen.
    #[command(subcommand)]
    Browser(browser::BrowserCommand),
    /// Your scheduled jobs.
    #[command(subcommand)]
    Schedule(scheduler::ScheduleCommand),
    /// Administration beyond users and invites.
    #[command(subcommand)]
    Admin(metrics::AdminCommand),
    /// Send a message to an agent and stream its answer.
    Chat(chat::ChatArgs),
    /// List your chats.
    Chats {
        /// Only chats working in this workspace.
        workspace: Option<String>,
    },
    /// The event bus over the mux: publish, pull recent events, watch a scope.
    #[command(subcommand)]
    Bus(bus::BusCmd),
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
    /// The server's configuration (administrators) and your own settings.
    #[command(subcommand)]
    Settings(settings::SettingsCommand),
    /// Call any route of the server with the profile's credentials.
    Api(api::ApiArgs),
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Write man pages (oqtoctl.1 and one per command) into a directory.
    Man {
        /// Where to write them.
        #[arg(default_value = ".")]
        dir: std::path::PathBuf,
    },
}

/// The whole command tree: the hand-written commands and the generated ones.
fn command_tree(document: &Value) -> clap::Command {
    commands::graft(Cli::command(), document)
}

fn main() -> ExitCode {
    let document: Value = serde_json::from_str(commands::DOCUMENT).unwrap_or_default();
    let tree = command_tree(&document);
    let matches = tree.clone().get_matches();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return failure::report(e.into()),
    };
    match runtime.block_on(run(&matches, tree, &document)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failure::report(e),
    }
}

async fn run(matches: &ArgMatches, tree: clap::Command, document: &Value) -> anyhow::Result<()> {
    let profile = matches.get_one::<String>("profile").cloned().unwrap_or_else(|| "default".into());
    let format = match matches.get_one::<Format>("output") {
        Some(format) => *format,
        None if std::io::stdout().is_terminal() => Format::Table,
        None => Format::Json,
    };
    let out = Output::new(format);
    if let Some((op, op_matches)) = commands::selected(matches) {
        return commands::execute(op, op_matches, &profile, out, document).await;
    }
    let cli = Cli::from_arg_matches(matches).map_err(|e| UsageError(e.to_string()))?;
    match cli.command {
        Command::Login(args) => auth::login(&profile, args, &out).await,
        Command::Logout => auth::logout(&profile).await,
        Command::Register(args) => auth::register(&profile, args, &out).await,
        Command::Whoami => {
            let own = matches.subcommand_matches("whoami").unwrap_or(matches);
            commands::execute(CliCommand::MeView, own, &profile, out, document).await
        }
        Command::Me(cmd) => auth::run_me(&profile, cmd, &out).await,
        Command::Voice(cmd) => voice::run(&profile, cmd, &out).await,
        Command::Browser(cmd) => browser::run(&profile, cmd, &out).await,
        Command::Schedule(cmd) => scheduler::run(&profile::connect(&profile)?, cmd, &out).await,
        Command::Admin(cmd) => metrics::run(&profile, cmd, &out).await,
        Command::User(cmd) => users::run(&profile::connect(&profile)?, cmd, &out).await,
        Command::Settings(cmd) => settings::run(&profile::connect(&profile)?, cmd, &out).await,
        Command::Chat(args) => chat::chat(&profile, args, out.is_structured()).await,
        Command::Chats { workspace } => chat::chats(&profile, workspace, &out).await,
        Command::Files(cmd) => files::run(&profile, cmd, &out).await,
        Command::Bus(cmd) => bus::run(&profile, cmd, &out).await,
        Command::Project(cmd) => projects::run_project(&profile::connect(&profile)?, cmd, &out).await,
        Command::Workspace(cmd) => projects::run_workspace(&profile::connect(&profile)?, cmd, &out).await,
        Command::Term(args) => term::run(&profile, args).await,
        Command::Api(args) => api::run(&profile, args).await,
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut tree.clone(), "oqtoctl", &mut std::io::stdout());
            Ok(())
        }
        Command::Man { dir } => write_man_pages(tree, &dir),
    }
}

/// `oqtoctl.1` and a page per command (`oqtoctl-user-list.1`, …).
fn write_man_pages(tree: clap::Command, dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(tree, dir)?;
    eprintln!("wrote man pages to {}", dir.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{Place, place};

    fn document() -> Value {
        serde_json::from_str(commands::DOCUMENT).unwrap()
    }

    /// Every operation of the document has a command: its generated one in
    /// the tree, or a hand-written command that exists.
    #[test]
    fn every_operation_has_a_command() {
        let document = document();
        let tree = command_tree(&document);
        let mut ids = Vec::new();
        for item in document["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                ids.push(op["operationId"].as_str().unwrap().to_string());
            }
        }
        let generated: Vec<&str> = CliCommand::iter().map(|op| op.operation_id()).collect();
        ids.sort();
        let mut sorted = generated.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "the generated CLI is stale: run `make generate`");
        for op in CliCommand::iter() {
            let path = match place(op) {
                Place::Generated(leaf) => leaf.path,
                Place::HandWritten(path) => path,
            };
            let mut command = &tree;
            for word in path.split(' ') {
                command = command
                    .find_subcommand(word)
                    .unwrap_or_else(|| panic!("{} has no command `{path}`", op.operation_id()));
            }
        }
    }

    /// progenitor leaves `todo!()` where it cannot print a result (raw
    /// bytes, WebSocket upgrades): those operations must be hand-written.
    #[test]
    fn no_unfinished_generated_command_is_placed() {
        let source = include_str!("generated_cli.rs");
        for op in CliCommand::iter() {
            let start = format!("pub async fn execute_{}(", op.operation_id());
            let body = source.split(&start).nth(1).unwrap().split("pub async fn ").next().unwrap();
            if body.contains("todo!()") {
                assert!(
                    matches!(place(op), Place::HandWritten(_)),
                    "{} has no generated command that works: place a hand-written one",
                    op.operation_id()
                );
            }
        }
    }

    /// Two operations never share a generated command's path.
    #[test]
    fn generated_paths_are_unique() {
        let mut paths: Vec<&str> = CliCommand::iter()
            .filter_map(|op| match place(op) {
                Place::Generated(leaf) => Some(leaf.path),
                Place::HandWritten(_) => None,
            })
            .collect();
        let count = paths.len();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), count);
    }

    /// clap's own consistency checks over the whole tree.
    #[test]
    fn the_command_tree_is_consistent() {
        command_tree(&document()).debug_assert();
    }

    /// Every list an operation answers with has a column set.
    #[test]
    fn every_list_has_columns() {
        let document = document();
        let schemas = &document["components"]["schemas"];
        for item in document["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                for response in op["responses"].as_object().unwrap().values() {
                    let schema = &response["content"]["application/json"]["schema"];
                    if schema["type"] == "array" {
                        let name = schema["title"].as_str().unwrap();
                        assert!(output::columns(name).is_some(), "no columns for {name}");
                    }
                    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
                        for (field, property) in schemas[name]["properties"].as_object().into_iter().flatten()
                        {
                            if property["type"] == "array" {
                                let key = format!("{name}.{field}");
                                assert!(output::columns(&key).is_some(), "no columns for {key}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// A sample of `schema` with readable, deterministic values: the
    /// field's name and the item's number for strings, `n` for numbers.
    fn sample(document: &Value, schema: &Value, field: &str, n: usize, depth: usize) -> Value {
        if let Some(target) =
            schema["$ref"].as_str().and_then(|r| document.pointer(r.trim_start_matches('#')))
        {
            return sample(document, target, field, n, depth + 1);
        }
        if let Some(first) = ["allOf", "oneOf", "anyOf"].iter().find_map(|k| schema[*k].as_array()?.first()) {
            return sample(document, first, field, n, depth + 1);
        }
        if let Some(first) = schema["enum"].as_array().and_then(|v| v.first()) {
            return first.clone();
        }
        // `["integer", "null"]` is an integer that may be absent.
        let kind = match &schema["type"] {
            Value::Array(kinds) => kinds.iter().find(|k| *k != "null").and_then(Value::as_str),
            other => other.as_str(),
        };
        match (kind, schema["format"].as_str()) {
            (_, _) if depth > 4 => Value::Null,
            (Some("string"), Some("date-time")) => Value::from(format!("2026-12-0{n}T10:30:00.123Z")),
            (Some("string"), Some("uuid")) => Value::from(format!("00000000-0000-4000-8000-00000000000{n}")),
            (Some("string"), _) => Value::from(format!("{field}-{n}")),
            (Some("integer"), _) if field.ends_with("_at") || field == "modified" => {
                Value::from(1_764_671_400_000i64 + n as i64 * 86_400_000)
            }
            (Some("integer") | Some("number"), _) => Value::from(n * 10),
            (Some("boolean"), _) => Value::from(n % 2 == 1),
            (Some("array"), _) => Value::Array(vec![sample(document, &schema["items"], field, n, depth + 1)]),
            _ => Value::Object(
                schema["properties"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), sample(document, v, k, n, depth + 1)))
                    .collect(),
            ),
        }
    }

    /// The table of every list type, from samples of its schema, matches its
    /// golden file (`EXPECTORATE=overwrite` rewrites them).
    #[test]
    fn tables_match_their_golden_files() {
        let document = document();
        let schemas = &document["components"]["schemas"];
        let mut text = String::new();
        for (name, _) in output::COLUMNS {
            let items = match name.split_once('.') {
                Some((object, field)) => &schemas[object]["properties"][field]["items"],
                None => &schemas[name.trim_start_matches("Array_of_")],
            };
            let items = if items.is_null() {
                // Lists of the mux schema (chats, files): their own document.
                let mux: Value =
                    serde_json::from_str(include_str!("../../../../api-spec/openapi/mux.schema.json"))
                        .unwrap();
                let item = name.trim_start_matches("Array_of_");
                assert!(mux["definitions"][item].is_object(), "no schema for {name}");
                (1..=2).map(|n| sample(&mux, &mux["definitions"][item], "", n, 0)).collect::<Vec<_>>()
            } else {
                (1..=2).map(|n| sample(&document, items, "", n, 0)).collect()
            };
            text.push_str(&format!("== {name}\n{}\n", output::render(name, &Value::Array(items))));
        }
        expectorate::assert_contents("tests/golden/tables.txt", &text);
    }

    #[test]
    fn a_body_template_has_every_field() {
        let template = commands::body_template(&document(), "invite_code_create");
        assert!(template.as_object().unwrap().contains_key("max_uses"), "{template}");
    }
}
