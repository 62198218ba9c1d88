-- A stored message adds to its conversation's unread count in the statement after its INSERT (see
-- insertMessage) instead of in a trigger. A trigger makes every INSERT a statement SQLite may have to undo
-- halfway, so inside a transaction each one first copied every page it was about to change into a statement
-- journal: 4 to 5 % of a catch-up's CPU, most of it allocating and copying that journal. The count is the
-- same: updates and deletes of unread messages keep their triggers.
DROP TRIGGER messages_unread_insert;
