-- Model providers: the server's LLM providers; keys sealed with a key
-- derived from the server's secret (never in a response or a log).
CREATE TABLE model_providers (
    name            TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,
    base_url        TEXT,
    api_version     TEXT,
    deployment      TEXT,
    models          TEXT NOT NULL,
    api_key_sealed  TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
