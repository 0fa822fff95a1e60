// Reading cooks and the latest device state back out of the database.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "thermomaven/storage/database.hpp"
#include "thermomaven/core/forecast.hpp"
#include "thermomaven/core/records.hpp"
#include "thermomaven/storage/collector_status.hpp"

namespace thermomaven::storage {

// The forecast after a cook's newest reading (core/forecast.hpp).
using CookForecast = forecast::Forecast;

struct CookSession {
  std::string cook_uuid;
  std::string device_id, device_name, model;  // name and model empty when never known
  int probe = 0;
  TemperatureUnit unit = TemperatureUnit::Fahrenheit;  // of the stored tenths below
  std::int64_t first_ms = 0, last_ms = 0;              // first and last reading
  std::int64_t readings = 0;
  std::optional<std::int32_t> max_tenths;     // highest food temperature
  std::optional<std::int32_t> target_tenths;  // latest target
  std::optional<std::string> notes;
  std::string mode;
  std::string start_client;  // startClient: "device", "android", "ios"; empty when never reported
  std::string set_params;    // the latest setParams as received (JSON), empty when never reported
  std::optional<std::int64_t> ended_ms;
  std::string end_reason;  // "docked", "replaced", or empty while not ended
  // When will it be done: absent for a cook written before forecasts existed.
  std::optional<CookForecast> forecast;
};

// One reading of a cook: the probe's values in one status report.
struct CookReading {
  std::int64_t time_ms = 0;
  TemperatureUnit unit = TemperatureUnit::Fahrenheit;
  std::string_view state;  // valid during the callback only
  ProbeSample values;      // numeric fields only; strings are on the cook
};

// The newest stored report of a device, for dashboards.
struct DeviceSnapshot {
  std::string device_id, name, model;
  std::int64_t report_ms = 0;
  TemperatureUnit unit = TemperatureUnit::Fahrenheit;
  std::optional<bool> online;
  std::optional<std::int32_t> battery_pct, wifi_rssi_dbm;
  // The base station's latest state and settings, from whichever report
  // last carried them; empty / absent when never reported.
  std::string battery_status, connect_status, volume;
  std::optional<bool> has_wifi_config;
  struct Probe {
    ProbeSample values;               // state filled in; cook strings from its cook
    std::optional<CookSession> cook;  // the cook running on it, if any
  };
  std::vector<Probe> probes;
};

// The account's temperature unit as the collector last read it from the cloud.
struct AccountUnit {
  TemperatureUnit unit = TemperatureUnit::Fahrenheit;
  std::int64_t read_ms = 0;
};

// Everything a metrics scrape shows, read in one transaction.
struct LatestState {
  std::vector<DeviceSnapshot> devices;
  std::optional<CollectorStatus> collector;
  std::optional<AccountUnit> account_unit;
};

// Which cooks CookReader::query_cooks returns: newest start first.
struct CookQuery {
  std::optional<std::string> device_id;  // only this device's cooks
  std::optional<std::int64_t> from_ms;   // started at or after
  std::optional<std::int64_t> to_ms;     // started at or before
  std::optional<std::string> before;     // only cooks listed after this one (paging)
  int limit = 50;                        // at most this many
};

// Reads run inside one read transaction each, so they see whole batches only
// and never block the writer (WAL).
class CookReader {
 public:
  explicit CookReader(Database& db);

  // Newest first.
  std::vector<CookSession> list_cooks();
  // The cooks `query` selects, newest start first (the order of
  // list_cooks()), through the index on the start time. nullopt when
  // `query.before` names no stored cook.
  std::optional<std::vector<CookSession>> query_cooks(const CookQuery& query);
  // By uuid, or "latest" for the cook with the newest start.
  std::optional<CookSession> find_cook(std::string_view uuid_or_latest);
  // In time order.
  void for_each_reading(const CookSession& cook,
                        const std::function<void(const CookReading&)>& visit);
  // One snapshot per device that has reported, devices that never reported
  // included with report_ms 0.
  std::vector<DeviceSnapshot> latest_snapshots();
  // The last status a collector wrote, if any ever did.
  std::optional<CollectorStatus> collector_status();
  // The account's current unit, if a collector ever read it.
  std::optional<AccountUnit> account_unit();
  // latest_snapshots() and collector_status() from the same snapshot.
  LatestState latest_state();

 private:
  Database& db_;
};

}  // namespace thermomaven::storage
