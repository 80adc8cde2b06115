//! Settings: the running configuration that can change (a lock-free read
//! of the current [`Config`] for every key applied live), the config file
//! that administrators change (written atomically, the previous version
//! kept as `.bak`, re-read when it changes on disk), and each user's own
//! preferences in the database. One module per app: [`oqto`] and [`pi`].

pub mod oqto;
pub mod pi;
pub mod schema;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

use crate::config::{Config, Sources};
use crate::context::ServerContext;
use crate::error::{Error, Result};
use crate::server::LiveLevel;

/// The changeable configuration of a running server.
pub struct Settings {
    sources: Mutex<Sources>,
    current: RwLock<Arc<Config>>,
    level: LiveLevel,
    schema: Value,
    leaves: Vec<schema::Leaf>,
    pinned: BTreeSet<String>,
    /// Changes (and reloads) happen one at a time.
    changing: tokio::sync::Mutex<()>,
    watcher: Mutex<Option<notify::RecommendedWatcher>>,
    /// Woken whenever a new configuration is put in force.
    changed: tokio::sync::Notify,
}

impl Settings {
    pub fn new(sources: Sources, config: &Config, level: LiveLevel) -> Settings {
        let (schema, leaves) = schema::generate();
        let pinned = sources.pinned().into_iter().collect();
        Settings {
            sources: Mutex::new(sources),
            current: RwLock::new(Arc::new(config.clone())),
            level,
            schema,
            leaves,
            pinned,
            changing: tokio::sync::Mutex::new(()),
            watcher: Mutex::new(None),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// The configuration in force now (for the keys applied live; others
    /// take effect at the next start).
    pub fn current(&self) -> Arc<Config> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Resolves when a new configuration is put in force.
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    fn sources(&self) -> std::sync::MutexGuard<'_, Sources> {
        self.sources.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn leaf(&self, key: &str) -> Option<&schema::Leaf> {
        self.leaves.iter().find(|l| l.key == key)
    }

    /// Puts `config` in force and applies what changes live; returns the
    /// changed keys that need a restart.
    fn put_in_force(&self, ctx: &ServerContext, config: Config) -> Vec<String> {
        let before = serde_json::to_value(&*self.current()).unwrap_or_default();
        let after = serde_json::to_value(&config).unwrap_or_default();
        if let Ok(level) = crate::server::log_level(&config.log.level) {
            self.level.set(level);
        }
        let auth = &config.auth;
        let window = Duration::from_secs(auth.login_window_secs);
        ctx.login_limiter.set_limits(
            window,
            auth.login_max_failures_per_account,
            auth.login_max_failures_per_address,
        );
        ctx.registration_limiter.set_limits(
            window,
            auth.login_max_failures_per_address,
            auth.login_max_failures_per_address,
        );
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config);
        self.changed.notify_waiters();
        self.leaves
            .iter()
            .filter(|l| !l.live && schema::at(&before, &l.key) != schema::at(&after, &l.key))
            .map(|l| l.key.clone())
            .collect()
    }
}

/// A key's state as a caller sees it: a secret shows only whether it has
/// a value, never the value or its default.
pub fn shown(
    value: Option<Value>,
    is_configured: bool,
    default: Option<Value>,
    scope: oqto_api::settings::SettingScope,
    live: bool,
    secret: bool,
) -> oqto_api::settings::SettingValue {
    use oqto_api::settings::SettingValue;
    if secret {
        let has_value = value.as_ref().is_some_and(|v| !v.is_null() && v != "");
        SettingValue { value: None, is_configured, default: None, has_value: Some(has_value), scope, live }
    } else {
        SettingValue { value, is_configured, default, has_value: None, scope, live }
    }
}

/// The file's table as JSON (to edit by dotted key) and back.
fn table_to_json(table: &toml::Table) -> Value {
    serde_json::to_value(table).unwrap_or_default()
}

fn json_to_table(value: Value) -> Result<toml::Table> {
    serde_json::from_value(value)
        .map_err(|e| Error::Invalid(format!("not representable in the config file: {e}")))
}

/// Writes the config file atomically (a temporary file renamed over it,
/// mode 0600: it may hold a database password), keeping the previous
/// version as `<file>.bak`.
fn write_file(file: &Path, table: &toml::Table) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    crate::util::private_dir(&dir).context("creating the config directory")?;
    let text = toml::to_string_pretty(table).context("serializing the configuration")?;
    let temp = dir.join(format!(".{}.{}.tmp", file_name(file), crate::util::random_token(8)));
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .context("creating a temporary file")?;
    out.write_all(text.as_bytes()).and_then(|()| out.sync_all()).context("writing the configuration")?;
    if file.exists() {
        std::fs::copy(file, dir.join(format!("{}.bak", file_name(file))))
            .context("keeping the previous version")?;
    }
    std::fs::rename(&temp, file).context("replacing the config file")?;
    Ok(())
}

fn file_name(file: &Path) -> String {
    file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "config.toml".into())
}

/// Re-reads the config file: an invalid one is refused and the running
/// configuration stays. Returns the changed keys that need a restart.
pub async fn reload(ctx: &ServerContext) -> Result<Vec<String>> {
    let settings = &ctx.settings;
    let _one = settings.changing.lock().await;
    let file = settings.sources().file.clone();
    let table = match std::fs::read_to_string(&file) {
        Ok(text) => Sources::parse(&file, &text)
            .map_err(|e| Error::Invalid(format!("{e:#}; the running configuration stays")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
        Err(e) => return Err(Error::Internal(anyhow::Error::new(e).context("reading the config file"))),
    };
    let config = settings.sources().config_with(&table).map_err(|e| {
        Error::Invalid(format!("the config file is invalid: {e:#}; the running configuration stays"))
    })?;
    settings.sources().file_tree = table;
    Ok(settings.put_in_force(ctx, config))
}

/// Re-reads the config file whenever it changes on disk (after a short
/// pause, so that an editor's several writes count once).
pub fn watch(ctx: &Arc<ServerContext>) {
    use notify::Watcher;
    let file = ctx.settings.sources().file.clone();
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    // The directory is the server's: made when missing, so that a file
    // written into it later is seen.
    if let Err(e) = crate::util::private_dir(&dir) {
        slog::warn!(ctx.log, "cannot create the config file's directory; changes to the file are not watched";
            "dir" => %dir.display(), "error" => %e);
        return;
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let name = file.file_name().map(|n| n.to_os_string());
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && event.paths.iter().any(|p| p.file_name().map(|n| n.to_os_string()) == name)
        {
            let _ = tx.send(());
        }
    });
    let mut watcher = match watcher {
        Ok(watcher) => watcher,
        Err(e) => {
            slog::warn!(ctx.log, "cannot watch the config file"; "error" => %e);
            return;
        }
    };
    if let Err(e) = watcher.watch(&dir, notify::RecursiveMode::NonRecursive) {
        slog::warn!(ctx.log, "cannot watch the config file"; "error" => %e);
        return;
    }
    *ctx.settings.watcher.lock().unwrap_or_else(|p| p.into_inner()) = Some(watcher);
    let ctx = Arc::downgrade(ctx);
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            tokio::time::sleep(Duration::from_millis(300)).await;
            while rx.try_recv().is_ok() {}
            let Some(ctx) = ctx.upgrade() else { return };
            match reload(&ctx).await {
                Ok(restart) if !restart.is_empty() => {
                    slog::info!(ctx.log, "config file re-read; some changes need a restart"; "keys" => restart.join(", "))
                }
                Ok(_) => slog::info!(ctx.log, "config file re-read"),
                Err(e) => slog::warn!(ctx.log, "config file not applied"; "error" => e.public_message()),
            }
        }
    });
}

/// Which settings a request names.
pub enum Which {
    Oqto,
    Pi(pi::App),
}

/// The app of `?app=` (`oqto` when absent); 404 for an unknown one.
pub fn which(app: Option<&str>) -> Result<Which> {
    match app.map(str::trim).unwrap_or("oqto") {
        "oqto" | "" => Ok(Which::Oqto),
        name => pi::App::named(name)
            .map(Which::Pi)
            .ok_or_else(|| Error::NotFound(format!("Settings for app '{name}' not found"))),
    }
}
