//! The history area: chats' conversations indexed from the agents' session
//! files (Pi's JSONL format) into the database, listed, grouped, renamed,
//! read and searched.
//!
//! Indexing is incremental: for each chat the newest session file and the
//! byte offset already indexed are stored; a look at the history reads only
//! what was appended since (a `stat` per chat when nothing changed).

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, TimeZone, Utc};
use oqto_api::bus::BusScope;
use oqto_api::history::{
    ChatHistoryBackfill, ChatHistoryEntry, ChatHistoryGroups, ChatMessage, ChatStats, SearchHit,
    SearchResults,
};
use oqto_api::mux::{HstryEvent, ServerFrame};
use serde_json::Value;

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::db;
use crate::db::history::{IndexRow, MessageRow};
use crate::error::{Error, Result};
use crate::read_cache::{self, Page};

/// The session directory of a chat.
fn chat_dir(ctx: &ServerContext, user_id: &str, chat_id: &str) -> PathBuf {
    ctx.config.user_dir(user_id).join("chats").join(chat_id)
}

/// The newest session file of a chat (names start with a timestamp).
fn newest_session_file(dir: &Path) -> Option<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files.pop()
}

/// A time in a session file: Unix milliseconds or an RFC 3339 string.
fn millis(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.timestamp_millis())
    })
}

/// A message's parts as an array, and its text flattened for search.
fn flatten(message: &Value) -> (Value, String) {
    let parts = match &message["content"] {
        Value::String(s) => serde_json::json!([{ "type": "text", "text": s }]),
        Value::Array(a) => Value::Array(a.clone()),
        _ => Value::Array(Vec::new()),
    };
    let text: Vec<String> = parts
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| match p["type"].as_str() {
            Some("text") => p["text"].as_str().map(str::to_string),
            Some("toolCall") => {
                Some(format!("[{} {}]", p["name"].as_str().unwrap_or("tool"), p["arguments"]))
            }
            _ => None,
        })
        .collect();
    let mut content = text.join("\n");
    if message["role"] == "bashExecution" {
        content = format!(
            "{}\n{}",
            message["command"].as_str().unwrap_or_default(),
            message["output"].as_str().unwrap_or_default()
        );
    }
    (parts, content)
}

/// Applies one session-file line to the summary; returns a message to store.
fn apply_line(index: &mut IndexRow, line: &Value) -> Option<MessageRow> {
    match line["type"].as_str()? {
        "session" => {
            if let Some(t) = millis(&line["timestamp"]) {
                index.created_at = t;
            }
            index.parent_id = line["branchedFrom"].as_str().map(str::to_string).or(index.parent_id.take());
            None
        }
        "session_info" => {
            index.title =
                line["name"].as_str().or(line["title"].as_str()).map(str::to_string).or(index.title.take());
            None
        }
        "message" => {
            let message = &line["message"];
            let role = match message["role"].as_str()? {
                "toolResult" | "bashExecution" => "tool",
                other => other,
            }
            .to_string();
            let (parts, content) = flatten(message);
            let created_at = millis(&message["timestamp"]).or_else(|| millis(&line["timestamp"]));
            if role == "user" && index.title.is_none() {
                let first: String = content.chars().take(80).collect();
                index.title = Some(first.trim().to_string()).filter(|t| !t.is_empty());
            }
            let model = message["model"].as_str().map(str::to_string);
            let provider = message["provider"].as_str().map(str::to_string);
            if role == "assistant" {
                index.model = model.clone().or(index.model.take());
                index.provider = provider.clone().or(index.provider.take());
                let usage = &message["usage"];
                index.tokens_in += usage["input"].as_i64().unwrap_or(0);
                index.tokens_out += usage["output"].as_i64().unwrap_or(0);
                index.cache_read += usage["cacheRead"].as_i64().unwrap_or(0);
                index.cache_write += usage["cacheWrite"].as_i64().unwrap_or(0);
                index.cost_usd += usage["cost"]["total"].as_f64().unwrap_or(0.0);
            }
            if let Some(t) = created_at {
                index.updated_at = index.updated_at.max(t);
            }
            let row = MessageRow {
                idx: index.message_count,
                role,
                content,
                parts: parts.to_string(),
                created_at,
                model,
                provider,
                message_id: line["id"].as_str().map(str::to_string),
                client_id: None,
            };
            index.message_count += 1;
            Some(row)
        }
        _ => None,
    }
}

/// The chat a history operation concerns (from `chats`).
#[derive(Clone, Copy)]
struct ChatRef<'a> {
    user_id: &'a str,
    id: &'a str,
    cwd: &'a str,
    created: i64,
}

/// The chat's newest session file and its length, when it has one.
fn session_file_state(ctx: &ServerContext, user_id: &str, chat_id: &str) -> Option<(PathBuf, String, i64)> {
    let file = newest_session_file(&chat_dir(ctx, user_id, chat_id))?;
    let len = std::fs::metadata(&file).map(|m| m.len() as i64).unwrap_or(0);
    let source = file.display().to_string();
    Some((file, source, len))
}

/// What reading a chat's session file found: its summary as of now and the
/// messages to store.
struct Pending {
    index: IndexRow,
    messages: Vec<MessageRow>,
    /// A new session file: the chat's stored messages are replaced.
    fresh_file: bool,
    /// Whether the chat had been indexed before (so it may have messages).
    known: bool,
}

/// A chat to read, with its stored summary (`None`: never indexed).
struct ToRead {
    dir: PathBuf,
    user_id: String,
    chat_id: String,
    cwd: String,
    created: i64,
    known: Option<IndexRow>,
}

impl ToRead {
    fn new(ctx: &ServerContext, chat: &ChatRef<'_>, known: Option<IndexRow>) -> ToRead {
        ToRead {
            dir: chat_dir(ctx, chat.user_id, chat.id),
            user_id: chat.user_id.to_string(),
            chat_id: chat.id.to_string(),
            cwd: chat.cwd.to_string(),
            created: chat.created,
            known,
        }
    }
}

/// Reads what a chat's session file gained since its stored summary;
/// `None` when nothing did. Blocking: file reads and parsing.
fn read_chat(chat: ToRead) -> Result<Option<Pending>> {
    let Some(file) = newest_session_file(&chat.dir) else { return Ok(None) };
    let read_error = |e: std::io::Error| Error::Internal(anyhow::anyhow!("reading a session file: {e}"));
    let len = std::fs::metadata(&file).map(|m| m.len() as i64).unwrap_or(0);
    let source = file.display().to_string();
    let known = chat.known.is_some();
    let blank = || IndexRow {
        chat_id: chat.chat_id.clone(),
        user_id: chat.user_id.clone(),
        created_at: chat.created,
        updated_at: chat.created,
        ..Default::default()
    };
    let mut index = chat.known.clone().unwrap_or_else(blank);
    let fresh_file = index.source_file != source;
    if !fresh_file && index.source_offset == len {
        return Ok(None);
    }
    if fresh_file {
        index = IndexRow { source_file: source, title_override: index.title_override.take(), ..blank() };
    }
    let offset = index.source_offset;
    let mut f = std::fs::File::open(&file).map_err(read_error)?;
    f.seek(SeekFrom::Start(offset as u64)).map_err(read_error)?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(read_error)?;
    // Only complete lines; a line still being written waits for next time.
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if !fresh_file && complete == 0 {
        return Ok(None);
    }
    let mut messages = Vec::new();
    for line in bytes[..complete].split(|b| *b == b'\n') {
        if let Ok(value) = serde_json::from_slice::<Value>(line)
            && let Some(message) = apply_line(&mut index, &value)
        {
            messages.push(message);
        }
    }
    index.source_offset = offset + complete as i64;
    index.cwd = chat.cwd;
    Ok(Some(Pending { index, messages, fresh_file, known }))
}

/// Reads several chats on a blocking thread, then gives each user message
/// the client's id of the prompt that produced it.
async fn read_chats(ctx: &ServerContext, chats: Vec<ToRead>) -> Result<Vec<Pending>> {
    let read = tokio::task::spawn_blocking(move || -> Result<Vec<Pending>> {
        let mut pending = Vec::new();
        for chat in chats {
            pending.extend(read_chat(chat)?);
        }
        Ok(pending)
    })
    .await
    .map_err(|e| Error::Internal(e.into()))??;
    let mut pending = read;
    for chat in &mut pending {
        if let Some(running) = ctx.chats.get(&chat.index.chat_id) {
            for message in chat.messages.iter_mut().filter(|m| m.role == "user") {
                message.client_id = running.client_id_of(&message.content);
            }
        }
    }
    Ok(pending)
}

/// Stores what was read from several chats in one transaction, many rows
/// per statement (mirrored to hstry before the commit: when that fails, the
/// next look retries the same lines).
async fn write_chats(ctx: &ServerContext, pending: &[Pending]) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let mut tx = ctx.db.pool.begin().await?;
    for chat in pending.iter().filter(|c| c.fresh_file && c.known) {
        db::history::delete_messages(&mut *tx, &chat.index.chat_id).await?;
    }
    let messages: Vec<(&str, &MessageRow)> =
        pending.iter().flat_map(|c| c.messages.iter().map(|m| (c.index.chat_id.as_str(), m))).collect();
    db::history::insert_messages(&mut tx, ctx.db.backend, &messages).await?;
    let rows: Vec<&IndexRow> = pending.iter().map(|c| &c.index).collect();
    db::history::save(&mut tx, ctx.db.backend, &rows).await?;
    if let Some(hstry) = &ctx.hstry {
        for chat in pending {
            hstry.push(&chat.index, &chat.messages, chat.fresh_file).await?;
        }
    }
    tx.commit().await?;
    for chat in pending {
        ctx.read_cache.history.changed(&chat.index.user_id);
    }
    Ok(())
}

/// Brings one chat's index up to date with its newest session file;
/// returns whether anything new was indexed.
async fn sync_chat(ctx: &ServerContext, chat: ChatRef<'_>) -> Result<bool> {
    let known = db::history::get(&ctx.db.pool, chat.id).await?;
    let pending = read_chats(ctx, vec![ToRead::new(ctx, &chat, known)]).await?;
    write_chats(ctx, &pending).await?;
    Ok(!pending.is_empty())
}

/// Chats read before their messages are written in one transaction: few
/// statements and commits for a first look at many chats, and a bounded
/// amount in memory.
const SYNC_BATCH_CHATS: usize = 256;

/// Brings every chat of a user up to date. Chats whose newest session file
/// has not grown cost a `stat` and no query; the others are read and
/// written in batches of [`SYNC_BATCH_CHATS`].
async fn sync_user(ctx: &ServerContext, user_id: &str) -> Result<()> {
    let chats = db::history::chats_of_user(&ctx.db.pool, user_id).await?;
    let progress = db::history::progress_of_user(&ctx.db.pool, user_id).await?;
    let mut batch = Vec::new();
    let mut read = None;
    for (id, cwd, created) in &chats {
        let known = match (session_file_state(ctx, user_id, id), progress.get(id)) {
            (None, _) => continue,
            (Some((_, source, len)), Some((indexed_file, offset))) => {
                if &source == indexed_file && len == *offset {
                    continue;
                }
                db::history::get(&ctx.db.pool, id).await?
            }
            (Some(_), None) => None,
        };
        batch.push(ToRead::new(ctx, &ChatRef { user_id, id, cwd, created: *created }, known));
        if batch.len() >= SYNC_BATCH_CHATS {
            read = Some(write_while_reading(ctx, read.take(), std::mem::take(&mut batch)).await?);
        }
    }
    let last = write_while_reading(ctx, read, batch).await?;
    write_chats(ctx, &last).await
}

/// Writes the batch read before (if any) while the next one is read: the
/// session files are parsed on a blocking thread while the database stores
/// the previous batch, so that on two cores both halves of a first look at
/// many chats run at once.
async fn write_while_reading(
    ctx: &ServerContext,
    read: Option<Vec<Pending>>,
    next: Vec<ToRead>,
) -> Result<Vec<Pending>> {
    let reading = read_chats(ctx, next);
    let Some(read) = read else { return reading.await };
    let (written, next) = tokio::join!(write_chats(ctx, &read), reading);
    written?;
    next
}

fn entry(row: &IndexRow) -> ChatHistoryEntry {
    let project_name =
        Path::new(&row.cwd).file_name().map_or("workspace".to_string(), |n| n.to_string_lossy().into_owned());
    ChatHistoryEntry {
        id: row.chat_id.clone(),
        readable_id: row.readable_id.clone(),
        title: row.title_override.clone().or(row.title.clone()),
        parent_id: row.parent_id.clone(),
        workspace_path: row.cwd.clone(),
        project_name,
        created_at: row.created_at,
        updated_at: row.updated_at,
        is_child: row.parent_id.is_some(),
        message_count: row.message_count,
        stats: Some(ChatStats {
            tokens_in: row.tokens_in,
            tokens_out: row.tokens_out,
            cache_read: row.cache_read,
            cache_write: row.cache_write,
            cost_usd: row.cost_usd,
        }),
        model: row.model.clone(),
        provider: row.provider.clone(),
    }
}

/// Tells every connection of a user that a chat's history entry changed.
fn announce(ctx: &ServerContext, user_id: &str, entry: ChatHistoryEntry) {
    if let Ok(payload) = serde_json::to_value(&entry) {
        ctx.bus.publish_server(BusScope::Session, &entry.id, "history.updated", payload);
    }
    ctx.hub.send_to_user(user_id, &ServerFrame::Hstry(HstryEvent::ChatUpdated { entry: Box::new(entry) }));
}

/// Tells every connection of a user that a chat was deleted.
pub fn announce_deleted(ctx: &ServerContext, user_id: &str, chat_id: &str) {
    let payload = serde_json::json!({ "session_id": chat_id });
    ctx.bus.publish_server(BusScope::Session, chat_id, "history.deleted", payload);
    let event = HstryEvent::ChatDeleted { session_id: chat_id.to_string() };
    ctx.hub.send_to_user(user_id, &ServerFrame::Hstry(event));
}

/// What the index keeps in memory: the users whose chats were all looked
/// at since the server started, and one indexing lock per user (two
/// indexers of one chat would insert its new lines twice).
#[derive(Default)]
pub struct Indexer {
    swept: std::sync::Mutex<HashSet<String>>,
    locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::RwLock<()>>>>,
}

impl Indexer {
    pub fn lock_of(&self, user_id: &str) -> Arc<tokio::sync::RwLock<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(user_id.to_string()).or_default())
    }

    fn swept(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.swept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Brings a user's index up to date without reading every chat each time:
/// at the first look since the server started, every chat (its files may
/// have grown while the server was down); afterwards only the chats the
/// supervisor marked. Marked chats that changed are announced.
async fn catch_up(ctx: &ServerContext, user_id: &str) -> Result<()> {
    let lock = ctx.indexer.lock_of(user_id);
    {
        // Nothing to do (the common case) is decided by many at once; it
        // still waits for indexing in progress to finish.
        let _reading = lock.read().await;
        if !ctx.chats.history.has(user_id) && ctx.indexer.swept().contains(user_id) {
            return Ok(());
        }
    }
    let _guard = lock.write().await;
    let marked = ctx.chats.history.take(user_id);
    let result = async {
        if !ctx.indexer.swept().contains(user_id) {
            sync_user(ctx, user_id).await?;
            ctx.indexer.swept().insert(user_id.to_string());
            for chat_id in &marked {
                if let Some(row) = db::history::get(&ctx.db.pool, chat_id).await? {
                    announce(ctx, user_id, entry(&row));
                }
            }
            return Ok(());
        }
        for chat_id in &marked {
            reindex(ctx, user_id, chat_id).await?;
        }
        Ok(())
    }
    .await;
    if result.is_err() {
        // Try again at the next look.
        for chat_id in &marked {
            ctx.chats.history.mark(user_id, chat_id);
        }
    }
    result
}

/// Re-indexes every chat of the caller from its session file.
pub async fn backfill(ctx: &ServerContext, caller: &Caller) -> Result<ChatHistoryBackfill> {
    let user_id = caller.user_id.as_str();
    let lock = ctx.indexer.lock_of(user_id);
    let _guard = lock.write().await;
    let mut report = ChatHistoryBackfill::default();
    for (id, cwd, created) in db::history::chats_of_user(&ctx.db.pool, user_id).await? {
        if session_file_state(ctx, user_id, &id).is_none() {
            report.skipped_files += 1;
            continue;
        }
        report.scanned_files += 1;
        match sync_chat(ctx, ChatRef { user_id, id: &id, cwd: &cwd, created }).await {
            Ok(true) => {
                report.repaired_conversations += 1;
                if let Some(row) = db::history::get(&ctx.db.pool, &id).await? {
                    announce(ctx, user_id, entry(&row));
                }
            }
            Ok(false) => report.skipped_files += 1,
            Err(e) => {
                report.failed_files += 1;
                slog::warn!(ctx.log, "backfill could not index a chat"; "chat" => &id, "error" => %e);
            }
        }
    }
    ctx.indexer.swept().insert(user_id.to_string());
    Ok(report)
}

/// Indexes chats as their agents write (marked by the supervisor) and
/// announces each changed chat on the `hstry` channel. Marks arriving
/// close together are handled in one round.
pub async fn live(ctx: Arc<ServerContext>) {
    loop {
        ctx.chats.history.marked().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut failed = false;
        for user_id in ctx.chats.history.users() {
            if let Err(e) = catch_up(&ctx, &user_id).await {
                slog::warn!(ctx.log, "indexing chats failed"; "user_id" => &user_id, "error" => %e);
                failed = true;
            }
        }
        if failed {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Indexes one chat of a user (under the user's indexing lock, held by the
/// caller) and announces it when it changed; returns its index row.
async fn reindex(ctx: &ServerContext, user_id: &str, chat_id: &str) -> Result<Option<IndexRow>> {
    let Some(chat) = db::chats::get(&ctx.db.pool, chat_id).await?.filter(|c| c.user_id == user_id) else {
        return Ok(None);
    };
    let changed =
        sync_chat(ctx, ChatRef { user_id, id: chat_id, cwd: &chat.cwd, created: chat.created_at }).await?;
    let row = db::history::get(&ctx.db.pool, chat_id).await?;
    if changed && let Some(row) = &row {
        announce(ctx, user_id, entry(row));
    }
    Ok(row)
}

/// The caller's chat, indexed up to now (404 for unknown and others' chats).
async fn own(ctx: &ServerContext, caller: &Caller, chat_id: &str) -> Result<IndexRow> {
    let lock = ctx.indexer.lock_of(&caller.user_id);
    let _guard = lock.write().await;
    reindex(ctx, &caller.user_id, chat_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no chat {chat_id:?}")))
}

/// The ids of a user's chats.
async fn chat_ids(ctx: &ServerContext, user_id: &str) -> Result<HashSet<String>> {
    Ok(db::history::chats_of_user(&ctx.db.pool, user_id).await?.into_iter().map(|(id, _, _)| id).collect())
}

pub async fn list(
    ctx: &ServerContext,
    caller: &Caller,
    workspace: Option<&str>,
    limit: Option<u32>,
    offset: Option<u32>,
) -> Result<Vec<ChatHistoryEntry>> {
    let (limit, offset) = crate::users::page(limit, offset)?;
    catch_up(ctx, &caller.user_id).await?;
    if let Some(hstry) = &ctx.hstry {
        // hstry knows no users: keep the caller's own chats.
        let mine = chat_ids(ctx, &caller.user_id).await?;
        let entries = hstry.list(workspace, limit, offset).await?;
        return Ok(entries.into_iter().filter(|e| mine.contains(&e.id)).collect());
    }
    indexed(ctx, &caller.user_id, workspace, limit, offset).await
}

/// A page of a user's chats as the index holds them now.
async fn indexed(
    ctx: &ServerContext,
    user_id: &str,
    workspace: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<ChatHistoryEntry>> {
    let rows = db::history::list(&ctx.db, user_id, workspace, limit, offset).await?;
    Ok(rows.iter().map(entry).collect())
}

/// [`list`] as its response body, kept until the caller's index changes.
pub async fn list_page(
    ctx: &ServerContext,
    caller: &Caller,
    workspace: Option<&str>,
    limit: Option<u32>,
    offset: Option<u32>,
) -> Result<Page<Vec<ChatHistoryEntry>>> {
    if ctx.hstry.is_some() {
        // hstry's index changes without this server writing it.
        return Page::of(&list(ctx, caller, workspace, limit, offset).await?);
    }
    let (limit, offset) = crate::users::page(limit, offset)?;
    // What the agents wrote since the last look comes in first (and drops
    // the pages it changes).
    catch_up(ctx, &caller.user_id).await?;
    let key = format!("{workspace:?} {limit} {offset}");
    let compute = indexed(ctx, &caller.user_id, workspace, limit, offset);
    read_cache::cached(&ctx.read_cache.history, &caller.user_id, &key, 0, compute).await
}

/// Groups entries by their last activity in `tz`.
pub fn group(entries: Vec<ChatHistoryEntry>, tz: chrono_tz::Tz, now: DateTime<Utc>) -> ChatHistoryGroups {
    let today = now.with_timezone(&tz).date_naive();
    let mut groups = ChatHistoryGroups::default();
    for e in entries {
        let day = tz.timestamp_millis_opt(e.updated_at).single().map_or(today, |t| t.date_naive());
        let days = (today - day).num_days();
        let bucket = if days <= 0 {
            &mut groups.today
        } else if days == 1 {
            &mut groups.yesterday
        } else if day.iso_week() == today.iso_week() {
            &mut groups.this_week
        } else if (day.year(), day.month()) == (today.year(), today.month()) {
            &mut groups.this_month
        } else {
            &mut groups.older
        };
        bucket.push(e);
    }
    groups
}

pub async fn grouped(
    ctx: &ServerContext,
    caller: &Caller,
    tz: Option<&str>,
    workspace: Option<&str>,
    limit: Option<u32>,
) -> Result<ChatHistoryGroups> {
    let tz: chrono_tz::Tz = match tz.map(str::trim).filter(|t| !t.is_empty()) {
        None => chrono_tz::UTC,
        Some(name) => name.parse().map_err(|_| Error::BadRequest(format!("unknown time zone {name:?}")))?,
    };
    Ok(group(list(ctx, caller, workspace, limit, None).await?, tz, Utc::now()))
}

pub async fn view(ctx: &ServerContext, caller: &Caller, chat_id: &str) -> Result<ChatHistoryEntry> {
    Ok(entry(&own(ctx, caller, chat_id).await?))
}

pub async fn rename(
    ctx: &ServerContext,
    caller: &Caller,
    chat_id: &str,
    title: Option<String>,
) -> Result<ChatHistoryEntry> {
    own(ctx, caller, chat_id).await?;
    if let Some(title) = title {
        let title = title.trim();
        if title.chars().count() > 200 || title.chars().any(char::is_control) {
            return Err(Error::Invalid("title must be at most 200 printable characters".to_string()));
        }
        let title = Some(title).filter(|t| !t.is_empty());
        db::history::set_title(&ctx.db.pool, chat_id, title).await?;
        ctx.read_cache.history.changed(&caller.user_id);
        if let Some(hstry) = &ctx.hstry {
            hstry.rename(chat_id, title).await?;
        }
    }
    let entry = view(ctx, caller, chat_id).await?;
    announce(ctx, &caller.user_id, entry.clone());
    Ok(entry)
}

pub async fn messages(
    ctx: &ServerContext,
    caller: &Caller,
    chat_id: &str,
    limit: Option<u32>,
    offset: Option<u32>,
) -> Result<Vec<ChatMessage>> {
    own(ctx, caller, chat_id).await?;
    let (limit, offset) = crate::users::page(Some(limit.unwrap_or(500)), offset)?;
    if let Some(hstry) = &ctx.hstry {
        let all = hstry.messages(chat_id, limit + offset).await?;
        return Ok(all.into_iter().skip(offset as usize).take(limit as usize).collect());
    }
    Ok(db::history::messages(&ctx.db.pool, chat_id, limit, offset)
        .await?
        .into_iter()
        .map(|m| {
            let id = m.message_id.unwrap_or_else(|| message_id(chat_id, m.idx));
            ChatMessage {
                parts: with_part_ids(&id, serde_json::from_str(&m.parts).unwrap_or(Value::Null)),
                id,
                idx: m.idx,
                role: m.role,
                content: m.content,
                created_at: m.created_at,
                model: m.model,
                provider: m.provider,
                client_id: m.client_id,
            }
        })
        .collect())
}

/// The id of a message the agent gave none.
pub fn message_id(chat_id: &str, idx: i64) -> String {
    format!("{chat_id}:{idx}")
}

/// `parts` with an `id` on every part (`<message id>:<n>` unless it has one).
pub fn with_part_ids(message_id: &str, mut parts: Value) -> Value {
    for (n, part) in parts.as_array_mut().into_iter().flatten().enumerate() {
        if let Some(part) = part.as_object_mut()
            && !part.get("id").is_some_and(Value::is_string)
        {
            part.insert("id".into(), Value::String(format!("{message_id}:{n}")));
        }
    }
    parts
}

pub async fn search(
    ctx: &ServerContext,
    caller: &Caller,
    q: &str,
    limit: Option<u32>,
) -> Result<SearchResults> {
    let started = Instant::now();
    let words: Vec<String> = q
        .split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect())
        .filter(|w: &String| !w.is_empty())
        .take(32)
        .collect();
    if words.is_empty() {
        return Err(Error::BadRequest("q must contain at least one word".to_string()));
    }
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::BadRequest("limit must be between 1 and 200".to_string()));
    }
    catch_up(ctx, &caller.user_id).await?;
    if let Some(hstry) = &ctx.hstry {
        let mine = chat_ids(ctx, &caller.user_id).await?;
        let hits: Vec<SearchHit> = hstry
            .search(&words.join(" "), i64::from(limit))
            .await?
            .into_iter()
            .filter(|h| mine.contains(&h.session_id))
            .collect();
        let elapsed_ms = Some(started.elapsed().as_millis() as u64);
        return Ok(SearchResults { total: Some(hits.len() as u64), hits, elapsed_ms });
    }
    let hits =
        db::history::search(&ctx.db.pool, ctx.db.backend, &caller.user_id, &words, i64::from(limit)).await?;
    let hits: Vec<SearchHit> = hits
        .into_iter()
        .map(|h| SearchHit {
            message_id: Some(format!("{}:{}", h.chat_id, h.idx)),
            session_id: h.chat_id,
            workspace: Some(h.cwd),
            snippet: Some(h.snippet),
            score: Some(h.score),
            timestamp: h.created_at,
            role: Some(h.role),
            title: h.title,
        })
        .collect();
    Ok(SearchResults {
        total: Some(hits.len() as u64),
        hits,
        elapsed_ms: Some(started.elapsed().as_millis() as u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn session_lines_build_the_summary_and_messages() {
        let mut index = IndexRow::default();
        let lines = [
            json!({"type":"session","version":3,"id":"s1","timestamp":"2026-11-01T10:00:00Z","cwd":"/w"}),
            json!({"type":"message","id":"a","parentId":null,"timestamp":"2026-11-01T10:00:01Z","message":{"role":"user","content":"Find the bug in parser.rs","timestamp":1793527201000_i64}}),
            json!({"type":"message","id":"b","parentId":"a","message":{"role":"assistant","content":[{"type":"thinking","thinking":"hm"},{"type":"text","text":"It is on line 3."}],"provider":"p","model":"m","usage":{"input":10,"output":5,"cost":{"total":0.25}},"timestamp":1793527202000_i64}}),
            json!({"type":"model_change","provider":"p","modelId":"m2"}),
            json!({"type":"session_info","name":"Parser bug"}),
        ];
        let messages: Vec<MessageRow> = lines.iter().filter_map(|l| apply_line(&mut index, l)).collect();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[1].content, "It is on line 3.");
        assert_eq!(index.title.as_deref(), Some("Parser bug"));
        assert_eq!((index.tokens_in, index.tokens_out, index.message_count), (10, 5, 2));
        assert_eq!(index.model.as_deref(), Some("m"));
        assert_eq!(index.updated_at, 1793527202000);
    }

    #[test]
    fn grouping_follows_the_callers_calendar() {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 23, 30, 0).unwrap(); // a Thursday, UTC
        let at = |y, mo, d, h| ChatHistoryEntry {
            id: format!("{mo}-{d}-{h}"),
            readable_id: None,
            title: None,
            parent_id: None,
            workspace_path: ".".into(),
            project_name: "w".into(),
            created_at: 0,
            updated_at: Utc.with_ymd_and_hms(y, mo, d, h, 0, 0).unwrap().timestamp_millis(),
            is_child: false,
            message_count: 0,
            stats: None,
            model: None,
            provider: None,
        };
        let entries = vec![
            at(2026, 11, 26, 20),
            at(2026, 11, 25, 20),
            at(2026, 11, 23, 9),
            at(2026, 11, 2, 9),
            at(2026, 10, 30, 9),
        ];
        let utc = group(entries.clone(), chrono_tz::UTC, now);
        assert_eq!(
            (
                utc.today.len(),
                utc.yesterday.len(),
                utc.this_week.len(),
                utc.this_month.len(),
                utc.older.len()
            ),
            (1, 1, 1, 1, 1)
        );
        // In Berlin it is already Friday: Thursday evening is "yesterday".
        let berlin = group(entries, chrono_tz::Europe::Berlin, now);
        assert_eq!(berlin.today.len(), 0);
        assert_eq!(berlin.yesterday.len(), 1);
    }
}
