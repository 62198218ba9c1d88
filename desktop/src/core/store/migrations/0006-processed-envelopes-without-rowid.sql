-- One B-tree keyed by the GUID instead of a rowid table plus a GUID index: every received envelope
-- writes here inside its transaction, so half the pages to encrypt and write per batch.
CREATE TABLE processed_envelopes_new (
  guid TEXT PRIMARY KEY,
  processed_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO processed_envelopes_new SELECT guid, processed_at FROM processed_envelopes;
DROP TABLE processed_envelopes;
ALTER TABLE processed_envelopes_new RENAME TO processed_envelopes;
