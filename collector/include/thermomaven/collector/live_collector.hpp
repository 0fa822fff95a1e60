// The live collector: logs into the cloud, gets an MQTT certificate, follows
// every device of the account over MQTT and stores each message through the
// same Ingestor path as `thermomaven import`. Paho's threads only enqueue;
// one writer thread owns the database; the thread that calls run() drives
// login, certificates, connection, subscriptions and reconnect backoff.
#pragma once

#include <memory>

#include "thermomaven/client/config.hpp"
#include "thermomaven/core/records.hpp"
#include "thermomaven/storage/collector_status.hpp"

namespace thermomaven::collector {

using client::CollectorConfig;

class LiveCollector {
 public:
  // Opens the database and the state directory; throws on failure
  // (storage::StorageError, std::runtime_error) before anything connects.
  explicit LiveCollector(const CollectorConfig& config);
  ~LiveCollector();
  LiveCollector(const LiveCollector&) = delete;
  LiveCollector& operator=(const LiveCollector&) = delete;

  // Runs until stop(). Returns 0 after a stop (everything received is then
  // committed), 1 when the cloud refused the account's login for good
  // (wrong password, unknown account, refused signature).
  int run();
  // Thread-safe; returns at once.
  void stop();
  // Thread-safe: the state, connection, reconnects, certificate expiry and
  // last error right now (the counters are in the database).
  CollectorStatus live_status() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace thermomaven::collector
