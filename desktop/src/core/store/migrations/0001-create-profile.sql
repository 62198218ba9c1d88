-- The local account: one row, written at registration.
CREATE TABLE profile (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  account_id TEXT NOT NULL,
  username TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  relay_url TEXT NOT NULL,
  registration_id INTEGER NOT NULL,
  identity_key_pair BLOB NOT NULL,
  device_secret TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

-- Small named values: next key ids, last rotation times, refresh token.
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
