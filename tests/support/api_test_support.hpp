// Cooks written through the real ReadingWriter for the page API's tests and
// benchmark: a probe heating by Newton's law (so that the forecast has
// something to estimate), with every sensor filled in.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "thermomaven/core/records.hpp"
#include "thermomaven/exporter/http_server.hpp"
#include "thermomaven/storage/reading_writer.hpp"

namespace api_test {

using namespace thermomaven;

// 2026-11-27T10:00:00Z
constexpr std::int64_t kStartMs = 1'795'773'600'000;

// The heating's time constant by default: two hours, so that the food
// (40 °F towards a 250 °F pit) reaches the 165 °F target after ~1.8 hours.
constexpr double kTimeConstantS = 7200.0;

// The food of a cook `t_s` seconds in, in tenths of °F: 40 °F rising
// towards a 250 °F pit with the time constant `time_constant_s`; probe `n`
// is a little warmer so that the probes differ.
inline std::int32_t food_tenths(double t_s, int n = 1, double time_constant_s = kTimeConstantS) {
  return static_cast<std::int32_t>(std::lround(2500 - 2100 * std::exp(-t_s / time_constant_s))) +
         n * 7;
}

inline ProbeSample heating_probe(int n, const std::string& cook_uuid, double t_s,
                                 std::int32_t food) {
  ProbeSample p;
  p.probe = n;
  p.state = "cooking";
  p.mode = "smart";
  p.cook_uuid = cook_uuid;
  p.temperature = food;
  p.zones = {food, food + 8, food + 35, food + 90, food + 150};
  // The pit cycles by ±10 °F as the heat source switches.
  p.ambient = 2500 + static_cast<std::int32_t>(100 * std::sin(t_s / 300.0));
  p.target = 1650;
  p.elapsed_s = static_cast<std::int32_t>(t_s);
  p.total_s = p.elapsed_s;
  p.remaining_s = 7000 - static_cast<std::int32_t>(t_s / 2);
  p.battery_pct = 90;
  p.cooking = true;
  p.overheat = false;
  return p;
}

inline StatusReport heating_report(const std::string& device, int probes, std::int64_t time_ms,
                                   double t_s, TemperatureUnit unit = TemperatureUnit::Fahrenheit,
                                   double time_constant_s = kTimeConstantS) {
  StatusReport r;
  r.device_id = device;
  r.model = "WT09";
  r.time_ms = time_ms;
  r.unit = unit;
  r.online = true;
  r.battery_pct = 80;
  r.wifi_rssi_dbm = -50;
  for (int n = 1; n <= probes; ++n)
    r.probes.push_back(heating_probe(n, device + "c" + std::to_string(n), t_s,
                                     food_tenths(t_s, n, time_constant_s)));
  return r;
}

// `reports` reports of `probes` probes, one every `every_ms`, from kStartMs.
inline void write_heating_cook(storage::ReadingWriter& writer, const std::string& device,
                               int probes, int reports, std::int64_t every_ms) {
  for (int i = 0; i < reports; ++i) {
    const std::int64_t at = kStartMs + i * every_ms;
    writer.write(heating_report(device, probes, at, static_cast<double>(i * every_ms) / 1000.0));
  }
  writer.commit();
}

// An exporter started on a free loopback port over `db_path`, staleness off
// (the test data is older than the stale-after window).
inline std::unique_ptr<thermomaven::exporter::HttpServer> start_server(const std::string& db_path) {
  thermomaven::exporter::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.stale_after_s = 0;
  auto server = std::make_unique<thermomaven::exporter::HttpServer>(db_path, std::move(options));
  server->start();
  return server;
}

}  // namespace api_test
