//! Where every operation of the API lives in the command tree.
//!
//! [`place`] is one exhaustive `match` over progenitor's generated
//! [`CliCommand`]: an operation added to the API does not compile until it
//! is given a place, either its generated command at a path of words
//! (`user list`) or the hand-written command that covers it (`login`,
//! `chat`, anything streaming, anything that reads a password).

use anyhow::Result;
use clap::{ArgMatches, Command};
use serde_json::Value;

use crate::generated_cli::{Cli, CliCommand, CliConfig};
use crate::output::Output;

/// Where an operation is offered.
#[derive(Clone, Copy, Debug)]
pub enum Place {
    /// progenitor's command for the operation, at `Leaf::path`.
    Generated(Leaf),
    /// The hand-written command at this path covers the operation (the
    /// coverage test checks that it exists).
    HandWritten(#[allow(dead_code)] &'static str),
}

/// A generated command's place and the touches that make it friendly.
#[derive(Clone, Copy, Debug)]
pub struct Leaf {
    /// Words from the root: `"admin sessions list"`.
    pub path: &'static str,
    /// Other names of the last word (`show` for `view`).
    pub aliases: &'static [&'static str],
    /// Body fields taken as positional arguments, after the path
    /// parameters and required query parameters (which always are).
    pub positional: &'static [&'static str],
}

const fn at(path: &'static str) -> Leaf {
    Leaf { path, aliases: &[], positional: &[] }
}

impl Leaf {
    const fn alias(self, aliases: &'static [&'static str]) -> Self {
        Leaf { aliases, ..self }
    }

    const fn positional(self, positional: &'static [&'static str]) -> Self {
        Leaf { positional, ..self }
    }
}

/// The place of `op`.
pub fn place(op: CliCommand) -> Place {
    use CliCommand as C;
    use Place::{Generated as G, HandWritten as H};
    match op {
        C::InviteCodeBatchCreate => G(at("invite batch")),
        C::InviteCodeStats => G(at("invite stats")),
        C::InviteCodeList => G(at("invite list")),
        C::InviteCodeCreate => G(at("invite create")),
        C::InviteCodeView => G(at("invite view").alias(&["show"])),
        C::InviteCodeDelete => G(at("invite delete")),
        C::InviteCodeRevoke => G(at("invite revoke")),
        C::AdminLocalCleanup => G(at("admin sessions cleanup")),
        C::AdminSessionList => G(at("admin sessions list")),
        C::AdminSessionDelete => G(at("admin sessions delete")),
        C::MemoryList => G(at("memory list")),
        C::MemoryCreate => G(at("memory add").positional(&["content"])),
        C::MemorySearch => G(at("memory search").positional(&["query"])),
        C::MemoryStoreList => G(at("memory stores")),
        C::MemoryView => G(at("memory show").alias(&["view"])),
        C::MemoryUpdate => G(at("memory edit")),
        C::MemoryDelete => G(at("memory rm").alias(&["delete"])),
        C::SessionMemoryList => G(at("memory session list")),
        C::SessionMemoryCreate => G(at("memory session add").positional(&["content"])),
        C::SessionMemorySearch => G(at("memory session search").positional(&["query"])),
        C::SessionMemoryStoreList => G(at("memory session stores")),
        C::SessionMemoryView => G(at("memory session show").alias(&["view"])),
        C::SessionMemoryUpdate => G(at("memory session edit")),
        C::SessionMemoryDelete => G(at("memory session rm").alias(&["delete"])),
        C::A2uiSurfaceCreate => G(at("a2ui show")),
        C::A2uiSurfaceDelete => G(at("a2ui rm").alias(&["delete"])),
        C::TestEvent => G(at("test event")),
        C::TestA2ui => G(at("test a2ui")),
        C::TestA2uiSample => G(at("test a2ui-sample").positional(&["session-id"])),
        C::UiNavigate => G(at("ui navigate").positional(&["path"])),
        C::UiSession => G(at("ui session").positional(&["session-id"])),
        C::UiView => G(at("ui view").positional(&["view"])),
        C::UiPalette => G(at("ui palette")),
        C::UiPaletteExec => G(at("ui palette-exec").positional(&["command"])),
        C::UiSpotlight => G(at("ui spotlight")),
        C::UiTour => G(at("ui tour")),
        C::UiSidebar => G(at("ui sidebar")),
        C::UiPanel => G(at("ui panel")),
        C::UiTheme => G(at("ui theme").positional(&["theme"])),
        C::SettingsSchemaView => G(at("settings schema")),
        C::SettingsView => G(at("settings get").alias(&["show"])),
        // Values as `key=JSON` pairs.
        C::SettingsUpdate => H("settings set"),
        C::SettingsReload => G(at("settings reload")),
        C::DelegateStart => G(at("delegate start").positional(&["directory", "prompt"])),
        C::DelegatePrompt => G(at("delegate prompt").positional(&["prompt"])),
        C::DelegateStatus => G(at("delegate status")),
        C::DelegateMessages => G(at("delegate messages")),
        C::DelegateStop => G(at("delegate stop")),
        C::DelegateList => G(at("delegate list")),
        C::FeedbackCreate => G(at("feedback send").positional(&["title", "body"])),
        C::FeedbackList => G(at("feedback list")),
        C::BusStats => G(at("admin bus stats")),
        C::BusPublish => G(at("admin bus publish").positional(&["topic"])),
        // A user is named by id, username or email (resolved before the call).
        C::UserConfigSync => H("user sync-configs"),
        C::UserStats => G(at("user stats")),
        C::UserList => G(at("user list")),
        // Passwords are read from a prompt or stdin, never from arguments.
        C::UserCreate => H("user create"),
        C::UserView => G(at("user view").alias(&["show"])),
        C::UserUpdate => H("user update"),
        C::UserDelete => G(at("user delete")),
        C::UserActivate => G(at("user activate")),
        C::UserDeactivate => G(at("user deactivate")),
        C::AuthPasswordChange => H("me password"),
        // Logging in stores the token in the profile.
        C::AuthDevLogin => H("login"),
        C::AuthLogin => H("login"),
        C::AuthLogout => H("logout"),
        C::AuthRegister => H("register"),
        C::ChatHistoryList => G(at("history list")),
        C::ChatHistoryGroupedList => G(at("history grouped")),
        C::ChatHistoryView => G(at("history view")),
        C::ChatHistoryUpdate => G(at("history update").alias(&["rename"]).positional(&["title"])),
        C::ChatHistoryMessageList => G(at("history messages").alias(&["show"])),
        C::ChatHistoryDelete => G(at("history delete").alias(&["rm"])),
        C::ChatHistoryBackfill => G(at("history backfill")),
        C::FeatureList => G(at("features")),
        C::HealthView => G(at("health")),
        C::MeView => G(at("me view").alias(&["show"])),
        C::MeUpdate => G(at("me update")),
        C::OpenapiView => G(at("openapi")),
        C::ProjectList => G(at("project list")),
        // Locations: list, add and pick with positional names.
        C::ProjectLocationList => H("project locations"),
        C::ProjectLocationUpsert => H("project locations"),
        C::ProjectLocationActivate => H("project locations"),
        // Raw bytes: written to a file or stdout.
        C::ProjectLogoView => H("project logo"),
        C::ProjectTemplateList => G(at("project templates")),
        // Template variables as repeated `--var name=value`.
        C::ProjectCreateFromTemplate => H("project create"),
        C::Search => G(at("history search")),
        C::SessionGetOrCreate => G(at("session get-or-create")),
        C::SessionGetOrCreateForWorkspace => {
            G(at("session get-or-create-for-workspace").positional(&["workspace-path"]))
        }
        C::SessionUpdateList => G(at("session updates")),
        C::SessionList => G(at("session list")),
        C::SessionCreate => G(at("session create").positional(&["workspace-path"])),
        C::SessionView => G(at("session view").alias(&["show"])),
        C::SessionDelete => G(at("session delete")),
        C::SessionActivity => G(at("session activity")),
        C::SessionResume => G(at("session resume")),
        C::SessionStop => G(at("session stop")),
        C::SessionUpdateView => G(at("session update")),
        C::SessionUpgrade => G(at("session upgrade")),
        // Show or change in one command; resources take a selection by name.
        C::WorkspaceMetaView => H("workspace meta"),
        C::WorkspaceMetaUpdate => H("workspace meta"),
        C::WorkspacePiResourcesView => H("workspace resources"),
        C::WorkspacePiResourcesApply => H("workspace resources"),
        C::WorkspaceSandboxView => H("workspace sandbox"),
        C::WorkspaceSandboxUpdate => H("workspace sandbox"),
        C::ApiKeyList => G(at("key list")),
        C::ApiKeyCreate => G(at("key create").positional(&["name"])),
        C::ApiKeyRevoke => G(at("key revoke")),
        C::ApiKeyDelete => G(at("key delete").alias(&["rm"])),
        C::OauthProviderList => G(at("auth providers")),
        C::OnboardingView => G(at("onboarding view").alias(&["show"])),
        C::OnboardingUpdate => G(at("onboarding update")),
        C::OnboardingCheck => G(at("onboarding check")),
        C::OnboardingAdvance => G(at("onboarding advance")),
        C::OnboardingUnlock => G(at("onboarding unlock")),
        C::OnboardingGodmode => G(at("onboarding godmode")),
        C::OnboardingComplete => G(at("onboarding complete")),
        C::OnboardingReset => G(at("onboarding reset")),
        C::OnboardingBootstrap => G(at("onboarding bootstrap").positional(&["display-name"])),
        C::MuxDebugView => G(at("mux debug")),
        C::FeedFetch => G(at("feed fetch")),
        C::EavsProviderList => G(at("admin providers list").alias(&["ls"])),
        C::EavsProviderUpsert => G(at("admin providers set")),
        C::EavsProviderDelete => G(at("admin providers rm").alias(&["delete"])),
        C::EavsModelsSync => G(at("admin providers sync")),
        C::EavsCatalogLookup => G(at("admin providers catalog")),
        C::BrowserStart => G(at("browser start").positional(&["session-id", "url"])),
        C::BrowserAction => G(at("browser action").positional(&["session-id", "action"])),
        // WebSockets.
        C::BrowserStream => H("browser watch"),
        C::VoiceStt => H("voice listen"),
        C::VoiceTts => H("voice say"),
        C::SchedulerOverviewView => G(at("schedule overview")),
        C::SchedulerJobList => G(at("schedule list").alias(&["ls"])),
        // Flags for the schedule and the action.
        C::SchedulerJobCreate => H("schedule add"),
        C::SchedulerJobView => G(at("schedule view").alias(&["show"])),
        C::SchedulerJobDelete => G(at("schedule rm").alias(&["delete"])),
        C::SchedulerJobPause => G(at("schedule pause")),
        C::SchedulerJobResume => G(at("schedule resume")),
        C::CodexbarUsageView => G(at("codexbar usage")),
        C::AdminStatsView => G(at("admin stats")),
        // A live view; Prometheus text.
        C::AdminMetricsStream => H("admin top"),
        C::PrometheusMetricsView => H("admin prometheus"),
        // The socket carries `chat`, `chats`, `term` and `files`.
        C::MuxConnect => H("chat"),
        C::MuxTicketCreate => G(at("mux ticket")),
    }
}

/// What the groups that only generated commands make say about themselves.
const GROUPS: &[(&str, &str)] = &[
    ("a2ui", "Surfaces shown in your chats"),
    ("admin providers", "Model providers and their keys; every user's models.json (administrators)"),
    ("admin bus", "The event bus: counters and publishing (administrators)"),
    ("admin sessions", "Every user's workspace sessions (administrators)"),
    ("auth", "How one signs in"),
    ("codexbar", "Usage of the AI providers' plans (codexbar on the server)"),
    ("delegate", "Hand work to child chats and follow them (from this machine only)"),
    ("feedback", "Tell the operators something; read what users told them (administrators)"),
    ("feed", "Fetch web feeds (public addresses only)"),
    ("history", "Your chat history: list, grouped, view, messages, update, search"),
    ("invite", "Manage invite codes (administrators)"),
    ("key", "Your personal API keys (`Authorization: Bearer oqto_…`)"),
    ("me", "Your own account"),
    ("memory", "Memories of your workspaces, with full-text search"),
    ("memory session", "Memories of a workspace session's workspace"),
    ("mux", "The multiplexed WebSocket: tickets and connection figures"),
    ("onboarding", "Your guided first steps and your first workspace"),
    ("test", "Inject events and surfaces into your own chats (servers in dev mode)"),
    ("ui", "Steer your own open web clients (navigate, theme, spotlight, …)"),
    ("settings", "The server's configuration (administrators) and your own settings"),
    ("session", "Manage your workspace sessions"),
];

/// The checked-in OpenAPI document the generated commands come from.
pub const DOCUMENT: &str = include_str!("../../../../api-spec/openapi/oqto.json");

/// The document's operation with id `id`.
pub fn operation<'a>(document: &'a Value, id: &str) -> Option<&'a Value> {
    document["paths"]
        .as_object()?
        .values()
        .flat_map(|item| item.as_object().into_iter().flat_map(|m| m.values()))
        .find(|op| op["operationId"] == id)
}

/// `root` with every generated command in its place, each level listed
/// alphabetically.
pub fn graft(mut root: Command, document: &Value) -> Command {
    for op in CliCommand::iter() {
        if let Place::Generated(leaf) = place(op) {
            let words: Vec<&str> = leaf.path.split(' ').collect();
            let command = shape(Cli::<Printer>::get_command(op), op, &leaf, document);
            root = insert(root, &words, &words, command);
        }
    }
    alphabetical(root)
}

fn alphabetical(mut command: Command) -> Command {
    let mut names: Vec<String> = command.get_subcommands().map(|c| c.get_name().to_string()).collect();
    names.sort();
    for (order, name) in names.into_iter().enumerate() {
        command = command.mut_subcommand(name, |sub| alphabetical(sub).display_order(order));
    }
    command
}

/// Adds `leaf` below `parent` at `words` (creating the groups on the way).
fn insert(mut parent: Command, full: &[&str], words: &[&str], leaf: Command) -> Command {
    let Some((first, rest)) = words.split_first() else {
        return parent;
    };
    if rest.is_empty() {
        return parent.subcommand(leaf.name(first.to_string()));
    }
    if parent.find_subcommand(first).is_none() {
        let path = full[..full.len() - rest.len()].join(" ");
        let about = GROUPS.iter().find(|(p, _)| *p == path).map(|(_, a)| *a).unwrap_or_default();
        parent = parent.subcommand(
            Command::new(first.to_string())
                .about(about)
                .subcommand_required(true)
                .arg_required_else_help(true),
        );
    }
    parent.mut_subcommand(first, |group| insert(group, full, rest, leaf))
}

/// A generated command made friendly: aliases; required query parameters,
/// path parameters and the listed body fields as positional arguments;
/// `--json-body-template` explained.
fn shape(mut command: Command, op: CliCommand, leaf: &Leaf, document: &Value) -> Command {
    command = command.visible_aliases(leaf.aliases.iter().copied());
    // progenitor puts summary and description into `about`: listings show
    // the summary, `--help` all of it.
    if let Some(about) = command.get_about().map(ToString::to_string) {
        let summary = about.split("\n\n").next().unwrap_or_default().to_string();
        command = command.about(summary).long_about(about);
    }
    let unnamed: Vec<String> = command
        .get_arguments()
        .filter(|a| a.get_long().is_some() && a.get_value_names().is_none() && a.get_action().takes_values())
        .map(|a| a.get_id().to_string())
        .collect();
    for id in unnamed {
        let value_name = id.to_uppercase().replace('-', "_");
        command = command.mut_arg(id, |arg| arg.value_name(value_name));
    }
    let parameters = operation(document, op.operation_id())
        .and_then(|o| o["parameters"].as_array())
        .cloned()
        .unwrap_or_default();
    // The scope a required query parameter names (`memory show WORKSPACE
    // ID`) before the path's item, then the body fields.
    let scope = parameters.iter().filter(|p| p["in"] == "query" && p["required"] == true);
    let positional = scope
        .chain(parameters.iter().filter(|p| p["in"] == "path"))
        .filter_map(|p| p["name"].as_str())
        .map(|name| name.replace('_', "-"))
        .chain(leaf.positional.iter().map(|s| s.to_string()));
    for (index, name) in positional.enumerate() {
        let value_name = name.to_uppercase().replace('-', "_");
        command = command.mut_arg(name, |arg| arg.long(None).value_name(value_name).index(index + 1));
    }
    if command.get_arguments().any(|a| a.get_id() == "user-id") {
        command = command.mut_arg("user-id", |arg| arg.help("The user's id, username or email"));
    }
    if command.get_arguments().any(|a| a.get_id() == "json-body-template") {
        command = command.mut_arg("json-body-template", |arg| {
            arg.help("Print a JSON template of the request body (for --json-body) and exit")
        });
    }
    command
}

/// The generated operation `matches` selected, and its own matches.
pub fn selected(matches: &ArgMatches) -> Option<(CliCommand, &ArgMatches)> {
    let mut words = Vec::new();
    let mut current = matches;
    while let Some((name, sub)) = current.subcommand() {
        words.push(name);
        current = sub;
    }
    let path = words.join(" ");
    CliCommand::iter()
        .find(|op| matches!(place(*op), Place::Generated(leaf) if leaf.path == path))
        .map(|op| (op, current))
}

/// Runs a generated command.
pub async fn execute(
    op: CliCommand,
    matches: &ArgMatches,
    profile: &str,
    out: Output,
    document: &Value,
) -> Result<()> {
    if matches.try_get_one::<bool>("json-body-template").ok().flatten() == Some(&true) {
        let template = body_template(document, op.operation_id());
        println!("{}", serde_json::to_string_pretty(&template)?);
        return Ok(());
    }
    let client = if oqto_api::PUBLIC_OPERATIONS.contains(&op.operation_id()) {
        crate::profile::connect_optional(profile)?
    } else {
        crate::profile::connect(profile)?
    };
    // A user given by username or email is looked up first.
    let user_id = match matches.try_get_one::<String>("user-id").ok().flatten() {
        Some(user) => Some(crate::users::resolve(&client, user).await?),
        None => None,
    };
    Cli::new(client, Printer { out, user_id, what: op.operation_id() }).execute(op, matches).await
}

/// A JSON skeleton of the operation's request body: each property with a
/// value of its type (`""`, `0`, `false`, the first enum value, …).
pub fn body_template(document: &Value, id: &str) -> Value {
    let schema = operation(document, id)
        .map(|o| &o["requestBody"]["content"]["application/json"]["schema"])
        .cloned()
        .unwrap_or(Value::Null);
    skeleton(document, &schema, 0)
}

fn skeleton(document: &Value, schema: &Value, depth: usize) -> Value {
    if depth > 6 {
        return Value::Null;
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        return skeleton(document, &document["components"]["schemas"][name], depth + 1);
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(first) = schema[key].as_array().and_then(|v| v.first()) {
            return skeleton(document, first, depth + 1);
        }
    }
    if let Some(first) = schema["enum"].as_array().and_then(|v| v.first()) {
        return first.clone();
    }
    match schema["type"].as_str() {
        Some("object") | None if schema["properties"].is_object() => Value::Object(
            schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), skeleton(document, v, depth + 1)))
                .collect(),
        ),
        Some("object") => serde_json::json!({}),
        Some("array") => Value::Array(vec![]),
        Some("string") => Value::String(String::new()),
        Some("integer") | Some("number") => Value::from(0),
        Some("boolean") => Value::Bool(false),
        _ => Value::Null,
    }
}

/// A hook that puts the resolved user id into the request.
macro_rules! resolved_user {
    ($hook:ident, $builder:ident) => {
        fn $hook(&self, _: &ArgMatches, request: &mut oqto_client::builder::$builder) -> Result<()> {
            if let Some(id) = &self.user_id {
                *request = request.clone().user_id(id.clone());
            }
            Ok(())
        }
    };
}

/// How generated commands print, and the touches they get before a call.
pub struct Printer {
    out: Output,
    /// A `user-id` argument resolved from a username or email.
    user_id: Option<String>,
    /// The operation, for the confirmation of one that answers nothing.
    what: &'static str,
}

impl Printer {
    fn report(result: Result<()>) {
        if let Err(e) = result {
            eprintln!("error: printing the result: {e:#}");
        }
    }
}

impl CliConfig for Printer {
    fn success_item<T>(&self, value: &oqto_client::ResponseValue<T>)
    where
        T: schemars::JsonSchema + serde::Serialize + std::fmt::Debug,
    {
        Self::report(self.out.item::<T>(value));
    }

    fn success_no_item(&self, _: &oqto_client::ResponseValue<()>) {
        Self::report(self.out.done(&format!("{}: done", self.what.replace('_', " "))));
    }

    // Errors travel back to `main` as the command's result, which prints
    // them once with their exit code.
    fn error<T>(&self, _: &oqto_client::Error<T>)
    where
        T: schemars::JsonSchema + serde::Serialize + std::fmt::Debug,
    {
    }

    // No operation of this API is paginated the Dropshot way.
    fn list_start<T>(&self)
    where
        T: schemars::JsonSchema + serde::Serialize + std::fmt::Debug,
    {
    }

    fn list_item<T>(&self, value: &T)
    where
        T: schemars::JsonSchema + serde::Serialize + std::fmt::Debug,
    {
        Self::report(self.out.item(value));
    }

    fn list_end_success<T>(&self)
    where
        T: schemars::JsonSchema + serde::Serialize + std::fmt::Debug,
    {
    }

    fn list_end_error<T>(&self, _: &oqto_client::Error<T>)
    where
        T: schemars::JsonSchema + serde::Serialize + std::fmt::Debug,
    {
    }

    resolved_user!(execute_user_view, UserView);
    resolved_user!(execute_user_delete, UserDelete);
    resolved_user!(execute_user_activate, UserActivate);
    resolved_user!(execute_user_deactivate, UserDeactivate);
}
