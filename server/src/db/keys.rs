//! Queries on `api_keys`.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// A stored key (its hash, never the key).
#[derive(Clone, Debug)]
pub struct KeyRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    /// JSON array of scope names.
    pub scopes: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

macro_rules! select_keys {
    ($tail:literal) => {
        concat!(
            "SELECT id, user_id, name, prefix, key_hash, scopes, created_at, expires_at, last_used_at, revoked_at \
             FROM api_keys ",
            $tail
        )
    };
}

fn key_row(row: &AnyRow) -> Result<KeyRow, sqlx::Error> {
    Ok(KeyRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        key_hash: row.try_get("key_hash")?,
        scopes: row.try_get("scopes")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub async fn insert<'c>(db: impl Executor<'c, Database = Any>, k: &KeyRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_keys \
         (id, user_id, name, prefix, key_hash, scopes, created_at, expires_at, last_used_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&k.id)
    .bind(&k.user_id)
    .bind(&k.name)
    .bind(&k.prefix)
    .bind(&k.key_hash)
    .bind(&k.scopes)
    .bind(k.created_at)
    .bind(k.expires_at)
    .bind(k.last_used_at)
    .bind(k.revoked_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn by_hash<'c>(
    db: impl Executor<'c, Database = Any>,
    hash: &str,
) -> Result<Option<KeyRow>, sqlx::Error> {
    super::fetch_optional(sqlx::query(select_keys!("WHERE key_hash = $1")).bind(hash), db, key_row).await
}

/// A user's key by id.
pub async fn get<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
    id: &str,
) -> Result<Option<KeyRow>, sqlx::Error> {
    let query = sqlx::query(select_keys!("WHERE id = $1 AND user_id = $2")).bind(id).bind(user_id);
    super::fetch_optional(query, db, key_row).await
}

/// A user's keys, newest first.
pub async fn list<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<Vec<KeyRow>, sqlx::Error> {
    let query = sqlx::query(select_keys!("WHERE user_id = $1 ORDER BY created_at DESC, id")).bind(user_id);
    super::fetch_all(query, db, key_row).await
}

/// Marks a user's key revoked (keeping the first revocation time).
pub async fn revoke<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
    id: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND user_id = $3")
        .bind(at)
        .bind(id)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes a user's key; whether it existed.
pub async fn delete<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM api_keys WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn touch<'c>(db: impl Executor<'c, Database = Any>, id: &str, at: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2").bind(at).bind(id).execute(db).await?;
    Ok(())
}
