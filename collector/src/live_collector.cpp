#include "thermomaven/collector/live_collector.hpp"

#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "memory_file.hpp"
#include "message_queue.hpp"
#include "mqtt_client.hpp"
#include "thermomaven/collector/backoff.hpp"
#include "thermomaven/collector/cloud_api.hpp"
#include "thermomaven/collector/ingestor.hpp"
#include "thermomaven/collector/keystore.hpp"
#include "thermomaven/collector/log.hpp"
#include "thermomaven/collector/signing.hpp"
#include "thermomaven/collector/state_dir.hpp"
#include "thermomaven/storage/database.hpp"
#include "thermomaven/storage/reading_writer.hpp"

namespace thermomaven::collector {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string iso_time(std::int64_t epoch_s) {
  std::time_t t = static_cast<std::time_t>(epoch_s);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string join(const std::vector<std::string>& items, std::size_t limit = 8) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < limit; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > limit) out += ", ... (" + std::to_string(items.size()) + " in all)";
  return out;
}

// A topic named by the network is only followed if it is a plain topic:
// never a wildcard, never something odd.
bool is_plain_topic(const std::string& topic) {
  if (topic.empty() || topic.size() > 256) return false;
  return std::none_of(topic.begin(), topic.end(), [](char c) {
    return c == '+' || c == '#' || static_cast<unsigned char>(c) < 0x20;
  });
}

bool equal_ignoring_case(std::string a, std::string b) {
  auto lower = [](std::string& s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  };
  lower(a);
  lower(b);
  return a == b;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A failure that is retried after a backoff, with its one-line reason.
class RetryableError : public std::runtime_error {
 public:
  RetryableError(std::string component, const std::string& what)
      : std::runtime_error(what), component(std::move(component)) {}
  std::string component;  // for the log line: "api", "mqtt", ...
};

enum class EventKind {
  Connected,
  ConnectFailed,
  ConnectionLost,
  Subscribed,
  SubscribeFailed,
  DeviceTopics,
  Stop
};

struct ControlEvent {
  explicit ControlEvent(EventKind k) : kind(k) {}
  EventKind kind;
  std::uint64_t generation = 0;  // of the connection; 0 for others
  int code = 0;
  std::string reason, tls_error;
  std::vector<std::string> topics;
  std::vector<int> granted;
};

class EventQueue {
 public:
  void push(ControlEvent event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    ready_.notify_one();
  }
  std::optional<ControlEvent> wait_until(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (!ready_.wait_until(lock, deadline, [&] { return !events_.empty(); })) return std::nullopt;
    ControlEvent event = std::move(events_.front());
    events_.pop_front();
    return event;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<ControlEvent> events_;
};

// What the collector says about itself; written to the database by the writer.
struct StatusBoard {
  std::mutex mutex;
  std::string state = "starting";
  bool connected = false;
  std::int64_t reconnects = 0, logins = 0, cert_applies = 0, subscribe_refused = 0,
               connect_failures = 0;
  std::optional<std::int64_t> cert_expiry_s;
  std::string last_error;
  bool dirty = true;
};

struct Credentials {
  CertificateGrant grant;
  ClientCredentials keys;
  std::int64_t renew_at_s = 0;
};

}  // namespace

class LiveCollector::Impl {
 public:
  explicit Impl(const CollectorConfig& config)
      : config_(config),
        db_(config.db_path),
        state_dir_(config.state_dir),
        http_(HttpOptions{.ca_file = config.ca_file, .abort = &stopping_}),
        api_(ApiSettings{.base_url = config.api_url,
                         .region = config.region,
                         .app_key = config.app_key,
                         .email = config.email,
                         .password = config.password},
             http_, state_dir_),
        queue_(20000, 32u << 20) {}

  int run();
  CollectorStatus live_status();
  void stop() {
    stopping_ = true;
    events_.push(ControlEvent(EventKind::Stop));
  }

 private:
  // One connection attempt: its credentials in memory files and its client.
  class Connection : public MqttListener {
   public:
    Connection(Impl& owner, std::uint64_t generation, const Credentials& credentials,
               const std::string& extra_ca)
        : owner_(owner),
          generation_(generation),
          trust_("tm-trust", credentials.keys.trust_pem + extra_ca),
          certificate_("tm-cert", credentials.keys.certificate_pem),
          key_("tm-key", credentials.keys.private_key_pem),
          client_(MqttSettings{.host = owner.config_.mqtt.host,
                               .port = owner.config_.mqtt.port,
                               .client_id = credentials.grant.client_id,
                               .trust_path = trust_.path(),
                               .certificate_path = certificate_.path(),
                               .key_path = key_.path()},
                  *this) {}
    MqttClient& client() { return client_; }

    void on_connected() override { post(ControlEvent(EventKind::Connected)); }
    void on_connect_failed(int code, const std::string& reason,
                           const std::string& tls_error) override {
      ControlEvent e{EventKind::ConnectFailed};
      e.code = code;
      e.reason = reason;
      e.tls_error = tls_error;
      post(std::move(e));
    }
    void on_connection_lost(const std::string& reason) override {
      ControlEvent e{EventKind::ConnectionLost};
      e.reason = reason;
      post(std::move(e));
    }
    void on_subscribed(const std::vector<std::string>& topics,
                       const std::vector<int>& granted) override {
      ControlEvent e{EventKind::Subscribed};
      e.topics = topics;
      e.granted = granted;
      post(std::move(e));
    }
    void on_subscribe_failed(const std::vector<std::string>& topics,
                             const std::string& reason) override {
      ControlEvent e{EventKind::SubscribeFailed};
      e.topics = topics;
      e.reason = reason;
      post(std::move(e));
    }
    void on_message(std::string_view topic, std::string_view payload) override {
      owner_.queue_.push(topic, payload, now_ms());
    }

   private:
    void post(ControlEvent event) {
      event.generation = generation_;
      owner_.events_.push(std::move(event));
    }
    Impl& owner_;
    std::uint64_t generation_;
    MemoryFile trust_, certificate_, key_;
    MqttClient client_;  // last: destroyed before the files it reads
  };

  enum class Outcome { Stopped, Reconnect, Renew };

  // Control thread.
  void fetch_credentials();
  Outcome connect_and_follow(Backoff& backoff);
  Outcome follow(Connection& connection);
  void subscribe_missing(Connection& connection);
  bool wait_backoff(std::int64_t delay_ms, const std::string& why);
  void take_device_topics(const ControlEvent& event);
  void set_state(const std::string& state, std::optional<bool> connected = std::nullopt);
  void set_error(const std::string& error);

  // Writer thread.
  void write_loop();
  void ingest(const ReceivedMessage& message, Ingestor& ingestor);
  CollectorStatus status_snapshot(const Ingestor& ingestor);

  std::atomic<bool> stopping_{false};  // first: the HTTP client watches it
  CollectorConfig config_;
  storage::Database db_;
  StateDir state_dir_;
  HttpClient http_;
  CloudApi api_;
  MessageQueue queue_;
  EventQueue events_;
  StatusBoard status_;
  std::atomic<TemperatureUnit> unit_{TemperatureUnit::Fahrenheit};
  std::atomic<bool> unit_known_{false};

  // Control thread only.
  std::optional<Credentials> credentials_;
  bool need_credentials_ = true;
  std::uint64_t generation_ = 0;
  bool ever_connected_ = false;
  std::set<std::string> wanted_topics_;                   // user topics and every device topic seen
  std::set<std::string> subscribed_, pending_, refused_;  // on the current connection
};

void LiveCollector::Impl::set_state(const std::string& state, std::optional<bool> connected) {
  std::lock_guard lock(status_.mutex);
  status_.state = state;
  if (connected) status_.connected = *connected;
  status_.dirty = true;
}

void LiveCollector::Impl::set_error(const std::string& error) {
  std::lock_guard lock(status_.mutex);
  status_.last_error = error;
  status_.dirty = true;
}

static std::string seconds_text(std::int64_t ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms) / 1000.0);
  return text;
}

bool LiveCollector::Impl::wait_backoff(std::int64_t delay_ms, const std::string& what) {
  set_state("backoff", false);
  log_info("collector", what + " in " + seconds_text(delay_ms));
  const auto deadline = Clock::now() + std::chrono::milliseconds(delay_ms);
  while (!stopping_) {
    auto event = events_.wait_until(deadline);
    if (!event) return true;
    if (event->kind == EventKind::DeviceTopics) take_device_topics(*event);
  }
  return false;
}

void LiveCollector::Impl::take_device_topics(const ControlEvent& event) {
  for (const std::string& topic : event.topics) {
    if (!is_plain_topic(topic)) {
      log_warn("mqtt", "ignoring device topic that is not a plain topic name");
      continue;
    }
    if (wanted_topics_.insert(topic).second)
      log_info("mqtt", "following new device topic " + topic);
  }
}

void LiveCollector::Impl::fetch_credentials() {
  set_state("applying_cert", false);
  const int logins_before = api_.logins();
  api_.ensure_session();
  CertificateGrant grant = api_.apply_for_certificate();
  {
    std::lock_guard lock(status_.mutex);
    status_.logins += api_.logins() - logins_before;
    ++status_.cert_applies;
  }
  unit_ = api_.session().unit;
  unit_known_ = true;
  std::string keystore = api_.download(grant.p12_url);
  const std::string actual_md5 = md5_hex(keystore);
  if (!equal_ignoring_case(actual_md5, grant.p12_md5))
    throw RetryableError("cert", "keystore MD5 mismatch: the cloud announced " +
                                     grant.p12_md5.substr(0, 64) + " but the download from " +
                                     url_without_query(grant.p12_url) + " has " + actual_md5 +
                                     "; not using it");
  Credentials credentials{std::move(grant), {}, 0};
  try {
    credentials.keys = open_pkcs12(keystore, credentials.grant.p12_password);
  } catch (const KeystoreError& e) {
    OPENSSL_cleanse(keystore.data(), keystore.size());
    throw RetryableError("cert", std::string("keystore: ") + e.what());
  }
  OPENSSL_cleanse(keystore.data(), keystore.size());
  OPENSSL_cleanse(credentials.grant.p12_password.data(), credentials.grant.p12_password.size());
  const std::int64_t now_s = now_ms() / 1000;
  if (credentials.keys.not_after_s <= now_s)
    throw RetryableError("cert", "the cloud handed out a client certificate that expired at " +
                                     iso_time(credentials.keys.not_after_s));
  credentials.renew_at_s = renewal_time_s(credentials.keys);
  log_info("mqtt", "client certificate for " + credentials.grant.client_id + " valid until " +
                       iso_time(credentials.keys.not_after_s) + ", renewal after " +
                       iso_time(credentials.renew_at_s) + "; broker trust: " +
                       (credentials.keys.chain_from_keystore ? "chain from the keystore"
                                                             : "Amazon Root CA 1") +
                       (config_.ca_file.empty() ? "" : " + " + config_.ca_file));
  for (const std::string& topic : credentials.grant.sub_topics)
    if (is_plain_topic(topic)) wanted_topics_.insert(topic);
  {
    std::lock_guard lock(status_.mutex);
    status_.cert_expiry_s = credentials.keys.not_after_s;
    status_.dirty = true;
  }
  credentials_ = std::move(credentials);
  need_credentials_ = false;
}

void LiveCollector::Impl::subscribe_missing(Connection& connection) {
  std::vector<std::string> topics;
  for (const std::string& topic : wanted_topics_)
    if (!subscribed_.count(topic) && !pending_.count(topic) && !refused_.count(topic))
      topics.push_back(topic);
  if (topics.empty()) return;
  pending_.insert(topics.begin(), topics.end());
  log_debug("mqtt", "subscribing to " + join(topics));
  connection.client().subscribe(topics);
}

LiveCollector::Impl::Outcome LiveCollector::Impl::connect_and_follow(Backoff& backoff) {
  const std::string where = config_.mqtt.host + ":" + std::to_string(config_.mqtt.port);
  std::string extra_ca;
  if (!config_.ca_file.empty()) extra_ca = "\n" + read_text_file(config_.ca_file);
  Connection connection(*this, ++generation_, *credentials_, extra_ca);
  subscribed_.clear();
  pending_.clear();
  refused_.clear();
  set_state("connecting", false);
  log_info("mqtt", "connecting to " + where + " as " + credentials_->grant.client_id);
  connection.client().connect();
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto event = events_.wait_until(deadline);
    if (stopping_) return Outcome::Stopped;
    if (!event) {
      std::lock_guard lock(status_.mutex);
      ++status_.connect_failures;
      throw RetryableError("mqtt", "no answer from " + where + " within 30 s");
    }
    if (event->kind == EventKind::DeviceTopics) take_device_topics(*event);
    if (event->generation != generation_) continue;
    if (event->kind == EventKind::Connected) break;
    if (event->kind == EventKind::ConnectFailed || event->kind == EventKind::ConnectionLost) {
      std::string reason = event->reason.empty() ? "connection failed" : event->reason;
      const std::string& tls = event->tls_error;
      if (tls.find("certificate verify failed") != std::string::npos) {
        reason = "broker certificate not trusted (" + tls +
                 "); check THERMOMAVEN_CA_FILE / the broker's chain";
      } else if (!tls.empty()) {
        reason += " (TLS: " + tls + ")";
        // An alert from the broker ("bad certificate", "certificate
        // required", "unknown ca", "certificate expired") may mean it refused
        // our certificate: apply for a fresh one before the next attempt.
        if (tls.find("alert") != std::string::npos) need_credentials_ = true;
      } else if (event->code == 4 || event->code == 5) {
        reason = "the broker refused the client (CONNACK " + std::to_string(event->code) +
                 ": not authorised)";
        need_credentials_ = true;
      }
      {
        std::lock_guard lock(status_.mutex);
        ++status_.connect_failures;
      }
      throw RetryableError("mqtt", "cannot connect to " + where + ": " + reason);
    }
  }
  backoff.reset();
  {
    std::lock_guard lock(status_.mutex);
    if (ever_connected_) ++status_.reconnects;
    status_.last_error.clear();
  }
  ever_connected_ = true;
  set_state("connected", true);
  log_info("mqtt", "connected to " + where);
  return follow(connection);
}

LiveCollector::Impl::Outcome LiveCollector::Impl::follow(Connection& connection) {
  Backoff subscribe_backoff(config_.backoff_base_ms, config_.backoff_max_ms);
  constexpr auto kNever = Clock::time_point::max();
  auto retry_refused_at = kNever;  // when to try refused subscriptions again
  subscribe_missing(connection);
  while (!stopping_) {
    auto deadline = Clock::now() + std::chrono::seconds(30);
    deadline = std::min(deadline, retry_refused_at);
    auto event = events_.wait_until(deadline);
    if (stopping_) break;
    if (credentials_ && now_ms() / 1000 >= credentials_->renew_at_s) {
      log_info("mqtt", "client certificate is due for renewal");
      need_credentials_ = true;
      return Outcome::Renew;
    }
    if (retry_refused_at != kNever && Clock::now() >= retry_refused_at) {
      retry_refused_at = kNever;
      log_info("mqtt", "trying the refused subscriptions again");
      refused_.clear();
      subscribe_missing(connection);
    }
    if (!event) continue;
    if (event->kind == EventKind::DeviceTopics) {
      take_device_topics(*event);
      subscribe_missing(connection);
      continue;
    }
    if (event->generation != generation_) continue;
    switch (event->kind) {
      case EventKind::ConnectionLost: {
        const std::string why = "mqtt: connection lost: " + event->reason;
        set_error(why);
        log_warn("mqtt", "connection lost: " + event->reason);
        return Outcome::Reconnect;
      }
      case EventKind::Subscribed: {
        std::vector<std::string> granted, refused;
        for (std::size_t i = 0; i < event->topics.size(); ++i) {
          pending_.erase(event->topics[i]);
          const bool ok =
              i < event->granted.size() && event->granted[i] >= 0 && event->granted[i] <= 2;
          (ok ? granted : refused).push_back(event->topics[i]);
          (ok ? subscribed_ : refused_).insert(event->topics[i]);
        }
        if (!granted.empty()) log_info("mqtt", "subscribed to " + join(granted));
        if (!refused.empty()) {
          const std::int64_t delay = subscribe_backoff.next_delay_ms();
          const std::string why =
              "the broker refused the subscription to " + join(refused) + " (SUBACK 0x80)";
          log_error("mqtt", why + "; trying again in " + seconds_text(delay));
          set_error("mqtt: " + why);
          {
            std::lock_guard lock(status_.mutex);
            status_.subscribe_refused += static_cast<std::int64_t>(refused.size());
          }
          retry_refused_at = Clock::now() + std::chrono::milliseconds(delay);
        } else if (refused_.empty()) {
          subscribe_backoff.reset();
        }
        break;
      }
      case EventKind::SubscribeFailed:
        for (const std::string& topic : event->topics) pending_.erase(topic);
        log_warn("mqtt", "subscription to " + join(event->topics) + " failed: " + event->reason);
        subscribe_missing(connection);
        break;
      default:
        break;
    }
  }
  return Outcome::Stopped;
}

int LiveCollector::Impl::run() {
  log_info("collector", "starting: database " + config_.db_path + ", state " + config_.state_dir +
                            ", api " + config_.api_url + ", broker " + config_.mqtt.host + ":" +
                            std::to_string(config_.mqtt.port));
  std::thread writer([this] { write_loop(); });
  Backoff backoff(config_.backoff_base_ms, config_.backoff_max_ms);
  int exit_code = 0;
  while (!stopping_) {
    try {
      if (need_credentials_ || !credentials_) fetch_credentials();
      const Outcome outcome = connect_and_follow(backoff);
      if (outcome == Outcome::Stopped) break;
      set_state("reconnecting", false);
      if (outcome == Outcome::Reconnect && !wait_backoff(backoff.next_delay_ms(), "reconnecting"))
        break;
    } catch (const ApiError& e) {
      if (stopping_) break;  // an aborted request, not a failure
      set_error(e.what());
      log_error("api", e.what());
      if (e.kind == ApiError::Kind::LoginRefused) {
        exit_code = 1;
        break;
      }
      if (!wait_backoff(backoff.next_delay_ms(), "trying again")) break;
    } catch (const RetryableError& e) {
      if (stopping_) break;  // an aborted request, not a failure
      set_error(e.component + ": " + e.what());
      log_error(e.component, e.what());
      if (!wait_backoff(backoff.next_delay_ms(), "trying again")) break;
    } catch (const std::exception& e) {
      if (stopping_) break;  // an aborted request, not a failure
      set_error(e.what());
      log_error("collector", e.what());
      if (!wait_backoff(backoff.next_delay_ms(), "trying again")) break;
    }
  }
  set_state("stopped", false);
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

void LiveCollector::Impl::ingest(const ReceivedMessage& message, Ingestor& ingestor) {
  ParseError error;
  const Message* parsed =
      ingestor.ingest_payload(message.topic, message.payload, message.receive_ms, error);
  if (!parsed) {
    log_warn("ingest", "rejected a message on " + message.topic.substr(0, 200) + " (" +
                           error.reason + "): " + error.detail.substr(0, 200));
    return;
  }
  switch (parsed->kind) {
    case MessageKind::DeviceList: {
      ControlEvent event{EventKind::DeviceTopics};
      std::vector<std::string> names;
      for (const DeviceInfo& device : parsed->devices) {
        names.push_back(device.model + " " + device.device_id +
                        (device.name.empty() ? "" : " \"" + device.name + "\""));
        for (const std::string& topic : device.topics) event.topics.push_back(topic);
      }
      log_info("mqtt", "device list: " + std::to_string(parsed->devices.size()) + " device(s)" +
                           (names.empty() ? "" : ": " + join(names)));
      events_.push(std::move(event));
      break;
    }
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
  storage::ReadingWriter writer(db_);
  Ingestor ingestor(writer);
  std::vector<ReceivedMessage> batch;
  auto last_status = Clock::now() - std::chrono::hours(1);
  std::uint64_t dropped_logged = 0;
  for (;;) {
    const bool open = queue_.pop_all(batch, std::chrono::milliseconds(1000));
    if (const std::uint64_t dropped = queue_.dropped(); dropped > dropped_logged) {
      log_warn("store", std::to_string(dropped - dropped_logged) +
                            " message(s) dropped: the queue was full (the database is too slow)");
      dropped_logged = dropped;
    }
    if (unit_known_) ingestor.parser().set_unit(unit_.load());
    try {
      for (const ReceivedMessage& message : batch) ingest(message, ingestor);
      bool dirty;
      {
        std::lock_guard lock(status_.mutex);
        dirty = status_.dirty;
      }
      const auto since = Clock::now() - last_status;
      const bool status_due = dirty || !open || since >= std::chrono::seconds(5) ||
                              (!batch.empty() && since >= std::chrono::seconds(1));
      if (status_due) {
        writer.write(status_snapshot(ingestor));
        last_status = Clock::now();
      }
      if (status_due || !batch.empty()) writer.commit();
      if (!batch.empty() && log_enabled(LogLevel::Debug))
        log_debug("store", "committed " + std::to_string(batch.size()) + " message(s)");
    } catch (const storage::StorageError& e) {
      writer.rollback();
      const std::string why = "storage: " + std::string(e.what()) + " (" +
                              std::to_string(batch.size()) + " message(s) of this batch lost)";
      set_error(why);
      log_error("store", why);
    }
    if (!open) break;
  }
}

LiveCollector::LiveCollector(const CollectorConfig& config)
    : impl_(std::make_unique<Impl>(config)) {}
LiveCollector::~LiveCollector() = default;
int LiveCollector::run() { return impl_->run(); }
void LiveCollector::stop() { impl_->stop(); }
CollectorStatus LiveCollector::live_status() const { return impl_->live_status(); }

}  // namespace thermomaven::collector
