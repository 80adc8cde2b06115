//! The keys area: personal API keys. A key is `oqto_` and 48 hex digits of
//! randomness; only its SHA-256 is stored (a key is random enough that a
//! slow hash would add nothing), and it is shown once.

use oqto_api::keys::{ApiKeyCreate, ApiKeyCreated, ApiKeyScope, ApiKeyView};
use sha2::Digest;

use crate::auth::{Caller, KeyGrant};
use crate::context::ServerContext;
use crate::db::{self, keys::KeyRow};
use crate::error::{Error, Result};

/// How every key begins (and how a bearer token is told to be one).
pub const KEY_PREFIX: &str = "oqto_";
/// How many characters of a key are kept to recognize it by.
const SHOWN: usize = 9;
/// `last_used_at` is written at most this often per key.
const TOUCH_EVERY_MS: i64 = 60_000;

fn hash(key: &str) -> String {
    sha2::Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn time(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn scopes_of(row: &KeyRow) -> Vec<ApiKeyScope> {
    serde_json::from_str(&row.scopes).unwrap_or_default()
}

fn view(row: &KeyRow) -> Result<ApiKeyView> {
    Ok(ApiKeyView {
        id: row.id.parse().map_err(|e: uuid::Error| Error::Internal(e.into()))?,
        name: row.name.clone(),
        prefix: row.prefix.clone(),
        scopes: scopes_of(row),
        created_at: time(row.created_at),
        expires_at: row.expires_at.map(time),
        last_used_at: row.last_used_at.map(time),
        revoked_at: row.revoked_at.map(time),
    })
}

/// Keys are managed with a session token only.
fn session_only(caller: &Caller) -> Result<()> {
    match caller.key {
        Some(_) => Err(Error::Forbidden("API keys are managed with a session token, not a key".to_string())),
        None => Ok(()),
    }
}

pub async fn create(ctx: &ServerContext, caller: &Caller, body: ApiKeyCreate) -> Result<ApiKeyCreated> {
    session_only(caller)?;
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::Invalid("name must be 1 to 100 printable characters".to_string()));
    }
    let mut scopes = body.scopes.unwrap_or_else(|| vec![ApiKeyScope::Read, ApiKeyScope::Write]);
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(Error::Invalid("scopes must name at least one of read, write, admin".to_string()));
    }
    if scopes.contains(&ApiKeyScope::Admin) && caller.role != oqto_api::users::Role::Admin {
        return Err(Error::Invalid("only administrators can create keys with the admin scope".to_string()));
    }
    let now = db::now_ms();
    let expires_at = body.expires_at.map(|t| t.timestamp_millis());
    if expires_at.is_some_and(|t| t <= now) {
        return Err(Error::Invalid("expires_at must lie in the future".to_string()));
    }
    let random: [u8; 24] = rand::random();
    let key = format!("{KEY_PREFIX}{}", random.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let row = KeyRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: caller.user_id.clone(),
        name,
        prefix: key[..SHOWN].to_string(),
        key_hash: hash(&key),
        scopes: serde_json::to_string(&scopes).map_err(|e| Error::Internal(e.into()))?,
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    db::keys::insert(&ctx.db.pool, &row).await?;
    Ok(ApiKeyCreated { key, view: view(&row)? })
}

pub async fn list(ctx: &ServerContext, caller: &Caller) -> Result<Vec<ApiKeyView>> {
    session_only(caller)?;
    db::keys::list(&ctx.db.pool, &caller.user_id).await?.iter().map(view).collect()
}

fn unknown(id: &str) -> Error {
    Error::NotFound(format!("no API key {id:?}"))
}

pub async fn revoke(ctx: &ServerContext, caller: &Caller, id: &str) -> Result<ApiKeyView> {
    session_only(caller)?;
    db::keys::revoke(&ctx.db.pool, &caller.user_id, id, db::now_ms()).await?;
    let row = db::keys::get(&ctx.db.pool, &caller.user_id, id).await?.ok_or_else(|| unknown(id))?;
    view(&row)
}

pub async fn delete(ctx: &ServerContext, caller: &Caller, id: &str) -> Result<()> {
    session_only(caller)?;
    match db::keys::delete(&ctx.db.pool, &caller.user_id, id).await? {
        true => Ok(()),
        false => Err(unknown(id)),
    }
}

/// The caller a key stands for: refused when unknown, revoked, expired, or
/// the account is deactivated.
pub async fn authenticate(ctx: &ServerContext, key: &str) -> Result<Caller> {
    let refused = |why: &str| Error::Unauthenticated(format!("API key {why}"));
    let row = db::keys::by_hash(&ctx.db.pool, &hash(key)).await?.ok_or_else(|| refused("is not valid"))?;
    if row.revoked_at.is_some() {
        return Err(refused("has been revoked"));
    }
    let now = db::now_ms();
    if row.expires_at.is_some_and(|t| t <= now) {
        return Err(refused("has expired"));
    }
    let role = crate::auth::active_role(ctx, &row.user_id).await?;
    if row.last_used_at.is_none_or(|t| now - t >= TOUCH_EVERY_MS) {
        db::keys::touch(&ctx.db.pool, &row.id, now).await?;
    }
    let scopes = scopes_of(&row);
    Ok(Caller { user_id: row.user_id, role, key: Some(KeyGrant { scopes }), chat: None })
}
