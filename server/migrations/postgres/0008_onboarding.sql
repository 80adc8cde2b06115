-- Onboarding state in its own table (it lived under the `onboarding` key of
-- users.settings).
CREATE TABLE onboarding (
    user_id     TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- JSON object (OnboardingState).
    state       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
INSERT INTO onboarding (user_id, state, updated_at)
    SELECT id, (settings::jsonb -> 'onboarding')::text, updated_at FROM users
    WHERE jsonb_typeof(settings::jsonb -> 'onboarding') = 'object';
UPDATE users SET settings = (settings::jsonb - 'onboarding')::text
    WHERE settings::jsonb ? 'onboarding';
