-- Each conversation's unread count, kept by triggers. A summary (the conversation list, every
-- conversation_updated event) counted the unread rows instead: 2 ms at 100,000 unread and 9 ms at
-- 300,000 here, once per 16 ms burst during a catch-up, so a long backlog caught up in quadratic time.
ALTER TABLE conversations ADD COLUMN unread_count INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET unread_count = (
  SELECT count(*) FROM messages m WHERE m.conversation_id = conversations.id AND m.unread = 1);

CREATE TRIGGER messages_unread_insert AFTER INSERT ON messages WHEN new.unread = 1 BEGIN
  UPDATE conversations SET unread_count = unread_count + 1 WHERE id = new.conversation_id;
END;
CREATE TRIGGER messages_unread_update AFTER UPDATE OF unread ON messages WHEN old.unread <> new.unread BEGIN
  UPDATE conversations SET unread_count = unread_count + new.unread - old.unread WHERE id = new.conversation_id;
END;
CREATE TRIGGER messages_unread_delete AFTER DELETE ON messages WHEN old.unread = 1 BEGIN
  UPDATE conversations SET unread_count = unread_count - 1 WHERE id = old.conversation_id;
END;
