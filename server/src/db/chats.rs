//! Queries on `chats`: who owns a chat id, and where it works.

use sqlx::{Any, Executor, Row};

/// A stored chat.
#[derive(Clone, Debug)]
pub struct ChatRow {
    pub id: String,
    pub user_id: String,
    pub workspace_session_id: Option<String>,
    pub cwd: String,
    pub harness: String,
    pub created_at: i64,
    pub last_activity_at: i64,
}

pub async fn get<'c>(
    db: impl Executor<'c, Database = Any>,
    id: &str,
) -> Result<Option<ChatRow>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT id, user_id, workspace_session_id, cwd, harness, created_at, last_activity_at \
         FROM chats WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(ChatRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        workspace_session_id: row.try_get("workspace_session_id")?,
        cwd: row.try_get("cwd")?,
        harness: row.try_get("harness")?,
        created_at: row.try_get("created_at")?,
        last_activity_at: row.try_get("last_activity_at")?,
    }))
}

/// Records a chat, or updates where it works when it exists.
pub async fn upsert<'c>(db: impl Executor<'c, Database = Any>, c: &ChatRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO chats (id, user_id, workspace_session_id, cwd, harness, created_at, last_activity_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (id) DO UPDATE SET workspace_session_id = excluded.workspace_session_id, \
         cwd = excluded.cwd, last_activity_at = excluded.last_activity_at",
    )
    .bind(&c.id)
    .bind(&c.user_id)
    .bind(&c.workspace_session_id)
    .bind(&c.cwd)
    .bind(&c.harness)
    .bind(c.created_at)
    .bind(c.last_activity_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete<'c>(db: impl Executor<'c, Database = Any>, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM chats WHERE id = $1").bind(id).execute(db).await?;
    Ok(())
}
