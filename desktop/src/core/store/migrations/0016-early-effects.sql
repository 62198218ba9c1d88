-- Edits, deletions for everyone and reactions that arrive before the message they are about. A sender's
-- outbox sends a run concurrently (its messages may commit at the relay out of order), and a message its
-- reader could not decrypt comes again later on a resend request, after what followed it. Such an effect
-- waits here and is applied when its message arrives, instead of being dropped: a deletion for everyone
-- that overtook its message left that message on the reader's screen for good. `content` is the effect as
-- received (JSON), `sent_at` its shown time. Kept as long as the relay keeps an envelope (30 days).
CREATE TABLE early_effects (
  target_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  content TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL
) STRICT;
CREATE INDEX early_effects_target ON early_effects (target_id);
CREATE INDEX early_effects_account ON early_effects (account_id, received_at);
