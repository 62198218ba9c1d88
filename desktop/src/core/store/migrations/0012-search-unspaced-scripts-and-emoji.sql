-- Full-text search finds words inside Chinese, Japanese and Korean text, and emoji: the index holds each
-- character of those scripts, and each emoji, as a token of its own (search_text(), a function the app
-- defines on every connection; see search-text.ts). Other text is indexed exactly as before, so only
-- messages with such characters are indexed again here. FTS5's 'rebuild' and 'integrity-check' read the
-- body as written, not as indexed: do not use them on this table.
DROP TRIGGER messages_fts_delete;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.kind = 'text' AND old.seq <= (SELECT indexed_seq FROM fts_progress) BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.seq, search_text(old.body));
END;
DROP TRIGGER messages_fts_update;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages
WHEN old.kind = 'text' AND old.seq <= (SELECT indexed_seq FROM fts_progress) BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.seq, search_text(old.body));
  INSERT INTO messages_fts (rowid, body) VALUES (new.seq, search_text(new.body));
END;

CREATE TEMP TABLE reindex AS
  SELECT seq, body FROM messages
  WHERE kind = 'text' AND seq <= (SELECT indexed_seq FROM fts_progress) AND search_text(body) <> body;
INSERT INTO messages_fts (messages_fts, rowid, body) SELECT 'delete', seq, body FROM reindex;
INSERT INTO messages_fts (rowid, body) SELECT seq, search_text(body) FROM reindex;
DROP TABLE reindex;
