-- A new device now takes the lowest free device id (see addDevice), so a removed device's id is used
-- again; the ever-growing counter, which ran out after 126 devices added over an account's life, goes.
ALTER TABLE accounts DROP COLUMN next_device_id;
