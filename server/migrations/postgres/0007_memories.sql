-- Memories of a user's workspace, with full-text search.
CREATE TABLE memories (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The workspace as the API shows it (relative to the user's root).
    workspace    TEXT NOT NULL,
    store        TEXT NOT NULL,
    memory_type  TEXT NOT NULL,
    content      TEXT NOT NULL,
    -- JSON object.
    metadata     TEXT NOT NULL,
    importance   BIGINT NOT NULL,
    category     TEXT NOT NULL,
    -- JSON array of strings.
    tags         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    -- PostgreSQL: a generated tsvector with a GIN index.
    search       tsvector GENERATED ALWAYS AS
                     (to_tsvector('simple', content || ' ' || category || ' ' || tags)) STORED
);
CREATE INDEX memories_workspace ON memories (user_id, workspace, updated_at);
CREATE INDEX memories_search ON memories USING GIN (search);
