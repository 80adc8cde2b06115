-- Workspace locations: roots whose subdirectories are projects. `scope` is
-- the owner's id, or '*' for a shared location an admin configured.
CREATE TABLE workspace_locations (
    scope         TEXT NOT NULL,
    workspace_id  TEXT NOT NULL,
    location_id   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    path          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (scope, workspace_id, location_id)
);

-- Each user's active location per group.
CREATE TABLE workspace_location_active (
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workspace_id  TEXT NOT NULL,
    location_id   TEXT NOT NULL,
    PRIMARY KEY (user_id, workspace_id)
);
