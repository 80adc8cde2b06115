//! The invites area: invite codes that admit new registrations.

use oqto_api::invites::{
    InviteCodeBatchCreate, InviteCodeCreate, InviteCodeListQuery, InviteCodeStats, InviteCodeView,
};
use uuid::Uuid;

use crate::auth::{Caller, parse_id};
use crate::context::ServerContext;
use crate::db::invites::{InviteFilter, InviteRow};
use crate::db::{self, now_ms, time};
use crate::error::{Error, Result, is_unique_violation};
use crate::users::page;

const MAX_USES: i64 = 10_000;
const MAX_BATCH: u32 = 1000;
const MAX_NOTE: usize = 1024;
/// Ten years: longer expiries are refused rather than overflowing.
const MAX_EXPIRY_SECS: i64 = 10 * 365 * 24 * 3600;

/// A stored code as the API shows it.
fn view(row: &InviteRow, now: i64) -> Result<InviteCodeView> {
    let id = |s: &Option<String>| s.as_deref().map(parse_id).transpose();
    Ok(InviteCodeView {
        id: parse_id(&row.id)?,
        code: row.code.clone(),
        created_by: id(&row.created_by)?,
        used_by: id(&row.used_by)?,
        uses_remaining: row.uses_remaining,
        max_uses: row.max_uses,
        expires_at: row.expires_at.map(time),
        created_at: time(row.created_at),
        last_used_at: row.last_used_at.map(time),
        revoked_at: row.revoked_at.map(time),
        note: row.note.clone(),
        is_valid: row.is_valid(now),
    })
}

fn code_chars_ok(code: &str) -> bool {
    code.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// Checks the shared fields of single and batch creation.
fn valid_terms(
    max_uses: i64,
    expires_in_secs: Option<i64>,
    note: Option<String>,
    now: i64,
) -> Result<(Option<i64>, Option<String>)> {
    if !(1..=MAX_USES).contains(&max_uses) {
        return Err(Error::Invalid(format!("uses must be between 1 and {MAX_USES}")));
    }
    let expires_at = match expires_in_secs {
        None => None,
        Some(s) if (1..=MAX_EXPIRY_SECS).contains(&s) => Some(now + s * 1000),
        Some(_) => {
            return Err(Error::Invalid(format!("expires_in_secs must be between 1 and {MAX_EXPIRY_SECS}")));
        }
    };
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.len() > MAX_NOTE || n.chars().any(|c| c.is_control() && c != '\n')) {
        return Err(Error::Invalid(format!("note must be at most {MAX_NOTE} bytes of text")));
    }
    Ok((expires_at, note))
}

fn new_row(
    code: String,
    created_by: &str,
    max_uses: i64,
    expires_at: Option<i64>,
    note: Option<String>,
    now: i64,
) -> InviteRow {
    InviteRow {
        id: Uuid::new_v4().to_string(),
        code,
        created_by: Some(created_by.to_string()),
        used_by: None,
        uses_remaining: max_uses,
        max_uses,
        expires_at,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
        note,
    }
}

/// A random code: 12 letters and digits in groups of four (about 71 bits).
fn random_code() -> String {
    let raw = crate::util::random_token(12).to_uppercase();
    format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..12])
}

pub async fn create(ctx: &ServerContext, caller: &Caller, body: InviteCodeCreate) -> Result<InviteCodeView> {
    let now = now_ms();
    let code = match body.code.as_deref().map(str::trim) {
        Some(code) if (4..=64).contains(&code.len()) && code_chars_ok(code) => code.to_string(),
        Some(_) => {
            return Err(Error::Invalid("code must be 4 to 64 letters, digits, '-' or '_'".to_string()));
        }
        None => random_code(),
    };
    let (expires_at, note) = valid_terms(body.max_uses.unwrap_or(1), body.expires_in_secs, body.note, now)?;
    let row = new_row(code, &caller.user_id, body.max_uses.unwrap_or(1), expires_at, note, now);
    match db::invites::insert(&ctx.db.pool, &row).await {
        Ok(()) => view(&row, now),
        Err(e) if is_unique_violation(&e) => {
            Err(Error::Conflict("an invite code with that code exists".to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates all codes of a batch in one transaction.
pub async fn batch_create(
    ctx: &ServerContext,
    caller: &Caller,
    body: InviteCodeBatchCreate,
) -> Result<Vec<InviteCodeView>> {
    let now = now_ms();
    if !(1..=MAX_BATCH).contains(&body.count) {
        return Err(Error::Invalid(format!("count must be between 1 and {MAX_BATCH}")));
    }
    let prefix = body.prefix.as_deref().map(str::trim).unwrap_or("");
    if prefix.len() > 32 || !code_chars_ok(prefix) {
        return Err(Error::Invalid("prefix must be up to 32 letters, digits, '-' or '_'".to_string()));
    }
    let (expires_at, note) = valid_terms(body.uses_per_code, body.expires_in_secs, body.note, now)?;
    let rows: Vec<InviteRow> = (0..body.count)
        .map(|_| {
            new_row(
                format!("{prefix}{}", random_code()),
                &caller.user_id,
                body.uses_per_code,
                expires_at,
                note.clone(),
                now,
            )
        })
        .collect();
    let mut tx = ctx.db.pool.begin().await?;
    for row in &rows {
        db::invites::insert(&mut *tx, row).await?;
    }
    tx.commit().await?;
    rows.iter().map(|r| view(r, now)).collect()
}

pub async fn list(ctx: &ServerContext, query: InviteCodeListQuery) -> Result<Vec<InviteCodeView>> {
    let (limit, offset) = page(query.limit, query.offset)?;
    let now = now_ms();
    let filter = InviteFilter {
        created_by: query.created_by.map(|u| u.to_string()),
        valid: query.valid,
        now,
        limit,
        offset,
    };
    db::invites::list(&ctx.db.pool, &filter).await?.iter().map(|r| view(r, now)).collect()
}

fn path_id(id: &str) -> Result<String> {
    Uuid::parse_str(id.trim())
        .map(|u| u.to_string())
        .map_err(|_| Error::NotFound(format!("no invite code with id {id:?}")))
}

pub async fn get(ctx: &ServerContext, id: &str) -> Result<InviteCodeView> {
    let row = db::invites::get(&ctx.db.pool, &path_id(id)?)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no invite code with id {id:?}")))?;
    view(&row, now_ms())
}

pub async fn revoke(ctx: &ServerContext, id: &str) -> Result<InviteCodeView> {
    if !db::invites::revoke(&ctx.db.pool, &path_id(id)?, now_ms()).await? {
        return Err(Error::NotFound(format!("no invite code with id {id:?}")));
    }
    get(ctx, id).await
}

pub async fn delete(ctx: &ServerContext, id: &str) -> Result<()> {
    if db::invites::delete(&ctx.db.pool, &path_id(id)?).await? {
        Ok(())
    } else {
        Err(Error::NotFound(format!("no invite code with id {id:?}")))
    }
}

pub async fn stats(ctx: &ServerContext) -> Result<InviteCodeStats> {
    let [total, valid, expired, exhausted, revoked, total_uses] =
        db::invites::stats(&ctx.db.pool, now_ms()).await?;
    Ok(InviteCodeStats { total, valid, expired, exhausted, revoked, total_uses })
}
