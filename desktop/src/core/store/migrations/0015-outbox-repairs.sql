-- Session repairs (a 409/410 answered by fixing sessions and encrypting again) counted apart from failed
-- attempts. Both were one `attempts` count, which every unreachable relay raised too: a message retried a
-- few times while offline had no repair left when its recipient turned out to have reinstalled, and was
-- resent with the same stale ciphertexts forever, `sending`, with everything after it to that person held.
-- Items queued before this version start with no repair used, so such a message is repaired after updating.
ALTER TABLE outbox ADD COLUMN repairs INTEGER NOT NULL DEFAULT 0;
