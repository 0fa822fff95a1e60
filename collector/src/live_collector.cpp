#include "thermomaven/collector/live_collector.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "message_queue.hpp"
#include "status_counters.hpp"
#include "storage_retry.hpp"
#include "thermomaven/client.hpp"
#include "thermomaven/client/state_dir.hpp"
#include "thermomaven/collector/command_audit.hpp"
#include "thermomaven/collector/control_channel.hpp"
#include "thermomaven/collector/ingestor.hpp"
#include "thermomaven/command_tracker.hpp"
#include "thermomaven/core/log.hpp"
#include "thermomaven/core/time.hpp"
#include "thermomaven/storage/command_log.hpp"
#include "thermomaven/storage/database.hpp"
#include "thermomaven/storage/reading_writer.hpp"

namespace thermomaven::collector {

using client::SessionLock;
using client::SessionLockBusy;
using client::StateDir;
namespace {

using Clock = std::chrono::steady_clock;

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

// What the session has seen of the devices, for `doctor` beside the logger.
struct DeviceBoard {
  std::mutex mutex;
  bool list_received = false;
  std::vector<DeviceInfo> listed;
  std::map<std::string, std::pair<std::int64_t, StatusReport>>
      latest;  // id -> (received ms, report)
};

// How long `run` waits for a one-shot `thermomaven command` that holds the
// session lock: its longest --timeout and the time to connect.
constexpr auto kWaitForOneShot = std::chrono::seconds(660);

// The state directory exists and this process holds its session lock, or
// this throws: another logger holds it (SessionLockBusy), or a one-shot
// command held it for longer than it can.
std::unique_ptr<SessionLock> lock_state_dir(const std::string& state_dir) {
  StateDir dir(state_dir);  // creates it, checks owner and mode
  const auto give_up = Clock::now() + kWaitForOneShot;
  bool told = false;
  for (;;) {
    try {
      return std::make_unique<SessionLock>(state_dir, "logger");
    } catch (const SessionLockBusy& busy) {
      if (busy.holder.is_logger() || Clock::now() >= give_up)
        throw SessionLockBusy(std::string(busy.what()) +
                                  ": one cloud session per state directory (the cloud hands out "
                                  "one MQTT client id per installation); stop it first, or use "
                                  "another --state-dir with another account",
                              busy.holder);
      if (!told)
        log_info("collector", "waiting for " + busy.holder.describe() +
                                  " to finish: it holds the cloud session of " + state_dir);
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

// "probe 1 cooking 186.0°F, probe 2 charged": a device's probes in a phrase.
std::string probes_summary(const StatusReport& report) {
  std::string out;
  for (const ProbeSample& p : report.probes) {
    out += (out.empty() ? "" : ", ") + std::string("probe ") + std::to_string(p.probe) + " " +
           (p.state.empty() ? "?" : p.state);
    if (p.temperature) {
      char text[32];
      std::snprintf(text, sizeof text, " %.1f°%c", *p.temperature / 10.0, unit_letter(report.unit));
      out += text;
    }
  }
  if (report.online == false) out = "offline" + (out.empty() ? "" : "; " + out);
  return out.empty() ? "no probes" : out;
}

}  // namespace

class LiveCollector::Impl {
 public:
  explicit Impl(const CollectorConfig& config)
      : config_(config),
        lock_(lock_state_dir(config.state_dir)),
        first_run_(!StateDir(config.state_dir).load_session()),
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
    // The same messages, typed: for commands carried out for a local caller
    // and for `doctor`'s view of the devices.
    session_.on_device_list([this](const client::DeviceList& list) { take_devices(list); });
    session_.on_status_report([this](const StatusReport& report) { take_report(report); });
    session_.on_command_receipt(
        [this](const client::CommandReceipt& receipt) { tracker_.observe(receipt); });
  }

  int run();
  CollectorStatus live_status();
  void stop() { session_.stop(); }

 private:
  // The session's thread: its state and counters go on the status board.
  void take_state(const client::SessionEvent& event);
  void take_unit(TemperatureUnit unit);
  void set_error(const std::string& error);
  void take_devices(const client::DeviceList& list);
  void take_report(const StatusReport& report);

  // The control channel's threads.
  LoggerState logger_state();
  client::CommandResult carry_out(const client::CommandRequest& request,
                                  const ControlCaller& caller);

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
  std::unique_ptr<SessionLock> lock_;  // first: nothing else happens without it
  bool first_run_;                     // no saved session in the state directory
  storage::Database db_;
  client::Cloud cloud_;
  client::Session session_;
  std::string session_error_;  // the session's last error as copied; under status_.mutex
  MessageQueue queue_;
  StatusBoard status_;
  client::CommandTracker tracker_;
  DeviceBoard devices_;
  // Last: destroyed first, so that no request runs on a half-destroyed logger.
  std::unique_ptr<ControlServer> control_;
};

void LiveCollector::Impl::take_devices(const client::DeviceList& list) {
  tracker_.observe(list);  // with each device's lastStatusCmd
  std::lock_guard lock(devices_.mutex);
  devices_.list_received = true;
  devices_.listed = list.devices;
  for (const StatusReport& report : list.latest_reports)
    if (!devices_.latest.count(report.device_id))
      devices_.latest[report.device_id] = {now_ms(), report};
}

void LiveCollector::Impl::take_report(const StatusReport& report) {
  tracker_.observe(report);
  std::lock_guard lock(devices_.mutex);
  devices_.latest[report.device_id] = {now_ms(), report};
}

LoggerState LiveCollector::Impl::logger_state() {
  LoggerState s;
  s.pid = ::getpid();
  const client::SessionStats stats = session_.stats();
  s.subscriptions = stats.subscribed;
  s.logins = stats.logins;
  s.cert_applies = stats.cert_applies;
  {
    std::lock_guard lock(status_.mutex);
    s.state = status_.state;
    s.connected = status_.connected;
    s.reconnects = status_.reconnects;
    s.last_error = status_.last_error;
  }
  // The account's unit once the session has logged in (or reused its token).
  if (s.state != "starting") s.unit = std::string(1, unit_letter(cloud_.unit()));
  std::lock_guard lock(devices_.mutex);
  s.device_list_received = devices_.list_received;
  for (const DeviceInfo& d : devices_.listed) {
    LoggerDevice device{d.device_id, d.name, d.model, 0, ""};
    if (auto it = devices_.latest.find(d.device_id); it != devices_.latest.end()) {
      device.last_report_ms = it->second.first;
      device.summary = probes_summary(it->second.second);
    }
    s.devices.push_back(std::move(device));
  }
  return s;
}

// A command for a local caller, through this logger's session: the tracker
// sends it and follows it; the audit row names the caller's uid.
client::CommandResult LiveCollector::Impl::carry_out(const client::CommandRequest& request,
                                                     const ControlCaller& caller) {
  log_info("control", "uid " + std::to_string(caller.uid) + " asks: " +
                          client::verb_name(request.verb) + " on " + request.device.substr(0, 80) +
                          (request.probe ? " probe " + std::to_string(request.probe) : ""));
  storage::Database db(config_.db_path);
  CommandAudit audit(db, config_.email, static_cast<std::int64_t>(caller.uid));
  client::CommandResult result = tracker_.execute(
      cloud_, request, [&](const client::CommandResult& sent) { audit.sent(sent); });
  audit.finished(result);
  log_info("control", std::string(client::outcome_name(result.outcome)) + ": " + result.message);
  return result;
}

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
  if (first_run_)
    log_info("collector",
             "first run (no saved session in " + config_.state_dir +
                 "): the cloud keeps one active session per account, so a logger logged in "
                 "with the phone app's account makes both drop out now and then; log it in "
                 "with a second ThermoMaven account to which the devices are shared from the "
                 "app (README, \"A second account for the logger\")");
  control_ = std::make_unique<ControlServer>(
      config_.state_dir, [this] { return logger_state(); },
      [this](const client::CommandRequest& request, const ControlCaller& caller) {
        return carry_out(request, caller);
      });
  std::thread writer([this] { write_loop(); });
  const int exit_code = session_.run();
  control_->stop_accepting();
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
    s.counters.logins = status_.logins;
    s.counters.cert_applies = status_.cert_applies;
    s.counters.subscribe_refused = status_.subscribe_refused;
    s.counters.connect_failures = status_.connect_failures;
    status_.dirty = false;
  }
  const IngestStats& stats = ingestor.stats();
  for (const auto& [kind, count] : stats.messages)
    message_counter(s.counters, kind) = static_cast<std::int64_t>(count);
  for (const auto& [reason, count] : stats.rejected)
    rejected_counter(s.counters, reason) = static_cast<std::int64_t>(count);
  s.counters.readings_stored = static_cast<std::int64_t>(stats.readings_stored);
  s.counters.readings_duplicate = static_cast<std::int64_t>(stats.readings_duplicate);
  s.counters.dropped.queue_full = static_cast<std::int64_t>(queue_.dropped());
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
                           std::string(error.reason_name()) + "): " + error.detail.substr(0, 200));
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
