//! The database: one pool over SQLite (default) or PostgreSQL (by URL),
//! migrations per backend, and one small file of queries per area.
//!
//! Queries are written once in portable SQL with `$N` parameters and go
//! through sqlx's `Any` driver. Times are stored as Unix milliseconds and
//! booleans as 0/1 integers so that both backends decode them alike.

pub mod chats;
pub mod delegates;
pub mod feedback;
pub mod history;
pub mod invites;
pub mod keys;
pub mod locations;
pub mod memories;
pub mod metrics;
pub mod onboarding;
pub mod providers;
pub mod schedules;
pub mod sessions;
pub mod tokens;
pub mod user_settings;
pub mod users;

use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, ConnectOptions, Executor};

/// Which database engine is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The pool, its backend, and whether it answered its last probe.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    alive: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// How often [`Db::probe`] asks the database, and how long it waits.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connects (creating a SQLite file when needed) and runs migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("unsupported database URL (expected sqlite:// or postgres://)");
        };
        let options: AnyConnectOptions = url.parse().context("parsing the database URL")?;
        let options = options.disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite {
                max_connections.min(8)
            } else {
                max_connections
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Reads through a shared memory map of the file
                        // (not a private page cache per connection): a
                        // search joins each full-text match to its row,
                        // which otherwise is a read call per page; the
                        // sort of a search's matches stays in memory.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                             PRAGMA mmap_size = 268435456; PRAGMA temp_store = MEMORY;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .context("connecting to the database")?;
        let db = Db { pool, backend, alive: Default::default() };
        db.migrate().await?;
        Ok(db)
    }

    /// Applies pending migrations of this backend.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.context("running migrations")?;
        self.alive.store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Whether the database answers: one `SELECT 1`, given up after 2 s.
    pub async fn ping(&self) -> bool {
        let select = sqlx::query("SELECT 1").execute(&self.pool);
        matches!(tokio::time::timeout(PROBE_TIMEOUT, select).await, Ok(Ok(_)))
    }

    /// Whether the database answered the last probe, as of at most
    /// [`PROBE_EVERY`] plus the probe's timeout ago: what health reports,
    /// without a query per request.
    pub fn alive(&self) -> bool {
        self.alive.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Keeps [`Db::alive`] current, for as long as the server runs.
    pub async fn probe(self) {
        let mut every = tokio::time::interval(PROBE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let alive = self.ping().await;
            self.alive.store(alive, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Now, as stored: Unix milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// A stored time as a `DateTime`.
pub fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A portable query with its arguments bound.
pub type AnyQuery<'q> = sqlx::query::Query<'q, Any, AnyArguments>;

/// Runs `query` and maps the row it returns, if any.
pub async fn fetch_optional<'c, T>(
    query: AnyQuery<'_>,
    db: impl Executor<'c, Database = Any>,
    map: fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Option<T>, sqlx::Error> {
    query.fetch_optional(db).await?.as_ref().map(map).transpose()
}

/// A SELECT that hands the rows of `inner` (whose result columns include
/// `columns`) over as one JSON array of objects, in `order` (an ORDER BY
/// list over `q`, the inner rows; SQLite keeps the inner query's order).
/// A list then crosses from the driver as one value instead of a row
/// each, which on SQLite (a worker thread per connection, a message per
/// row) is most of what a page of rows costs.
pub fn json_rows_sql(backend: Backend, columns: &[&str], inner: &str, order: &str) -> String {
    let pairs: Vec<String> = columns.iter().map(|c| format!("'{c}', q.{c}")).collect();
    let pairs = pairs.join(", ");
    match backend {
        Backend::Sqlite => format!("SELECT json_group_array(json_object({pairs})) FROM ({inner}) q"),
        Backend::Postgres => format!(
            "SELECT COALESCE(json_agg(json_build_object({pairs}) ORDER BY {order}), '[]'::json)::text \
             FROM ({inner}) q"
        ),
    }
}

/// Runs a query built with [`json_rows_sql`] and reads its rows.
pub async fn fetch_json_rows<T: serde::de::DeserializeOwned>(
    query: AnyQuery<'_>,
    pool: &AnyPool,
) -> Result<Vec<T>, sqlx::Error> {
    use sqlx::Row;
    let row = query.fetch_one(pool).await?;
    let text: String = row.try_get(0)?;
    serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Runs `query` and maps every row it returns.
pub async fn fetch_all<'c, T>(
    query: AnyQuery<'_>,
    db: impl Executor<'c, Database = Any>,
    map: fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, sqlx::Error> {
    query.fetch_all(db).await?.iter().map(map).collect()
}
