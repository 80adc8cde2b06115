//! Memories of a workspace, in the database (the original embedded a
//! store that opened any path it was given; here the workspace is resolved
//! and confined like every other, and every query names its owner).

use oqto_api::memories::{
    Memory, MemoryCreate, MemoryDeleted, MemoryList, MemorySearch, MemorySearchResults, MemoryStore,
    MemoryStores, MemoryType,
};

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::db::memories::{self as rows, Filter, MemoryRow};
use crate::error::{Error, Result};
use crate::workspace::WorkspaceDir;

const MAX_CONTENT_BYTES: usize = 64 * 1024;
const MAX_METADATA_BYTES: usize = 16 * 1024;
const MAX_NAME_CHARS: usize = 64;
const MAX_TAGS: usize = 32;
const MAX_WORDS: usize = 32;
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 100;

/// Whose memories, where: the caller's, in one of their workspaces.
pub struct Scope {
    user_id: String,
    /// The workspace as the API shows it.
    workspace: String,
    /// The store new memories go to unless they name one.
    default_store: String,
}

impl Scope {
    fn of(caller: &Caller, dir: &WorkspaceDir) -> Scope {
        let default_store = dir
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty() && dir.relative != ".")
            .unwrap_or_else(|| "workspace".to_string());
        Scope { user_id: caller.user_id.clone(), workspace: dir.relative.clone(), default_store }
    }
}

/// The caller's workspace at `workspace_path` (422 outside their roots,
/// 404 when it does not exist).
pub async fn workspace(ctx: &ServerContext, caller: &Caller, workspace_path: &str) -> Result<Scope> {
    let dir = crate::sessions::existing_workspace(ctx, &caller.user_id, workspace_path).await?;
    // A chat's agent reaches the memories of its own workspace only.
    if let Some(chat) = caller.chat.as_deref().and_then(|id| ctx.chats.get(id))
        && chat.workspace_dir().path != dir.path
    {
        return Err(Error::NotFound(format!("no workspace {workspace_path:?} for this chat")));
    }
    Ok(Scope::of(caller, &dir))
}

/// The workspace of one of the caller's workspace sessions.
pub async fn session(ctx: &ServerContext, caller: &Caller, session_id: &str) -> Result<Scope> {
    let dir = crate::sessions::workspace_of(ctx, caller, session_id).await?;
    Ok(Scope::of(caller, &dir))
}

fn name(field: &str, value: &str) -> Result<String> {
    crate::util::checked_name(field, value, MAX_NAME_CHARS)
}

fn tags(given: &[String]) -> Result<Vec<String>> {
    crate::util::checked_tags(given, MAX_TAGS, MAX_NAME_CHARS)
}

fn limit(given: Option<u32>) -> Result<u32> {
    match given.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        _ => Err(Error::BadRequest(format!("limit must be between 1 and {MAX_LIMIT}"))),
    }
}

/// The text of a body: `content`, `text` or `memory`, the first not blank;
/// `None` when none is given at all.
fn text_of(body: &MemoryCreate) -> Result<Option<String>> {
    let given = [&body.content, &body.text, &body.memory];
    if given.iter().all(|t| t.is_none()) {
        return Ok(None);
    }
    let Some(text) = given.into_iter().flatten().find(|t| !t.trim().is_empty()) else {
        return Err(Error::BadRequest("the memory's text (content, text or memory) is empty".into()));
    };
    if text.len() > MAX_CONTENT_BYTES {
        return Err(Error::Invalid(format!("a memory's text must be at most {MAX_CONTENT_BYTES} bytes")));
    }
    if text.contains('\0') {
        return Err(Error::Invalid("a memory's text must not contain NUL characters".into()));
    }
    Ok(Some(text.trim().to_string()))
}

/// Applies a body's fields to a row (a new one or a stored one).
fn apply(row: &mut MemoryRow, body: MemoryCreate) -> Result<()> {
    if let Some(text) = text_of(&body)? {
        row.content = text;
    }
    if let Some(kind) = body.memory_type {
        row.memory_type = kind.as_str().to_string();
    }
    if let Some(category) = &body.category {
        row.category = name("category", category)?;
    }
    if let Some(given) = &body.tags {
        row.tags = serde_json::to_string(&tags(given)?).map_err(|e| Error::Internal(e.into()))?;
    }
    if let Some(importance) = body.importance {
        if !(1..=10).contains(&importance) {
            return Err(Error::Invalid("importance must be between 1 and 10".into()));
        }
        row.importance = i64::from(importance);
    }
    if let Some(metadata) = &body.metadata {
        let text = serde_json::to_string(metadata).map_err(|e| Error::Internal(e.into()))?;
        if text.len() > MAX_METADATA_BYTES {
            return Err(Error::Invalid(format!(
                "metadata must be at most {MAX_METADATA_BYTES} bytes serialized"
            )));
        }
        row.metadata = text;
    }
    if let Some(store) = &body.store {
        row.store = name("store", store)?;
    }
    Ok(())
}

fn view(row: MemoryRow) -> Memory {
    let memory_type = match row.memory_type.as_str() {
        "episodic" => MemoryType::Episodic,
        "procedural" => MemoryType::Procedural,
        _ => MemoryType::Semantic,
    };
    Memory {
        id: row.id,
        memory_type,
        content: row.content,
        metadata: serde_json::from_str(&row.metadata).unwrap_or_default(),
        importance: row.importance.clamp(1, 10) as u8,
        category: row.category,
        tags: serde_json::from_str(&row.tags).unwrap_or_default(),
        store: row.store,
        created_at: crate::db::time(row.created_at),
        updated_at: crate::db::time(row.updated_at),
        rank: row.rank,
    }
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!("no memory {id:?} in this workspace"))
}

pub async fn list(
    ctx: &ServerContext,
    scope: &Scope,
    store: Option<String>,
    limit_given: Option<u32>,
    offset: Option<u32>,
) -> Result<MemoryList> {
    let limit = limit(limit_given)?;
    let offset = offset.unwrap_or(0);
    let filter = Filter { store: store.map(|s| s.trim().to_string()), ..Filter::default() };
    let (found, total) =
        rows::list(&ctx.db.pool, &scope.user_id, &scope.workspace, &filter, limit, offset).await?;
    Ok(MemoryList { memories: found.into_iter().map(view).collect(), total, offset, limit })
}

pub async fn create(ctx: &ServerContext, scope: &Scope, body: MemoryCreate) -> Result<Memory> {
    if text_of(&body)?.is_none() {
        return Err(Error::BadRequest("a memory needs its text (content, text or memory)".into()));
    }
    let now = crate::db::now_ms();
    let mut row = MemoryRow {
        id: format!("mem_{}", uuid::Uuid::new_v4().simple()),
        user_id: scope.user_id.clone(),
        workspace: scope.workspace.clone(),
        store: scope.default_store.clone(),
        memory_type: MemoryType::Semantic.as_str().to_string(),
        content: String::new(),
        metadata: "{}".to_string(),
        importance: 5,
        category: "general".to_string(),
        tags: "[]".to_string(),
        created_at: now,
        updated_at: now,
        rank: None,
    };
    apply(&mut row, body)?;
    rows::insert(&ctx.db.pool, &row).await?;
    Ok(view(row))
}

pub async fn get(ctx: &ServerContext, scope: &Scope, id: &str) -> Result<Memory> {
    let row = rows::get(&ctx.db.pool, &scope.user_id, &scope.workspace, id).await?;
    row.map(view).ok_or_else(|| not_found(id))
}

pub async fn update(ctx: &ServerContext, scope: &Scope, id: &str, body: MemoryCreate) -> Result<Memory> {
    let mut tx = ctx.db.pool.begin().await?;
    let mut row =
        rows::get(&mut *tx, &scope.user_id, &scope.workspace, id).await?.ok_or_else(|| not_found(id))?;
    apply(&mut row, body)?;
    row.updated_at = crate::db::now_ms().max(row.updated_at);
    if !rows::update(&mut *tx, &row).await? {
        return Err(not_found(id));
    }
    tx.commit().await?;
    Ok(view(row))
}

pub async fn delete(ctx: &ServerContext, scope: &Scope, id: &str) -> Result<MemoryDeleted> {
    if !rows::delete(&ctx.db.pool, &scope.user_id, &scope.workspace, id).await? {
        return Err(not_found(id));
    }
    Ok(MemoryDeleted { deleted: true, id: id.to_string() })
}

pub async fn search(ctx: &ServerContext, scope: &Scope, body: MemorySearch) -> Result<MemorySearchResults> {
    if body.query.contains('\0') {
        // FTS5 reads a NUL as the end of the query.
        return Err(Error::Invalid("the query must not contain NUL characters".into()));
    }
    let words: Vec<String> = body.query.split_whitespace().map(str::to_string).collect();
    if words.is_empty() {
        return Err(Error::BadRequest("the query is empty".into()));
    }
    if words.len() > MAX_WORDS {
        return Err(Error::Invalid(format!("a query has at most {MAX_WORDS} words")));
    }
    let filter = Filter {
        store: body.store.as_deref().map(|s| name("store", s)).transpose()?,
        category: body.category.as_deref().map(|c| name("category", c)).transpose()?,
        memory_type: body.memory_type.map(|t| t.as_str().to_string()),
        tags: tags(body.tags.as_deref().unwrap_or_default())?,
    };
    let (limit, offset) = (limit(body.limit)?, body.offset.unwrap_or(0));
    let db = &ctx.db;
    let found =
        rows::search(&db.pool, db.backend, &scope.user_id, &scope.workspace, &words, &filter, limit, offset)
            .await?;
    Ok(MemorySearchResults { memories: found.into_iter().map(view).collect() })
}

pub async fn stores(ctx: &ServerContext, scope: &Scope) -> Result<MemoryStores> {
    let stores = rows::stores(&ctx.db.pool, &scope.user_id, &scope.workspace).await?;
    Ok(MemoryStores {
        stores: stores.into_iter().map(|(name, n)| MemoryStore { name, memories: n.max(0) as u64 }).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_comes_from_the_first_field_not_blank() {
        let body =
            MemoryCreate { content: Some("  ".into()), text: Some("from text".into()), ..Default::default() };
        assert_eq!(text_of(&body).unwrap().as_deref(), Some("from text"));
        let body = MemoryCreate { memory: Some("m".into()), ..Default::default() };
        assert_eq!(text_of(&body).unwrap().as_deref(), Some("m"));
        assert!(text_of(&MemoryCreate::default()).unwrap().is_none());
        let blank = MemoryCreate { content: Some(" ".into()), ..Default::default() };
        assert!(matches!(text_of(&blank), Err(Error::BadRequest(_))));
    }

    #[test]
    fn tags_are_trimmed_lowercased_and_unique() {
        let given = vec![" Rust ".to_string(), "rust".into(), "db".into()];
        assert_eq!(tags(&given).unwrap(), ["rust", "db"]);
        assert!(tags(&["".to_string()]).is_err());
        assert!(tags(&vec!["t".to_string(); MAX_TAGS + 1]).is_err());
    }
}
