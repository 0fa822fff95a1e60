// The live collector's writer when the database refuses writes (disk full,
// locked by another writer past the busy timeout, an I/O error): the messages
// of the failed batch are kept, bounded like the queue, and written again
// after a short backoff. One log line when such an episode starts, one when
// it ends; counters for every failed write and every message dropped.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "message_queue.hpp"
#include "status_counters.hpp"
#include "thermomaven/collector/ingestor.hpp"
#include "thermomaven/core/backoff.hpp"
#include "thermomaven/core/records.hpp"
#include "thermomaven/storage/database.hpp"

namespace thermomaven::collector {

// Messages received but not yet committed, at most the queue's bound.
class UnstoredMessages {
 public:
  UnstoredMessages(std::size_t max_messages, std::size_t max_bytes)
      : max_messages_(max_messages), max_bytes_(max_bytes) {}

  // Moves `fresh` in (and empties it); returns how many did not fit.
  std::size_t keep(std::vector<ReceivedMessage>& fresh) {
    std::size_t dropped = 0;
    for (ReceivedMessage& message : fresh) {
      if (messages_.size() >= max_messages_ || bytes_ + message.payload.size() > max_bytes_) {
        ++dropped;
        continue;
      }
      bytes_ += message.payload.size();
      messages_.push_back(std::move(message));
    }
    fresh.clear();
    return dropped;
  }

  const std::vector<ReceivedMessage>& messages() const { return messages_; }
  // Whether messages()[i] was ingested (and logged) by an earlier, failed write.
  bool seen(std::size_t i) const { return i < seen_; }
  void mark_seen() { seen_ = messages_.size(); }
  void clear() {
    messages_.clear();
    bytes_ = seen_ = 0;
  }

 private:
  const std::size_t max_messages_, max_bytes_;
  std::vector<ReceivedMessage> messages_;
  std::size_t bytes_ = 0, seen_ = 0;
};

class StorageRetry {
 public:
  using Clock = std::chrono::steady_clock;
  using Kind = storage::StorageError::Kind;

  // Retries start after about base_ms and double up to max_ms.
  StorageRetry(std::string db_path, std::int64_t base_ms, std::int64_t max_ms)
      : db_path_(std::move(db_path)), backoff_(base_ms, max_ms) {}

  bool failing() const { return episode_.has_value(); }
  // Whether the next write may be tried now.
  bool due() const { return !episode_ || Clock::now() >= episode_->retry_at; }
  // How long the writer may wait for new messages: until the retry, at most 1 s.
  std::chrono::milliseconds wait() const {
    using std::chrono::milliseconds;
    if (!episode_) return milliseconds(1000);
    const auto left = std::chrono::duration_cast<milliseconds>(episode_->retry_at - Clock::now());
    return std::clamp(left, milliseconds(0), milliseconds(1000));
  }

  void count_dropped(std::size_t messages) { dropped_ += messages; }

  // Failures that pass (space freed, lock released, a file system remounted)
  // are waited out. Any other (a constraint, a damaged page) could come from
  // the batch itself: retrying it would block every message behind it.
  static bool worth_retrying(Kind kind) {
    return kind == Kind::DiskFull || kind == Kind::Locked || kind == Kind::ReadOnly ||
           kind == Kind::Io;
  }

  // After a failed write not worth retrying: its `lost` messages are dropped
  // and counted. Returns the line to log.
  std::string give_up(const storage::StorageError& e, std::size_t lost, const IngestStats& after,
                      const IngestStats& before) {
    ++errors_[e.kind];
    add_difference(after, before, counted_twice_);
    dropped_ += lost;
    return "storage: cannot write " + db_path_ + " (" + describe(e.kind) + "): " + e.what() + "; " +
           std::to_string(lost) + " message(s) of this batch lost";
  }

  // After a failed write of `kept` messages whose attempt counted `after` -
  // `before` in the ingest stats. Returns the line to log when an episode
  // starts (or its kind changes), else "".
  std::string failed(const storage::StorageError& e, std::size_t kept, const IngestStats& after,
                     const IngestStats& before) {
    ++errors_[e.kind];
    add_difference(after, before, counted_twice_);
    const auto now = Clock::now();
    const auto retry_at = now + std::chrono::milliseconds(backoff_.next_delay_ms());
    const bool same = episode_ && episode_->kind == e.kind;
    if (!episode_) episode_ = Episode{e.kind, now, retry_at, dropped_};
    episode_->kind = e.kind;
    episode_->retry_at = retry_at;
    last_error_ = "storage: cannot write " + db_path_ + " (" + describe(e.kind) + "): " + e.what();
    if (same) return "";
    return last_error_ + "; keeping " + std::to_string(kept) + " message(s) in memory and retrying";
  }

  // After a successful write of `stored` messages: the line to log when an
  // episode ends, else "".
  std::string succeeded(std::size_t stored) {
    if (!episode_) return "";
    const auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - episode_->started);
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f s", static_cast<double>(took.count()) / 1000.0);
    const std::string line = "storage: writing " + db_path_ + " again after " + seconds +
                             "; stored " + std::to_string(stored) + " kept message(s), " +
                             std::to_string(dropped_ - episode_->dropped_at_start) +
                             " dropped while it failed";
    episode_.reset();
    backoff_.reset();
    return line;
  }

  // The current failure, for the status board ("" when none).
  const std::string& last_error() const { return last_error_; }

  // Puts the storage counters in `status` and counts each message once,
  // whatever the failed writes before counted.
  void add_counters(CollectorStatus& status, const IngestStats& stats) const {
    CollectorCounters& c = status.counters;
    for (const auto& [kind, count] : stats.messages)
      message_counter(c, kind) = once(count, counted_twice_.messages, kind);
    for (const auto& [reason, count] : stats.rejected)
      rejected_counter(c, reason) = once(count, counted_twice_.rejected, reason);
    c.readings_stored =
        static_cast<std::int64_t>(stats.readings_stored - counted_twice_.readings_stored);
    c.readings_duplicate =
        static_cast<std::int64_t>(stats.readings_duplicate - counted_twice_.readings_duplicate);
    c.dropped.storage_error = static_cast<std::int64_t>(dropped_);
    for (const auto& [kind, count] : errors_) storage_error_counter(c, kind) = count;
  }

 private:
  struct Episode {
    Kind kind;
    Clock::time_point started, retry_at;
    std::uint64_t dropped_at_start = 0;
  };

  static const char* describe(Kind kind) {
    switch (kind) {
      case Kind::DiskFull:
        return "disk full";
      case Kind::Locked:
        return "locked by another writer";
      case Kind::ReadOnly:
        return "not writable";
      case Kind::Corrupt:
        return "damaged";
      case Kind::Io:
        return "I/O error";
      case Kind::Other:
        break;
    }
    return "error";
  }

  // Adds after - before to `total`.
  static void add_difference(const IngestStats& after, const IngestStats& before,
                             IngestStats& total) {
    auto add = [](const auto& now, const auto& then, auto& sum) {
      for (const auto& [key, count] : now) {
        const auto it = then.find(key);
        sum[key] += count - (it == then.end() ? 0 : it->second);
      }
    };
    add(after.messages, before.messages, total.messages);
    add(after.rejected, before.rejected, total.rejected);
    total.readings_stored += after.readings_stored - before.readings_stored;
    total.readings_duplicate += after.readings_duplicate - before.readings_duplicate;
  }

  template <typename Key>
  static std::int64_t once(std::uint64_t count, const std::map<Key, std::uint64_t>& twice,
                           Key key) {
    const auto it = twice.find(key);
    return static_cast<std::int64_t>(count - (it == twice.end() ? 0 : it->second));
  }

  std::string db_path_;
  Backoff backoff_;
  std::optional<Episode> episode_;
  std::map<Kind, std::int64_t> errors_;  // failed writes, by kind
  std::uint64_t dropped_ = 0;            // messages beyond the bound
  IngestStats counted_twice_;            // by failed writes, taken off the totals
  std::string last_error_;
};

}  // namespace thermomaven::collector
