// The hand-over from Paho's callback threads to the one writer thread:
// bounded by count and bytes; what does not fit is dropped and counted (the
// callback must never block the MQTT client).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "thermomaven/core/records.hpp"

namespace thermomaven::collector {

struct ReceivedMessage {
  std::string topic;
  std::string payload;
  std::int64_t receive_ms = 0;
  // The account's unit when it arrived: a report is read in the unit in
  // force when it was received, even if the unit changes before it is stored.
  TemperatureUnit unit = TemperatureUnit::Fahrenheit;
};

class MessageQueue {
 public:
  MessageQueue(std::size_t max_messages, std::size_t max_bytes)
      : max_messages_(max_messages), max_bytes_(max_bytes) {}

  // False (and counted) when the queue is full or closed.
  bool push(std::string_view topic, std::string_view payload, std::int64_t receive_ms,
            TemperatureUnit unit = TemperatureUnit::Fahrenheit) {
    std::lock_guard lock(mutex_);
    if (closed_ || items_.size() >= max_messages_ || bytes_ + payload.size() > max_bytes_) {
      ++dropped_;
      return false;
    }
    items_.push_back({std::string(topic), std::string(payload), receive_ms, unit});
    bytes_ += payload.size();
    ready_.notify_one();
    return true;
  }

  // Moves everything queued into `out` (cleared first), waiting up to
  // `timeout` for the first item. Returns false once closed and drained.
  bool pop_all(std::vector<ReceivedMessage>& out, std::chrono::milliseconds timeout) {
    out.clear();
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); });
    for (auto& item : items_) out.push_back(std::move(item));
    items_.clear();
    bytes_ = 0;
    return !(closed_ && out.empty());
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ready_.notify_all();
  }

  std::size_t max_messages() const { return max_messages_; }
  std::size_t max_bytes() const { return max_bytes_; }

  std::uint64_t dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
  }

 private:
  const std::size_t max_messages_, max_bytes_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<ReceivedMessage> items_;
  std::size_t bytes_ = 0;
  std::uint64_t dropped_ = 0;
  bool closed_ = false;
};

}  // namespace thermomaven::collector
