-- Users, invite codes and revoked tokens. Times are Unix milliseconds;
-- booleans are 0/1 integers so that the same queries run on PostgreSQL.
CREATE TABLE users (
    id             TEXT PRIMARY KEY NOT NULL,
    username       TEXT NOT NULL,
    email          TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    avatar_url     TEXT,
    role           TEXT NOT NULL CHECK (role IN ('user', 'admin', 'service')),
    is_active      INTEGER NOT NULL DEFAULT 1,
    token_version  INTEGER NOT NULL DEFAULT 0,
    settings       TEXT NOT NULL DEFAULT '{}',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    last_login_at  INTEGER
);
CREATE UNIQUE INDEX users_username_key ON users (LOWER(username));
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE invite_codes (
    id              TEXT PRIMARY KEY NOT NULL,
    code            TEXT NOT NULL UNIQUE,
    created_by      TEXT REFERENCES users (id) ON DELETE SET NULL,
    used_by         TEXT REFERENCES users (id) ON DELETE SET NULL,
    uses_remaining  INTEGER NOT NULL,
    max_uses        INTEGER NOT NULL,
    expires_at      INTEGER,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER,
    revoked_at      INTEGER,
    note            TEXT
);

CREATE TABLE revoked_tokens (
    jti         TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);
