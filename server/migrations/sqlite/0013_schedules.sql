-- Scheduled jobs: a prompt into a chat or a command in a workspace, at a
-- cron schedule or once; the replica holding the lease runs a due job.
CREATE TABLE schedules (
    id                TEXT PRIMARY KEY NOT NULL,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    cron              TEXT,
    run_at            INTEGER,
    kind              TEXT NOT NULL,
    workspace_path    TEXT NOT NULL,
    payload           TEXT NOT NULL,
    enabled           INTEGER NOT NULL,
    next_run_at       INTEGER,
    lease_owner       TEXT,
    lease_until       INTEGER,
    last_started_at   INTEGER,
    last_duration_ms  INTEGER,
    last_status       TEXT,
    last_output       TEXT,
    runs              INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    UNIQUE (user_id, name)
);
CREATE INDEX schedules_due ON schedules (next_run_at);
