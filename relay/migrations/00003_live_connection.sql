-- The device's newest socket, written when it connects (with last_seen_at). Takeovers travel through
-- Redis; while Redis is down, each socket compares this at its heartbeat and closes with "connected
-- elsewhere" when a newer socket for its device opened on any instance.
ALTER TABLE devices ADD COLUMN live_connection uuid;
