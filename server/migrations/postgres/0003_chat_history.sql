-- Chat history indexed from the agents' session files, with full-text search.
CREATE TABLE chat_index (
    chat_id         TEXT PRIMARY KEY NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    source_file     TEXT NOT NULL DEFAULT '',
    source_offset   BIGINT NOT NULL DEFAULT 0,
    title           TEXT,
    title_override  TEXT,
    parent_id       TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    message_count   BIGINT NOT NULL DEFAULT 0,
    model           TEXT,
    provider        TEXT,
    tokens_in       BIGINT NOT NULL DEFAULT 0,
    tokens_out      BIGINT NOT NULL DEFAULT 0,
    cache_read      BIGINT NOT NULL DEFAULT 0,
    cache_write     BIGINT NOT NULL DEFAULT 0,
    cost_usd        DOUBLE PRECISION NOT NULL DEFAULT 0
);

CREATE TABLE chat_messages (
    chat_id     TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    idx         BIGINT NOT NULL,
    role        TEXT NOT NULL,
    content     TEXT NOT NULL,
    parts       TEXT NOT NULL,
    created_at  BIGINT,
    model       TEXT,
    provider    TEXT,
    -- PostgreSQL: a generated tsvector with a GIN index.
    search      tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED,
    PRIMARY KEY (chat_id, idx)
);
CREATE INDEX chat_messages_search ON chat_messages USING GIN (search);
