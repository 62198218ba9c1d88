-- Sotto relay schema v1. The relay stores ciphertext, public keys and the minimum routing metadata.
-- Timestamps are milliseconds since the Unix epoch (bigint), taken from the relay's injectable clock.

CREATE TABLE accounts (
  id uuid PRIMARY KEY,
  username text NOT NULL,
  identity_key bytea,
  next_device_id integer NOT NULL DEFAULT 2,
  created_at bigint NOT NULL
);
CREATE UNIQUE INDEX accounts_username_key ON accounts (lower(username));

CREATE TABLE devices (
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  device_id smallint NOT NULL,
  name text,
  registration_id integer NOT NULL,
  -- scrypt hash of the client-chosen device secret; never the secret itself
  secret_hash text NOT NULL,
  created_at bigint NOT NULL,
  last_seen_at bigint,
  PRIMARY KEY (account_id, device_id)
);

-- Refresh-token families: one per device-secret login. Revoking a family kills its access tokens and sockets.
CREATE TABLE token_families (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL,
  device_id smallint NOT NULL,
  created_at bigint NOT NULL,
  revoked_at bigint,
  FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, device_id) ON DELETE CASCADE
);
CREATE INDEX token_families_device ON token_families (account_id, device_id);

-- Opaque refresh tokens, stored as sha256 only.
CREATE TABLE refresh_tokens (
  token_hash bytea PRIMARY KEY,
  family_id uuid NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  used_at bigint
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE signed_prekeys (
  account_id uuid NOT NULL,
  device_id smallint NOT NULL,
  key_id integer NOT NULL,
  public_key bytea NOT NULL,
  signature bytea NOT NULL,
  PRIMARY KEY (account_id, device_id),
  FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, device_id) ON DELETE CASCADE
);

CREATE TABLE kyber_last_resort_prekeys (
  account_id uuid NOT NULL,
  device_id smallint NOT NULL,
  key_id integer NOT NULL,
  public_key bytea NOT NULL,
  signature bytea NOT NULL,
  PRIMARY KEY (account_id, device_id),
  FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, device_id) ON DELETE CASCADE
);

CREATE TABLE one_time_prekeys (
  id bigserial PRIMARY KEY,
  account_id uuid NOT NULL,
  device_id smallint NOT NULL,
  key_id integer NOT NULL,
  public_key bytea NOT NULL,
  UNIQUE (account_id, device_id, key_id),
  FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, device_id) ON DELETE CASCADE
);

CREATE TABLE one_time_kyber_prekeys (
  id bigserial PRIMARY KEY,
  account_id uuid NOT NULL,
  device_id smallint NOT NULL,
  key_id integer NOT NULL,
  public_key bytea NOT NULL,
  signature bytea NOT NULL,
  UNIQUE (account_id, device_id, key_id),
  FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, device_id) ON DELETE CASCADE
);

-- Durable per-device queues. `id` orders a device's queue; `guid` is what the device acks.
CREATE TABLE envelopes (
  id bigserial PRIMARY KEY,
  guid uuid NOT NULL UNIQUE,
  account_id uuid NOT NULL,
  device_id smallint NOT NULL,
  type text NOT NULL,
  source_account_id uuid,
  source_device_id smallint,
  client_timestamp bigint NOT NULL,
  server_timestamp bigint NOT NULL,
  expires_at bigint NOT NULL,
  content bytea NOT NULL,
  FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, device_id) ON DELETE CASCADE
);
CREATE INDEX envelopes_queue ON envelopes (account_id, device_id, id);
CREATE INDEX envelopes_expiry ON envelopes (expires_at);

-- Single-use invite codes, stored as sha256 only.
CREATE TABLE invites (
  code_hash bytea PRIMARY KEY,
  created_at bigint NOT NULL,
  expires_at bigint,
  used_at bigint,
  used_by uuid
);

-- The relay's own signing keys (shared by every instance). Never any client secret.
CREATE TABLE server_keys (
  name text PRIMARY KEY,
  private_jwk jsonb NOT NULL,
  public_jwk jsonb NOT NULL,
  created_at bigint NOT NULL
);
