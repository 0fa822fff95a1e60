// thermomaven::client::Session: the control side of the live path. The thread
// that calls run() drives certificates, connection, subscriptions, renewal
// and reconnect backoff; Paho's thread delivers messages to the callbacks.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "cloud_internal.hpp"
#include "memory_file.hpp"
#include "mqtt_client.hpp"
#include "thermomaven/client/message_parser.hpp"
#include "thermomaven/core/backoff.hpp"
#include "thermomaven/core/log.hpp"
#include "thermomaven/core/time.hpp"

namespace thermomaven::client {
namespace {

using Clock = std::chrono::steady_clock;

std::string join(const std::vector<std::string>& items, std::size_t limit = 8) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < limit; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > limit) out += ", ... (" + std::to_string(items.size()) + " in all)";
  return out;
}

std::string seconds_text(std::int64_t ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms) / 1000.0);
  return text;
}

// A topic named by the network is only followed if it is a plain topic:
// never a wildcard, never something odd.
bool is_plain_topic(const std::string& topic) {
  if (topic.empty() || topic.size() > 256) return false;
  return std::none_of(topic.begin(), topic.end(), [](char c) {
    return c == '+' || c == '#' || static_cast<unsigned char>(c) < 0x20;
  });
}

// An MQTT failure, retried after a backoff.
class MqttError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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

// A user callback must not take the MQTT thread down with it.
template <typename Callback, typename... Args>
void call_safely(const Callback& callback, const char* what, Args&&... args) {
  if (!callback) return;
  try {
    callback(std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    thermomaven::log_warn("session", std::string("the ") + what + " callback threw: " + e.what());
  } catch (...) {
    thermomaven::log_warn("session", std::string("the ") + what + " callback threw");
  }
}

}  // namespace

const char* state_name(SessionState state) {
  switch (state) {
    case SessionState::Starting:
      return "starting";
    case SessionState::ApplyingCertificate:
      return "applying_cert";
    case SessionState::Connecting:
      return "connecting";
    case SessionState::Connected:
      return "connected";
    case SessionState::Reconnecting:
      return "backoff";
    case SessionState::Stopped:
      return "stopped";
  }
  return "unknown";
}

struct Session::Impl {
  Impl(Cloud& cloud, SessionOptions options) : cloud(*cloud.impl_), options(options) {}

  int run();
  void stop() {
    {
      std::lock_guard lock(running_mutex);
      stopping = true;
      // Abandons an HTTP transfer of this run only: the Cloud stays usable.
      if (running) cloud.abort = true;
    }
    events.push(ControlEvent(EventKind::Stop));
  }
  void set_running(bool now) {
    std::lock_guard lock(running_mutex);
    running = now;
    if (!now) cloud.abort = false;
  }

  // One connection attempt: its credentials in memory files and its client.
  class Connection : public MqttListener {
   public:
    Connection(Impl& owner, std::uint64_t generation, const Credentials& credentials)
        : owner_(owner),
          generation_(generation),
          user_topics_(credentials.grant.sub_topics.begin(), credentials.grant.sub_topics.end()),
          trust_("tm-trust", credentials.keys.trust_pem + owner.cloud.extra_ca),
          certificate_("tm-cert", credentials.keys.certificate_pem),
          key_("tm-key", credentials.keys.private_key_pem),
          client_(MqttSettings{.host = owner.cloud.broker.host,
                               .port = owner.cloud.broker.port,
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
      owner_.deliver(topic, payload, user_topics_.count(std::string(topic)) > 0);
    }

   private:
    void post(ControlEvent event) {
      event.generation = generation_;
      owner_.events.push(std::move(event));
    }
    Impl& owner_;
    std::uint64_t generation_;
    std::set<std::string> user_topics_;
    MemoryFile trust_, certificate_, key_;
    MqttClient client_;  // last: destroyed before the files it reads
  };

  enum class Outcome { Stopped, Reconnect, Renew };

  // MQTT thread.
  void deliver(std::string_view topic, std::string_view payload, bool user_topic);
  void deliver_device_list(const Message& message);

  // Control thread.
  void fetch_credentials();
  Outcome connect_and_follow(thermomaven::Backoff& backoff);
  Outcome follow(Connection& connection);
  void subscribe_missing(Connection& connection);
  void request_device_lists();
  bool wait_backoff(std::int64_t delay_ms, const std::string& why);
  void take_device_topics(const ControlEvent& event);
  void take_unit(TemperatureUnit now);
  void refresh_unit_if_due();
  Clock::time_point unit_refresh_deadline() const;
  void set_state(SessionState state, const std::string& detail = "");
  void set_error(const std::string& error);
  template <typename Change>
  void count(Change change) {
    std::lock_guard lock(stats_mutex);
    change(stats);
  }
  bool typed_wanted() const {
    return on_status_report || on_device_list || on_command_receipt || on_unknown;
  }

  Cloud::Impl& cloud;
  SessionOptions options;
  std::function<void(const StatusReport&)> on_status_report;
  std::function<void(const DeviceList&)> on_device_list;
  std::function<void(const CommandReceipt&)> on_command_receipt;
  std::function<void(const UnknownMessage&)> on_unknown;
  std::function<void(std::string_view, std::string_view)> on_raw_message;
  std::function<void(const SessionEvent&)> on_state;
  std::function<void(TemperatureUnit)> on_unit;

  std::atomic<bool> stopping{false};
  std::mutex running_mutex;
  bool running = false;  // guarded by running_mutex
  EventQueue events;
  mutable std::mutex stats_mutex;
  SessionStats stats;
  SessionState state = SessionState::Starting;
  std::thread thread;
  int result = 0;

  // The unit reports are read in: written by the control thread, read by
  // the MQTT thread for each message.
  std::atomic<TemperatureUnit> unit{TemperatureUnit::Fahrenheit};

  // MQTT thread only (one connection at a time).
  MessageParser parser;
  Message message;

  // Control thread only.
  std::optional<Credentials> credentials;
  bool need_credentials = true;
  std::uint64_t generation = 0;
  bool ever_connected = false;
  std::set<std::string> wanted_topics;                 // user topics and every device topic seen
  std::set<std::string> subscribed, pending, refused;  // on the current connection
  std::optional<Clock::time_point> next_unit_read;     // set once the unit is first known
};

void Session::Impl::deliver(std::string_view topic, std::string_view payload, bool user_topic) {
  call_safely(on_raw_message, "raw message", topic, payload);
  // Device lists (user topic) are always read: they name the topics to follow.
  if (!user_topic && !typed_wanted()) return;
  ParseError error;
  parser.set_unit(unit.load(std::memory_order_relaxed));
  if (!parser.parse_payload(topic, payload, now_ms(), message, error)) {
    call_safely(on_unknown, "unknown message",
                UnknownMessage{std::string(topic), "", std::string(payload)});
    return;
  }
  switch (message.kind) {
    case MessageKind::DeviceList:
      deliver_device_list(message);
      break;
    case MessageKind::StatusReport:
      call_safely(on_status_report, "status report", message.report);
      break;
    case MessageKind::CommandReceipt:
      call_safely(on_command_receipt, "command receipt", message.receipt);
      break;
    case MessageKind::Unknown:
      call_safely(on_unknown, "unknown message",
                  UnknownMessage{std::string(topic), message.cmd_type, std::string(payload)});
      break;
  }
}

void Session::Impl::deliver_device_list(const Message& list) {
  ControlEvent event{EventKind::DeviceTopics};
  std::vector<std::string> names;
  for (const DeviceInfo& device : list.devices) {
    names.push_back(device.model + " " + device.device_id +
                    (device.name.empty() ? "" : " \"" + device.name + "\""));
    for (const std::string& topic : device.topics) event.topics.push_back(topic);
  }
  thermomaven::log_info("mqtt", "device list: " + std::to_string(list.devices.size()) +
                                    " device(s)" + (names.empty() ? "" : ": " + join(names)));
  events.push(std::move(event));
  if (on_device_list)
    call_safely(on_device_list, "device list", DeviceList{list.devices, list.latest_reports});
}

// The account's unit, as just read: reports received from now on use it.
void Session::Impl::take_unit(TemperatureUnit now) {
  unit.store(now, std::memory_order_relaxed);
  call_safely(on_unit, "unit", now);
}

Clock::time_point Session::Impl::unit_refresh_deadline() const {
  return next_unit_read.value_or(Clock::time_point::max());
}

// Reads the account's unit again when it is due. A failure is logged and
// keeps the current unit; it is tried again at the next interval.
void Session::Impl::refresh_unit_if_due() {
  if (options.unit_refresh_ms <= 0 || !next_unit_read || Clock::now() < *next_unit_read) return;
  next_unit_read = Clock::now() + std::chrono::milliseconds(options.unit_refresh_ms);
  try {
    take_unit(cloud.refresh_unit());
  } catch (const CloudError& e) {
    thermomaven::log_warn("api", std::string("could not read the account's temperature unit: ") +
                                     e.what() + "; keeping °" + unit_letter(unit.load()));
  }
}

void Session::Impl::set_state(SessionState new_state, const std::string& detail) {
  {
    std::lock_guard lock(stats_mutex);
    state = new_state;
    stats.connected = new_state == SessionState::Connected;
  }
  call_safely(on_state, "state", SessionEvent{new_state, detail});
}

void Session::Impl::set_error(const std::string& error) {
  SessionState now;
  {
    std::lock_guard lock(stats_mutex);
    stats.last_error = error;
    now = state;
  }
  call_safely(on_state, "state", SessionEvent{now, error});
}

bool Session::Impl::wait_backoff(std::int64_t delay_ms, const std::string& what) {
  set_state(SessionState::Reconnecting, what + " in " + seconds_text(delay_ms));
  thermomaven::log_info("collector", what + " in " + seconds_text(delay_ms));
  const auto deadline = Clock::now() + std::chrono::milliseconds(delay_ms);
  while (!stopping) {
    auto event = events.wait_until(deadline);
    if (!event) return true;
    if (event->kind == EventKind::DeviceTopics) take_device_topics(*event);
  }
  return false;
}

void Session::Impl::take_device_topics(const ControlEvent& event) {
  for (const std::string& topic : event.topics) {
    if (!is_plain_topic(topic)) {
      thermomaven::log_warn("mqtt", "ignoring device topic that is not a plain topic name");
      continue;
    }
    if (wanted_topics.insert(topic).second)
      thermomaven::log_info("mqtt", "following new device topic " + topic);
  }
}

void Session::Impl::fetch_credentials() {
  set_state(SessionState::ApplyingCertificate);
  Credentials fresh = cloud.fetch_credentials();
  for (const std::string& topic : fresh.grant.sub_topics)
    if (is_plain_topic(topic)) wanted_topics.insert(topic);
  count([&](SessionStats& s) {
    s.logins = fresh.logins;
    ++s.cert_applies;
    s.cert_expiry_s = fresh.keys.not_after_s;
  });
  credentials = std::move(fresh);
  need_credentials = false;
  // Logged in: the unit is the login's, or the one read for a saved session.
  take_unit(credentials->unit);
  if (!next_unit_read && options.unit_refresh_ms > 0)
    next_unit_read = Clock::now() + std::chrono::milliseconds(options.unit_refresh_ms);
}

// Both REST device-list calls, with an empty body: one client found that
// they make the cloud publish user:device:list (protocol.md). A failure is
// logged and counted; the session goes on (the list may come anyway).
void Session::Impl::request_device_lists() {
  for (const char* path :
       {"app/device/share/my/device/list", "app/device/share/shared/device/list"}) {
    try {
      cloud.call(path, "");
      count([](SessionStats& s) { ++s.device_list_calls; });
    } catch (const CloudError& e) {
      if (stopping) return;
      count([](SessionStats& s) { ++s.device_list_failures; });
      thermomaven::log_warn("api", std::string("asking for the device list failed: ") + e.what());
    }
  }
}

void Session::Impl::subscribe_missing(Connection& connection) {
  std::vector<std::string> topics;
  for (const std::string& topic : wanted_topics)
    if (!subscribed.count(topic) && !pending.count(topic) && !refused.count(topic))
      topics.push_back(topic);
  if (topics.empty()) return;
  pending.insert(topics.begin(), topics.end());
  thermomaven::log_debug("mqtt", "subscribing to " + join(topics));
  connection.client().subscribe(topics);
}

Session::Impl::Outcome Session::Impl::connect_and_follow(thermomaven::Backoff& backoff) {
  const std::string where = cloud.broker.host + ":" + std::to_string(cloud.broker.port);
  Connection connection(*this, ++generation, *credentials);
  subscribed.clear();
  pending.clear();
  refused.clear();
  count([](SessionStats& s) { s.subscribed.clear(); });
  set_state(SessionState::Connecting);
  thermomaven::log_info("mqtt", "connecting to " + where + " as " + credentials->grant.client_id);
  connection.client().connect();
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto event = events.wait_until(deadline);
    if (stopping) return Outcome::Stopped;
    if (!event) {
      count([](SessionStats& s) {
        ++s.connect_failures;
        s.connect_failure = ConnectFailure::Unreachable;
      });
      throw MqttError("no answer from " + where + " within 30 s");
    }
    if (event->kind == EventKind::DeviceTopics) take_device_topics(*event);
    if (event->generation != generation) continue;
    if (event->kind == EventKind::Connected) break;
    if (event->kind == EventKind::ConnectFailed || event->kind == EventKind::ConnectionLost) {
      std::string reason = event->reason.empty() ? "connection failed" : event->reason;
      const std::string& tls = event->tls_error;
      ConnectFailure failure = ConnectFailure::Unreachable;
      if (tls.find("certificate verify failed") != std::string::npos) {
        failure = ConnectFailure::BrokerNotTrusted;
        reason = "broker certificate not trusted (" + tls +
                 "); check THERMOMAVEN_CA_FILE / the broker's chain";
      } else if (!tls.empty()) {
        failure = ConnectFailure::TlsRefused;
        reason += " (TLS: " + tls + ")";
        // An alert from the broker ("bad certificate", "certificate
        // required", "unknown ca", "certificate expired") may mean it refused
        // our certificate: apply for a fresh one before the next attempt.
        if (tls.find("alert") != std::string::npos) need_credentials = true;
      } else if (event->code == 4 || event->code == 5) {
        failure = ConnectFailure::NotAuthorised;
        reason = "the broker refused the client (CONNACK " + std::to_string(event->code) +
                 ": not authorised)";
        need_credentials = true;
      }
      count([&](SessionStats& s) {
        ++s.connect_failures;
        s.connect_failure = failure;
      });
      throw MqttError("cannot connect to " + where + ": " + reason);
    }
  }
  backoff.reset();
  count([&](SessionStats& s) {
    if (ever_connected) ++s.reconnects;
    s.last_error.clear();
    s.connect_failure = ConnectFailure::None;
  });
  ever_connected = true;
  set_state(SessionState::Connected);
  thermomaven::log_info("mqtt", "connected to " + where);
  return follow(connection);
}

Session::Impl::Outcome Session::Impl::follow(Connection& connection) {
  thermomaven::Backoff subscribe_backoff(options.backoff_base_ms, options.backoff_max_ms);
  constexpr auto kNever = Clock::time_point::max();
  auto retry_refused_at = kNever;       // when to try refused subscriptions again
  auto device_lists_at = kNever;        // when to call the REST device lists
  bool device_lists_requested = false;  // once per connection
  subscribe_missing(connection);
  while (!stopping) {
    auto deadline = Clock::now() + std::chrono::seconds(30);
    deadline = std::min({deadline, retry_refused_at, device_lists_at, unit_refresh_deadline()});
    auto event = events.wait_until(deadline);
    if (stopping) break;
    refresh_unit_if_due();
    if (credentials && now_ms() / 1000 >= credentials->renew_at_s) {
      thermomaven::log_info("mqtt", "client certificate is due for renewal");
      need_credentials = true;
      return Outcome::Renew;
    }
    if (retry_refused_at != kNever && Clock::now() >= retry_refused_at) {
      retry_refused_at = kNever;
      thermomaven::log_info("mqtt", "trying the refused subscriptions again");
      refused.clear();
      subscribe_missing(connection);
    }
    if (device_lists_at != kNever && Clock::now() >= device_lists_at) {
      device_lists_at = kNever;
      request_device_lists();
      if (stopping) break;
    }
    if (!event) continue;
    if (event->kind == EventKind::DeviceTopics) {
      take_device_topics(*event);
      subscribe_missing(connection);
      continue;
    }
    if (event->generation != generation) continue;
    switch (event->kind) {
      case EventKind::ConnectionLost: {
        // Not connected from this moment, not only once the client is torn
        // down and the backoff begins: health and doctor read the state.
        set_state(SessionState::Reconnecting, "connection lost: " + event->reason);
        set_error("mqtt: connection lost: " + event->reason);
        thermomaven::log_warn("mqtt", "connection lost: " + event->reason);
        return Outcome::Reconnect;
      }
      case EventKind::Subscribed: {
        std::vector<std::string> granted_topics, refused_topics;
        for (std::size_t i = 0; i < event->topics.size(); ++i) {
          pending.erase(event->topics[i]);
          const bool ok =
              i < event->granted.size() && event->granted[i] >= 0 && event->granted[i] <= 2;
          (ok ? granted_topics : refused_topics).push_back(event->topics[i]);
          (ok ? subscribed : refused).insert(event->topics[i]);
        }
        count([&](SessionStats& s) {
          s.subscribed.assign(subscribed.begin(), subscribed.end());
          s.subscribe_refused += static_cast<std::int64_t>(refused_topics.size());
        });
        const bool user_topic_granted =
            std::any_of(granted_topics.begin(), granted_topics.end(), [&](const std::string& t) {
              const auto& user = credentials->grant.sub_topics;
              return std::find(user.begin(), user.end(), t) != user.end();
            });
        if (user_topic_granted && !device_lists_requested) {
          device_lists_requested = true;
          device_lists_at = Clock::now() + std::chrono::milliseconds(options.device_list_delay_ms);
        }
        if (!granted_topics.empty()) {
          thermomaven::log_info("mqtt", "subscribed to " + join(granted_topics));
          set_state(SessionState::Connected, "subscribed to " + join(granted_topics));
        }
        if (!refused_topics.empty()) {
          const std::int64_t delay = subscribe_backoff.next_delay_ms();
          const std::string why =
              "the broker refused the subscription to " + join(refused_topics) + " (SUBACK 0x80)";
          thermomaven::log_error("mqtt", why + "; trying again in " + seconds_text(delay));
          set_error("mqtt: " + why);
          retry_refused_at = Clock::now() + std::chrono::milliseconds(delay);
        } else if (refused.empty()) {
          subscribe_backoff.reset();
        }
        break;
      }
      case EventKind::SubscribeFailed:
        for (const std::string& topic : event->topics) pending.erase(topic);
        thermomaven::log_warn(
            "mqtt", "subscription to " + join(event->topics) + " failed: " + event->reason);
        subscribe_missing(connection);
        break;
      default:
        break;
    }
  }
  return Outcome::Stopped;
}

int Session::Impl::run() {
  set_running(true);
  thermomaven::Backoff backoff(options.backoff_base_ms, options.backoff_max_ms);
  int exit_code = 0;
  // One failure: its one-line reason is logged and kept; true to go on.
  auto failed = [&](const std::string& component, const std::string& what) {
    set_error(component == "session" ? what : component + ": " + what);
    thermomaven::log_error(component, what);
    if (!options.reconnect) {
      exit_code = 2;
      return false;
    }
    return wait_backoff(backoff.next_delay_ms(), "trying again");
  };
  while (!stopping) {
    try {
      if (need_credentials || !credentials) fetch_credentials();
      const Outcome outcome = connect_and_follow(backoff);
      if (outcome == Outcome::Stopped) break;
      if (outcome == Outcome::Reconnect) {
        if (!options.reconnect) {
          exit_code = 2;
          break;
        }
        if (!wait_backoff(backoff.next_delay_ms(), "reconnecting")) break;
      }
    } catch (const CloudError& e) {
      if (stopping) break;  // an aborted request, not a failure
      if (e.kind == CloudError::Kind::LoginRefused) {
        set_error(e.what());
        thermomaven::log_error("api", e.what());
        exit_code = 1;
        break;
      }
      if (!failed(e.kind == CloudError::Kind::Certificate ? "cert" : "api", e.what())) break;
    } catch (const MqttError& e) {
      if (stopping) break;
      if (!failed("mqtt", e.what())) break;
    } catch (const std::exception& e) {
      if (stopping) break;
      if (!failed("session", e.what())) break;
    }
  }
  set_state(SessionState::Stopped);
  set_running(false);
  return exit_code;
}

Session::Session(Cloud& cloud, SessionOptions options)
    : impl_(std::make_unique<Impl>(cloud, options)) {}

Session::~Session() {
  stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void Session::on_status_report(std::function<void(const StatusReport&)> callback) {
  impl_->on_status_report = std::move(callback);
}
void Session::on_device_list(std::function<void(const DeviceList&)> callback) {
  impl_->on_device_list = std::move(callback);
}
void Session::on_command_receipt(std::function<void(const CommandReceipt&)> callback) {
  impl_->on_command_receipt = std::move(callback);
}
void Session::on_unknown(std::function<void(const UnknownMessage&)> callback) {
  impl_->on_unknown = std::move(callback);
}
void Session::on_raw_message(
    std::function<void(std::string_view topic, std::string_view payload)> callback) {
  impl_->on_raw_message = std::move(callback);
}
void Session::on_state(std::function<void(const SessionEvent&)> callback) {
  impl_->on_state = std::move(callback);
}
void Session::on_unit(std::function<void(TemperatureUnit)> callback) {
  impl_->on_unit = std::move(callback);
}

int Session::run() { return impl_->run(); }

void Session::start() {
  if (impl_->thread.joinable()) throw std::logic_error("the session is already running");
  impl_->thread = std::thread([this] { impl_->result = impl_->run(); });
}

void Session::stop() { impl_->stop(); }

int Session::wait() {
  if (impl_->thread.joinable()) impl_->thread.join();
  return impl_->result;
}

TemperatureUnit Session::unit() const { return impl_->unit.load(std::memory_order_relaxed); }

SessionStats Session::stats() const {
  std::lock_guard lock(impl_->stats_mutex);
  return impl_->stats;
}

}  // namespace thermomaven::client
