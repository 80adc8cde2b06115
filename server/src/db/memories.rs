//! Queries on `memories`: one user's workspace at a time, always.

use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Executor, Row};

use super::Backend;

/// A stored memory.
#[derive(Clone, Debug)]
pub struct MemoryRow {
    pub id: String,
    pub user_id: String,
    pub workspace: String,
    pub store: String,
    pub memory_type: String,
    pub content: String,
    /// JSON object.
    pub metadata: String,
    pub importance: i64,
    pub category: String,
    /// JSON array of strings.
    pub tags: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Search relevance (searches only).
    pub rank: Option<f64>,
}

const COLUMNS: &str = "m.id, m.user_id, m.workspace, m.store, m.memory_type, m.content, m.metadata, \
                       m.importance, m.category, m.tags, m.created_at, m.updated_at";

fn memory_row(row: &AnyRow) -> Result<MemoryRow, sqlx::Error> {
    Ok(MemoryRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        workspace: row.try_get("workspace")?,
        store: row.try_get("store")?,
        memory_type: row.try_get("memory_type")?,
        content: row.try_get("content")?,
        metadata: row.try_get("metadata")?,
        importance: row.try_get("importance")?,
        category: row.try_get("category")?,
        tags: row.try_get("tags")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        rank: row.try_get("score").ok(),
    })
}

pub async fn insert<'c>(db: impl Executor<'c, Database = Any>, m: &MemoryRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO memories (id, user_id, workspace, store, memory_type, content, metadata, importance, \
         category, tags, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&m.id)
    .bind(&m.user_id)
    .bind(&m.workspace)
    .bind(&m.store)
    .bind(&m.memory_type)
    .bind(&m.content)
    .bind(&m.metadata)
    .bind(m.importance)
    .bind(&m.category)
    .bind(&m.tags)
    .bind(m.created_at)
    .bind(m.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Writes every field but the id, owner, workspace and creation time.
pub async fn update<'c>(db: impl Executor<'c, Database = Any>, m: &MemoryRow) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE memories SET store = $1, memory_type = $2, content = $3, metadata = $4, importance = $5, \
         category = $6, tags = $7, updated_at = $8 WHERE id = $9 AND user_id = $10 AND workspace = $11",
    )
    .bind(&m.store)
    .bind(&m.memory_type)
    .bind(&m.content)
    .bind(&m.metadata)
    .bind(m.importance)
    .bind(&m.category)
    .bind(&m.tags)
    .bind(m.updated_at)
    .bind(&m.id)
    .bind(&m.user_id)
    .bind(&m.workspace)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A memory of a user's workspace.
pub async fn get<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
    workspace: &str,
    id: &str,
) -> Result<Option<MemoryRow>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM memories m WHERE m.id = $1 AND m.user_id = $2 AND m.workspace = $3");
    let query = sqlx::query(AssertSqlSafe(sql)).bind(id.to_string()).bind(user_id.to_string());
    super::fetch_optional(query.bind(workspace.to_string()), db, memory_row).await
}

pub async fn delete<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
    workspace: &str,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM memories WHERE id = $1 AND user_id = $2 AND workspace = $3")
        .bind(id)
        .bind(user_id)
        .bind(workspace)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Which memories of a user's workspace.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub store: Option<String>,
    pub category: Option<String>,
    pub memory_type: Option<String>,
    /// Every one of these (lowercase) tags.
    pub tags: Vec<String>,
}

/// The WHERE clause (placeholders from `$first`) and its values, in order.
fn conditions(user_id: &str, workspace: &str, filter: &Filter, first: usize) -> (String, Vec<String>) {
    let mut clause = format!("m.user_id = ${first} AND m.workspace = ${}", first + 1);
    let mut values = vec![user_id.to_string(), workspace.to_string()];
    let equal =
        [("store", &filter.store), ("category", &filter.category), ("memory_type", &filter.memory_type)];
    for (column, value) in equal {
        if let Some(value) = value {
            values.push(value.clone());
            clause.push_str(&format!(" AND m.{column} = ${}", first + values.len() - 1));
        }
    }
    for tag in &filter.tags {
        // The tag as a JSON string element of the stored array.
        values.push(super::like_pattern(&serde_json::to_string(tag).unwrap_or_default()));
        clause.push_str(&format!(" AND m.tags LIKE ${} ESCAPE '\\'", first + values.len() - 1));
    }
    (clause, values)
}

/// A page of a workspace's memories, newest first, and how many match.
pub async fn list(
    db: &sqlx::AnyPool,
    user_id: &str,
    workspace: &str,
    filter: &Filter,
    limit: u32,
    offset: u32,
) -> Result<(Vec<MemoryRow>, u64), sqlx::Error> {
    let (clause, values) = conditions(user_id, workspace, filter, 1);
    let n = values.len();
    let sql = format!(
        "SELECT {COLUMNS} FROM memories m WHERE {clause} ORDER BY m.updated_at DESC, m.id LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for value in &values {
        query = query.bind(value.clone());
    }
    let rows = super::fetch_all(query.bind(i64::from(limit)).bind(i64::from(offset)), db, memory_row).await?;
    let mut count =
        sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM memories m WHERE {clause}")));
    for value in values {
        count = count.bind(value);
    }
    let total: i64 = count.fetch_one(db).await?.try_get("n")?;
    Ok((rows, total.max(0) as u64))
}

/// Full-text search of a workspace's memories, most relevant first.
/// Backend-specific: FTS5 with bm25 on SQLite, a `tsvector` with `ts_rank`
/// on PostgreSQL. `words` are plain words; all must match.
#[allow(clippy::too_many_arguments)]
pub async fn search(
    db: &sqlx::AnyPool,
    backend: Backend,
    user_id: &str,
    workspace: &str,
    words: &[String],
    filter: &Filter,
    limit: u32,
    offset: u32,
) -> Result<Vec<MemoryRow>, sqlx::Error> {
    let (clause, values) = conditions(user_id, workspace, filter, 2);
    let n = values.len() + 1;
    let (sql, terms) = match backend {
        Backend::Sqlite => (
            // CROSS JOIN keeps the full-text match as the outer loop.
            format!(
                "SELECT {COLUMNS}, -bm25(memories_fts) AS score FROM memories_fts \
                 CROSS JOIN memories m ON m.rowid = memories_fts.rowid \
                 WHERE memories_fts MATCH $1 AND {clause} ORDER BY score DESC, m.id LIMIT ${} OFFSET ${}",
                n + 1,
                n + 2
            ),
            words.iter().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect::<Vec<_>>().join(" "),
        ),
        Backend::Postgres => (
            format!(
                "SELECT {COLUMNS}, CAST(ts_rank(m.search, q) AS DOUBLE PRECISION) AS score \
                 FROM memories m CROSS JOIN plainto_tsquery('simple', $1) q \
                 WHERE m.search @@ q AND {clause} ORDER BY score DESC, m.id LIMIT ${} OFFSET ${}",
                n + 1,
                n + 2
            ),
            words.join(" "),
        ),
    };
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(terms);
    for value in values {
        query = query.bind(value);
    }
    super::fetch_all(query.bind(i64::from(limit)).bind(i64::from(offset)), db, memory_row).await
}

/// A workspace's stores with their sizes, by name.
pub async fn stores<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
    workspace: &str,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT store, COUNT(*) AS n FROM memories WHERE user_id = $1 AND workspace = $2 GROUP BY store ORDER BY store",
    )
    .bind(user_id)
    .bind(workspace)
    .fetch_all(db)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("store")?, r.try_get("n")?))).collect()
}
