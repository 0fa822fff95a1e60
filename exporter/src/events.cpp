// The /events hub (events.hpp): the watcher thread and each client's stream.
#include "events.hpp"

#include <memory>
#include <vector>

#include "thermomaven/core/time.hpp"
#include "thermomaven/exporter/api.hpp"
#include "thermomaven/storage/cook_reader.hpp"
#include "thermomaven/storage/database.hpp"

namespace thermomaven::exporter {

EventHub::EventHub(std::string db_path, EventHubOptions options)
    : db_path_(std::move(db_path)), options_(options) {}

EventHub::~EventHub() { stop(); }

void EventHub::start() {
  if (watcher_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  watcher_ = std::thread([this] { watch(); });
}

void EventHub::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

bool EventHub::join() {
  int now = clients_.load();
  do {
    if (now >= options_.max_clients) return false;
  } while (!clients_.compare_exchange_weak(now, now + 1));
  return true;
}

void EventHub::leave() { --clients_; }

void EventHub::watch() {
  std::unique_ptr<storage::Database> db;
  std::int64_t version = -1;  // data_version is never negative
  auto last_render = std::chrono::steady_clock::now() - options_.refresh;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (changed_.wait_for(lock, options_.poll, [&] { return stopping_; })) return;
    }
    try {
      if (!db) db = std::make_unique<storage::Database>(db_path_, storage::OpenMode::ReadOnly);
      const std::int64_t v = db->data_version();
      const auto now = std::chrono::steady_clock::now();
      const bool committed = version != v;
      const bool due = clients_.load() > 0 && now - last_render >= options_.refresh;
      version = v;
      if (!committed && !due) continue;
      last_render = now;
      storage::CookReader reader(*db);
      const storage::LatestState state = reader.latest_state();
      const std::int64_t now_ms = thermomaven::now_ms();
      std::vector<std::pair<std::string, std::string>> fresh;
      fresh.reserve(state.devices.size());
      for (const auto& device : state.devices)
        fresh.emplace_back(device.device_id,
                           api::device_json(device, now_ms, options_.stale_after_ms));
      std::string logger =
          api::logger_json(options_.collector_state ? options_.collector_state() : state.collector);
      bool any = false;
      {
        std::lock_guard lock(mutex_);
        if (logger_.json != logger) {
          logger_.json = std::move(logger);
          logger_.seq = ++seq_;
          any = true;
        }
        for (auto& [id, json] : fresh) {
          Entry& entry = entries_[id];
          if (entry.json == json) continue;
          entry.json = std::move(json);
          entry.seq = ++seq_;
          any = true;
        }
        any = any || !rendered_;
        rendered_ = true;
      }
      if (any) changed_.notify_all();
    } catch (const std::exception&) {
      // The database is missing or replaced: open it afresh next time.
      db.reset();
      version = -1;
    }
  }
}

void EventHub::stream(const std::function<bool(std::string_view)>& write) {
  // EventSource reconnects after `retry` ms when the stream ends.
  if (!write("retry: 2000\n\n")) return;
  std::uint64_t sent = 0;
  auto next_beat = std::chrono::steady_clock::now() + options_.heartbeat;
  std::string batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(mutex_);
      changed_.wait_until(lock, next_beat, [&] { return stopping_ || (rendered_ && seq_ > sent); });
      if (stopping_) return;
      if (rendered_ && seq_ > sent) {
        // Only each device's newest entry: what happened in between is
        // coalesced away.
        if (logger_.seq > sent) {
          batch += "event: logger\ndata: ";
          batch += logger_.json;
          batch += "\n\n";
        }
        for (const auto& [id, entry] : entries_) {
          if (entry.seq <= sent) continue;
          batch += "event: state\ndata: ";
          batch += entry.json;
          batch += "\n\n";
        }
        sent = seq_;
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (batch.empty() && now >= next_beat) {
      // The comment keeps proxies from closing an idle stream; EventSource
      // never shows a comment to the page, so a `ping` event follows in the
      // same block, for the page's "last heard" and its silence watchdog.
      batch = ": keep-alive\nevent: ping\ndata: {\"now_ms\": ";
      batch += std::to_string(thermomaven::now_ms());
      batch += "}\n\n";
    }
    if (!batch.empty()) {
      if (!write(batch)) return;
      next_beat = std::chrono::steady_clock::now() + options_.heartbeat;
    }
  }
}

}  // namespace thermomaven::exporter
