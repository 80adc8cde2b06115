//! Queries on `workspace_sessions`.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// A stored workspace session.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct SessionRow {
    pub id: String,
    pub readable_id: String,
    pub user_id: String,
    pub workspace_path: String,
    pub status: String,
    pub error_message: Option<String>,
    pub runtime_version: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub stopped_at: Option<i64>,
    pub last_activity_at: i64,
}

/// The columns of [`SessionRow`].
const COLUMNS: &[&str] = &[
    "id",
    "readable_id",
    "user_id",
    "workspace_path",
    "status",
    "error_message",
    "runtime_version",
    "created_at",
    "started_at",
    "stopped_at",
    "last_activity_at",
];

macro_rules! select_sessions {
    ($tail:literal) => {
        concat!(
            "SELECT id, readable_id, user_id, workspace_path, status, error_message, runtime_version, \
             created_at, started_at, stopped_at, last_activity_at FROM workspace_sessions ",
            $tail
        )
    };
}

fn from_row(row: &AnyRow) -> Result<SessionRow, sqlx::Error> {
    Ok(SessionRow {
        id: row.try_get("id")?,
        readable_id: row.try_get("readable_id")?,
        user_id: row.try_get("user_id")?,
        workspace_path: row.try_get("workspace_path")?,
        status: row.try_get("status")?,
        error_message: row.try_get("error_message")?,
        runtime_version: row.try_get("runtime_version")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        stopped_at: row.try_get("stopped_at")?,
        last_activity_at: row.try_get("last_activity_at")?,
    })
}

pub async fn insert<'c>(db: impl Executor<'c, Database = Any>, s: &SessionRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO workspace_sessions (id, readable_id, user_id, workspace_path, status, error_message, \
         runtime_version, created_at, started_at, stopped_at, last_activity_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&s.id)
    .bind(&s.readable_id)
    .bind(&s.user_id)
    .bind(&s.workspace_path)
    .bind(&s.status)
    .bind(&s.error_message)
    .bind(&s.runtime_version)
    .bind(s.created_at)
    .bind(s.started_at)
    .bind(s.stopped_at)
    .bind(s.last_activity_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Writes the mutable columns back.
pub async fn save<'c>(db: impl Executor<'c, Database = Any>, s: &SessionRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE workspace_sessions SET status = $1, error_message = $2, runtime_version = $3, \
         started_at = $4, stopped_at = $5, last_activity_at = $6 WHERE id = $7",
    )
    .bind(&s.status)
    .bind(&s.error_message)
    .bind(&s.runtime_version)
    .bind(s.started_at)
    .bind(s.stopped_at)
    .bind(s.last_activity_at)
    .bind(&s.id)
    .execute(db)
    .await?;
    Ok(())
}

/// A session by id or readable id.
pub async fn get<'c>(
    db: impl Executor<'c, Database = Any>,
    key: &str,
) -> Result<Option<SessionRow>, sqlx::Error> {
    super::fetch_optional(
        sqlx::query(select_sessions!("WHERE id = $1 OR readable_id = $1")).bind(key),
        db,
        from_row,
    )
    .await
}

/// A user's sessions, most recently active first, as one JSON value
/// ([`super::json_rows_sql`]).
pub async fn list_for_user(db: &super::Db, user_id: &str) -> Result<Vec<SessionRow>, sqlx::Error> {
    let inner = select_sessions!("WHERE user_id = $1 ORDER BY last_activity_at DESC, id");
    let sql = super::json_rows_sql(db.backend, COLUMNS, inner, "q.last_activity_at DESC, q.id");
    super::fetch_json_rows(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id), &db.pool).await
}

/// Every session, most recently active first.
pub async fn list_all<'c>(db: impl Executor<'c, Database = Any>) -> Result<Vec<SessionRow>, sqlx::Error> {
    super::fetch_all(sqlx::query(select_sessions!("ORDER BY last_activity_at DESC, id")), db, from_row).await
}

/// Running sessions whose last activity is before `before`.
pub async fn idle_running<'c>(
    db: impl Executor<'c, Database = Any>,
    before: i64,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    super::fetch_all(
        sqlx::query(select_sessions!("WHERE status = 'running' AND last_activity_at < $1")).bind(before),
        db,
        from_row,
    )
    .await
}

/// Sessions that claim to hold resources.
pub async fn list_active<'c>(db: impl Executor<'c, Database = Any>) -> Result<Vec<SessionRow>, sqlx::Error> {
    super::fetch_all(
        sqlx::query(select_sessions!("WHERE status IN ('pending', 'starting', 'running', 'stopping')")),
        db,
        from_row,
    )
    .await
}

pub async fn touch<'c>(db: impl Executor<'c, Database = Any>, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE workspace_sessions SET last_activity_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn delete<'c>(db: impl Executor<'c, Database = Any>, id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM workspace_sessions WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?
        .rows_affected()
        == 1)
}
