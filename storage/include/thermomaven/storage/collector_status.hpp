// What the collector says about itself, as storage keeps it for the
// exporter: the database is the only link between the two processes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace thermomaven {

// What the collector says about itself, for metrics and health checks.
struct CollectorStatus {
  std::int64_t updated_ms = 0;
  std::int64_t pid = 0;
  std::string state;  // "connecting", "connected", "backoff", "stopped", ...
  bool mqtt_connected = false;
  std::int64_t mqtt_reconnects = 0;
  std::optional<std::int64_t> cert_expiry_s;  // client certificate notAfter, epoch seconds
  std::string last_error;                     // one line, never a secret
  // Monotonic counters: (name, label) -> value, e.g. ("messages",
  // "status_report"), ("rejected", "not_json"), ("readings_stored", "").
  std::map<std::pair<std::string, std::string>, std::int64_t> counters;
};

}  // namespace thermomaven
