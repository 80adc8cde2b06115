//! Queries on `workspace_locations` and `workspace_location_active`.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// The scope of shared locations.
pub const SHARED: &str = "*";

/// A stored location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationRow {
    /// The owner's id, or [`SHARED`].
    pub scope: String,
    pub workspace_id: String,
    pub location_id: String,
    pub kind: String,
    /// As given (a shared one may hold `{username}` and `{user_id}`).
    pub path: String,
    pub created_at: i64,
    pub updated_at: i64,
}

fn from_row(row: &AnyRow) -> Result<LocationRow, sqlx::Error> {
    Ok(LocationRow {
        scope: row.try_get("scope")?,
        workspace_id: row.try_get("workspace_id")?,
        location_id: row.try_get("location_id")?,
        kind: row.try_get("kind")?,
        path: row.try_get("path")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// A user's own locations and the shared ones.
pub async fn list_for<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<Vec<LocationRow>, sqlx::Error> {
    super::fetch_all(
        sqlx::query(
            "SELECT scope, workspace_id, location_id, kind, path, created_at, updated_at \
             FROM workspace_locations WHERE scope = $1 OR scope = $2 \
             ORDER BY workspace_id, location_id",
        )
        .bind(user_id)
        .bind(SHARED),
        db,
        from_row,
    )
    .await
}

/// Inserts a location, or changes kind and path of the one with its key.
pub async fn upsert<'c>(db: impl Executor<'c, Database = Any>, l: &LocationRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO workspace_locations (scope, workspace_id, location_id, kind, path, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (scope, workspace_id, location_id) \
         DO UPDATE SET kind = excluded.kind, path = excluded.path, updated_at = excluded.updated_at",
    )
    .bind(&l.scope)
    .bind(&l.workspace_id)
    .bind(&l.location_id)
    .bind(&l.kind)
    .bind(&l.path)
    .bind(l.created_at)
    .bind(l.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes every location of a scope (a deleted user's).
pub async fn delete_scope<'c>(db: impl Executor<'c, Database = Any>, scope: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM workspace_locations WHERE scope = $1").bind(scope).execute(db).await?;
    Ok(())
}

/// A user's active location per group: `(workspace_id, location_id)`.
pub async fn active<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    super::fetch_all(
        sqlx::query("SELECT workspace_id, location_id FROM workspace_location_active WHERE user_id = $1")
            .bind(user_id),
        db,
        |row| Ok((row.try_get("workspace_id")?, row.try_get("location_id")?)),
    )
    .await
}

/// Makes a location the user's active one of its group.
pub async fn set_active<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
    workspace_id: &str,
    location_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO workspace_location_active (user_id, workspace_id, location_id) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, workspace_id) DO UPDATE SET location_id = excluded.location_id",
    )
    .bind(user_id)
    .bind(workspace_id)
    .bind(location_id)
    .execute(db)
    .await?;
    Ok(())
}
