// Builds StatusReports for storage tests without going through JSON.
#pragma once

#include <string>

#include "thermomaven/core/records.hpp"

namespace tm_test {

inline thermomaven::ProbeSample cooking_probe(int probe, const std::string& cook_uuid,
                                              std::int32_t temperature,
                                              std::int32_t target = 2030) {
  thermomaven::ProbeSample p;
  p.probe = probe;
  p.state = "cooking";
  p.mode = "smart";
  p.cook_uuid = cook_uuid;
  p.temperature = temperature;
  for (int i = 0; i < 5; ++i) p.zones[i] = temperature + 10 * i;
  p.ambient = temperature + 500;
  p.target = target;
  p.elapsed_s = 60;
  p.total_s = 60;
  p.remaining_s = 3600;
  p.battery_pct = 97;
  p.cooking = true;
  p.overheat = false;
  return p;
}

inline thermomaven::ProbeSample docked_probe(int probe) {
  thermomaven::ProbeSample p;
  p.probe = probe;
  p.state = "charged";
  p.mode = "smart";
  p.target = 2030;
  return p;
}

inline thermomaven::StatusReport report(const std::string& device, std::int64_t time_ms,
                                        std::vector<thermomaven::ProbeSample> probes) {
  thermomaven::StatusReport r;
  r.device_id = device;
  r.model = "WT09";
  r.time_ms = time_ms;
  r.online = true;
  r.battery_pct = 80;
  r.wifi_rssi_dbm = -51;
  r.probes = std::move(probes);
  return r;
}

}  // namespace tm_test
