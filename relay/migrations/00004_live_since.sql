-- When the device's newest socket (live_connection) connected, by the accepting instance's clock. The
-- write on connect is not awaited, so two sockets that connect close together may write out of order;
-- a socket overwrites the register only when it connected later (ties broken by connection id), so the
-- register always names the newest socket.
ALTER TABLE devices ADD COLUMN live_since bigint;
