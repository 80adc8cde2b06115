//! Queries on `invite_codes`.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// A stored invite code.
#[derive(Clone, Debug)]
pub struct InviteRow {
    pub id: String,
    pub code: String,
    pub created_by: Option<String>,
    pub used_by: Option<String>,
    pub uses_remaining: i64,
    pub max_uses: i64,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub note: Option<String>,
}

impl InviteRow {
    /// Whether the code can be redeemed at `now`.
    pub fn is_valid(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.uses_remaining > 0 && self.expires_at.is_none_or(|e| e > now)
    }
}

/// Filters for [`list`].
#[derive(Clone, Debug, Default)]
pub struct InviteFilter {
    pub created_by: Option<String>,
    pub valid: Option<bool>,
    pub now: i64,
    pub limit: i64,
    pub offset: i64,
}

macro_rules! select_invites {
    ($tail:literal) => {
        concat!(
            "SELECT id, code, created_by, used_by, uses_remaining, max_uses, expires_at, \
             created_at, last_used_at, revoked_at, note FROM invite_codes ",
            $tail
        )
    };
}

/// SQL for "redeemable at `$N`": kept beside `InviteRow::is_valid`.
macro_rules! valid_at {
    ($now:literal) => {
        concat!(
            "(revoked_at IS NULL AND uses_remaining > 0 AND (expires_at IS NULL OR expires_at > ",
            $now,
            "))"
        )
    };
}

fn from_row(row: &AnyRow) -> Result<InviteRow, sqlx::Error> {
    Ok(InviteRow {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        created_by: row.try_get("created_by")?,
        used_by: row.try_get("used_by")?,
        uses_remaining: row.try_get("uses_remaining")?,
        max_uses: row.try_get("max_uses")?,
        expires_at: row.try_get("expires_at")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
        note: row.try_get("note")?,
    })
}

pub async fn insert<'c>(db: impl Executor<'c, Database = Any>, i: &InviteRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO invite_codes (id, code, created_by, used_by, uses_remaining, max_uses, \
         expires_at, created_at, last_used_at, revoked_at, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&i.id)
    .bind(&i.code)
    .bind(&i.created_by)
    .bind(&i.used_by)
    .bind(i.uses_remaining)
    .bind(i.max_uses)
    .bind(i.expires_at)
    .bind(i.created_at)
    .bind(i.last_used_at)
    .bind(i.revoked_at)
    .bind(&i.note)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get<'c>(
    db: impl Executor<'c, Database = Any>,
    id: &str,
) -> Result<Option<InviteRow>, sqlx::Error> {
    super::fetch_optional(sqlx::query(select_invites!("WHERE id = $1")).bind(id), db, from_row).await
}

pub async fn get_by_code<'c>(
    db: impl Executor<'c, Database = Any>,
    code: &str,
) -> Result<Option<InviteRow>, sqlx::Error> {
    super::fetch_optional(sqlx::query(select_invites!("WHERE code = $1")).bind(code), db, from_row).await
}

/// Takes one use of `code` if it is redeemable at `now`, in one statement
/// (so that two concurrent registrations cannot both take the last use).
pub async fn consume<'c>(
    db: impl Executor<'c, Database = Any>,
    code: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(concat!(
        "UPDATE invite_codes SET uses_remaining = uses_remaining - 1, last_used_at = $1 \
         WHERE code = $2 AND ",
        valid_at!("$1")
    ))
    .bind(now)
    .bind(code)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records who redeemed the code last.
pub async fn set_used_by<'c>(
    db: impl Executor<'c, Database = Any>,
    code: &str,
    user_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE invite_codes SET used_by = $1 WHERE code = $2")
        .bind(user_id)
        .bind(code)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn list<'c>(
    db: impl Executor<'c, Database = Any>,
    f: &InviteFilter,
) -> Result<Vec<InviteRow>, sqlx::Error> {
    super::fetch_all(
        sqlx::query(concat!(
            select_invites!("WHERE ($1 IS NULL OR created_by = $1) AND ($2 IS NULL OR ($2 = 1) = "),
            valid_at!("$3"),
            ") ORDER BY created_at DESC, id LIMIT $4 OFFSET $5"
        ))
        .bind(&f.created_by)
        .bind(f.valid.map(i64::from))
        .bind(f.now)
        .bind(f.limit)
        .bind(f.offset),
        db,
        from_row,
    )
    .await
}

/// Sets `revoked_at` unless already set; returns whether the code exists.
pub async fn revoke<'c>(
    db: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE invite_codes SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete<'c>(db: impl Executor<'c, Database = Any>, id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM invite_codes WHERE id = $1").bind(id).execute(db).await?.rows_affected() == 1)
}

/// Counts: (total, valid, expired, exhausted, revoked, total_uses).
pub async fn stats<'c>(db: impl Executor<'c, Database = Any>, now: i64) -> Result<[i64; 6], sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT COUNT(*) AS total, \
         COALESCE(SUM(CASE WHEN ",
        valid_at!("$1"),
        " THEN 1 ELSE 0 END), 0) AS valid, \
         COALESCE(SUM(CASE WHEN expires_at IS NOT NULL AND expires_at <= $1 THEN 1 ELSE 0 END), 0) AS expired, \
         COALESCE(SUM(CASE WHEN uses_remaining <= 0 THEN 1 ELSE 0 END), 0) AS exhausted, \
         COALESCE(SUM(CASE WHEN revoked_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS revoked, \
         CAST(COALESCE(SUM(max_uses - uses_remaining), 0) AS BIGINT) AS total_uses \
         FROM invite_codes"
    ))
    .bind(now)
    .fetch_one(db)
    .await?;
    let get = |c: &str| row.try_get::<i64, _>(c);
    Ok([
        get("total")?,
        get("valid")?,
        get("expired")?,
        get("exhausted")?,
        get("revoked")?,
        get("total_uses")?,
    ])
}
