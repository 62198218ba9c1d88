-- When this device first saw the relay not hold a one-time prekey (null while it does, or before anyone
-- looked). The relay no longer holding a key means it handed the key out, or never took it (the answer to
-- its upload was lost before the relay stored it). Once every envelope that could use the key has arrived or
-- expired at the relay, its private half is deleted (see KeyManager.noteHeldOneTimeKeys): before, the private
-- halves of keys handed out to someone who never wrote, and of refills the relay never took, were kept for ever.
ALTER TABLE prekeys ADD COLUMN missing_since INTEGER;
ALTER TABLE kyber_prekeys ADD COLUMN missing_since INTEGER;
