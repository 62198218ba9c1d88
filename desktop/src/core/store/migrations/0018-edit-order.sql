-- Of several edits of a message, the one its sender wrote last wins, by the sender's own clock. The shown
-- time (edited_at) is capped at the edit's arrival here, so with the sender's clock ahead of this device's,
-- two edits were ordered as they arrived, and an older one arriving last undid the newer. Stored edits keep
-- their shown time as their order.
ALTER TABLE messages ADD COLUMN edit_sent_at INTEGER;
UPDATE messages SET edit_sent_at = edited_at WHERE edited_at IS NOT NULL;
