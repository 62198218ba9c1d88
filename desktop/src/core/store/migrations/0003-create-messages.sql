CREATE TABLE conversations (
  id TEXT PRIMARY KEY, -- the peer's account id
  username TEXT NOT NULL,
  expires_in_seconds INTEGER NOT NULL DEFAULT 0,
  verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
  identity_changed INTEGER NOT NULL DEFAULT 0 CHECK (identity_changed IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, -- local arrival order, the pagination cursor's tie-breaker
  id TEXT NOT NULL UNIQUE,
  conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('text', 'identity_change', 'decryption_error', 'timer_change')),
  from_me INTEGER NOT NULL CHECK (from_me IN (0, 1)),
  author_account_id TEXT NOT NULL,
  body TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'delivered', 'read', 'failed')),
  unread INTEGER NOT NULL DEFAULT 0 CHECK (unread IN (0, 1)),
  edited_at INTEGER,
  deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  quote_message_id TEXT,
  quote_author_account_id TEXT,
  quote_text TEXT,
  expires_in_seconds INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER
) STRICT;

CREATE INDEX messages_conversation_order ON messages (conversation_id, sent_at, seq);
CREATE INDEX messages_unread ON messages (conversation_id) WHERE unread = 1;
CREATE INDEX messages_expiry ON messages (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE reactions (
  message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  account_id TEXT NOT NULL,
  emoji TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (message_id, account_id)
) STRICT;

-- Full-text index inside the same encrypted database (external content: no second copy of bodies).
CREATE VIRTUAL TABLE messages_fts USING fts5 (body, content = 'messages', content_rowid = 'seq', tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.kind = 'text' BEGIN
  INSERT INTO messages_fts (rowid, body) VALUES (new.seq, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.kind = 'text' BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.seq, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages WHEN old.kind = 'text' BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.seq, old.body);
  INSERT INTO messages_fts (rowid, body) VALUES (new.seq, new.body);
END;
