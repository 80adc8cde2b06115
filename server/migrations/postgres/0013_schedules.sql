-- Scheduled jobs: a prompt into a chat or a command in a workspace, at a
-- cron schedule or once; the replica holding the lease runs a due job.
CREATE TABLE schedules (
    id                TEXT PRIMARY KEY NOT NULL,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    cron              TEXT,
    run_at            BIGINT,
    kind              TEXT NOT NULL,
    workspace_path    TEXT NOT NULL,
    payload           TEXT NOT NULL,
    enabled           BIGINT NOT NULL,
    next_run_at       BIGINT,
    lease_owner       TEXT,
    lease_until       BIGINT,
    last_started_at   BIGINT,
    last_duration_ms  BIGINT,
    last_status       TEXT,
    last_output       TEXT,
    runs              BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    UNIQUE (user_id, name)
);
CREATE INDEX schedules_due ON schedules (next_run_at);
