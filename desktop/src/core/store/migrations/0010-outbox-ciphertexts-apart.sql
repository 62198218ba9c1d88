-- An outbox item's ciphertexts in a table of their own, one row per device, as bytes. Kept in the item's
-- row as JSON, they grew each row in place from about 300 to 1,200 bytes after it was queued: rows no
-- longer fitted their pages, which split, and a long outbox wrote most of its pages twice more before its
-- items were sent and deleted (bench:core's sender: 2.3 WAL pages per message sent, 1.5 of them outbox).
CREATE TABLE outbox_ciphertexts (
  seq INTEGER NOT NULL, -- the outbox item's seq
  device_id INTEGER NOT NULL,
  registration_id INTEGER NOT NULL,
  type TEXT NOT NULL,
  content BLOB NOT NULL,
  PRIMARY KEY (seq, device_id)
) STRICT, WITHOUT ROWID;
-- Ciphertexts prepared before this version are dropped, and those items are encrypted again when sent.
-- If one of them had reached the recipient already, the copy carries the same message id and is ignored
-- there (messages are stored once per id; receipts, reactions, edits and deletes are idempotent).
ALTER TABLE outbox DROP COLUMN prepared;
