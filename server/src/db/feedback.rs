//! Queries on `feedback`.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

#[derive(Clone, Debug)]
pub struct FeedbackRow {
    pub id: String,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub title: String,
    pub body: String,
    pub workspace_path: Option<String>,
    /// JSON array of strings.
    pub tags: String,
    pub created_at: i64,
}

fn feedback_row(row: &AnyRow) -> Result<FeedbackRow, sqlx::Error> {
    Ok(FeedbackRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        user_name: row.try_get("user_name")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        workspace_path: row.try_get("workspace_path")?,
        tags: row.try_get("tags")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn insert<'c>(db: impl Executor<'c, Database = Any>, f: &FeedbackRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO feedback (id, user_id, user_name, title, body, workspace_path, tags, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&f.id)
    .bind(&f.user_id)
    .bind(&f.user_name)
    .bind(&f.title)
    .bind(&f.body)
    .bind(&f.workspace_path)
    .bind(&f.tags)
    .bind(f.created_at)
    .execute(db)
    .await?;
    Ok(())
}

/// How many reports a user wrote since `since` (Unix ms).
pub async fn count_since<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
    since: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM feedback WHERE user_id = $1 AND created_at >= $2")
        .bind(user_id)
        .bind(since)
        .fetch_one(db)
        .await?;
    row.try_get("n")
}

/// A page, newest first, and the total.
pub async fn list(
    db: &sqlx::AnyPool,
    limit: u32,
    offset: u32,
) -> Result<(Vec<FeedbackRow>, i64), sqlx::Error> {
    let query = sqlx::query(
        "SELECT id, user_id, user_name, title, body, workspace_path, tags, created_at FROM feedback \
         ORDER BY created_at DESC, id LIMIT $1 OFFSET $2",
    )
    .bind(i64::from(limit))
    .bind(i64::from(offset));
    let rows = super::fetch_all(query, db, feedback_row).await?;
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM feedback").fetch_one(db).await?.try_get("n")?;
    Ok((rows, total))
}
