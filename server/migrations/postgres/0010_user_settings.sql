-- Each user's own values of the user-scope settings keys.
CREATE TABLE user_settings (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- A dotted key of the oqto settings schema.
    key         TEXT NOT NULL,
    -- JSON.
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
