//! Queries on `user_settings`: a user's own values of user-scope keys.

use sqlx::{Any, Executor, Row};

/// A user's values, by key (JSON text).
pub async fn all<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query("SELECT key, value FROM user_settings WHERE user_id = $1 ORDER BY key")
        .bind(user_id)
        .fetch_all(db)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("key")?, r.try_get("value")?))).collect()
}

pub async fn put<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
    key: &str,
    value: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO user_settings (user_id, key, value, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(key)
    .bind(value)
    .bind(super::now_ms())
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
    key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM user_settings WHERE user_id = $1 AND key = $2")
        .bind(user_id)
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}
