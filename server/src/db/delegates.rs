//! Queries on `delegates`.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

#[derive(Clone, Debug)]
pub struct DelegateRow {
    pub id: String,
    pub user_id: String,
    pub parent_id: Option<String>,
    pub depth: i64,
    /// `chat` or `user`.
    pub source: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub error_message: Option<String>,
}

fn delegate_row(row: &AnyRow) -> Result<DelegateRow, sqlx::Error> {
    Ok(DelegateRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        parent_id: row.try_get("parent_id")?,
        depth: row.try_get("depth")?,
        source: row.try_get("source")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        error_message: row.try_get("error_message")?,
    })
}

const COLUMNS: &str = "id, user_id, parent_id, depth, source, created_at, started_at, error_message";

pub async fn insert<'c>(db: impl Executor<'c, Database = Any>, d: &DelegateRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO delegates (id, user_id, parent_id, depth, source, created_at, started_at, error_message) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&d.id)
    .bind(&d.user_id)
    .bind(&d.parent_id)
    .bind(d.depth)
    .bind(&d.source)
    .bind(d.created_at)
    .bind(d.started_at)
    .bind(&d.error_message)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get<'c>(
    db: impl Executor<'c, Database = Any>,
    id: &str,
) -> Result<Option<DelegateRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM delegates WHERE id = $1");
    super::fetch_optional(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id), db, delegate_row).await
}

/// A user's delegates (only `parent`'s children when given), newest first.
pub async fn list<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
    parent: Option<&str>,
    limit: u32,
) -> Result<Vec<DelegateRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM delegates WHERE user_id = $1 AND ($2 IS NULL OR parent_id = $2) \
         ORDER BY created_at DESC, id LIMIT $3"
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id).bind(parent).bind(i64::from(limit));
    super::fetch_all(query, db, delegate_row).await
}

/// Records a start of the delegate's agent (`error` clears or sets why it
/// failed).
pub async fn set_started<'c>(
    db: impl Executor<'c, Database = Any>,
    id: &str,
    started_at: Option<i64>,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE delegates SET started_at = COALESCE($2, started_at), error_message = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(started_at)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}
