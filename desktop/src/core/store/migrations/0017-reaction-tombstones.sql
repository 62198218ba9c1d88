-- A reaction taken back keeps its row, marked removed, with the removal's sent time (a tombstone). The row
-- was deleted instead, so a removal that overtook its reaction on the way (a resend after a decryption
-- error, an effect that waited for its message) found nothing to delete, and the older reaction arriving
-- after it was shown for good. Now the newest sent of a person's reactions and removals on a message wins,
-- whatever order they arrive in; a removed row is never shown. Stored rows are reactions, none removed.
ALTER TABLE reactions ADD COLUMN removed INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1));
