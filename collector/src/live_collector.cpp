#include "thermomaven/collector/live_collector.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include "cloud_internal.hpp"
#include "message_queue.hpp"
#include "storage_retry.hpp"
#include "thermomaven/client.hpp"
#include "thermomaven/collector/ingestor.hpp"
#include "thermomaven/collector/log.hpp"
#include "thermomaven/storage/database.hpp"
#include "thermomaven/storage/reading_writer.hpp"

namespace thermomaven::collector {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// What the collector says about itself; written to the database by the writer.
struct StatusBoard {
  std::mutex mutex;
  std::string state = "starting";
  bool connected = false;
  std::int64_t reconnects = 0, logins = 0, cert_applies = 0, subscribe_refused = 0,
               connect_failures = 0;
  std::optional<std::int64_t> cert_expiry_s;
  std::string last_error;
  // The account's unit as the session last read it.
  std::optional<TemperatureUnit> account_unit;
  std::int64_t account_unit_read_ms = 0;
  bool dirty = true;
};

}  // namespace

class LiveCollector::Impl {
 public:
  explicit Impl(const CollectorConfig& config)
      : config_(config),
        db_(config.db_path),
        cloud_(client::account_from_config(config)),
        session_(cloud_, client::SessionOptions{.backoff_base_ms = config.backoff_base_ms,
                                                .backoff_max_ms = config.backoff_max_ms,
                                                .unit_refresh_ms = config.unit_refresh_ms}),
        queue_(20000, 32u << 20) {
    // Paho's thread only enqueues; the writer thread parses and stores.
    session_.on_raw_message([this](std::string_view topic, std::string_view payload) {
      queue_.push(topic, payload, now_ms(), session_.unit());
    });
    session_.on_state([this](const client::SessionEvent& event) { take_state(event); });
    session_.on_unit([this](TemperatureUnit unit) { take_unit(unit); });
  }

  int run();
  CollectorStatus live_status();
  void stop() { session_.stop(); }

 private:
  // The session's thread: its state and counters go on the status board.
  void take_state(const client::SessionEvent& event);
  void take_unit(TemperatureUnit unit);
  void set_error(const std::string& error);

  // Writer thread.
  void write_loop();
  void store_batch(const UnstoredMessages& batch, Ingestor& ingestor,
                   storage::ReadingWriter& writer, const StorageRetry& retry, bool closing,
                   Clock::time_point& last_status);
  void ingest(const ReceivedMessage& message, Ingestor& ingestor, bool again = false);
  void after_storage_error(const storage::StorageError& e, UnstoredMessages& unstored,
                           StorageRetry& retry, const IngestStats& after, const IngestStats& before,
                           bool closing);
  void clear_storage_error();
  void store_account_unit(storage::ReadingWriter& writer);
  CollectorStatus status_snapshot(const Ingestor& ingestor);

  CollectorConfig config_;
  storage::Database db_;
  client::Cloud cloud_;
  client::Session session_;
  std::string session_error_;  // the session's last error as copied; under status_.mutex
  MessageQueue queue_;
  StatusBoard status_;
};

void LiveCollector::Impl::take_state(const client::SessionEvent& event) {
  const client::SessionStats stats = session_.stats();
  std::lock_guard lock(status_.mutex);
  status_.state = client::state_name(event.state);
  status_.connected = stats.connected;
  status_.reconnects = stats.reconnects;
  status_.logins = stats.logins;
  status_.cert_applies = stats.cert_applies;
  status_.subscribe_refused = stats.subscribe_refused;
  status_.connect_failures = stats.connect_failures;
  status_.cert_expiry_s = stats.cert_expiry_s;
  // Only a change of the session's own error replaces the last error: a
  // storage error stays until the writer clears it.
  if (stats.last_error != session_error_) {
    session_error_ = stats.last_error;
    if (!stats.last_error.empty() || status_.last_error.rfind("storage: ", 0) != 0)
      status_.last_error = stats.last_error;
  }
  status_.dirty = true;
}

// The session read the account's unit: the database keeps it for `serve`.
void LiveCollector::Impl::take_unit(TemperatureUnit unit) {
  std::lock_guard lock(status_.mutex);
  status_.account_unit = unit;
  status_.account_unit_read_ms = now_ms();
  status_.dirty = true;
}

void LiveCollector::Impl::set_error(const std::string& error) {
  std::lock_guard lock(status_.mutex);
  status_.last_error = error;
  status_.dirty = true;
}

int LiveCollector::Impl::run() {
  log_info("collector", "starting: database " + config_.db_path + ", state " + config_.state_dir +
                            ", api " + config_.api_url + ", broker " + config_.mqtt.host + ":" +
                            std::to_string(config_.mqtt.port));
  std::thread writer([this] { write_loop(); });
  const int exit_code = session_.run();
  queue_.close();
  writer.join();
  log_info("collector", exit_code ? "stopped after a fatal error" : "stopped");
  return exit_code;
}

CollectorStatus LiveCollector::Impl::status_snapshot(const Ingestor& ingestor) {
  CollectorStatus s;
  s.updated_ms = now_ms();
  s.pid = ::getpid();
  {
    std::lock_guard lock(status_.mutex);
    s.state = status_.state;
    s.mqtt_connected = status_.connected;
    s.mqtt_reconnects = status_.reconnects;
    s.cert_expiry_s = status_.cert_expiry_s;
    s.last_error = status_.last_error;
    s.counters[{"logins", ""}] = status_.logins;
    s.counters[{"cert_applies", ""}] = status_.cert_applies;
    s.counters[{"subscribe_refused", ""}] = status_.subscribe_refused;
    s.counters[{"connect_failures", ""}] = status_.connect_failures;
    status_.dirty = false;
  }
  const IngestStats& stats = ingestor.stats();
  for (const auto& [kind, count] : stats.messages)
    s.counters[{"messages", kind}] = static_cast<std::int64_t>(count);
  for (const auto& [reason, count] : stats.rejected)
    s.counters[{"rejected", reason}] = static_cast<std::int64_t>(count);
  s.counters[{"readings_stored", ""}] = static_cast<std::int64_t>(stats.readings_stored);
  s.counters[{"readings_duplicate", ""}] = static_cast<std::int64_t>(stats.readings_duplicate);
  s.counters[{"dropped", "queue_full"}] = static_cast<std::int64_t>(queue_.dropped());
  return s;
}

CollectorStatus LiveCollector::Impl::live_status() {
  CollectorStatus s;
  s.updated_ms = now_ms();
  s.pid = ::getpid();
  std::lock_guard lock(status_.mutex);
  s.state = status_.state;
  s.mqtt_connected = status_.connected;
  s.mqtt_reconnects = status_.reconnects;
  s.cert_expiry_s = status_.cert_expiry_s;
  s.last_error = status_.last_error;
  return s;
}

// `again`: a retry of a message whose batch failed to store; its log lines
// and device topics went out the first time.
void LiveCollector::Impl::ingest(const ReceivedMessage& message, Ingestor& ingestor, bool again) {
  ParseError error;
  ingestor.parser().set_unit(message.unit);
  const Message* parsed =
      ingestor.ingest_payload(message.topic, message.payload, message.receive_ms, error);
  if (again) return;
  if (!parsed) {
    log_warn("ingest", "rejected a message on " + message.topic.substr(0, 200) + " (" +
                           error.reason + "): " + error.detail.substr(0, 200));
    return;
  }
  switch (parsed->kind) {
    case MessageKind::DeviceList:
      // The session logs it and follows its device topics.
      log_debug("ingest",
                "device list with " + std::to_string(parsed->devices.size()) + " device(s)");
      break;
    case MessageKind::StatusReport:
      if (log_enabled(LogLevel::Debug))
        log_debug("ingest", "status_report " + parsed->report.device_id + " time_ms " +
                                std::to_string(parsed->report.time_ms) + " received_ms " +
                                std::to_string(message.receive_ms));
      break;
    case MessageKind::CommandReceipt:
      log_debug("ingest", "command receipt from " + parsed->receipt.device_id + " for " +
                              parsed->receipt.cmd_type + ": " + parsed->receipt.execute_result);
      break;
    case MessageKind::Unknown:
      log_debug("ingest", "unknown cmdType '" + parsed->cmd_type.substr(0, 80) + "' on " +
                              message.topic.substr(0, 200) + ", counted");
      break;
  }
}

void LiveCollector::Impl::write_loop() {
  // One transaction per batch, so that a batch that fails is retried whole.
  storage::ReadingWriter writer(db_, {.batch_size = std::numeric_limits<int>::max()});
  Ingestor ingestor(writer);
  // Storage is local and cheap to try: retry soon, at least every 10 s.
  StorageRetry retry(config_.db_path, std::min(config_.backoff_base_ms, 1000),
                     std::min(config_.backoff_max_ms, 10000));
  UnstoredMessages unstored(queue_.max_messages(), queue_.max_bytes());
  std::vector<ReceivedMessage> fresh;
  auto last_status = Clock::now() - std::chrono::hours(1);
  std::uint64_t dropped_logged = 0;
  for (;;) {
    const bool open = queue_.pop_all(fresh, retry.wait());
    if (const std::uint64_t dropped = queue_.dropped(); dropped > dropped_logged) {
      log_warn("store", std::to_string(dropped - dropped_logged) +
                            " message(s) dropped: the queue was full (the database is too slow)");
      dropped_logged = dropped;
    }
    retry.count_dropped(unstored.keep(fresh));
    if (open && !retry.due()) continue;
    const IngestStats before = ingestor.stats();
    try {
      store_batch(unstored, ingestor, writer, retry, !open, last_status);
      if (const std::string line = retry.succeeded(unstored.messages().size()); !line.empty()) {
        log_info("store", line);
        clear_storage_error();
      }
      unstored.clear();
    } catch (const storage::StorageError& e) {
      writer.rollback();
      after_storage_error(e, unstored, retry, ingestor.stats(), before, !open);
    }
    if (!open) break;
  }
}

void LiveCollector::Impl::store_batch(const UnstoredMessages& batch, Ingestor& ingestor,
                                      storage::ReadingWriter& writer, const StorageRetry& retry,
                                      bool closing, Clock::time_point& last_status) {
  const auto& messages = batch.messages();
  for (std::size_t i = 0; i < messages.size(); ++i) ingest(messages[i], ingestor, batch.seen(i));
  bool dirty;
  {
    std::lock_guard lock(status_.mutex);
    dirty = status_.dirty;
  }
  const auto since = Clock::now() - last_status;
  const bool status_due = dirty || closing || since >= std::chrono::seconds(5) ||
                          (!messages.empty() && since >= std::chrono::seconds(1));
  if (status_due) {
    CollectorStatus status = status_snapshot(ingestor);
    retry.add_counters(status, ingestor.stats());
    writer.write(status);
    store_account_unit(writer);
  }
  if (status_due || !messages.empty()) writer.commit();
  if (status_due) last_status = Clock::now();
  if (!messages.empty() && log_enabled(LogLevel::Debug))
    log_debug("store", "committed " + std::to_string(messages.size()) + " message(s)");
}

// A failure that passes keeps the batch for a retry; any other loses it, and
// so does the stop.
void LiveCollector::Impl::after_storage_error(const storage::StorageError& e,
                                              UnstoredMessages& unstored, StorageRetry& retry,
                                              const IngestStats& after, const IngestStats& before,
                                              bool closing) {
  const std::size_t count = unstored.messages().size();
  if (!StorageRetry::worth_retrying(e.kind)) {
    const std::string line = retry.give_up(e, count, after, before);
    set_error(line);
    log_error("store", line);
    unstored.clear();
    return;
  }
  unstored.mark_seen();
  const std::string line = retry.failed(e, count, after, before);
  set_error(retry.last_error());
  if (!line.empty()) log_error("store", line);
  if (closing && count > 0) {
    retry.count_dropped(count);
    log_error("store", "storage: " + std::to_string(count) +
                           " message(s) could not be stored before the stop and are lost");
  }
}

// The account's unit as the session last read it, written with every status
// (one small row), so that a batch that failed to commit loses nothing.
void LiveCollector::Impl::store_account_unit(storage::ReadingWriter& writer) {
  std::optional<TemperatureUnit> unit;
  std::int64_t read_ms = 0;
  {
    std::lock_guard lock(status_.mutex);
    unit = status_.account_unit;
    read_ms = status_.account_unit_read_ms;
  }
  if (unit) writer.write_account_unit(*unit, read_ms);
}

// The storage failure is over: it is no longer the collector's last error.
void LiveCollector::Impl::clear_storage_error() {
  std::lock_guard lock(status_.mutex);
  if (status_.last_error.rfind("storage: ", 0) == 0) status_.last_error.clear();
  status_.dirty = true;
}

LiveCollector::LiveCollector(const CollectorConfig& config)
    : impl_(std::make_unique<Impl>(config)) {}
LiveCollector::~LiveCollector() = default;
int LiveCollector::run() { return impl_->run(); }
void LiveCollector::stop() { impl_->stop(); }
CollectorStatus LiveCollector::live_status() const { return impl_->live_status(); }

}  // namespace thermomaven::collector
