-- The owner beside each chat's summary, so that a page of a user's history
-- is read from one index in order (not by joining and sorting all of the
-- user's chats).
ALTER TABLE chat_index ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
UPDATE chat_index SET user_id = (SELECT c.user_id FROM chats c WHERE c.id = chat_index.chat_id);
CREATE INDEX chat_index_user_recent ON chat_index (user_id, updated_at DESC, chat_id);
