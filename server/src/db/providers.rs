//! Queries on `model_providers`.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

#[derive(Clone, Debug)]
pub struct ProviderRow {
    pub name: String,
    pub kind: String,
    pub base_url: Option<String>,
    pub api_version: Option<String>,
    pub deployment: Option<String>,
    /// JSON array of models.
    pub models: String,
    /// The key, sealed (`eavs::Seal`).
    pub api_key_sealed: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn provider_row(row: &AnyRow) -> Result<ProviderRow, sqlx::Error> {
    Ok(ProviderRow {
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        base_url: row.try_get("base_url")?,
        api_version: row.try_get("api_version")?,
        deployment: row.try_get("deployment")?,
        models: row.try_get("models")?,
        api_key_sealed: row.try_get("api_key_sealed")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const COLUMNS: &str =
    "name, kind, base_url, api_version, deployment, models, api_key_sealed, created_at, updated_at";

pub async fn list<'c>(db: impl Executor<'c, Database = Any>) -> Result<Vec<ProviderRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM model_providers ORDER BY name");
    super::fetch_all(sqlx::query(sqlx::AssertSqlSafe(sql)), db, provider_row).await
}

pub async fn get<'c>(
    db: impl Executor<'c, Database = Any>,
    name: &str,
) -> Result<Option<ProviderRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM model_providers WHERE name = $1");
    super::fetch_optional(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name), db, provider_row).await
}

/// Adds or replaces a provider (by name).
pub async fn upsert<'c>(db: impl Executor<'c, Database = Any>, p: &ProviderRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO model_providers (name, kind, base_url, api_version, deployment, models, api_key_sealed, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (name) DO UPDATE SET kind = $2, base_url = $3, api_version = $4, deployment = $5, \
         models = $6, api_key_sealed = $7, updated_at = $9",
    )
    .bind(&p.name)
    .bind(&p.kind)
    .bind(&p.base_url)
    .bind(&p.api_version)
    .bind(&p.deployment)
    .bind(&p.models)
    .bind(&p.api_key_sealed)
    .bind(p.created_at)
    .bind(p.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete<'c>(db: impl Executor<'c, Database = Any>, name: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM model_providers WHERE name = $1").bind(name).execute(db).await?;
    Ok(done.rows_affected() > 0)
}
