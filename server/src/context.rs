//! The Dropshot context: everything a handler needs, no globals.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

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
        Ok(Arc::new(ServerContext { config, db, keys, auth_cache, login_limiter, log }))
    }
}
