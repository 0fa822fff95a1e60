// The state behind GET /events (Server-Sent Events): one watcher thread
// notices commits of any process (PRAGMA data_version on its own read-only
// connection, polled) and renders each device's /api/devices entry; a
// device whose entry changed gets a new sequence number, and so does the
// logger's health (a `logger` event) when it changes. Each client streams
// from its own thread and sends, when it wakes, only the newest entry of
// each device it has not sent yet: an import committing batch after batch
// reaches a client as the newest state, not as every batch. A client that
// stops reading blocks only its own thread until the send timeout drops it;
// the watcher never writes to a socket, so neither the writer nor a scrape
// waits for a client. Private to the exporter.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "thermomaven/storage/collector_status.hpp"

namespace thermomaven::exporter {

struct EventHubOptions {
  std::int64_t stale_after_ms = 180'000;  // as /metrics and /api/devices
  int max_clients = 64;                   // the next one is refused (503)
  std::chrono::milliseconds poll{250};    // how often data_version is read
  // Entries are rendered again this often while clients listen even without
  // a commit, so that a device turning stale is sent.
  std::chrono::milliseconds refresh{5'000};
  std::chrono::milliseconds heartbeat{15'000};  // a comment and a ping event this often
  // The collector's live status when this process runs it (as /healthz);
  // else the one stored in the database.
  std::function<std::optional<CollectorStatus>()> collector_state;
};

class EventHub {
 public:
  EventHub(std::string db_path, EventHubOptions options);
  ~EventHub();  // stops
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  void start();
  // Wakes every client (their stream() returns) and joins the watcher.
  void stop();

  // Takes a client slot; false when max_clients already stream.
  bool join();
  void leave();
  int clients() const { return clients_.load(); }

  // Streams to one joined client until `write` fails (the client is gone or
  // its send timed out) or the hub stops. `write` gets whole events.
  void stream(const std::function<bool(std::string_view)>& write);

 private:
  struct Entry {
    std::uint64_t seq = 0;
    std::string json;
  };
  void watch();

  const std::string db_path_;
  const EventHubOptions options_;
  std::atomic<int> clients_{0};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, Entry> entries_;  // device id -> its newest entry
  Entry logger_;                          // the logger's health (api::logger_json)
  std::uint64_t seq_ = 0;                 // the newest entry's
  bool rendered_ = false;                 // entries_ reflect the database once
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace thermomaven::exporter
