//! Typed configuration: defaults, then the TOML file, then `OQTO_*`
//! environment variables, then command-line flags.
//!
//! Every key can be set from the environment: the variable's name is
//! `OQTO_` followed by the key's path in upper case with `__` between
//! sections, e.g. `OQTO_DATA_DIR`, `OQTO_SERVER__BIND`,
//! `OQTO_DATABASE__URL`, `OQTO_AUTH__DEV_MODE`. Variables that name no key
//! (such as the CLI's `OQTO_URL`) are ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the database, the JWT secret and per-user data live.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub workspace: WorkspaceConfig,
    pub sessions: SessionsConfig,
    pub agent: AgentConfig,
    pub mux: MuxConfig,
    pub sandbox: SandboxConfig,
    pub history: HistoryConfig,
    pub projects: ProjectsConfig,
    pub log: LogConfig,
    pub egress: EgressConfig,
    pub codexbar: CodexbarConfig,
    pub metrics: MetricsConfig,
    pub sldr: SldrConfig,
    pub voice: VoiceConfig,
    pub browser: BrowserConfig,
    pub scheduler: SchedulerConfig,
    /// Each user's preferences for the web client; the values here are the
    /// defaults, every user may set their own (`PATCH /api/settings`).
    pub ui: UiConfig,
}

/// A user's preferences for the web client.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// `system`, `light` or `dark`.
    pub theme: String,
    /// The interface language, a BCP 47 tag (`en`, `de-AT`).
    pub language: String,
    /// Keyboard shortcuts: action name to key binding (`mod+k`).
    pub shortcuts: std::collections::BTreeMap<String, String>,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig { theme: "system".into(), language: "en".into(), shortcuts: Default::default() }
    }
}

/// Projects.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectsConfig {
    /// Directory of project templates (one subdirectory each); empty means
    /// `<data_dir>/templates`.
    pub templates_dir: PathBuf,
    /// The agent's resource library: `skills/`, `extensions/` and `prompts/`
    /// folders laid out as in a `.pi/` folder; empty means
    /// `<data_dir>/pi-resources`.
    pub pi_resources_dir: PathBuf,
    /// Skills every workspace gets when resources are applied.
    pub mandatory_skills: Vec<String>,
    /// Extensions every workspace gets when resources are applied.
    pub mandatory_extensions: Vec<String>,
    /// Prompt templates every workspace gets when resources are applied.
    pub mandatory_prompts: Vec<String>,
}

/// Chat history.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HistoryConfig {
    /// gRPC URL of an hstry service (`http://host:port`). Empty: the embedded
    /// index serves history on its own; set: messages are mirrored to hstry
    /// and listing, reading and search are served from it.
    pub hstry_url: String,
}

/// Agent sandboxing.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// `bubblewrap` (every process on a user's behalf runs in a bubblewrap
    /// sandbox; one that cannot be built refuses to start) or `off` (the
    /// operator's explicit choice for a single-user setup: processes run
    /// as the server's user, with a clean environment but nothing else).
    pub mode: SandboxKind,
    /// The profile every workspace gets at least: development, minimal or strict.
    pub default_profile: String,
    /// The bubblewrap program.
    pub bwrap: PathBuf,
    /// Host paths visible read-only in every sandbox besides the system
    /// (`/usr`, parts of `/etc`) and the agent program's own directory:
    /// agent runtimes installed elsewhere, for instance.
    pub read_only: Vec<PathBuf>,
}

/// How processes on a user's behalf are isolated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SandboxKind {
    #[default]
    Bubblewrap,
    Off,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            mode: SandboxKind::Bubblewrap,
            default_profile: "development".into(),
            bwrap: PathBuf::from("bwrap"),
            read_only: Vec::new(),
        }
    }
}

/// Where users' workspaces live.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WorkspaceConfig {
    /// Each user's workspace root; `{user_id}` and `{username}` are
    /// replaced. Empty means `<data_dir>/users/{user_id}/workspace`.
    pub root: String,
}

/// Workspace sessions.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SessionsConfig {
    /// Running sessions per user; starting one more stops the least
    /// recently active idle one.
    pub max_running_per_user: u32,
    /// Stop a running session after this long without activity (seconds).
    pub idle_timeout_secs: u64,
}

/// The agent processes that run chats.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// Program and arguments of the agent in RPC mode. The server adds
    /// `--session-dir DIR`, `--continue` when resuming, and `--provider`/
    /// `--model` when a chat asks for them.
    pub command: Vec<String>,
    /// Version of the agent runtime that new and upgraded sessions run.
    pub version: String,
    /// Environment variables the agent gets besides the sandbox's own
    /// (`PATH`, `HOME`, `LANG`, `TERM`, `PI_CODING_AGENT_DIR`): nothing of
    /// the server's environment is passed on unless it is named here.
    pub env: std::collections::BTreeMap<String, String>,
    /// Seconds between SIGTERM and SIGKILL when stopping an agent.
    pub stop_grace_secs: u64,
    /// Stop a chat's agent after this long without activity (seconds); it
    /// resumes from its session file when used again.
    pub idle_timeout_secs: u64,
    /// Running chats per user.
    pub max_chats_per_user: u32,
    /// Running agent processes in total.
    pub max_processes: u32,
    /// Report `agent.error` + `agent.idle` when an accepted prompt gets no
    /// agent event within this many seconds.
    pub watchdog_secs: u64,
    /// Give up on an agent's answer to a command after this many seconds.
    pub response_timeout_secs: u64,
    /// Events kept per chat for replay after a reconnect.
    pub replay_events: usize,
    /// How deep delegates may delegate (a chat's delegate is 1 deep).
    pub delegate_max_depth: u32,
    /// Delegates running at once per user.
    pub delegate_max_running: u32,
}

/// The multiplexed WebSocket.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MuxConfig {
    /// Seconds between application-level pings (and token re-checks).
    pub ping_interval_secs: u64,
    /// Frames queued for one connection before it counts as too slow.
    pub queue_frames: usize,
    /// Bytes queued for one connection before it counts as too slow.
    pub queue_bytes: usize,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig { max_running_per_user: 3, idle_timeout_secs: 30 * 60 }
    }
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            command: vec!["pi".into(), "--mode".into(), "rpc".into()],
            version: "pi".into(),
            env: Default::default(),
            stop_grace_secs: 5,
            idle_timeout_secs: 5 * 60,
            max_chats_per_user: 10,
            max_processes: 64,
            watchdog_secs: 45,
            response_timeout_secs: 30,
            replay_events: 4096,
            delegate_max_depth: 3,
            delegate_max_running: 4,
        }
    }
}

impl Default for MuxConfig {
    fn default() -> Self {
        MuxConfig { ping_interval_secs: 10, queue_frames: 4096, queue_bytes: 16 * 1024 * 1024 }
    }
}

/// The HTTP listener.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub bind: SocketAddr,
    /// Largest accepted request body, in bytes.
    pub request_body_max_bytes: usize,
    /// Web origins (`https://app.example.org`) besides the server's own
    /// whose pages may open WebSockets authenticated by the session cookie.
    pub allowed_origins: Vec<String>,
}

/// Storage.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`; empty means SQLite at
    /// `<data_dir>/oqto.db`.
    pub url: String,
    /// Connections in the pool.
    pub max_connections: u32,
}

/// Authentication.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Enables `POST /api/auth/dev-login` (loopback callers only).
    pub dev_mode: bool,
    /// How long a token is valid, in seconds.
    pub token_ttl_secs: u64,
    /// Mark the cookie `Secure` (serve over https).
    pub cookie_secure: bool,
    /// File holding the JWT signing secret; empty means
    /// `<data_dir>/jwt-secret` (created with mode 0600 on first start).
    pub jwt_secret_file: PathBuf,
    /// Whether new users may register with an invite code.
    pub registration_enabled: bool,
    /// Window over which failed logins are counted, in seconds.
    pub login_window_secs: u64,
    /// Failed logins for one account within the window before 429.
    pub login_max_failures_per_account: u32,
    /// Failed logins from one client address within the window before 429.
    pub login_max_failures_per_address: u32,
}

/// Requests the server makes on a user's behalf (feeds).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EgressConfig {
    /// Hosts (`intranet.example`, `10.1.2.3`) or `host:port` pairs that may
    /// be reached although they are not on public addresses. Everything else
    /// on loopback, private, link-local, shared, multicast, reserved or
    /// metadata addresses is refused.
    pub allow_hosts: Vec<String>,
}

/// The codexbar program behind `GET /api/codexbar/usage`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CodexbarConfig {
    /// The program: a name looked up on the server's `PATH`, or a path.
    pub bin: PathBuf,
}

impl Default for CodexbarConfig {
    fn default() -> Self {
        CodexbarConfig { bin: PathBuf::from("codexbar") }
    }
}

/// The server's figures for monitoring.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// A file holding the token a Prometheus scraper presents as
    /// `Authorization: Bearer` to `GET /metrics` (besides administrators'
    /// tokens). Empty: administrators only.
    pub scrape_token_file: PathBuf,
}

/// Voice: the speech services behind `/api/voice/stt` and `/api/voice/tts`
/// and the client's defaults.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VoiceConfig {
    /// Off: both routes answer 503 and `/api/features` shows no voice.
    pub enabled: bool,
    /// The speech-to-text service (eaRS), `ws://…`; empty: none.
    pub stt_url: String,
    /// The text-to-speech service (kokorox), `ws://…`; empty: the server
    /// speaks with `espeak_ng` when that is installed.
    pub tts_url: String,
    /// The embedded speech's program.
    pub espeak_ng: PathBuf,
    /// The largest frame relayed either way, in bytes.
    pub max_frame_bytes: usize,
    pub vad_timeout_ms: u64,
    pub default_voice: String,
    pub default_speed: f64,
    pub auto_language_detect: bool,
    pub tts_muted: bool,
    pub continuous_mode: bool,
    pub default_visualizer: String,
    pub interrupt_word_count: u32,
    pub interrupt_backoff_ms: u64,
    /// Visualizer name to `{voice, speed}`.
    pub visualizer_voices: std::collections::BTreeMap<String, VisualizerVoiceConfig>,
}

/// A visualizer's voice.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VisualizerVoiceConfig {
    pub voice: String,
    pub speed: f64,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        let voice = |voice: &str, speed: f64| VisualizerVoiceConfig { voice: voice.into(), speed };
        VoiceConfig {
            enabled: true,
            stt_url: String::new(),
            tts_url: String::new(),
            espeak_ng: PathBuf::from("espeak-ng"),
            max_frame_bytes: 4 * 1024 * 1024,
            vad_timeout_ms: 1500,
            default_voice: "af_heart".into(),
            default_speed: 1.0,
            auto_language_detect: true,
            tts_muted: false,
            continuous_mode: true,
            default_visualizer: "orb".into(),
            interrupt_word_count: 2,
            interrupt_backoff_ms: 5000,
            visualizer_voices: [
                ("orb".to_string(), voice("af_heart", 1.0)),
                ("kitt".to_string(), voice("am_michael", 1.1)),
            ]
            .into_iter()
            .collect(),
        }
    }
}

/// The sldr slides server behind `/api/sldr/*`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SldrConfig {
    /// Its base URL (`http://127.0.0.1:49000`); requests go to the same
    /// path below it. Empty: the proxy answers 503.
    pub url: String,
    /// How long sldr may take to answer (status and headers), in seconds.
    pub timeout_secs: u64,
}

impl Default for SldrConfig {
    fn default() -> Self {
        SldrConfig { url: String::new(), timeout_secs: 30 }
    }
}

/// The scheduler: the embedded one, or the original's `skdlr` CLI behind
/// the overview and delete.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerConfig {
    /// The `skdlr` program (a path, or a name looked up in `PATH`). When
    /// set, `GET /api/scheduler/overview` and `DELETE
    /// /api/scheduler/jobs/{name}` run `skdlr list`/`next`/`remove` in the
    /// user's sandbox in the workspace root; empty: the embedded scheduler.
    pub skdlr_bin: String,
    /// skdlr's agent configuration, passed as `--config` (read-only in the
    /// sandbox) when the file exists.
    pub skdlr_config: PathBuf,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            skdlr_bin: String::new(),
            skdlr_config: PathBuf::from("/etc/oqto/skdlr-agent.toml"),
        }
    }
}

/// The agent browser (`/api/browser/*`): a headless Chromium per chat.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BrowserConfig {
    /// Off: the routes answer 503 and `/api/features` says so.
    pub enabled: bool,
    /// The Chromium program (a path, or a name looked up in `PATH`).
    pub chromium: PathBuf,
    /// Close a browser after this long without an action or a viewer.
    pub idle_secs: u64,
    /// Browsers running at once for one user, and on the whole server.
    pub max_per_user: usize,
    pub max_running: usize,
    /// Let browsers reach private, loopback and link-local addresses (an
    /// administrator's choice for an intranet; `egress.allow_hosts` is the
    /// narrower one).
    pub allow_private_addresses: bool,
    /// The largest response the server fetches for a browser, in bytes.
    pub max_response_bytes: usize,
    /// The shortest interval between two frames of a stream, in ms.
    pub frame_interval_ms: u64,
}

impl Default for BrowserConfig {
    fn default() -> Self {
        BrowserConfig {
            enabled: true,
            chromium: PathBuf::from("chromium"),
            idle_secs: 600,
            max_per_user: 2,
            max_running: 8,
            allow_private_addresses: false,
            max_response_bytes: 32 * 1024 * 1024,
            frame_interval_ms: 200,
        }
    }
}

/// Logging.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// trace, debug, info, warn, error or critical.
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("oqto"),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            auth: AuthConfig::default(),
            workspace: WorkspaceConfig::default(),
            sessions: SessionsConfig::default(),
            agent: AgentConfig::default(),
            mux: MuxConfig::default(),
            sandbox: SandboxConfig::default(),
            history: HistoryConfig::default(),
            projects: ProjectsConfig::default(),
            log: LogConfig::default(),
            egress: EgressConfig::default(),
            codexbar: CodexbarConfig::default(),
            metrics: MetricsConfig::default(),
            sldr: SldrConfig::default(),
            voice: VoiceConfig::default(),
            browser: BrowserConfig::default(),
            scheduler: SchedulerConfig::default(),
            ui: UiConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            request_body_max_bytes: 1024 * 1024,
            allowed_origins: Vec::new(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig { url: String::new(), max_connections: 16 }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            dev_mode: false,
            token_ttl_secs: 7 * 24 * 3600,
            cookie_secure: false,
            jwt_secret_file: PathBuf::new(),
            registration_enabled: true,
            login_window_secs: 300,
            login_max_failures_per_account: 5,
            login_max_failures_per_address: 20,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: "info".to_string() }
    }
}

/// Values given on the command line; they win over everything else.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub bind: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub dev_mode: Option<bool>,
}

impl Config {
    /// The default location of the config file:
    /// `$XDG_CONFIG_HOME/oqto/config.toml`.
    pub fn default_path() -> PathBuf {
        dirs::config_dir().unwrap_or_else(|| PathBuf::from(".")).join("oqto").join("config.toml")
    }

    /// Loads the configuration. An explicitly named file must exist; the
    /// default file is read when present.
    #[cfg(test)]
    pub fn load(
        explicit: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Config> {
        Sources::read(explicit, env, overrides)?.config()
    }

    pub fn validate(&self) -> Result<()> {
        if !LOG_LEVELS.contains(&self.log.level.as_str()) {
            bail!("log.level must be one of {}", LOG_LEVELS.join(", "));
        }
        if !["system", "light", "dark"].contains(&self.ui.theme.as_str()) {
            bail!("ui.theme must be system, light or dark");
        }
        let language = &self.ui.language;
        if language.is_empty()
            || language.len() > 35
            || !language.split('-').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            bail!("ui.language must be a language tag such as en or de-AT");
        }
        if self.auth.token_ttl_secs == 0 {
            bail!("auth.token_ttl_secs must be positive");
        }
        if self.auth.login_window_secs == 0 {
            bail!("auth.login_window_secs must be positive");
        }
        if self.agent.command.is_empty() {
            bail!("agent.command must name a program");
        }
        if self.mux.ping_interval_secs == 0 || self.agent.watchdog_secs == 0 {
            bail!("mux.ping_interval_secs and agent.watchdog_secs must be positive");
        }
        if crate::sandbox::builtin(&self.sandbox.default_profile).is_none() {
            bail!("sandbox.default_profile must be one of {}", crate::sandbox::PROFILES.join(", "));
        }
        for origin in &self.server.allowed_origins {
            let valid = origin.split_once("://").is_some_and(|(scheme, rest)| {
                !scheme.is_empty()
                    && !rest.is_empty()
                    && !rest.trim_end_matches('/').contains(['/', '*', ' '])
            });
            if !valid {
                bail!(
                    "server.allowed_origins: {origin:?} is not an origin such as https://app.example.org (no wildcards)"
                );
            }
        }
        if self.server.request_body_max_bytes < 1024 {
            bail!("server.request_body_max_bytes must be at least 1024");
        }
        Ok(())
    }

    /// The database URL, with the SQLite default filled in.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("oqto.db").display())
        } else {
            self.database.url.clone()
        }
    }

    /// A user's workspace root.
    pub fn workspace_root(&self, user_id: &str, username: &str) -> PathBuf {
        if self.workspace.root.is_empty() {
            self.user_dir(user_id).join("workspace")
        } else {
            PathBuf::from(self.workspace.root.replace("{user_id}", user_id).replace("{username}", username))
        }
    }

    /// The project templates directory, with the default filled in.
    pub fn templates_dir(&self) -> PathBuf {
        if self.projects.templates_dir.as_os_str().is_empty() {
            self.data_dir.join("templates")
        } else {
            self.projects.templates_dir.clone()
        }
    }

    /// The agent's resource library, with the default filled in.
    pub fn pi_resources_dir(&self) -> PathBuf {
        if self.projects.pi_resources_dir.as_os_str().is_empty() {
            self.data_dir.join("pi-resources")
        } else {
            self.projects.pi_resources_dir.clone()
        }
    }

    /// A user's private directory under the data dir.
    pub fn user_dir(&self, user_id: &str) -> PathBuf {
        self.data_dir.join("users").join(user_id)
    }

    /// The JWT secret file, with the default filled in.
    pub fn jwt_secret_file(&self) -> PathBuf {
        if self.auth.jwt_secret_file.as_os_str().is_empty() {
            self.data_dir.join("jwt-secret")
        } else {
            self.auth.jwt_secret_file.clone()
        }
    }
}

/// The levels `log.level` takes.
pub const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "critical"];

/// Where the configuration comes from: defaults, the file, the environment
/// and the command line. The file is what `PATCH /api/settings` changes;
/// keys set by the environment or a flag stay as set (they are "pinned").
#[derive(Clone, Debug)]
pub struct Sources {
    /// The config file (it need not exist).
    pub file: PathBuf,
    /// The file's contents (an empty table when there is no file).
    pub file_tree: toml::Table,
    env: Vec<(String, String)>,
    overrides: Overrides,
}

impl Sources {
    /// Reads the file (an explicitly named one must exist).
    pub fn read(
        explicit: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Sources> {
        let file = explicit.map(Path::to_path_buf).unwrap_or_else(Config::default_path);
        let file_tree = match std::fs::read_to_string(&file) {
            Ok(text) => Self::parse(&file, &text)?,
            Err(e) if explicit.is_none() && e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
        };
        let env = env.into_iter().filter(|(name, _)| name.starts_with("OQTO_")).collect();
        Ok(Sources { file, file_tree, env, overrides: overrides.clone() })
    }

    /// A config file's text as a table.
    pub fn parse(file: &Path, text: &str) -> Result<toml::Table> {
        toml::from_str(text).with_context(|| format!("parsing config file {}", file.display()))
    }

    /// The configuration these sources give.
    pub fn config(&self) -> Result<Config> {
        self.config_with(&self.file_tree)
    }

    /// The configuration with `file_tree` in place of the file.
    pub fn config_with(&self, file_tree: &toml::Table) -> Result<Config> {
        let mut tree = toml::Value::try_from(Config::default())?;
        merge(&mut tree, toml::Value::Table(file_tree.clone()));
        for (name, value) in &self.env {
            apply_env(&mut tree, name, value)?;
        }
        let mut config: Config = tree
            .try_into()
            .with_context(|| format!("invalid configuration (file {})", self.file.display()))?;
        let o = &self.overrides;
        if let Some(bind) = o.bind {
            config.server.bind = bind;
        }
        if let Some(dir) = &o.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(url) = &o.database_url {
            config.database.url = url.clone();
        }
        if let Some(dev) = o.dev_mode {
            config.auth.dev_mode = dev;
        }
        config.validate()?;
        Ok(config)
    }

    /// The dotted keys set by an environment variable or a flag, which the
    /// file cannot change.
    pub fn pinned(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        let defaults =
            toml::Value::try_from(Config::default()).unwrap_or(toml::Value::Table(Default::default()));
        for (name, _) in &self.env {
            let Some(rest) = name.strip_prefix("OQTO_") else { continue };
            let path: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
            let mut node = &defaults;
            if path.iter().all(|key| node.get(key.as_str()).map(|next| node = next).is_some())
                && !node.is_table()
            {
                keys.push(path.join("."));
            }
        }
        let o = &self.overrides;
        for (set, key) in [
            (o.bind.is_some(), "server.bind"),
            (o.data_dir.is_some(), "data_dir"),
            (o.database_url.is_some(), "database.url"),
            (o.dev_mode.is_some(), "auth.dev_mode"),
        ] {
            if set {
                keys.push(key.to_string());
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }
}

/// Deep-merges `overlay` into `base` (tables key by key, anything else replaced).
fn merge(base: &mut toml::Value, overlay: toml::Value) {
    match (base, overlay) {
        (toml::Value::Table(base), toml::Value::Table(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// Applies one `OQTO_*` variable when it names a known key, converting the
/// text to the key's type.
fn apply_env(tree: &mut toml::Value, name: &str, value: &str) -> Result<()> {
    let Some(rest) = name.strip_prefix("OQTO_") else {
        return Ok(());
    };
    let path: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
    let mut node = tree;
    for key in &path {
        match node.get_mut(key.as_str()) {
            Some(next) => node = next,
            None => return Ok(()),
        }
    }
    let parsed = match node {
        toml::Value::Table(_) => return Ok(()),
        toml::Value::String(_) => toml::Value::String(value.to_string()),
        toml::Value::Boolean(_) => toml::Value::Boolean(match value.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => bail!("{name}: expected a boolean, got {value:?}"),
        }),
        toml::Value::Integer(_) => toml::Value::Integer(
            value.parse().with_context(|| format!("{name}: expected an integer, got {value:?}"))?,
        ),
        _ => toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .with_context(|| format!("{name}: cannot parse {value:?}"))?,
    };
    *node = parsed;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_known_keys_and_ignores_others() {
        let env = vec![
            ("OQTO_SERVER__BIND".to_string(), "127.0.0.1:9999".to_string()),
            ("OQTO_AUTH__DEV_MODE".to_string(), "true".to_string()),
            ("OQTO_AUTH__TOKEN_TTL_SECS".to_string(), "60".to_string()),
            ("OQTO_URL".to_string(), "http://elsewhere".to_string()),
        ];
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "data_dir = \"/srv/oqto\"\n[log]\nlevel = \"debug\"\n").unwrap();
        let config = Config::load(Some(&file), env, &Overrides::default()).unwrap();
        assert_eq!(config.server.bind.port(), 9999);
        assert!(config.auth.dev_mode);
        assert_eq!(config.auth.token_ttl_secs, 60);
        assert_eq!(config.data_dir, PathBuf::from("/srv/oqto"));
        assert_eq!(config.log.level, "debug");
    }

    #[test]
    fn allowed_origins_are_origins_without_wildcards() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        for (origins, ok) in [
            ("[\"https://app.example.org\", \"http://localhost:5173\", \"tauri://localhost\"]", true),
            ("[\"*\"]", false),
            ("[\"https://*.example.org\"]", false),
            ("[\"https://app.example.org/path\"]", false),
            ("[\"app.example.org\"]", false),
        ] {
            std::fs::write(&file, format!("[server]\nallowed_origins = {origins}\n")).unwrap();
            assert_eq!(Config::load(Some(&file), Vec::new(), &Overrides::default()).is_ok(), ok, "{origins}");
        }
    }

    #[test]
    fn flags_win_and_bad_values_are_reported() {
        let overrides = Overrides { dev_mode: Some(false), ..Default::default() };
        let env = vec![("OQTO_AUTH__DEV_MODE".to_string(), "true".to_string())];
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.toml");
        assert!(Config::load(Some(&missing), Vec::new(), &overrides).is_err());
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "").unwrap();
        let config = Config::load(Some(&file), env, &overrides).unwrap();
        assert!(!config.auth.dev_mode);
        let bad = vec![("OQTO_AUTH__TOKEN_TTL_SECS".to_string(), "soon".to_string())];
        assert!(Config::load(Some(&file), bad, &Overrides::default()).is_err());
        std::fs::write(&file, "[server]\nbogus = 1\n").unwrap();
        assert!(Config::load(Some(&file), Vec::new(), &Overrides::default()).is_err());
    }
}
