//! The Dropshot context: everything a handler needs, no globals.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use crate::agent::Chats;
use crate::auth::AuthCache;
use crate::auth::rate_limit::LoginLimiter;
use crate::auth::token::{TokenKeys, load_or_create_secret};
use crate::config::Config;
use crate::db::Db;

/// Shared state of one server.
pub struct ServerContext {
    pub config: Config,
    pub db: Db,
    pub keys: TokenKeys,
    pub auth_cache: AuthCache,
    pub login_limiter: LoginLimiter,
    /// Registration attempts per client address (the login address limit).
    pub registration_limiter: LoginLimiter,
    pub chats: Arc<Chats>,
    /// How processes on a user's behalf are started.
    pub sandbox: Arc<crate::sandbox::launch::Sandbox>,
    pub hub: crate::mux::Hub,
    /// What can change while running (settings) and the config file.
    pub settings: Arc<crate::settings::Settings>,
    /// The event bus (its subscribers are mux connections).
    pub bus: Arc<crate::bus::Bus>,
    /// Open A2UI surfaces of chats.
    pub surfaces: crate::a2ui::Surfaces,
    /// Delegates followed for their parent chats.
    pub delegates: crate::delegate::Delegates,
    /// The history index's in-memory state.
    pub indexer: crate::history::Indexer,
    /// Marks this data dir's agent processes (see `agent::MARKER_ENV`).
    pub agent_marker: String,
    /// The external history service, when configured.
    pub hstry: Option<crate::hstry::Hstry>,
    /// Which addresses requests on users' behalf may reach.
    pub egress: crate::egress::Egress,
    /// Seals the model providers' keys at rest.
    pub provider_seal: crate::eavs::Seal,
    /// The model proxy's client.
    pub llm_client: reqwest::Client,
    /// The running agent browsers.
    pub browsers: crate::browser::Browsers,
    /// The sldr proxy, when `sldr.url` is set.
    pub sldr: Option<crate::sldr::Sldr>,
    /// The admin figures' state.
    pub metrics: crate::metrics::Metrics,
    /// Serialised list pages (sessions, chat history) until they change.
    pub read_cache: crate::read_cache::ReadCache,
    pub log: slog::Logger,
}

impl ServerContext {
    /// Opens the data dir, the database and the signing secret.
    pub async fn open(
        config: Config,
        log: slog::Logger,
        sources: crate::config::Sources,
        level: crate::server::LiveLevel,
    ) -> Result<Arc<ServerContext>> {
        private_data_dir(&config)?;
        let db = Db::connect(&config.database_url(), config.database.max_connections).await?;
        let secret = load_or_create_secret(&config.jwt_secret_file())?;
        let keys = TokenKeys::new(&secret, config.auth.token_ttl_secs)?;
        let auth_cache = AuthCache::load(&db).await?;
        let login_limiter = LoginLimiter::new(
            Duration::from_secs(config.auth.login_window_secs),
            config.auth.login_max_failures_per_account,
            config.auth.login_max_failures_per_address,
        );
        let registration_limiter = LoginLimiter::new(
            Duration::from_secs(config.auth.login_window_secs),
            config.auth.login_max_failures_per_address,
            config.auth.login_max_failures_per_address,
        );
        let data_dir = std::fs::canonicalize(&config.data_dir).unwrap_or_else(|_| config.data_dir.clone());
        let agent_marker = format!("{:016x}", fnv1a(data_dir.to_string_lossy().as_bytes()));
        let sandbox = Arc::new(crate::sandbox::launch::Sandbox::probe(&config.sandbox));
        let bus = Arc::new(crate::bus::Bus::default());
        let settings = Arc::new(crate::settings::Settings::new(sources, &config, level));
        let chats = Arc::new(Chats::new(
            config.agent.clone(),
            Arc::clone(&sandbox),
            agent_marker.clone(),
            log.new(slog::o!("area" => "agent")),
            Arc::clone(&bus),
            Arc::clone(&settings),
        ));
        let hstry = match config.history.hstry_url.trim() {
            "" => None,
            url => Some(crate::hstry::Hstry::new(url)?),
        };
        let scrape_token = crate::metrics::load_scrape_token(&config.metrics.scrape_token_file)?;
        let sldr = crate::sldr::Sldr::new(&config.sldr)?;
        let provider_seal = crate::eavs::Seal::new(&secret)?;
        let llm_client = crate::proxy::client()?;
        Ok(Arc::new(ServerContext {
            sldr,
            browsers: crate::browser::Browsers::new(&config.browser),
            provider_seal,
            llm_client,
            egress: crate::egress::Egress::new(&config.egress.allow_hosts),
            config,
            db,
            keys,
            auth_cache,
            login_limiter,
            registration_limiter,
            chats,
            sandbox,
            hub: crate::mux::Hub::default(),
            bus,
            surfaces: crate::a2ui::Surfaces::default(),
            delegates: crate::delegate::Delegates::default(),
            settings,
            indexer: crate::history::Indexer::default(),
            agent_marker,
            hstry,
            metrics: crate::metrics::Metrics::new(scrape_token),
            read_cache: Default::default(),
            log,
        }))
    }
}

/// Creates the data directory readable by the server's user only (0700),
/// and the default SQLite database file 0600 (SQLite gives its WAL and
/// shared-memory files the database file's mode).
fn private_data_dir(config: &Config) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let dir = &config.data_dir;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    if config.database.url.is_empty() {
        let db = dir.join("oqto.db");
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&db)?;
        for file in ["oqto.db", "oqto.db-wal", "oqto.db-shm"].map(|f| dir.join(f)) {
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

/// A stable 64-bit hash (FNV-1a), for the agent marker.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
