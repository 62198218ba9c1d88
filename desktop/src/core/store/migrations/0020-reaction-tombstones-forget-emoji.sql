-- A reaction taken back keeps no emoji: its tombstone (0017) needs only its person and sent time to hold
-- against an older reaction arriving late, and the emoji the person took back is not kept after they took it
-- back. Tombstones stored before this forget theirs.
UPDATE reactions SET emoji = '' WHERE removed = 1;
