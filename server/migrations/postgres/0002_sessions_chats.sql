-- Workspace sessions and the chats (agent processes) they host.
CREATE TABLE workspace_sessions (
    id                TEXT PRIMARY KEY NOT NULL,
    readable_id       TEXT NOT NULL UNIQUE,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workspace_path    TEXT NOT NULL,
    status            TEXT NOT NULL,
    error_message     TEXT,
    runtime_version   TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    started_at        BIGINT,
    stopped_at        BIGINT,
    last_activity_at  BIGINT NOT NULL
);
CREATE INDEX workspace_sessions_user ON workspace_sessions (user_id, last_activity_at);

CREATE TABLE chats (
    id                    TEXT PRIMARY KEY NOT NULL,
    user_id               TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workspace_session_id  TEXT,
    cwd                   TEXT NOT NULL,
    harness               TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    last_activity_at      BIGINT NOT NULL
);
CREATE INDEX chats_user ON chats (user_id, last_activity_at);
