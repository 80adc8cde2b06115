//! Queries on `onboarding`: one row per user who started.

use sqlx::{Any, Executor, Row};

/// A user's stored state (JSON), if any.
pub async fn get<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT state FROM onboarding WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await?;
    row.map(|r| r.try_get("state")).transpose()
}

/// Stores a user's state.
pub async fn put<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
    state: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO onboarding (user_id, state, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(state)
    .bind(super::now_ms())
    .execute(db)
    .await?;
    Ok(())
}
