-- Envelope GUIDs already processed: recorded in the same transaction as the decrypted message.
CREATE TABLE processed_envelopes (
  guid TEXT PRIMARY KEY,
  processed_at INTEGER NOT NULL
) STRICT;

-- Persisted outbox: content waiting to be encrypted and sent; survives restarts.
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  recipient_account_id TEXT NOT NULL,
  message_id TEXT, -- the local message whose status follows this send, if any
  content TEXT NOT NULL, -- the shared-types Content as JSON (inside the encrypted database)
  online_only INTEGER NOT NULL DEFAULT 0 CHECK (online_only IN (0, 1)),
  -- Ciphertexts for every device (JSON), committed with the session advance that produced them;
  -- retries resend exactly these bytes (the recipient drops a duplicate), until a 409/410 clears them.
  prepared TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
