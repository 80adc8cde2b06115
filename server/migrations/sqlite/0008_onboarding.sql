-- Onboarding state in its own table (it lived under the `onboarding` key of
-- users.settings).
CREATE TABLE onboarding (
    user_id     TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- JSON object (OnboardingState).
    state       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
INSERT INTO onboarding (user_id, state, updated_at)
    SELECT id, json_extract(settings, '$.onboarding'), updated_at FROM users
    WHERE json_valid(settings) AND json_type(settings, '$.onboarding') = 'object';
UPDATE users SET settings = json_remove(settings, '$.onboarding')
    WHERE json_valid(settings) AND json_type(settings, '$.onboarding') IS NOT NULL;
