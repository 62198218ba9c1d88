-- The relay device secret moves to the OS keychain where there is one: the column becomes optional
-- (NULL = kept by the profile's secret store; a value = headless profile, kept here, encrypted).
CREATE TABLE profile_new (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  account_id TEXT NOT NULL,
  username TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  relay_url TEXT NOT NULL,
  registration_id INTEGER NOT NULL,
  identity_key_pair BLOB NOT NULL,
  device_secret TEXT,
  created_at INTEGER NOT NULL
) STRICT;
INSERT INTO profile_new SELECT id, account_id, username, device_id, relay_url, registration_id,
  identity_key_pair, device_secret, created_at FROM profile;
DROP TABLE profile;
ALTER TABLE profile_new RENAME TO profile;
