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
    pub chats: Arc<Chats>,
    pub hub: crate::mux::Hub,
    /// The history index's in-memory state.
    pub indexer: crate::history::Indexer,
    /// Marks this data dir's agent processes (see `agent::MARKER_ENV`).
    pub agent_marker: String,
    /// The external history service, when configured.
    pub hstry: Option<crate::hstry::Hstry>,
    pub log: slog::Logger,
}

impl ServerContext {
    /// Opens the data dir, the database and the signing secret.
    pub async fn open(config: Config, log: slog::Logger) -> Result<Arc<ServerContext>> {
        std::fs::create_dir_all(&config.data_dir)?;
        let db = Db::connect(&config.database_url(), config.database.max_connections).await?;
        let secret = load_or_create_secret(&config.jwt_secret_file())?;
        let keys = TokenKeys::new(&secret, config.auth.token_ttl_secs)?;
        let auth_cache = AuthCache::load(&db).await?;
        let login_limiter = LoginLimiter::new(
            Duration::from_secs(config.auth.login_window_secs),
            config.auth.login_max_failures_per_account,
            config.auth.login_max_failures_per_address,
        );
        let data_dir = std::fs::canonicalize(&config.data_dir).unwrap_or_else(|_| config.data_dir.clone());
        let agent_marker = format!("{:016x}", fnv1a(data_dir.to_string_lossy().as_bytes()));
        let chats = Arc::new(Chats::new(
            config.agent.clone(),
            agent_marker.clone(),
            log.new(slog::o!("area" => "agent")),
        ));
        let hstry = match config.history.hstry_url.trim() {
            "" => None,
            url => Some(crate::hstry::Hstry::new(url)?),
        };
        Ok(Arc::new(ServerContext {
            config,
            db,
            keys,
            auth_cache,
            login_limiter,
            chats,
            hub: crate::mux::Hub::default(),
            indexer: crate::history::Indexer::default(),
            agent_marker,
            hstry,
            log,
        }))
    }
}

/// A stable 64-bit hash (FNV-1a), for the agent marker.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
