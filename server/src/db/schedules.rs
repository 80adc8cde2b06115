//! Queries on `schedules`: the jobs, their leases and their last runs.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

#[derive(Clone, Debug)]
pub struct ScheduleRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub cron: Option<String>,
    pub run_at: Option<i64>,
    /// `prompt` or `command`.
    pub kind: String,
    pub workspace_path: String,
    /// The prompt or the command.
    pub payload: String,
    pub enabled: bool,
    pub next_run_at: Option<i64>,
    pub last_started_at: Option<i64>,
    pub last_duration_ms: Option<i64>,
    /// `succeeded` or `failed`.
    pub last_status: Option<String>,
    pub last_output: Option<String>,
    pub runs: i64,
    pub created_at: i64,
}

fn schedule_row(row: &AnyRow) -> Result<ScheduleRow, sqlx::Error> {
    Ok(ScheduleRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        cron: row.try_get("cron")?,
        run_at: row.try_get("run_at")?,
        kind: row.try_get("kind")?,
        workspace_path: row.try_get("workspace_path")?,
        payload: row.try_get("payload")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        next_run_at: row.try_get("next_run_at")?,
        last_started_at: row.try_get("last_started_at")?,
        last_duration_ms: row.try_get("last_duration_ms")?,
        last_status: row.try_get("last_status")?,
        last_output: row.try_get("last_output")?,
        runs: row.try_get("runs")?,
        created_at: row.try_get("created_at")?,
    })
}

const COLUMNS: &str = "id, user_id, name, cron, run_at, kind, workspace_path, payload, enabled, next_run_at, \
                       last_started_at, last_duration_ms, last_status, last_output, runs, created_at";

pub async fn insert<'c>(db: impl Executor<'c, Database = Any>, s: &ScheduleRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO schedules (id, user_id, name, cron, run_at, kind, workspace_path, payload, enabled, \
         next_run_at, runs, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11)",
    )
    .bind(&s.id)
    .bind(&s.user_id)
    .bind(&s.name)
    .bind(&s.cron)
    .bind(s.run_at)
    .bind(&s.kind)
    .bind(&s.workspace_path)
    .bind(&s.payload)
    .bind(i64::from(s.enabled))
    .bind(s.next_run_at)
    .bind(s.created_at)
    .execute(db)
    .await?;
    Ok(())
}

/// A user's job by name.
pub async fn get<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
    name: &str,
) -> Result<Option<ScheduleRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM schedules WHERE user_id = $1 AND name = $2");
    super::fetch_optional(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id).bind(name), db, schedule_row)
        .await
}

/// A job by id.
pub async fn by_id<'c>(
    db: impl Executor<'c, Database = Any>,
    id: &str,
) -> Result<Option<ScheduleRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM schedules WHERE id = $1");
    super::fetch_optional(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id), db, schedule_row).await
}

/// A user's jobs by name.
pub async fn list<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<Vec<ScheduleRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM schedules WHERE user_id = $1 ORDER BY name");
    super::fetch_all(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id), db, schedule_row).await
}

/// How many jobs a user has.
pub async fn count<'c>(db: impl Executor<'c, Database = Any>, user_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM schedules WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(db)
        .await?
        .try_get("n")
}

pub async fn delete<'c>(
    db: impl Executor<'c, Database = Any>,
    user_id: &str,
    name: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM schedules WHERE user_id = $1 AND name = $2")
        .bind(user_id)
        .bind(name)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Pauses or resumes a job, with its next run.
pub async fn set_enabled<'c>(
    db: impl Executor<'c, Database = Any>,
    id: &str,
    enabled: bool,
    next_run_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE schedules SET enabled = $2, next_run_at = $3 WHERE id = $1")
        .bind(id)
        .bind(i64::from(enabled))
        .bind(next_run_at)
        .execute(db)
        .await?;
    Ok(())
}

/// Ids of enabled jobs due at `now` whose lease (if any) ran out.
pub async fn due<'c>(
    db: impl Executor<'c, Database = Any>,
    now: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id FROM schedules WHERE enabled = 1 AND next_run_at <= $1 \
         AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_run_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// Takes the lease of a due job for `owner` until `until`; whether this
/// caller got it (one conditional update: of two replicas, one wins).
pub async fn claim<'c>(
    db: impl Executor<'c, Database = Any>,
    id: &str,
    owner: &str,
    now: i64,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE schedules SET lease_owner = $2, lease_until = $4 WHERE id = $1 AND enabled = 1 \
         AND next_run_at <= $3 AND (lease_until IS NULL OR lease_until < $3)",
    )
    .bind(id)
    .bind(owner)
    .bind(now)
    .bind(until)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A run's outcome.
pub struct Finished<'a> {
    pub started_at: i64,
    pub duration_ms: i64,
    pub status: &'a str,
    pub output: &'a str,
    /// The next run (`None` ends a one-off job).
    pub next_run_at: Option<i64>,
}

/// Records a run by the lease's owner and gives the lease back.
pub async fn finish<'c>(
    db: impl Executor<'c, Database = Any>,
    id: &str,
    owner: &str,
    run: &Finished<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE schedules SET last_started_at = $3, last_duration_ms = $4, last_status = $5, last_output = $6, \
         runs = runs + 1, next_run_at = CASE WHEN enabled = 1 THEN $7 ELSE next_run_at END, \
         enabled = CASE WHEN $7 IS NULL THEN 0 ELSE enabled END, lease_owner = NULL, lease_until = NULL \
         WHERE id = $1 AND lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(run.started_at)
    .bind(run.duration_ms)
    .bind(run.status)
    .bind(run.output)
    .bind(run.next_run_at)
    .execute(db)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn of_two_replicas_one_takes_a_due_job_and_only_its_run_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = crate::db::Db::connect(&url, 2).await.unwrap();
        sqlx::query(
            "INSERT INTO users (id, username, email, password_hash, display_name, role, is_active, \
             token_version, settings, created_at, updated_at) \
             VALUES ('u1', 'u', 'u@example.org', 'x', 'U', 'user', 1, 0, '{}', 0, 0)",
        )
        .execute(&db.pool)
        .await
        .unwrap();
        let row = ScheduleRow {
            id: "s1".into(),
            user_id: "u1".into(),
            name: "job".into(),
            cron: Some("* * * * *".into()),
            run_at: None,
            kind: "command".into(),
            workspace_path: ".".into(),
            payload: "true".into(),
            enabled: true,
            next_run_at: Some(1_000),
            last_started_at: None,
            last_duration_ms: None,
            last_status: None,
            last_output: None,
            runs: 0,
            created_at: 0,
        };
        insert(&db.pool, &row).await.unwrap();
        assert_eq!(due(&db.pool, 999, 10).await.unwrap(), Vec::<String>::new());
        assert_eq!(due(&db.pool, 1_000, 10).await.unwrap(), ["s1"]);
        let (a, b) = tokio::join!(
            claim(&db.pool, "s1", "replica-a", 2_000, 60_000),
            claim(&db.pool, "s1", "replica-b", 2_000, 60_000)
        );
        assert!(a.unwrap() ^ b.unwrap(), "exactly one replica takes the lease");
        assert!(due(&db.pool, 3_000, 10).await.unwrap().is_empty(), "a leased job is not due");
        let run = Finished {
            started_at: 2_000,
            duration_ms: 5,
            status: "succeeded",
            output: "ok",
            next_run_at: Some(120_000),
        };
        // Only the lease's owner records a run.
        for owner in ["replica-a", "replica-b"] {
            finish(&db.pool, "s1", owner, &run).await.unwrap();
        }
        let stored = by_id(&db.pool, "s1").await.unwrap().unwrap();
        assert_eq!((stored.runs, stored.next_run_at, stored.enabled), (1, Some(120_000), true));
        // A lease that ran out (its replica died) can be taken again.
        claim(&db.pool, "s1", "replica-a", 130_000, 140_000).await.unwrap();
        assert!(claim(&db.pool, "s1", "replica-b", 150_000, 200_000).await.unwrap());
    }
}
