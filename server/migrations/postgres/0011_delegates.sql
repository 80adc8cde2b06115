-- Delegates: child chats a chat's agent (or its user) started, with their
-- link to the parent chat.
CREATE TABLE delegates (
    id             TEXT PRIMARY KEY NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id      TEXT,
    depth          BIGINT NOT NULL,
    source         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    started_at     BIGINT,
    error_message  TEXT
);
CREATE INDEX delegates_user ON delegates (user_id, created_at);
