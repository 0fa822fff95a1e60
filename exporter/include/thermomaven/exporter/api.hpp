// The JSON of the page API, a contract that the web page, tests and other
// tools rely on (docs/exporter.md shows each shape):
//   /api/devices                    the latest state per device and probe, in °C
//   /api/cooks?device&from&to&limit&before
//   /api/cooks/{uuid}/series?max_points&unit
// Everything is written into one std::string by hand (no JSON library in
// Debian writes it well); strings are escaped by core's json_text, numbers
// written with std::to_chars. http_server.cpp routes to it, events.cpp
// streams its device entries, and tests/bench/api_bench times it in process.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "thermomaven/core/records.hpp"
#include "thermomaven/storage/collector_status.hpp"
#include "thermomaven/storage/cook_reader.hpp"

namespace thermomaven::exporter::api {

// A request the API refuses: 400 (a bad parameter, named in the message) or
// 404 (no such cook). The message becomes {"error": "..."}.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
  int status;
};

// {"error": "<message>"} and a newline.
std::string error_json(std::string_view message);

// Whether a device's newest report counts as current: the rule of /metrics
// (a device silent longer than stale_after_ms shows nothing but that it is
// down; 0 turns staleness off).
bool device_fresh(const storage::DeviceSnapshot& device, std::int64_t now_ms,
                  std::int64_t stale_after_ms);
// thermomaven_device_up: fresh, and online unless the report did not say.
bool device_up(const storage::DeviceSnapshot& device, std::int64_t now_ms,
               std::int64_t stale_after_ms);

// One element of /api/devices' "devices": one line of JSON (no newline), so
// that it is also the data of an SSE `state` event.
std::string device_json(const storage::DeviceSnapshot& device, std::int64_t now_ms,
                        std::int64_t stale_after_ms);

// The logger's health as /healthz knows it: {"broker_connected", "collector": {...}}.
std::string logger_json(const std::optional<CollectorStatus>& collector);

// The whole /api/devices document. `collector` replaces the stored status
// when the serving process runs the collector itself (fresher).
std::string devices_json(const storage::LatestState& state,
                         const std::optional<CollectorStatus>& collector, std::int64_t now_ms,
                         std::int64_t stale_after_ms);

// Limits of /api/cooks.
inline constexpr int kDefaultCookLimit = 50, kMaxCookLimit = 500;

// An ISO 8601 UTC time as `from` and `to` take it: 2026-11-27T10:00:00Z,
// 2026-11-27T10:00:00.250Z or a date, 2026-11-27 (its first millisecond,
// or with `end_of_day` its last). nullopt for anything else.
std::optional<std::int64_t> parse_utc(std::string_view text, bool end_of_day = false);

// The query of /api/cooks (the URL's query string, without '?'). Throws
// ApiError(400) naming the parameter that is wrong or unknown.
storage::CookQuery parse_cooks_query(std::string_view query_string);

// /api/cooks: a JSON array of cook_json() objects, like /cooks.
std::string cooks_page_json(const std::vector<storage::CookSession>& cooks, std::int64_t now_ms,
                            std::int64_t gap_ms);

// The series' bounds on max_points (docs/exporter.md).
inline constexpr int kDefaultSeriesPoints = 2000, kMinSeriesPoints = 2, kMaxSeriesPoints = 20000;

struct SeriesOptions {
  int max_points = kDefaultSeriesPoints;
  std::optional<TemperatureUnit> unit;  // default: the cook's own
};

// The query of /api/cooks/{uuid}/series. Throws ApiError(400).
SeriesOptions parse_series_query(std::string_view query_string);

// {"cook_uuid", "unit", "points": [[t_ms, food, t1..t5, ambient, target]...],
//  "forecast": [[t_ms, predicted_done_ms, confidence]...]}: at most
// max_points readings, each a real one; past that, time buckets keep their
// lowest and highest food reading. The forecast is replayed from the
// readings (forecast::ProbeForecaster) and given at the returned points.
std::string series_json(storage::CookReader& reader, const storage::CookSession& cook,
                        const SeriesOptions& options);

}  // namespace thermomaven::exporter::api
