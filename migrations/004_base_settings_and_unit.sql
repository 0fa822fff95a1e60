-- Fields of protocol.md that were dropped before (issue 10), and the
-- account's temperature unit.
--
-- The base station's own state and settings: only the latest is kept, per
-- device, with the time of the report it came from so that a late report
-- never overwrites a newer one. NULL: never reported.
ALTER TABLE devices ADD COLUMN battery_status TEXT;      -- batteryStatus: normal, low, charging
ALTER TABLE devices ADD COLUMN connect_status TEXT;      -- connectStatus: both, wifi, ble
ALTER TABLE devices ADD COLUMN volume TEXT;              -- high, medium, quiet
ALTER TABLE devices ADD COLUMN has_wifi_config INTEGER;  -- hasWifiConfig: 0 or 1
ALTER TABLE devices ADD COLUMN base_state_ms INTEGER;    -- time of the report these came from

-- Who started the cook (startClient: device, android, ios), and the cook's
-- latest setParams as received (a JSON array of stages; the first is the
-- current target, which each reading also keeps).
ALTER TABLE cooks ADD COLUMN start_client TEXT;
ALTER TABLE cooks ADD COLUMN set_params TEXT;

-- The account's temperature unit as the cloud last said it
-- (setting.temperatureUnit), so that `serve` and the exporter know it.
-- Every stored report keeps the unit it was received in; this is only the
-- current setting.
CREATE TABLE account (
  id               INTEGER PRIMARY KEY CHECK (id = 1),
  temperature_unit TEXT NOT NULL CHECK (temperature_unit IN ('F', 'C')),
  unit_read_ms     INTEGER NOT NULL  -- when the cloud last answered with it
);
