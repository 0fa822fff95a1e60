-- The audit trail of `thermomaven command`: who sent what to which device,
-- when, and what became of it (the device's receipt and, for stop and
-- finish, whether the cook really ended).
CREATE TABLE commands (
  id          INTEGER PRIMARY KEY,
  sent_ms     INTEGER NOT NULL,   -- when app/command/send accepted it
  who         TEXT NOT NULL,      -- the account (email) that sent it
  device_id   TEXT NOT NULL,
  probe       INTEGER,            -- 1..4; NULL for device settings
  cmd_type    TEXT NOT NULL,      -- e.g. WT09:cooking:action
  cmd_id      TEXT NOT NULL,      -- the 32-hex id the receipt names
  what        TEXT NOT NULL,      -- one line: "set-target 203.0F", "volume quiet"
  result      TEXT NOT NULL,      -- sent, success, failure, no_receipt, no_effect
  cmd_error   INTEGER,            -- the receipt's cmdError
  receipt_ms  INTEGER             -- when the receipt arrived
);
CREATE INDEX commands_by_time ON commands (sent_ms);
