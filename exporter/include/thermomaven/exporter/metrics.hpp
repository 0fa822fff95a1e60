// The Prometheus view of the database: the latest state of every device and
// probe, and the collector's own counters, as the text exposition format.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "thermomaven/storage/cook_reader.hpp"
#include "thermomaven/core/records.hpp"

namespace prometheus {
struct MetricFamily;  // <prometheus/metric_family.h>, for metric_families()
}

namespace thermomaven::exporter {

struct MetricsOptions {
  // A device silent this long loses every series but thermomaven_device_up
  // (then 0) and its last-report timestamp. 0 keeps everything (old files).
  std::int64_t stale_after_ms = 180 * 1000;
};

// The probe states every scrape lists (1 for the current one, 0 for the
// rest), so that a dashboard can show a state that is not current. A state
// outside this set is listed too while it is current.
extern const std::vector<std::string> kKnownProbeStates;

// The base station battery states every scrape lists, like the probe states.
extern const std::vector<std::string> kKnownBatteryStatuses;

// The families of one scrape in prometheus-cpp's data model, in the order
// they are exposed, those without samples left out. `now_ms` decides
// staleness. Callers include <prometheus/metric_family.h>.
std::vector<prometheus::MetricFamily> metric_families(const storage::LatestState& state,
                                                      std::int64_t now_ms,
                                                      const MetricsOptions& options);

// The text exposition format of `families`, as /metrics serves it: the
// exporter's own serializer (exporter/src/text_exposition.hpp), whose output
// is prometheus-cpp's TextSerializer's but for the shortest exact digits.
std::string exposition_text(const std::vector<prometheus::MetricFamily>& families);

// The whole /metrics body: exposition_text(metric_families(...)).
std::string render_metrics(const storage::LatestState& state, std::int64_t now_ms,
                           const MetricsOptions& options);

// Reads the latest state in one read transaction and renders it.
std::string scrape_metrics(storage::CookReader& reader, std::int64_t now_ms,
                           const MetricsOptions& options);

// The logger's version, as thermomaven_build_info reports it.
const char* logger_version();

}  // namespace thermomaven::exporter
