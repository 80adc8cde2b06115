//! Queries on `revoked_tokens`: token ids refused until they expire.

use sqlx::{Any, Executor, Row};

pub async fn revoke<'c>(
    db: impl Executor<'c, Database = Any>,
    jti: &str,
    user_id: &str,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (jti) DO NOTHING",
    )
    .bind(jti)
    .bind(user_id)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Token ids still revoked at `now` (for the in-memory set at start-up).
pub async fn active<'c>(
    db: impl Executor<'c, Database = Any>,
    now: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query("SELECT jti, expires_at FROM revoked_tokens WHERE expires_at > $1")
        .bind(now)
        .fetch_all(db)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("jti")?, r.try_get("expires_at")?)))
        .collect()
}

/// Forgets revocations of tokens that have expired anyway.
pub async fn purge_expired<'c>(db: impl Executor<'c, Database = Any>, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM revoked_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(db)
        .await?
        .rows_affected())
}
