-- Memories of a user's workspace, with full-text search.
CREATE TABLE memories (
    rowid        INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The workspace as the API shows it (relative to the user's root).
    workspace    TEXT NOT NULL,
    store        TEXT NOT NULL,
    memory_type  TEXT NOT NULL,
    content      TEXT NOT NULL,
    -- JSON object.
    metadata     TEXT NOT NULL,
    importance   INTEGER NOT NULL,
    category     TEXT NOT NULL,
    -- JSON array of strings.
    tags         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX memories_workspace ON memories (user_id, workspace, updated_at);

-- SQLite: an external-content FTS5 index kept in step by triggers.
CREATE VIRTUAL TABLE memories_fts USING fts5(content, category, tags, content = 'memories', content_rowid = 'rowid');
CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, content, category, tags) VALUES (new.rowid, new.content, new.category, new.tags);
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content, category, tags)
        VALUES ('delete', old.rowid, old.content, old.category, old.tags);
END;
CREATE TRIGGER memories_fts_update AFTER UPDATE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content, category, tags)
        VALUES ('delete', old.rowid, old.content, old.category, old.tags);
    INSERT INTO memories_fts (rowid, content, category, tags) VALUES (new.rowid, new.content, new.category, new.tags);
END;
