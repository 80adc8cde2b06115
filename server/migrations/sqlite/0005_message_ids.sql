-- Stable message ids (the agent's own entry id when it wrote one) and the
-- client's id of the prompt that produced a user message.
ALTER TABLE chat_messages ADD COLUMN message_id TEXT;
ALTER TABLE chat_messages ADD COLUMN client_id TEXT;
