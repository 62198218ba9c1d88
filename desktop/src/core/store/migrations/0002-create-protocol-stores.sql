-- libsignal state. Private keys and ratchet state only ever live in this encrypted database.
CREATE TABLE identities (
  account_id TEXT PRIMARY KEY,
  public_key BLOB NOT NULL,
  first_seen_at INTEGER NOT NULL,
  changed_at INTEGER
) STRICT;

CREATE TABLE sessions (
  account_id TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  record BLOB NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, device_id)
) STRICT;

CREATE TABLE prekeys (
  key_id INTEGER PRIMARY KEY,
  record BLOB NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE signed_prekeys (
  key_id INTEGER PRIMARY KEY,
  record BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  -- When a newer key replaced this one; its private key is deleted after a grace period.
  replaced_at INTEGER
) STRICT;

CREATE TABLE kyber_prekeys (
  key_id INTEGER PRIMARY KEY,
  record BLOB NOT NULL,
  last_resort INTEGER NOT NULL CHECK (last_resort IN (0, 1)),
  created_at INTEGER NOT NULL,
  replaced_at INTEGER
) STRICT;

-- A last-resort Kyber key may be used many times, but never twice with the same base key.
CREATE TABLE kyber_prekey_uses (
  key_id INTEGER NOT NULL,
  signed_prekey_id INTEGER NOT NULL,
  base_key BLOB NOT NULL,
  PRIMARY KEY (key_id, signed_prekey_id, base_key)
) STRICT;

CREATE TABLE sender_keys (
  account_id TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  distribution_id TEXT NOT NULL,
  record BLOB NOT NULL,
  PRIMARY KEY (account_id, device_id, distribution_id)
) STRICT;
