//! The users area: the caller's profile and user administration.

use oqto_api::users::{
    MeUpdate, Role, UserConfigSync, UserConfigSyncResult, UserCreate, UserCreated, UserListQuery, UserStats,
    UserUpdate, UserView,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::auth::token::parse_role;
use crate::auth::{Caller, parse_id, password};
use crate::context::ServerContext;
use crate::db::users::{UserFilter, UserRow};
use crate::db::{self, like_pattern, now_ms, time};
use crate::error::{Error, Result, is_unique_violation};

/// Settings keys a profile may not carry: the onboarding state has its own
/// table, and a client of the original reads it under this name.
const RESERVED_SETTINGS: &[&str] = &["onboarding"];
/// Largest stored settings object, in bytes of JSON.
const MAX_SETTINGS_BYTES: usize = 64 * 1024;

/// The fields of a new account, before validation.
pub struct NewAccount {
    pub username: String,
    pub email: String,
    pub password: String,
    pub display_name: Option<String>,
    pub role: Role,
}

/// Validates a new account and hashes its password.
pub async fn new_user_row(account: NewAccount) -> Result<UserRow> {
    let username = valid_username(&account.username)?;
    let email = valid_email(&account.email)?;
    password::validate(&account.password, "password")?;
    let display_name = match account.display_name {
        Some(name) => valid_display_name(&name)?,
        None => username.clone(),
    };
    let now = now_ms();
    Ok(UserRow {
        id: Uuid::new_v4().to_string(),
        username,
        email,
        password_hash: password::hash(&account.password).await?,
        display_name,
        avatar_url: None,
        role: account.role.as_str().to_string(),
        is_active: true,
        token_version: 0,
        settings: "{}".to_string(),
        created_at: now,
        updated_at: now,
        last_login_at: None,
    })
}

fn valid_username(name: &str) -> Result<String> {
    let name = name.trim();
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !(3..=64).contains(&name.len()) || !ok_chars {
        return Err(Error::Invalid(
            "username must be 3 to 64 characters of letters, digits, '.', '_' or '-'".to_string(),
        ));
    }
    Ok(name.to_string())
}

fn valid_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let shape_ok = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !domain.starts_with('.')
    });
    if !shape_ok || email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::Invalid("email must be an address like name@example.org".to_string()));
    }
    Ok(email)
}

fn valid_display_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(Error::Invalid("display_name must be 1 to 128 printable characters".to_string()));
    }
    Ok(name.to_string())
}

fn valid_avatar_url(url: &str) -> Result<Option<String>> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(None);
    }
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/');
    if url.len() > 2048 || !scheme_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::Invalid("avatar_url must be an http(s) URL or an absolute path".to_string()));
    }
    Ok(Some(url.to_string()))
}

/// A stored user as the API shows it.
pub fn view(row: &UserRow) -> Result<UserView> {
    Ok(UserView {
        id: parse_id(&row.id)?,
        username: row.username.clone(),
        email: row.email.clone(),
        display_name: row.display_name.clone(),
        avatar_url: row.avatar_url.clone(),
        role: parse_role(&row.role),
        is_active: row.is_active,
        settings: serde_json::from_str(&row.settings).unwrap_or_default(),
        created_at: time(row.created_at),
        updated_at: time(row.updated_at),
        last_login_at: row.last_login_at.map(time),
    })
}

/// A user id from a path: anything that is not a UUID names no user.
fn path_id(id: &str) -> Result<String> {
    Uuid::parse_str(id.trim())
        .map(|u| u.to_string())
        .map_err(|_| Error::NotFound(format!("no user with id {id:?}")))
}

/// The caller's own account, from the auth cache (401 when it is gone).
pub async fn own_row(ctx: &ServerContext, user_id: &str) -> Result<UserRow> {
    Ok(ctx.auth_cache.user(&ctx.db, user_id).await?.ok_or_else(Error::unauthenticated)?.as_ref().clone())
}

async fn load(ctx: &ServerContext, id: &str) -> Result<UserRow> {
    db::users::get(&ctx.db.pool, &path_id(id)?)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no user with id {id:?}")))
}

/// Writes a changed user, mapping taken names to 409, and drops cached
/// auth state.
async fn store(ctx: &ServerContext, row: &mut UserRow) -> Result<UserView> {
    row.updated_at = now_ms();
    match crate::auth::save_user(ctx, row).await {
        Ok(true) => {}
        Ok(false) => return Err(Error::NotFound(format!("no user with id {:?}", row.id))),
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict("username or email is already taken".to_string()));
        }
        Err(e) => return Err(e.into()),
    }
    view(row)
}

pub async fn me_view(ctx: &ServerContext, caller: &Caller) -> Result<UserView> {
    view(&*crate::auth::active_user(ctx, &caller.user_id).await?)
}

pub async fn me_update(ctx: &ServerContext, caller: &Caller, body: MeUpdate) -> Result<UserView> {
    let mut row = load(ctx, &caller.user_id).await?;
    if let Some(name) = &body.display_name {
        row.display_name = valid_display_name(name)?;
    }
    if let Some(url) = &body.avatar_url {
        row.avatar_url = valid_avatar_url(url)?;
    }
    if let Some(changes) = body.settings {
        let mut settings: Map<String, Value> = serde_json::from_str(&row.settings).unwrap_or_default();
        merge_settings(&mut settings, changes)?;
        row.settings = serde_json::to_string(&settings).map_err(|e| Error::Internal(e.into()))?;
    }
    store(ctx, &mut row).await
}

/// Merges settings key by key (`null` removes a key); reserved keys are refused.
fn merge_settings(settings: &mut Map<String, Value>, changes: Map<String, Value>) -> Result<()> {
    if let Some(key) = changes.keys().find(|k| RESERVED_SETTINGS.contains(&k.as_str())) {
        return Err(Error::Invalid(format!("settings key {key:?} is managed by the server")));
    }
    for (key, value) in changes {
        if value.is_null() {
            settings.remove(&key);
        } else {
            settings.insert(key, value);
        }
    }
    let size = serde_json::to_vec(settings).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_SETTINGS_BYTES {
        return Err(Error::Invalid(format!("settings must stay under {MAX_SETTINGS_BYTES} bytes")));
    }
    Ok(())
}

/// Turns `limit`/`offset` query values into bounded SQL values.
pub fn page(limit: Option<u32>, offset: Option<u32>) -> Result<(i64, i64)> {
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::BadRequest("limit must be between 1 and 1000".to_string()));
    }
    Ok((i64::from(limit), i64::from(offset.unwrap_or(0))))
}

pub async fn list(ctx: &ServerContext, query: UserListQuery) -> Result<Vec<UserView>> {
    let (limit, offset) = page(query.limit, query.offset)?;
    let filter = UserFilter {
        role: query.role.map(|r| r.as_str().to_string()),
        is_active: query.is_active,
        pattern: query.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(like_pattern),
        limit,
        offset,
    };
    db::users::list(&ctx.db.pool, &filter).await?.iter().map(view).collect()
}

/// Creates an account (admin or command line); returns the generated
/// password when none was given.
pub async fn create(ctx: &ServerContext, body: UserCreate) -> Result<UserCreated> {
    let generated = body.password.is_none().then(|| crate::util::random_token(20));
    let password = body.password.or_else(|| generated.clone()).unwrap_or_default();
    let row = new_user_row(NewAccount {
        username: body.username,
        email: body.email,
        password,
        display_name: body.display_name,
        role: body.role.unwrap_or(Role::User),
    })
    .await?;
    match db::users::insert(&ctx.db.pool, &row).await {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict("username or email is already taken".to_string()));
        }
        Err(e) => return Err(e.into()),
    }
    slog::info!(ctx.log, "user created"; "user_id" => &row.id, "role" => &row.role);
    crate::eavs::provision(ctx, &row).await;
    Ok(UserCreated { user: view(&row)?, generated_password: generated })
}

pub async fn get(ctx: &ServerContext, id: &str) -> Result<UserView> {
    view(&load(ctx, id).await?)
}

/// Refuses to leave the server without an active administrator, and an
/// administrator from locking themself out.
async fn guard_admin_loss(ctx: &ServerContext, caller: &Caller, target: &UserRow, what: &str) -> Result<()> {
    if target.id == caller.user_id {
        return Err(Error::Conflict(format!("you cannot {what} your own account")));
    }
    if target.role == "admin"
        && target.is_active
        && db::users::count_other_active_admins(&ctx.db.pool, &target.id).await? == 0
    {
        return Err(Error::Conflict(format!("cannot {what} the last active administrator")));
    }
    Ok(())
}

pub async fn update(ctx: &ServerContext, caller: &Caller, id: &str, body: UserUpdate) -> Result<UserView> {
    let mut row = load(ctx, id).await?;
    let demoted = body.role.is_some_and(|r| r != Role::Admin) && row.role == "admin";
    if demoted {
        guard_admin_loss(ctx, caller, &row, "demote").await?;
    }
    if body.is_active == Some(false) && row.is_active {
        guard_admin_loss(ctx, caller, &row, "deactivate").await?;
    }
    let mut invalidate = false;
    if let Some(name) = &body.username {
        row.username = valid_username(name)?;
    }
    if let Some(email) = &body.email {
        row.email = valid_email(email)?;
    }
    if let Some(name) = &body.display_name {
        row.display_name = valid_display_name(name)?;
    }
    if let Some(url) = &body.avatar_url {
        row.avatar_url = valid_avatar_url(url)?;
    }
    if let Some(role) = body.role {
        invalidate |= role.as_str() != row.role;
        row.role = role.as_str().to_string();
    }
    if let Some(active) = body.is_active {
        invalidate |= !active && row.is_active;
        row.is_active = active;
    }
    if let Some(pw) = &body.password {
        password::validate(pw, "password")?;
        row.password_hash = password::hash(pw).await?;
        invalidate = true;
    }
    if invalidate {
        row.token_version += 1;
    }
    let deactivated = body.is_active == Some(false);
    let view = store(ctx, &mut row).await?;
    if deactivated {
        crate::sessions::end_user(ctx, &row.id, "the account was deactivated").await?;
    }
    Ok(view)
}

pub async fn set_active(ctx: &ServerContext, caller: &Caller, id: &str, active: bool) -> Result<UserView> {
    update(ctx, caller, id, UserUpdate { is_active: Some(active), ..Default::default() }).await
}

pub async fn delete(ctx: &ServerContext, caller: &Caller, id: &str) -> Result<()> {
    let row = load(ctx, id).await?;
    guard_admin_loss(ctx, caller, &row, "delete").await?;
    crate::sessions::end_user(ctx, &row.id, "the account was deleted").await?;
    let mut tx = ctx.db.pool.begin().await?;
    db::locations::delete_scope(&mut *tx, &row.id).await?;
    db::users::delete(&mut *tx, &row.id).await?;
    tx.commit().await?;
    ctx.auth_cache.forget_user(&row.id);
    slog::info!(ctx.log, "user deleted"; "user_id" => &row.id);
    Ok(())
}

pub async fn stats(ctx: &ServerContext) -> Result<UserStats> {
    let [total, active, admins, users, services] = db::users::stats(&ctx.db.pool).await?;
    Ok(UserStats { total, active, admins, users, services })
}

/// Makes sure each user's directories under `<data_dir>/users/<id>/` exist.
pub async fn config_sync(ctx: &ServerContext, body: UserConfigSync) -> Result<Vec<UserConfigSyncResult>> {
    let rows = match body.user_id {
        Some(id) => vec![load(ctx, &id.to_string()).await?],
        None => {
            let all = UserFilter { limit: i64::MAX, ..Default::default() };
            db::users::list(&ctx.db.pool, &all).await?
        }
    };
    let providers = db::providers::list(&ctx.db.pool).await?;
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        let mut created = Vec::new();
        let mut error = None;
        let dirs =
            [ctx.config.workspace_root(&row.id, &row.username), ctx.config.user_dir(&row.id).join("agent")];
        for dir in dirs {
            if dir.is_dir() {
                continue;
            }
            match std::fs::create_dir_all(&dir) {
                Ok(()) => created.push(dir.display().to_string()),
                Err(e) => {
                    error = Some(format!("creating {}: {e}", dir.display()));
                    break;
                }
            }
        }
        // The agent's model configuration, from the server's providers.
        if error.is_none()
            && !providers.is_empty()
            && let Err(e) = crate::eavs::sync_user(ctx, &row, &providers, &[])
        {
            error = Some(format!("writing models.json: {}", e.public_message()));
        }
        results.push(UserConfigSyncResult {
            user_id: parse_id(&row.id)?,
            username: row.username,
            ok: error.is_none(),
            created,
            error,
        });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_validation() {
        assert!(valid_username("ab").is_err());
        assert!(valid_username("al ice").is_err());
        assert_eq!(valid_username(" alice.b-c_d ").unwrap(), "alice.b-c_d");
        assert_eq!(valid_email(" Alice@Example.ORG ").unwrap(), "alice@example.org");
        assert!(valid_email("alice").is_err());
        assert!(valid_email("a@b@c").is_err());
        assert!(valid_display_name("  ").is_err());
        assert_eq!(valid_avatar_url("").unwrap(), None);
        assert!(valid_avatar_url("javascript:alert(1)").is_err());
    }

    #[test]
    fn settings_merge_keeps_reserved_keys_out() {
        let mut settings = Map::new();
        settings.insert("theme".into(), "dark".into());
        let mut change = Map::new();
        change.insert("theme".into(), Value::Null);
        change.insert("font".into(), "mono".into());
        merge_settings(&mut settings, change).unwrap();
        assert_eq!(serde_json::to_string(&settings).unwrap(), r#"{"font":"mono"}"#);
        let mut bad = Map::new();
        bad.insert("onboarding".into(), Value::Bool(true));
        assert!(matches!(merge_settings(&mut settings, bad), Err(Error::Invalid(_))));
    }
}
