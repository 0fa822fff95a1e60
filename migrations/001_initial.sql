-- Devices as the cloud names them. `id` is the compact key every other
-- table uses; the cloud's 18-digit deviceId is stored once, here.
CREATE TABLE devices (
  id             INTEGER PRIMARY KEY,
  device_id      TEXT NOT NULL UNIQUE,
  name           TEXT,
  model          TEXT,
  serial         TEXT,
  listed         INTEGER NOT NULL DEFAULT 0,  -- seen in a user:device:list
  last_report_ms INTEGER
);

-- Probe states ("cooking", "charged", ...) interned so that a report stores
-- a small number instead of the word.
CREATE TABLE probe_states (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);

-- One row per status report: every probe of the report packed in `probes`
-- (see storage/src/report_codec.cpp). One row per report instead of one per
-- reading keeps a 4-probe reading near 25 bytes on disk and the insert rate
-- well above what the cloud can send.
CREATE TABLE reports (
  device INTEGER NOT NULL REFERENCES devices(id),
  ts_ms  INTEGER NOT NULL,
  probes BLOB NOT NULL,
  PRIMARY KEY (device, ts_ms)
) WITHOUT ROWID;

-- Cooking sessions, one per cookUuid. The aggregates the listings need are
-- kept up to date on write so that reading them never scans readings.
CREATE TABLE cooks (
  id            INTEGER PRIMARY KEY,
  cook_uuid     TEXT NOT NULL UNIQUE,
  device        INTEGER NOT NULL REFERENCES devices(id),
  probe         INTEGER NOT NULL CHECK (probe BETWEEN 1 AND 4),
  unit          TEXT NOT NULL CHECK (unit IN ('F', 'C')),
  mode          TEXT,
  notes         TEXT,
  probe_serial  TEXT,
  first_ms      INTEGER NOT NULL,
  last_ms       INTEGER NOT NULL,
  readings      INTEGER NOT NULL DEFAULT 0,
  max_tenths    INTEGER,
  target_tenths INTEGER,
  target_ms     INTEGER,  -- time of the reading `target_tenths` came from
  ended_ms      INTEGER,
  end_reason    TEXT CHECK (end_reason IN ('docked', 'replaced'))
);
CREATE INDEX cooks_by_probe ON cooks (device, probe, last_ms);
CREATE INDEX cooks_by_start ON cooks (first_ms);
