-- A reply keeps an excerpt of the message it quotes. When that message is deleted for everyone or
-- disappears, the excerpt goes too (the reply shows "original message not found"): its words must not
-- outlive it in someone else's bubble. The index finds a message's replies without reading them all.
CREATE INDEX messages_quote ON messages (quote_message_id) WHERE quote_message_id IS NOT NULL;
UPDATE messages SET quote_text = ''
  WHERE quote_text <> '' AND quote_message_id IN (SELECT id FROM messages WHERE deleted = 1);
