// The packed form of one status report's probes, as stored in reports.probes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "thermomaven/core/records.hpp"

namespace thermomaven::storage {

// A probe as stored: the numeric part of a ProbeSample, with the state
// interned to a small id (0 = absent). Strings such as the cook uuid, notes
// and mode live on the cook row instead of being repeated in every report.
struct StoredProbe {
  int probe = 0;
  std::uint32_t state_id = 0;
  std::optional<std::int32_t> temperature;
  std::array<std::optional<std::int32_t>, 5> zones{};
  std::optional<std::int32_t> ambient;
  std::optional<std::int32_t> target;
  std::optional<std::int32_t> elapsed_s;
  std::optional<std::int32_t> total_s;
  std::optional<std::int32_t> remaining_s;
  std::optional<std::int32_t> battery_pct;
  std::optional<bool> cooking;
  std::optional<bool> overheat;
};

struct StoredReport {
  TemperatureUnit unit = TemperatureUnit::Fahrenheit;
  std::optional<bool> online;
  std::optional<std::int32_t> battery_pct;
  std::optional<std::int32_t> wifi_rssi_dbm;
  std::vector<StoredProbe> probes;
};

// Returns the encoded bytes, which live in `scratch` until its next use.
std::string_view encode_report(const StoredReport& report, std::string& scratch);
// Throws StorageError on a blob it cannot read (never reads past its end).
void decode_report(std::string_view blob, StoredReport& out);

}  // namespace thermomaven::storage
