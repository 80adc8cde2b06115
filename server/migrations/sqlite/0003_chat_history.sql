-- Chat history indexed from the agents' session files, with full-text search.
CREATE TABLE chat_index (
    chat_id         TEXT PRIMARY KEY NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    source_file     TEXT NOT NULL DEFAULT '',
    source_offset   INTEGER NOT NULL DEFAULT 0,
    title           TEXT,
    title_override  TEXT,
    parent_id       TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    message_count   INTEGER NOT NULL DEFAULT 0,
    model           TEXT,
    provider        TEXT,
    tokens_in       INTEGER NOT NULL DEFAULT 0,
    tokens_out      INTEGER NOT NULL DEFAULT 0,
    cache_read      INTEGER NOT NULL DEFAULT 0,
    cache_write     INTEGER NOT NULL DEFAULT 0,
    cost_usd        REAL NOT NULL DEFAULT 0
);

CREATE TABLE chat_messages (
    chat_id     TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    role        TEXT NOT NULL,
    content     TEXT NOT NULL,
    parts       TEXT NOT NULL,
    created_at  INTEGER,
    model       TEXT,
    provider    TEXT,
    PRIMARY KEY (chat_id, idx)
);

-- SQLite: an external-content FTS5 index kept in step by triggers.
CREATE VIRTUAL TABLE chat_messages_fts USING fts5(content, content = 'chat_messages', content_rowid = 'rowid');
CREATE TRIGGER chat_messages_fts_insert AFTER INSERT ON chat_messages BEGIN
    INSERT INTO chat_messages_fts (rowid, content) VALUES (new.rowid, new.content);
END;
CREATE TRIGGER chat_messages_fts_delete AFTER DELETE ON chat_messages BEGIN
    INSERT INTO chat_messages_fts (chat_messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;
