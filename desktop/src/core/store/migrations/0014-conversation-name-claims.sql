-- A stranger's first message claims a username (senderUsername), confirmed with the relay's directory
-- after the batch. The claim waits here, committed with the message that made it, so a lookup cut short
-- (the app closed, `sotto receive` exited, the process crashed, the relay did not answer) is asked again
-- on the next connection: held only in memory, it was lost and the claimed name stood unchecked for good.
ALTER TABLE conversations ADD COLUMN claimed_username TEXT;
CREATE INDEX conversations_claimed ON conversations (id) WHERE claimed_username IS NOT NULL;
