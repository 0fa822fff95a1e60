-- The collector's own counters and connection state, written in the same
-- transaction as the readings they count, so that an exporter in another
-- process reports them consistently with the data.
CREATE TABLE collector_counters (
  name  TEXT NOT NULL,             -- e.g. messages, rejected
  label TEXT NOT NULL DEFAULT '',  -- e.g. the kind or the reason
  value INTEGER NOT NULL,
  PRIMARY KEY (name, label)
) WITHOUT ROWID;

CREATE TABLE collector_state (
  id                     INTEGER PRIMARY KEY CHECK (id = 1),
  updated_ms             INTEGER NOT NULL,
  pid                    INTEGER,
  state                  TEXT NOT NULL,  -- e.g. connecting, connected, backoff
  mqtt_connected         INTEGER NOT NULL DEFAULT 0,
  mqtt_reconnects        INTEGER NOT NULL DEFAULT 0,
  cert_expiry_s          INTEGER,
  last_error             TEXT
);
