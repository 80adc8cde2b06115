//! Queries on `users`.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// A stored user.
#[derive(Clone, Debug)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub role: String,
    pub is_active: bool,
    pub token_version: i64,
    pub settings: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login_at: Option<i64>,
}

/// Filters for [`list`].
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub role: Option<String>,
    pub is_active: Option<bool>,
    /// A `LIKE` pattern over lower-cased username, email and display name.
    pub pattern: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

macro_rules! select_users {
    ($tail:literal) => {
        concat!(
            "SELECT id, username, email, password_hash, display_name, avatar_url, role, \
             is_active, token_version, settings, created_at, updated_at, last_login_at \
             FROM users ",
            $tail
        )
    };
}

fn from_row(row: &AnyRow) -> Result<UserRow, sqlx::Error> {
    Ok(UserRow {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        display_name: row.try_get("display_name")?,
        avatar_url: row.try_get("avatar_url")?,
        role: row.try_get("role")?,
        is_active: row.try_get::<i64, _>("is_active")? != 0,
        token_version: row.try_get("token_version")?,
        settings: row.try_get("settings")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_login_at: row.try_get("last_login_at")?,
    })
}

pub async fn insert<'c>(db: impl Executor<'c, Database = Any>, u: &UserRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, username, email, password_hash, display_name, avatar_url, role, \
         is_active, token_version, settings, created_at, updated_at, last_login_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&u.id)
    .bind(&u.username)
    .bind(&u.email)
    .bind(&u.password_hash)
    .bind(&u.display_name)
    .bind(&u.avatar_url)
    .bind(&u.role)
    .bind(i64::from(u.is_active))
    .bind(u.token_version)
    .bind(&u.settings)
    .bind(u.created_at)
    .bind(u.updated_at)
    .bind(u.last_login_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Writes every mutable column of `u` back.
pub async fn save<'c>(db: impl Executor<'c, Database = Any>, u: &UserRow) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET username = $1, email = $2, password_hash = $3, display_name = $4, \
         avatar_url = $5, role = $6, is_active = $7, token_version = $8, settings = $9, \
         updated_at = $10, last_login_at = $11 WHERE id = $12",
    )
    .bind(&u.username)
    .bind(&u.email)
    .bind(&u.password_hash)
    .bind(&u.display_name)
    .bind(&u.avatar_url)
    .bind(&u.role)
    .bind(i64::from(u.is_active))
    .bind(u.token_version)
    .bind(&u.settings)
    .bind(u.updated_at)
    .bind(u.last_login_at)
    .bind(&u.id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get<'c>(
    db: impl Executor<'c, Database = Any>,
    id: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    super::fetch_optional(sqlx::query(select_users!("WHERE id = $1")).bind(id), db, from_row).await
}

/// The user whose username (any case) or email matches `name`.
pub async fn find_by_login<'c>(
    db: impl Executor<'c, Database = Any>,
    name: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    super::fetch_optional(
        sqlx::query(select_users!("WHERE LOWER(username) = $1 OR email = $1"))
            .bind(name.trim().to_lowercase()),
        db,
        from_row,
    )
    .await
}

/// The oldest active administrator.
pub async fn first_admin<'c>(db: impl Executor<'c, Database = Any>) -> Result<Option<UserRow>, sqlx::Error> {
    super::fetch_optional(
        sqlx::query(select_users!("WHERE role = 'admin' AND is_active = 1 ORDER BY created_at, id LIMIT 1")),
        db,
        from_row,
    )
    .await
}

pub async fn list<'c>(
    db: impl Executor<'c, Database = Any>,
    f: &UserFilter,
) -> Result<Vec<UserRow>, sqlx::Error> {
    super::fetch_all(
        sqlx::query(select_users!(
            "WHERE ($1 IS NULL OR role = $1) AND ($2 IS NULL OR is_active = $2) \
         AND ($3 IS NULL OR LOWER(username) LIKE $3 ESCAPE '\\' OR email LIKE $3 ESCAPE '\\' \
              OR LOWER(display_name) LIKE $3 ESCAPE '\\') \
         ORDER BY created_at, id LIMIT $4 OFFSET $5"
        ))
        .bind(&f.role)
        .bind(f.is_active.map(i64::from))
        .bind(&f.pattern)
        .bind(f.limit)
        .bind(f.offset),
        db,
        from_row,
    )
    .await
}

/// Counts: (total, active, admins, users, services).
pub async fn stats<'c>(db: impl Executor<'c, Database = Any>) -> Result<[i64; 5], sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS total, \
         COALESCE(SUM(CASE WHEN is_active = 1 THEN 1 ELSE 0 END), 0) AS active, \
         COALESCE(SUM(CASE WHEN role = 'admin' THEN 1 ELSE 0 END), 0) AS admins, \
         COALESCE(SUM(CASE WHEN role = 'user' THEN 1 ELSE 0 END), 0) AS users, \
         COALESCE(SUM(CASE WHEN role = 'service' THEN 1 ELSE 0 END), 0) AS services \
         FROM users",
    )
    .fetch_one(db)
    .await?;
    let get = |c: &str| row.try_get::<i64, _>(c);
    Ok([get("total")?, get("active")?, get("admins")?, get("users")?, get("services")?])
}

/// Active administrators other than `except`.
pub async fn count_other_active_admins<'c>(
    db: impl Executor<'c, Database = Any>,
    except: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND is_active = 1 AND id <> $1")
        .bind(except)
        .fetch_one(db)
        .await?
        .try_get("n")
}

pub async fn count<'c>(db: impl Executor<'c, Database = Any>) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(db).await?.try_get("n")
}

pub async fn delete<'c>(db: impl Executor<'c, Database = Any>, id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(db).await?.rows_affected() == 1)
}
