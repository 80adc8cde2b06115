//! Queries on `chat_index` and `chat_messages` (chat history), including
//! the two backend-specific full-text searches.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::Backend;

/// A chat's indexed summary, with where its chat works.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct IndexRow {
    pub chat_id: String,
    /// The chat's owner.
    pub user_id: String,
    pub source_file: String,
    pub source_offset: i64,
    pub title: Option<String>,
    pub title_override: Option<String>,
    pub parent_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub message_count: i64,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    pub cost_usd: f64,
    /// From `chats`: the working directory (relative).
    pub cwd: String,
    /// From `workspace_sessions`: the readable id of its session.
    pub readable_id: Option<String>,
}

/// One stored message.
#[derive(Clone, Debug)]
pub struct MessageRow {
    pub idx: i64,
    pub role: String,
    pub content: String,
    pub parts: String,
    pub created_at: Option<i64>,
    pub model: Option<String>,
    pub provider: Option<String>,
    /// The agent's id of the session-file entry, when it wrote one.
    pub message_id: Option<String>,
    /// The client's id of the prompt that produced a user message.
    pub client_id: Option<String>,
}

/// One search hit.
#[derive(Clone, Debug)]
pub struct HitRow {
    pub chat_id: String,
    pub idx: i64,
    pub role: String,
    pub created_at: Option<i64>,
    pub snippet: String,
    pub score: f64,
    pub title: Option<String>,
    pub cwd: String,
}

macro_rules! select_index {
    ($tail:literal) => {
        concat!(
            "SELECT i.chat_id, i.user_id, i.source_file, i.source_offset, i.title, i.title_override, i.parent_id, \
             i.created_at, i.updated_at, i.message_count, i.model, i.provider, i.tokens_in, i.tokens_out, \
             i.cache_read, i.cache_write, i.cost_usd, c.cwd, s.readable_id \
             FROM chat_index i JOIN chats c ON c.id = i.chat_id \
             LEFT JOIN workspace_sessions s ON s.id = c.workspace_session_id ",
            $tail
        )
    };
}

fn index_row(row: &AnyRow) -> Result<IndexRow, sqlx::Error> {
    Ok(IndexRow {
        chat_id: row.try_get("chat_id")?,
        user_id: row.try_get("user_id")?,
        source_file: row.try_get("source_file")?,
        source_offset: row.try_get("source_offset")?,
        title: row.try_get("title")?,
        title_override: row.try_get("title_override")?,
        parent_id: row.try_get("parent_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        message_count: row.try_get("message_count")?,
        model: row.try_get("model")?,
        provider: row.try_get("provider")?,
        tokens_in: row.try_get("tokens_in")?,
        tokens_out: row.try_get("tokens_out")?,
        cache_read: row.try_get("cache_read")?,
        cache_write: row.try_get("cache_write")?,
        cost_usd: row.try_get("cost_usd")?,
        cwd: row.try_get("cwd")?,
        readable_id: row.try_get("readable_id")?,
    })
}

fn message_row(row: &AnyRow) -> Result<MessageRow, sqlx::Error> {
    Ok(MessageRow {
        idx: row.try_get("idx")?,
        role: row.try_get("role")?,
        content: row.try_get("content")?,
        parts: row.try_get("parts")?,
        created_at: row.try_get("created_at")?,
        model: row.try_get("model")?,
        provider: row.try_get("provider")?,
        message_id: row.try_get("message_id")?,
        client_id: row.try_get("client_id")?,
    })
}

fn hit_row(row: &AnyRow) -> Result<HitRow, sqlx::Error> {
    Ok(HitRow {
        chat_id: row.try_get("chat_id")?,
        idx: row.try_get("idx")?,
        role: row.try_get("role")?,
        created_at: row.try_get("created_at")?,
        snippet: row.try_get("snippet")?,
        score: row.try_get("score")?,
        title: row.try_get("title")?,
        cwd: row.try_get("cwd")?,
    })
}

pub async fn get<'c>(
    db: impl Executor<'c, Database = Any>,
    chat_id: &str,
) -> Result<Option<IndexRow>, sqlx::Error> {
    super::fetch_optional(sqlx::query(select_index!("WHERE i.chat_id = $1")).bind(chat_id), db, index_row)
        .await
}

/// A user's indexed chats, newest activity first.
pub async fn list(
    db: &super::Db,
    user_id: &str,
    workspace: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<IndexRow>, sqlx::Error> {
    // Two statements, not `($2 IS NULL OR c.cwd = $2)`: PostgreSQL's
    // generic plan for that (used after five runs of a prepared statement)
    // scans every chat and sorts, 100 times slower than the owner index.
    let inner = match workspace {
        None => {
            select_index!("WHERE i.user_id = $1 ORDER BY i.updated_at DESC, i.chat_id LIMIT $2 OFFSET $3")
        }
        Some(_) => select_index!(
            "WHERE i.user_id = $1 AND c.cwd = $2 ORDER BY i.updated_at DESC, i.chat_id LIMIT $3 OFFSET $4"
        ),
    };
    let sql = super::json_rows_sql(db.backend, INDEX_COLUMNS, inner, "q.updated_at DESC, q.chat_id");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id);
    if let Some(cwd) = workspace {
        query = query.bind(cwd);
    }
    super::fetch_json_rows(query.bind(limit).bind(offset), &db.pool).await
}

/// The columns of [`IndexRow`], as `select_index!` names them.
const INDEX_COLUMNS: &[&str] = &[
    "chat_id",
    "user_id",
    "source_file",
    "source_offset",
    "title",
    "title_override",
    "parent_id",
    "created_at",
    "updated_at",
    "message_count",
    "model",
    "provider",
    "tokens_in",
    "tokens_out",
    "cache_read",
    "cache_write",
    "cost_usd",
    "cwd",
    "readable_id",
];

/// The placeholders of `rows` rows of `columns`: `($1, …, $n), ($n+1, …)`
/// on PostgreSQL; `(?, …), …` on SQLite, where binding a numbered parameter
/// looks its name up in a list (quadratic in a statement's parameters).
fn values(backend: Backend, rows: usize, columns: usize) -> String {
    let mut sql = String::new();
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 1..=columns {
            if column > 1 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    sql.push('$');
                    sql.push_str(&(row * columns + column).to_string());
                }
            }
        }
        sql.push(')');
    }
    sql
}

/// Index rows per statement (17 parameters each).
const INDEX_ROWS_PER_UPSERT: usize = 50;

/// Writes chats' summaries (insert or replace), many per statement.
pub async fn save(
    db: &mut sqlx::AnyConnection,
    backend: Backend,
    rows: &[&IndexRow],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(INDEX_ROWS_PER_UPSERT) {
        let sql = format!(
            "INSERT INTO chat_index (chat_id, source_file, source_offset, title, title_override, parent_id, \
             created_at, updated_at, message_count, model, provider, tokens_in, tokens_out, cache_read, \
             cache_write, cost_usd, user_id) VALUES {} \
             ON CONFLICT (chat_id) DO UPDATE SET source_file = excluded.source_file, \
             source_offset = excluded.source_offset, title = excluded.title, \
             title_override = excluded.title_override, parent_id = excluded.parent_id, \
             created_at = excluded.created_at, updated_at = excluded.updated_at, \
             message_count = excluded.message_count, model = excluded.model, provider = excluded.provider, \
             tokens_in = excluded.tokens_in, tokens_out = excluded.tokens_out, \
             cache_read = excluded.cache_read, cache_write = excluded.cache_write, cost_usd = excluded.cost_usd",
            values(backend, chunk.len(), 17)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            query = query
                .bind(&r.chat_id)
                .bind(&r.source_file)
                .bind(r.source_offset)
                .bind(&r.title)
                .bind(&r.title_override)
                .bind(&r.parent_id)
                .bind(r.created_at)
                .bind(r.updated_at)
                .bind(r.message_count)
                .bind(&r.model)
                .bind(&r.provider)
                .bind(r.tokens_in)
                .bind(r.tokens_out)
                .bind(r.cache_read)
                .bind(r.cache_write)
                .bind(r.cost_usd)
                .bind(&r.user_id);
        }
        query.execute(&mut *db).await?;
    }
    Ok(())
}

/// Messages per statement (10 parameters each): well under both backends'
/// limits on parameters.
const MESSAGES_PER_INSERT: usize = 100;

/// Stores chats' new messages (`(chat_id, message)`), many per statement.
pub async fn insert_messages(
    db: &mut sqlx::AnyConnection,
    backend: Backend,
    messages: &[(&str, &MessageRow)],
) -> Result<(), sqlx::Error> {
    for chunk in messages.chunks(MESSAGES_PER_INSERT) {
        let sql = format!(
            "INSERT INTO chat_messages \
             (chat_id, idx, role, content, parts, created_at, model, provider, message_id, client_id) VALUES {}",
            values(backend, chunk.len(), 10)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (chat_id, m) in chunk {
            query = query
                .bind(*chat_id)
                .bind(m.idx)
                .bind(&m.role)
                .bind(&m.content)
                .bind(&m.parts)
                .bind(m.created_at)
                .bind(&m.model)
                .bind(&m.provider)
                .bind(&m.message_id)
                .bind(&m.client_id);
        }
        query.execute(&mut *db).await?;
    }
    Ok(())
}

pub async fn delete_messages<'c>(
    db: impl Executor<'c, Database = Any>,
    chat_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM chat_messages WHERE chat_id = $1").bind(chat_id).execute(db).await?;
    Ok(())
}

pub async fn messages<'c>(
    db: impl Executor<'c, Database = Any>,
    chat_id: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    super::fetch_all(
        sqlx::query(
            "SELECT idx, role, content, parts, created_at, model, provider, message_id, client_id \
             FROM chat_messages \
             WHERE chat_id = $1 ORDER BY idx LIMIT $2 OFFSET $3",
        )
        .bind(chat_id)
        .bind(limit)
        .bind(offset),
        db,
        message_row,
    )
    .await
}

/// Full-text search over one user's messages. Backend-specific: FTS5 with
/// bm25 on SQLite, a `tsvector` with `ts_rank` on PostgreSQL. `words` are
/// plain words (no query syntax); all must match.
pub async fn search<'c>(
    db: impl Executor<'c, Database = Any>,
    backend: Backend,
    user_id: &str,
    words: &[String],
    limit: i64,
) -> Result<Vec<HitRow>, sqlx::Error> {
    let query = match backend {
        Backend::Sqlite => {
            let fts: Vec<String> = words.iter().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect();
            // CROSS JOIN keeps the full-text match as the outer loop:
            // SQLite 3.51 otherwise starts from the user's chats and probes
            // the index once per message (136 ms instead of 1 ms over 10k).
            // (Choosing the best hits first and giving only them a snippet
            // measured slower here: the second MATCH costs more than the
            // snippets it saves.)
            sqlx::query(
                "SELECT m.chat_id, m.idx, m.role, m.created_at, \
                 snippet(chat_messages_fts, 0, '[', ']', '…', 12) AS snippet, \
                 -bm25(chat_messages_fts) AS score, COALESCE(i.title_override, i.title) AS title, c.cwd \
                 FROM chat_messages_fts CROSS JOIN chat_messages m ON m.rowid = chat_messages_fts.rowid \
                 CROSS JOIN chats c ON c.id = m.chat_id CROSS JOIN chat_index i ON i.chat_id = m.chat_id \
                 WHERE chat_messages_fts MATCH $1 AND c.user_id = $2 ORDER BY score DESC LIMIT $3",
            )
            .bind(fts.join(" "))
        }
        // The best hits first; only they get a headline.
        Backend::Postgres => sqlx::query(
            "WITH top AS (SELECT m.chat_id, m.idx, CAST(ts_rank(m.search, q) AS DOUBLE PRECISION) AS score \
             FROM chat_messages m CROSS JOIN plainto_tsquery('simple', $1) q JOIN chats c ON c.id = m.chat_id \
             WHERE m.search @@ q AND c.user_id = $2 ORDER BY score DESC LIMIT $3) \
             SELECT m.chat_id, m.idx, m.role, m.created_at, \
             ts_headline('simple', m.content, plainto_tsquery('simple', $1), \
             'StartSel=[, StopSel=], MaxWords=24, MinWords=8') AS snippet, top.score, \
             COALESCE(i.title_override, i.title) AS title, c.cwd \
             FROM top JOIN chat_messages m ON m.chat_id = top.chat_id AND m.idx = top.idx \
             JOIN chats c ON c.id = m.chat_id JOIN chat_index i ON i.chat_id = m.chat_id \
             ORDER BY top.score DESC",
        )
        .bind(words.join(" ")),
    };
    super::fetch_all(query.bind(user_id).bind(limit), db, hit_row).await
}

/// The user's chats (id, working directory, creation time).
pub async fn chats_of_user<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query("SELECT id, cwd, created_at FROM chats WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(db)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("cwd")?, r.try_get("created_at")?)))
        .collect()
}

/// Sets or clears the user-given title.
pub async fn set_title<'c>(
    db: impl Executor<'c, Database = Any>,
    chat_id: &str,
    title: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE chat_index SET title_override = $1 WHERE chat_id = $2")
        .bind(title)
        .bind(chat_id)
        .execute(db)
        .await?;
    Ok(())
}

/// For each of a user's indexed chats: the session file and the offset
/// already indexed (one query, so that an unchanged history costs one
/// query and a `stat` per chat).
pub async fn progress_of_user<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<std::collections::HashMap<String, (String, i64)>, sqlx::Error> {
    sqlx::query(
        "SELECT i.chat_id, i.source_file, i.source_offset FROM chat_index i \
         JOIN chats c ON c.id = i.chat_id WHERE c.user_id = $1",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("chat_id")?, (r.try_get("source_file")?, r.try_get("source_offset")?))))
    .collect()
}
