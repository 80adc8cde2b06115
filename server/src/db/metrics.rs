//! Counts for the admin figures.

use sqlx::{Any, Executor, Row};

use super::Backend;

/// Accounts, and distinct users with a running workspace session.
pub async fn users<'c>(db: impl Executor<'c, Database = Any>) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM users) AS total, \
         (SELECT COUNT(DISTINCT user_id) FROM workspace_sessions WHERE status = 'running') AS active",
    )
    .fetch_one(db)
    .await?;
    Ok((row.try_get("total")?, row.try_get("active")?))
}

/// Workspace sessions per status.
pub async fn sessions_by_status<'c>(
    db: impl Executor<'c, Database = Any>,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM workspace_sessions GROUP BY status")
        .fetch_all(db)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("status")?, r.try_get("n")?))).collect()
}

/// The database's size in bytes.
pub async fn size<'c>(db: impl Executor<'c, Database = Any>, backend: Backend) -> Result<i64, sqlx::Error> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT p.page_count * s.page_size AS bytes FROM pragma_page_count() p, pragma_page_size() s"
        }
        Backend::Postgres => "SELECT pg_database_size(current_database()) AS bytes",
    };
    sqlx::query(sql).fetch_one(db).await?.try_get("bytes")
}
