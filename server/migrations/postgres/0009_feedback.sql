-- What users tell the operators.
CREATE TABLE feedback (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT REFERENCES users (id) ON DELETE SET NULL,
    user_name       TEXT,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    workspace_path  TEXT,
    -- JSON array of strings.
    tags            TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX feedback_created ON feedback (created_at);
CREATE INDEX feedback_user ON feedback (user_id, created_at);
