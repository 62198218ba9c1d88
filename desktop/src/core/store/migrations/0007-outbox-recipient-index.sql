-- Each recipient's queue is read head first (dueRun, dueRecipients): without this index finding the heads
-- scanned the whole outbox for every recipient, so a long outbox (offline for a while) drained in
-- quadratic time.
CREATE INDEX outbox_recipient_seq ON outbox (recipient_account_id, seq);
