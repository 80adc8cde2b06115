//! Authentication: who is calling, and the auth area's operations (login,
//! registration, logout, development login, password change).

pub mod password;
pub mod rate_limit;
pub mod token;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use http::HeaderMap;
use oqto_api::auth::{AuthToken, AuthUser, DevLogin, LoginCredentials, PasswordChange, Registration};
use oqto_api::keys::ApiKeyScope;
use oqto_api::users::Role;
use uuid::Uuid;

use crate::context::ServerContext;
use crate::db::{self, Db, users::UserRow};
use crate::error::{Error, Result, is_unique_violation};
use crate::users::{NewAccount, new_user_row};
use token::{Issued, parse_role};

/// Name of the cookie that carries the token.
pub const COOKIE_NAME: &str = "auth_token";

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: String,
    pub role: Role,
    /// The API key the caller presented, with its scopes (`None`: a session
    /// token, which may do whatever the role allows).
    pub key: Option<KeyGrant>,
    /// The chat whose agent presented its own token (`OQTO_TOKEN`): the
    /// caller is the chat's owner, limited to what an agent needs.
    pub chat: Option<String>,
}

/// Path prefixes a chat's agent may use with its token: steering its
/// user's screen, surfaces of its chat, memories of its workspace, and the
/// public routes.
const AGENT_PATHS: &[&str] = &[
    "/api/ui/",
    "/api/a2ui/",
    "/api/browser/",
    "/api/delegate/",
    "/api/workspace/memories",
    "/api/workspace/memory-",
    "/api/health",
    "/api/features",
];

/// What an API key grants.
#[derive(Clone, Debug)]
pub struct KeyGrant {
    pub scopes: Vec<ApiKeyScope>,
}

impl Caller {
    /// A caller with a session token (or the server itself).
    pub fn with_session(user_id: String, role: Role) -> Caller {
        Caller { user_id, role, key: None, chat: None }
    }

    /// Refuses what the caller's API key may not do (403): keys, the
    /// password and the mux always; admin routes without `admin`; changes
    /// without `write`; anything without `read` or `write`.
    pub fn permits(&self, method: &http::Method, path: &str) -> Result<()> {
        if self.chat.is_some() {
            let own_profile = path == "/api/me" && *method == http::Method::GET;
            if !own_profile && !AGENT_PATHS.iter().any(|p| path.starts_with(p)) {
                return Err(Error::Forbidden(format!("a chat's agent token cannot use {path}")));
            }
            return Ok(());
        }
        let Some(key) = &self.key else { return Ok(()) };
        if path.starts_with("/api/keys")
            || path == "/api/auth/change-password"
            || path.starts_with("/api/ws/")
        {
            return Err(Error::Forbidden(
                "an API key cannot manage keys, change the password or open the mux".to_string(),
            ));
        }
        let has = |scope| key.scopes.contains(&scope);
        let (allowed, needed) = if path.starts_with(oqto_api::ADMIN_PATH_PREFIX) {
            (has(ApiKeyScope::Admin), "admin")
        } else if matches!(*method, http::Method::GET | http::Method::HEAD) {
            (has(ApiKeyScope::Read) || has(ApiKeyScope::Write), "read")
        } else {
            (has(ApiKeyScope::Write), "write")
        };
        if allowed {
            Ok(())
        } else {
            Err(Error::Forbidden(format!("this API key lacks the {needed:?} scope")))
        }
    }

    /// Refuses callers without the admin role (403).
    pub fn require_admin(&self) -> Result<()> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(Error::Forbidden("administrator role required".to_string()))
        }
    }
}

/// Revoked token ids, and the rows of users who authenticated, cached in
/// memory so that a request reads no user row from the database. Changes
/// go to the database first, then here ([`AuthCache::forget_user`], which
/// every write of a user row goes through: [`save_user`]).
pub struct AuthCache {
    revoked: RwLock<HashMap<String, i64>>,
    users: RwLock<HashMap<String, Arc<UserRow>>>,
    /// Counts forgets, so that a row read before a change is not cached
    /// after it.
    forgets: AtomicU64,
}

impl AuthCache {
    /// Loads the still-relevant revocations.
    pub async fn load(db: &Db) -> anyhow::Result<AuthCache> {
        let now = chrono::Utc::now().timestamp();
        db::tokens::purge_expired(&db.pool, now).await?;
        let revoked = db::tokens::active(&db.pool, now).await?.into_iter().collect();
        Ok(AuthCache {
            revoked: RwLock::new(revoked),
            users: RwLock::new(HashMap::new()),
            forgets: AtomicU64::new(0),
        })
    }

    fn is_revoked(&self, jti: &str) -> bool {
        self.revoked.read().unwrap_or_else(|p| p.into_inner()).contains_key(jti)
    }

    async fn revoke(&self, db: &Db, claims: &token::Claims) -> Result<()> {
        db::tokens::revoke(&db.pool, &claims.jti, &claims.sub, claims.exp).await?;
        let now = chrono::Utc::now().timestamp();
        let mut revoked = self.revoked.write().unwrap_or_else(|p| p.into_inner());
        revoked.retain(|_, exp| *exp > now);
        revoked.insert(claims.jti.clone(), claims.exp);
        Ok(())
    }

    /// Drops the cached row of a user after any change to the account.
    pub fn forget_user(&self, user_id: &str) {
        let mut users = self.users.write().unwrap_or_else(|p| p.into_inner());
        self.forgets.fetch_add(1, Ordering::AcqRel);
        users.remove(user_id);
    }

    /// The user's row: from memory, or read once and kept.
    pub async fn user(&self, db: &Db, user_id: &str) -> Result<Option<Arc<UserRow>>> {
        if let Some(row) = self.users.read().unwrap_or_else(|p| p.into_inner()).get(user_id) {
            return Ok(Some(Arc::clone(row)));
        }
        let forgets = self.forgets.load(Ordering::Acquire);
        let Some(row) = db::users::get(&db.pool, user_id).await? else {
            return Ok(None);
        };
        let row = Arc::new(row);
        let mut users = self.users.write().unwrap_or_else(|p| p.into_inner());
        // A change since the read: the row may be stale, so keep it out.
        if self.forgets.load(Ordering::Acquire) == forgets {
            users.insert(user_id.to_string(), Arc::clone(&row));
        }
        Ok(Some(row))
    }
}

/// Writes a changed user row and drops its cached copy: the one way a user
/// row changes (`false`: no such user).
pub async fn save_user(ctx: &ServerContext, user: &UserRow) -> std::result::Result<bool, sqlx::Error> {
    let saved = db::users::save(&ctx.db.pool, user).await;
    ctx.auth_cache.forget_user(&user.id);
    saved
}

/// The token of a request: `Authorization: Bearer`, then the cookie.
pub fn request_token(headers: &HeaderMap) -> Option<String> {
    match headers.get(http::header::AUTHORIZATION) {
        Some(_) => bearer_token(headers),
        None => cookie_token(headers),
    }
}

/// The `Authorization: Bearer` token, if any.
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

/// The session cookie's token, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

/// Refuses a cookie-authenticated WebSocket upgrade from another site:
/// browsers send the cookie with any page's upgrade, so the `Origin` must
/// be the server's own (the `Host` it was reached at) or one of
/// `server.allowed_origins`. Bearer and ticket upgrades are not affected
/// (another site cannot know them); a request without `Origin` is no
/// browser's.
pub fn check_origin(ctx: &ServerContext, headers: &HeaderMap) -> Result<()> {
    let Some(origin) = headers.get(http::header::ORIGIN) else { return Ok(()) };
    let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
    let host = headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let own =
        ["http://", "https://"].iter().any(|scheme| !host.is_empty() && origin == format!("{scheme}{host}"));
    let listed = crate::cors::allowed(ctx, origin);
    if own || listed {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "a WebSocket authenticated by cookie from origin {origin:?} is not allowed (server.allowed_origins)"
        )))
    }
}

/// Authenticates a request (401 unless it carries a valid, unrevoked token
/// of an active account at the current token version).
pub async fn authenticate(ctx: &ServerContext, headers: &HeaderMap) -> Result<Caller> {
    let token = request_token(headers).ok_or_else(Error::unauthenticated)?;
    authenticate_token(ctx, &token).await
}

/// What a session token grants, re-checked by the mux on every heartbeat.
#[derive(Clone, Debug)]
pub struct Grant {
    pub user_id: String,
    /// The session token's id and expiry (a mux ticket's parent token).
    pub jti: String,
    pub exp: i64,
    pub ver: i64,
}

impl Grant {
    fn of(claims: &token::Claims) -> Grant {
        let (jti, exp) = match &claims.parent {
            Some(parent) => (parent.jti.clone(), parent.exp),
            None => (claims.jti.clone(), claims.exp),
        };
        Grant { user_id: claims.sub.clone(), jti, exp, ver: claims.ver }
    }
}

/// Checks that a grant still holds: the token is not revoked or expired,
/// and the account is active at the token's version.
pub async fn check_grant(ctx: &ServerContext, grant: &Grant) -> Result<Caller> {
    if ctx.auth_cache.is_revoked(&grant.jti) {
        return Err(Error::Unauthenticated("token has been revoked; log in again".to_string()));
    }
    if grant.exp <= chrono::Utc::now().timestamp() {
        return Err(Error::Unauthenticated("token has expired; log in again".to_string()));
    }
    let user = active_user(ctx, &grant.user_id).await?;
    if user.token_version != grant.ver {
        return Err(Error::Unauthenticated("token is no longer valid; log in again".to_string()));
    }
    Ok(Caller::with_session(grant.user_id.clone(), parse_role(&user.role)))
}

/// An active account's row, from the cache (401 for a missing or
/// deactivated one).
pub async fn active_user(ctx: &ServerContext, user_id: &str) -> Result<Arc<UserRow>> {
    let user = ctx
        .auth_cache
        .user(&ctx.db, user_id)
        .await?
        .ok_or_else(|| Error::Unauthenticated("account no longer exists".to_string()))?;
    if !user.is_active {
        return Err(Error::Unauthenticated("account is deactivated".to_string()));
    }
    Ok(user)
}

/// The role of an active account (401 for a missing or deactivated one).
pub async fn active_role(ctx: &ServerContext, user_id: &str) -> Result<Role> {
    Ok(parse_role(&active_user(ctx, user_id).await?.role))
}

/// Authenticates a session token (mux tickets are refused here).
pub async fn authenticate_token(ctx: &ServerContext, token: &str) -> Result<Caller> {
    if token.starts_with(crate::agent::CHAT_TOKEN_PREFIX) {
        let chat = ctx.chats.chat_of_token(token).ok_or_else(|| {
            Error::Unauthenticated("this chat token is not valid (the chat stopped?)".to_string())
        })?;
        // The owner's account must still be active; the role is never more
        // than a user's.
        active_role(ctx, &chat.user_id).await?;
        return Ok(Caller {
            user_id: chat.user_id.clone(),
            role: Role::User,
            key: None,
            chat: Some(chat.id.clone()),
        });
    }
    if token.starts_with(crate::keys::KEY_PREFIX) {
        return crate::keys::authenticate(ctx, token).await;
    }
    let claims = ctx.keys.verify(token)?;
    if claims.scope.is_some() {
        return Err(Error::Unauthenticated("a mux ticket only opens /api/ws/mux".to_string()));
    }
    check_grant(ctx, &Grant::of(&claims)).await
}

/// Authenticates the opening of the mux: a session token, or a mux ticket
/// (used up by this). Returns the grant the socket lives on.
pub async fn authenticate_mux(ctx: &ServerContext, token: &str) -> Result<(Caller, Grant)> {
    if token.starts_with(crate::agent::CHAT_TOKEN_PREFIX) {
        return Err(Error::Forbidden("a chat's agent token cannot open the mux".to_string()));
    }
    let claims = ctx.keys.verify(token)?;
    if claims.scope.as_deref().is_some_and(|s| s != token::WS_SCOPE) {
        return Err(Error::Unauthenticated("this token does not open sockets".to_string()));
    }
    if ctx.auth_cache.is_revoked(&claims.jti) {
        return Err(Error::Unauthenticated("the ticket was used already".to_string()));
    }
    let grant = Grant::of(&claims);
    let caller = check_grant(ctx, &grant).await?;
    if claims.scope.as_deref() == Some(token::WS_SCOPE) {
        ctx.auth_cache.revoke(&ctx.db, &claims).await?;
    }
    Ok((caller, grant))
}

/// `POST /api/ws/ticket`: a single-use ticket for the caller's token.
pub fn mux_ticket(ctx: &ServerContext, headers: &HeaderMap) -> Result<oqto_api::mux::MuxTicket> {
    let token = request_token(headers).ok_or_else(Error::unauthenticated)?;
    let claims = ctx.keys.verify(&token)?;
    let ticket = ctx.keys.issue_ticket(&claims)?;
    Ok(oqto_api::mux::MuxTicket { expires_at: ticket.expires_at(), ticket: ticket.token })
}

/// The `Set-Cookie` value that stores a token.
pub fn session_cookie(ctx: &ServerContext, issued: &Issued) -> String {
    let secure = if ctx.config.auth.cookie_secure { "; Secure" } else { "" };
    format!(
        "{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        issued.token, ctx.config.auth.token_ttl_secs
    )
}

/// The `Set-Cookie` value that removes the token cookie.
pub fn clearing_cookie(ctx: &ServerContext) -> String {
    let secure = if ctx.config.auth.cookie_secure { "; Secure" } else { "" };
    format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

fn auth_token(user: &UserRow, issued: &Issued) -> Result<AuthToken> {
    Ok(AuthToken {
        token: issued.token.clone(),
        expires_at: issued.expires_at(),
        user: AuthUser {
            id: parse_id(&user.id)?,
            username: user.username.clone(),
            name: user.display_name.clone(),
            email: user.email.clone(),
            role: parse_role(&user.role),
        },
    })
}

/// A stored id as a UUID (ids are always written as UUIDs).
pub fn parse_id(id: &str) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|e| Error::Internal(anyhow::anyhow!("stored id {id:?}: {e}")))
}

/// Issues a token for `user` and records the login time.
async fn log_in(ctx: &ServerContext, mut user: UserRow) -> Result<(AuthToken, Issued)> {
    user.last_login_at = Some(db::now_ms());
    save_user(ctx, &user).await?;
    let issued = ctx.keys.issue(&user)?;
    Ok((auth_token(&user, &issued)?, issued))
}

/// `POST /api/auth/login`
pub async fn login(
    ctx: &ServerContext,
    creds: LoginCredentials,
    peer: SocketAddr,
) -> Result<(AuthToken, Issued)> {
    let account = creds.username.trim().to_lowercase();
    if account.is_empty() || creds.password.is_empty() {
        return Err(Error::Invalid("username and password are required".to_string()));
    }
    if creds.password.len() > password::MAX_LEN || account.len() > 320 {
        return Err(Error::Unauthenticated("wrong username or password".to_string()));
    }
    let user = db::users::find_by_login(&ctx.db.pool, &account).await?;
    // Counted per account (its id: the username and the email are one
    // account), or per login name when there is no such account; reserved
    // before the password is checked, so a parallel burst counts in full.
    let key = user.as_ref().map_or_else(|| format!("login:{account}"), |u| format!("user:{}", u.id));
    ctx.login_limiter
        .reserve(&key, peer.ip(), Instant::now())
        .map_err(|retry_after_secs| Error::RateLimited { retry_after_secs })?;
    let ok = password::verify(&creds.password, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    let Some(user) = user.filter(|_| ok) else {
        slog::info!(ctx.log, "login refused"; "peer" => %peer);
        return Err(Error::Unauthenticated("wrong username or password".to_string()));
    };
    if !user.is_active {
        return Err(Error::Forbidden("account is deactivated".to_string()));
    }
    ctx.login_limiter.settle_success(&key, peer.ip());
    slog::info!(ctx.log, "login"; "user_id" => &user.id, "peer" => %peer);
    log_in(ctx, user).await
}

/// `POST /api/auth/register`
///
/// Attempts are throttled per client address like logins (a success gives
/// its slot back), and the invite code is checked before the password is
/// hashed, so a wrong code costs no hashing.
pub async fn register(
    ctx: &ServerContext,
    reg: Registration,
    peer: SocketAddr,
) -> Result<(AuthToken, Issued)> {
    if !ctx.settings.current().auth.registration_enabled {
        return Err(Error::Forbidden("registration is disabled on this server".to_string()));
    }
    let code = reg.invite_code.trim().to_string();
    if code.is_empty() {
        return Err(Error::Invalid("invite_code is required".to_string()));
    }
    let key = peer.ip().to_string();
    ctx.registration_limiter
        .reserve(&key, peer.ip(), Instant::now())
        .map_err(|retry_after_secs| Error::RateLimited { retry_after_secs })?;
    let invite = db::invites::get_by_code(&ctx.db.pool, &code).await?;
    if let Some(why) = invite_problem(invite.as_ref(), db::now_ms()) {
        return Err(Error::Invalid(why.to_string()));
    }
    let registered = create_account(ctx, reg, &code).await;
    if registered.is_ok() {
        ctx.registration_limiter.settle_success(&key, peer.ip());
    }
    registered
}

/// Why an invite code cannot be used now, if it cannot.
fn invite_problem(invite: Option<&db::invites::InviteRow>, now: i64) -> Option<&'static str> {
    match invite {
        None => Some("invite code is not known"),
        Some(i) if i.revoked_at.is_some() => Some("invite code has been revoked"),
        Some(i) if i.expires_at.is_some_and(|e| e <= now) => Some("invite code has expired"),
        Some(i) if i.uses_remaining <= 0 => Some("invite code has no uses left"),
        Some(_) => None,
    }
}

/// Creates the account and spends one use of the invite, in one transaction.
async fn create_account(ctx: &ServerContext, reg: Registration, code: &str) -> Result<(AuthToken, Issued)> {
    let user = new_user_row(NewAccount {
        username: reg.username,
        email: reg.email,
        password: reg.password,
        display_name: reg.display_name,
        role: Role::User,
    })
    .await?;
    let now = db::now_ms();
    let mut tx = ctx.db.pool.begin().await?;
    if !db::invites::consume(&mut *tx, code, now).await? {
        tx.rollback().await?;
        let invite = db::invites::get_by_code(&ctx.db.pool, code).await?;
        let why = invite_problem(invite.as_ref(), now).unwrap_or("invite code has no uses left");
        return Err(Error::Invalid(why.to_string()));
    }
    if let Err(e) = db::users::insert(&mut *tx, &user).await {
        tx.rollback().await?;
        return Err(if is_unique_violation(&e) {
            Error::Conflict("username or email is already taken".to_string())
        } else {
            e.into()
        });
    }
    db::invites::set_used_by(&mut *tx, code, &user.id).await?;
    tx.commit().await?;
    slog::info!(ctx.log, "registered"; "user_id" => &user.id);
    crate::eavs::provision(ctx, &user).await;
    log_in(ctx, user).await
}

/// `POST /api/auth/logout`: revokes the presented token if it is valid.
pub async fn logout(ctx: &ServerContext, headers: &HeaderMap) -> Result<()> {
    if let Some(claims) = request_token(headers).and_then(|t| ctx.keys.verify(&t).ok()) {
        ctx.auth_cache.revoke(&ctx.db, &claims).await?;
        slog::info!(ctx.log, "logout"; "user_id" => &claims.sub);
    }
    Ok(())
}

/// `POST /api/auth/dev-login`
pub async fn dev_login(ctx: &ServerContext, body: DevLogin, peer: SocketAddr) -> Result<(AuthToken, Issued)> {
    if !ctx.config.auth.dev_mode {
        return Err(Error::NotFound("not found".to_string()));
    }
    if !crate::util::is_local(peer) {
        return Err(Error::Forbidden("development login is only available from this machine".to_string()));
    }
    let user = match body.username.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => db::users::find_by_login(&ctx.db.pool, name).await?,
        None => db::users::first_admin(&ctx.db.pool).await?,
    }
    .filter(|u| u.is_active)
    .ok_or_else(|| Error::NotFound("no such active account".to_string()))?;
    log_in(ctx, user).await
}

/// `POST /api/auth/change-password`
pub async fn change_password(
    ctx: &ServerContext,
    caller: &Caller,
    body: PasswordChange,
) -> Result<(AuthToken, Issued)> {
    password::validate(&body.new_password, "new_password")?;
    let mut user = crate::users::own_row(ctx, &caller.user_id).await?;
    if !password::verify(&body.current_password, Some(&user.password_hash)).await? {
        return Err(Error::Forbidden("current password is wrong".to_string()));
    }
    user.password_hash = password::hash(&body.new_password).await?;
    user.token_version += 1;
    user.updated_at = db::now_ms();
    save_user(ctx, &user).await?;
    slog::info!(ctx.log, "password changed"; "user_id" => &user.id);
    log_in(ctx, user).await
}
