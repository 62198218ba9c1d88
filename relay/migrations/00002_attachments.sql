-- Attachments: encrypted blobs live as files in BLOB_DIR (named by id); this table holds their metadata.
-- The relay never sees attachment keys: clients send them inside end-to-end encrypted messages.
CREATE TABLE attachments (
  -- random, >= 192 bits, base64url; also the file name
  id text PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  size bigint NOT NULL,
  -- SHA-256 of the encrypted blob, as announced by the uploader; checked when the last byte arrives
  sha256 bytea NOT NULL,
  complete boolean NOT NULL DEFAULT false,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  -- Upload lease: one PATCH at a time per blob, across instances (released when the request ends).
  writer uuid,
  writer_until bigint
);
CREATE INDEX attachments_account ON attachments (account_id);
CREATE INDEX attachments_expiry ON attachments (expires_at);
