// doctor: runs every step of the live path with the configuration `collect`
// would use, through the same client API, and says step by step what works
// and what does not, in plain words with the fix. See docs/collector.md.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli_args.hpp"
#include "commands.hpp"
#include "live_config.hpp"
#include "logger_link.hpp"
#include "thermomaven/client.hpp"
#include "thermomaven/client/http_client.hpp"
#include "thermomaven/core/log.hpp"

namespace thermomaven::app {
namespace {

namespace cl = thermomaven::client;
using Clock = std::chrono::steady_clock;

constexpr int kBrokerConnectTimeoutMs = 5000;
constexpr auto kSessionEndWait = std::chrono::seconds(60);  // login, certificate, connect

// The steps, in order; a blocking failure names those it leaves untried.
const std::vector<std::string> kSteps = {"api reachable",
                                         "login",
                                         "certificate granted",
                                         "keystore downloaded",
                                         "keystore MD5",
                                         "keystore opened",
                                         "broker reachable",
                                         "connected and authorised",
                                         "subscribed",
                                         "device list received",
                                         "device topics subscribed",
                                         "status report"};

bool contains(const std::string& text, const char* part) {
  return text.find(part) != std::string::npos;
}

std::string utc_time(std::int64_t epoch_ms) {
  const std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return text;
}

std::string ago(std::int64_t epoch_ms) {
  using namespace std::chrono;
  const auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  const std::int64_t minutes = (now - epoch_ms) / 60000;
  if (minutes < 1) return "less than a minute ago";
  if (minutes < 120) return std::to_string(minutes) + " min ago";
  return std::to_string(minutes / 60) + " h ago";
}

std::string degrees(std::int32_t tenths, TemperatureUnit unit) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f °%c", tenths / 10.0, unit_letter(unit));
  return text;
}

// What doctor prints: one line per step, "ok", "FAIL", "warn", or "why"
// for a likely reason behind a silence. Never a secret.
class Report {
 public:
  void ok(const std::string& step, const std::string& detail) { line("ok  ", step, detail); }
  void warn(const std::string& step, const std::string& detail) { line("warn", step, detail); }
  void why(const std::string& detail) { std::printf("why  %s\n", detail.c_str()); }
  // A failed step; `blocking` lists the later steps as not tried.
  void fail(const std::string& step, const std::string& reason, const std::string& fix,
            bool blocking = true) {
    line("FAIL", step, reason + (fix.empty() ? "" : " — " + fix));
    ++failures_;
    if (!blocking) return;
    std::string skipped;
    bool after = false;
    for (const std::string& s : kSteps) {
      if (after) skipped += (skipped.empty() ? "" : ", ") + s;
      if (s == step) after = true;
    }
    if (!skipped.empty()) std::printf("skip %s: not tried after this failure\n", skipped.c_str());
  }
  int exit_code() const { return failures_ ? 1 : 0; }

 private:
  void line(const char* mark, const std::string& step, const std::string& detail) {
    std::printf("%s %s: %s\n", mark, step.c_str(), detail.c_str());
    std::fflush(stdout);
  }
  int failures_ = 0;
};

class TemporaryDir {
 public:
  TemporaryDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/thermomaven-doctor-XXXXXX";
    if (!::mkdtemp(pattern.data()))
      throw std::runtime_error("cannot create a temporary state directory in " + pattern);
    path_ = pattern;  // mkdtemp makes it 0700
  }
  ~TemporaryDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// SIGINT and SIGTERM are blocked in every thread (curl's and Paho's inherit
// the mask) and taken by one thread, which removes the temporary state
// directory before the process ends: it holds a session token.
class RemoveOnInterrupt {
 public:
  explicit RemoveOnInterrupt(std::string path) : path_(std::move(path)) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    thread_ = std::thread([this] {
      int signal = 0;
      while (sigwait(&signals_, &signal) != 0) {
      }
      if (done_) return;
      std::error_code ignored;
      std::filesystem::remove_all(path_, ignored);
      std::fprintf(stderr, "thermomaven doctor: interrupted\n");
      std::_Exit(128 + signal);
    });
  }
  ~RemoveOnInterrupt() {
    done_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }
  RemoveOnInterrupt(const RemoveOnInterrupt&) = delete;
  RemoveOnInterrupt& operator=(const RemoveOnInterrupt&) = delete;

 private:
  std::string path_;
  sigset_t signals_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// A plain TCP connect, so that a blocked port is told apart from a broker
// that refuses us. Empty when it connected, else why not.
std::string tcp_connect_error(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return std::string("cannot resolve the name (") + gai_strerror(rc) + ")";
  std::string error = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, kBrokerConnectTimeoutMs);
      if (rc == 0) {
        error = "no answer within " + std::to_string(kBrokerConnectTimeoutMs / 1000) + " s";
        ::close(fd);
        continue;
      }
      int so_error = 0;
      socklen_t len = sizeof so_error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      errno = so_error;
      rc = so_error ? -1 : 0;
    }
    if (rc != 0) error = std::strerror(errno);
    ::close(fd);
    if (rc == 0) {
      ::freeaddrinfo(found);
      return "";
    }
  }
  ::freeaddrinfo(found);
  return error;
}

// What the session's callbacks saw, for the waiting thread.
struct Observed {
  std::mutex mutex;
  std::condition_variable changed;
  bool connected = false;
  bool stopped = false;
  std::optional<cl::DeviceList> device_list;
  std::set<std::string> reported;            // device ids with a live status report
  std::optional<std::string> reading;        // the first reading, described
  std::map<std::string, int> docked_probes;  // device id -> probes docked in its last report
};

bool wait_until(Observed& seen, Clock::time_point deadline, const auto& done) {
  std::unique_lock lock(seen.mutex);
  return seen.changed.wait_until(lock, deadline, [&] { return done() || seen.stopped; }) && done();
}

std::string device_name(const DeviceInfo& d) {
  return d.model + " \"" + d.name + "\" (" + d.device_id + ")";
}

// The likely reasons why no reading arrived, from what doctor saw.
void explain_silence(Report& report, const cl::DeviceList& list,
                     const std::vector<DeviceInfo>& rest_devices, int wait_s) {
  if (list.devices.empty()) {
    report.why(rest_devices.empty()
                   ? "no device on this account: add the thermometer in the ThermoMaven app "
                     "(a shared device appears once its share is accepted)"
                   : "the cloud lists " + std::to_string(rest_devices.size()) +
                         " device(s) over REST but none over MQTT: try again later");
    return;
  }
  std::map<std::string, const StatusReport*> latest;
  for (const StatusReport& r : list.latest_reports) latest[r.device_id] = &r;
  for (const DeviceInfo& d : list.devices) {
    auto it = latest.find(d.device_id);
    if (it == latest.end() || it->second->time_ms == 0) {
      report.why(device_name(d) +
                 " has never reported to the cloud: switch it on and "
                 "connect it to Wi-Fi in the app");
    } else if (it->second->online == false) {
      report.why(device_name(d) + " is offline since " + utc_time(it->second->time_ms) + " (" +
                 ago(it->second->time_ms) + "): check its power and Wi-Fi");
    } else {
      report.why(device_name(d) + " was online at its last report (" +
                 utc_time(it->second->time_ms) + ") but sent nothing in " + std::to_string(wait_s) +
                 " s: it may have just gone offline");
    }
  }
}

// AWS IoT's way around a blocked 8883.
std::string port_443_advice(const std::string& host, int port) {
  if (port == 443) return "";
  return "; AWS IoT also takes MQTT on port 443 with ALPN x-amzn-mqtt-ca, which thermomaven "
         "sends: try THERMOMAVEN_MQTT_ENDPOINT=" +
         host + ":443";
}

class Doctor {
 public:
  Doctor(const thermomaven::client::CollectorConfig& config, int wait_s) : config_(config), wait_s_(wait_s) {}
  int run();

 private:
  bool login(cl::Cloud& cloud);
  bool certificate(cl::Cloud& cloud);
  bool broker_reachable();
  void follow(cl::Cloud& cloud);
  bool connected(cl::Session& session);
  bool subscribed(cl::Session& session, Clock::time_point deadline);
  bool device_topics(cl::Session& session, Clock::time_point deadline);
  void status_report(Clock::time_point deadline);

  std::string other_broker_advice() const;

  const thermomaven::client::CollectorConfig& config_;
  int wait_s_;
  Report report_;
  Observed seen_;
  cl::CertificateInfo certificate_;
  std::vector<DeviceInfo> rest_devices_;
};

bool Doctor::login(cl::Cloud& cloud) {
  const std::string& api = config_.api_url;
  try {
    cloud.login();
  } catch (const cl::CloudError& e) {
    const std::string what = e.what();
    if (e.kind == cl::CloudError::Kind::Network) {
      const bool tls = contains(what, "SSL") || contains(what, "certificate");
      report_.fail("api reachable", api + ": " + what,
                   tls ? "the API's TLS certificate is not trusted: check the system clock, a "
                         "proxy that intercepts HTTPS, or THERMOMAVEN_CA_FILE for a private CA"
                       : "check the network, a firewall, and THERMOMAVEN_API_URL / "
                         "THERMOMAVEN_REGION");
      return false;
    }
    if (e.kind == cl::CloudError::Kind::BadResponse) {
      report_.fail("api reachable", api + " answers, but not as the ThermoMaven API (" + what + ")",
                   "the cloud may be down for maintenance, or THERMOMAVEN_API_URL points "
                   "elsewhere; try again later");
      return false;
    }
    report_.ok("api reachable", api + " (TLS verified)");
    // No refusal code is known to mean one cause, and the cloud answers a
    // wrong region like a wrong password (protocol.md): quote it (the
    // error carries the cloud's code and msg) and name every likely cause.
    // The client library's own list of causes is given as the fix below.
    const std::string quoted = what.substr(0, what.find("; likely causes"));
    report_.fail("login", "refused for " + config_.email + " (" + quoted + ")",
                 "check, in this order: the password (THERMOMAVEN_PASSWORD_FILE, its first "
                 "line), the region (" +
                     config_.region +
                     " is in use; set THERMOMAVEN_REGION to the account's region), and the "
                     "account (THERMOMAVEN_EMAIL); the system clock matters too");
    return false;
  }
  report_.ok("api reachable", config_.api_url + " (TLS verified)");
  report_.ok("login", "accepted for " + config_.email + " (user " + cloud.user_id() +
                          ", temperatures in °" + unit_letter(cloud.unit()) + ")");
  return true;
}

bool Doctor::certificate(cl::Cloud& cloud) {
  try {
    certificate_ = cloud.certificate();
  } catch (const cl::CloudError& e) {
    // certificate() is one call; the error's code says which step failed.
    const std::string what = e.what();
    const std::string& step = e.code;
    if (step != "keystore_download" && step != "keystore_md5" && step != "keystore_unreadable" &&
        step != "certificate_expired") {
      report_.fail("certificate granted", "the cloud did not grant one (" + what + ")",
                   "try again later");
      return false;
    }
    report_.ok("certificate granted", "the cloud granted a client certificate");
    if (step == "keystore_download") {
      report_.fail("keystore downloaded", what, "try again; a proxy may block the download");
      return false;
    }
    report_.ok("keystore downloaded", "the PKCS#12 keystore");
    if (step == "keystore_md5") {
      report_.fail("keystore MD5", "wrong (" + what + ")",
                   "the download was damaged or altered on the way (a proxy?); run doctor "
                   "again, the cloud hands out a new keystore each time");
      return false;
    }
    report_.ok("keystore MD5", "matches the cloud's p12Md5");
    report_.fail("keystore opened", "no (" + what + ")",
                 step == "certificate_expired"
                     ? "the certificate is out of date: check the system clock"
                     : "the password the cloud sent does not open it, or it is damaged; run "
                       "doctor again for a new one");
    return false;
  }
  report_.ok("certificate granted", "client id " + certificate_.client_id);
  report_.ok("keystore downloaded", "the PKCS#12 keystore");
  report_.ok("keystore MD5", "matches the cloud's p12Md5");
  report_.ok("keystore opened", "certificate " + certificate_.subject_cn + ", valid until " +
                                    utc_time(certificate_.not_after_s * 1000));
  return true;
}

// No client has been reported working with a European account on either
// broker (protocol.md): when one cannot connect, the other is worth a try.
std::string Doctor::other_broker_advice() const {
  const std::string other = thermomaven::client::other_region_broker(config_.region, config_.mqtt.host);
  if (other.empty()) return "";
  return "; no client is confirmed on a European account's broker, so the other broker is "
         "worth a try: THERMOMAVEN_MQTT_ENDPOINT=" +
         other + ":8883";
}

bool Doctor::broker_reachable() {
  const std::string& host = config_.mqtt.host;
  const int port = config_.mqtt.port;
  const std::string where = host + ":" + std::to_string(port);
  const std::string error = tcp_connect_error(host, port);
  if (error.empty()) {
    report_.ok("broker reachable", where + " (TCP)");
    return true;
  }
  const std::string fix = "port " + std::to_string(port) +
                          " seems blocked (a firewall?) or THERMOMAVEN_MQTT_ENDPOINT is wrong" +
                          port_443_advice(host, port) + other_broker_advice();
  report_.fail("broker reachable", where + ": " + error, fix);
  return false;
}

bool Doctor::connected(cl::Session& session) {
  wait_until(seen_, Clock::now() + kSessionEndWait, [&] { return seen_.connected; });
  const std::string where = config_.mqtt.host + ":" + std::to_string(config_.mqtt.port);
  {
    std::lock_guard lock(seen_.mutex);
    if (seen_.connected) {
      report_.ok("connected and authorised", where + " (mutual TLS, client certificate accepted)");
      return true;
    }
  }
  const cl::SessionStats stats = session.stats();
  const std::string& error = stats.last_error;
  const std::string step = "connected and authorised";
  // A European account may also try the other broker (protocol.md).
  auto fail = [&](const std::string& detail, const std::string& fix) {
    const std::string advice = other_broker_advice();
    report_.fail(step, detail, fix.empty() && !advice.empty() ? advice.substr(2) : fix + advice);
  };
  switch (stats.connect_failure) {
    case cl::ConnectFailure::NotAuthorised:
      fail("the broker refused this client (" + error + ")",
           "the certificate is not allowed in: run doctor again (it applies for a new "
           "one); if it persists, the account's MQTT access is blocked: log in once "
           "with the ThermoMaven app");
      break;
    case cl::ConnectFailure::BrokerNotTrusted:
      fail("the broker's TLS certificate is not trusted (" + error + ")",
           "wrong endpoint for the region, or a proxy that intercepts TLS; check "
           "THERMOMAVEN_MQTT_ENDPOINT and THERMOMAVEN_REGION (THERMOMAVEN_CA_FILE for a "
           "private broker)");
      break;
    case cl::ConnectFailure::TlsRefused:
      fail("the TLS handshake with the broker failed (" + error + ")",
           "the broker may have refused the client certificate; run doctor again");
      break;
    case cl::ConnectFailure::Unreachable:
      // The TCP check passed: something takes the connection and says nothing.
      fail("the broker takes the TCP connection but never answers (" + error + ")",
           "something on the way swallows the traffic on this port (a firewall or "
           "proxy)" +
               port_443_advice(config_.mqtt.host, config_.mqtt.port));
      break;
    case cl::ConnectFailure::None:
      fail(error.empty() ? "no connection within " + std::to_string(kSessionEndWait.count()) + " s"
                         : error,
           "");
      break;
  }
  return false;
}

bool Doctor::subscribed(cl::Session& session, Clock::time_point deadline) {
  const std::string topic = certificate_.topics.empty() ? "" : certificate_.topics.front();
  auto granted = [&] {
    const cl::SessionStats s = session.stats();
    for (const std::string& t : s.subscribed)
      if (t == topic) return true;
    return false;
  };
  auto answered = [&] { return granted() || session.stats().subscribe_refused > 0; };
  wait_until(seen_, deadline, answered);
  if (granted()) {
    report_.ok("subscribed", topic);
    return true;
  }
  const std::string error = session.stats().last_error;
  report_.fail("subscribed",
               session.stats().subscribe_refused
                   ? "the broker refused the user topic " + topic + " (" + error + ")"
                   : "no answer to the subscription to " + topic,
               "the certificate's policy does not allow it; run doctor again for a new "
               "certificate");
  return false;
}

// Every device topic of the list subscribed, or the refusal explained.
bool Doctor::device_topics(cl::Session& session, Clock::time_point deadline) {
  std::set<std::string> wanted;
  {
    std::lock_guard lock(seen_.mutex);
    for (const DeviceInfo& d : seen_.device_list->devices)
      wanted.insert(d.topics.begin(), d.topics.end());
  }
  auto missing = [&] {
    std::set<std::string> left = wanted;
    for (const std::string& t : session.stats().subscribed) left.erase(t);
    return left;
  };
  wait_until(seen_, deadline,
             [&] { return missing().empty() || session.stats().subscribe_refused > 0; });
  const std::set<std::string> left = missing();
  if (left.empty()) {
    report_.ok("device topics subscribed", std::to_string(wanted.size()) + " topic(s)");
    return true;
  }
  report_.fail("device topics subscribed",
               "the broker refused " + std::to_string(left.size()) + " device topic(s), e.g. " +
                   *left.begin() + " (" + session.stats().last_error + ")",
               "the certificate's policy does not cover these devices: remove and add them again "
               "in the app, or ask the owner to share them again");
  return false;
}

void Doctor::status_report(Clock::time_point deadline) {
  std::size_t devices = 0;
  {
    std::lock_guard lock(seen_.mutex);
    devices = seen_.device_list->devices.size();
  }
  if (devices == 0) {
    report_.fail("status report", "none: the device list is empty", "the likely reasons:", false);
    std::lock_guard lock(seen_.mutex);
    explain_silence(report_, *seen_.device_list, rest_devices_, wait_s_);
    return;
  }
  // Done at the first reading; a device whose probes are all docked keeps
  // sending stubs, so once every device has spoken there is no more to learn.
  wait_until(seen_, deadline,
             [&] { return seen_.reading.has_value() || seen_.reported.size() >= devices; });
  std::lock_guard lock(seen_.mutex);
  if (seen_.reading) {
    report_.ok("status report", *seen_.reading);
    return;
  }
  if (!seen_.reported.empty()) {
    report_.ok("status report", std::to_string(seen_.reported.size()) +
                                    " device(s) reporting, without temperatures");
    for (const DeviceInfo& d : seen_.device_list->devices) {
      auto it = seen_.docked_probes.find(d.device_id);
      if (it != seen_.docked_probes.end())
        report_.warn("status report",
                     device_name(d) + ": every probe (" + std::to_string(it->second) +
                         ") is in its charger; readings start when a probe is taken out");
    }
    return;
  }
  report_.fail("status report", "none within " + std::to_string(wait_s_) + " s",
               "the likely reasons:", false);
  explain_silence(report_, *seen_.device_list, rest_devices_, wait_s_);
}

void Doctor::follow(cl::Cloud& cloud) {
  cl::SessionOptions options;
  options.reconnect = false;
  cl::Session session(cloud, options);
  session.on_state([this](const cl::SessionEvent& e) {
    std::lock_guard lock(seen_.mutex);
    if (e.state == cl::SessionState::Connected) seen_.connected = true;
    if (e.state == cl::SessionState::Stopped) seen_.stopped = true;
    seen_.changed.notify_all();
  });
  session.on_device_list([this](const cl::DeviceList& list) {
    std::lock_guard lock(seen_.mutex);
    if (!seen_.device_list) seen_.device_list = list;
    seen_.changed.notify_all();
  });
  session.on_status_report([this](const StatusReport& r) {
    std::lock_guard lock(seen_.mutex);
    seen_.reported.insert(r.device_id);
    int docked = 0;
    for (const ProbeSample& p : r.probes) {
      if (p.is_docked()) ++docked;
      if (p.is_reading() && !seen_.reading)
        seen_.reading = r.model + " " + r.device_id + " probe " + std::to_string(p.probe) + ": " +
                        degrees(*p.temperature, r.unit);
    }
    if (docked > 0 && docked == static_cast<int>(r.probes.size()))
      seen_.docked_probes[r.device_id] = docked;
    else
      seen_.docked_probes.erase(r.device_id);
    seen_.changed.notify_all();
  });
  session.start();
  if (connected(session) && subscribed(session, Clock::now() + std::chrono::seconds(wait_s_))) {
    const auto list_deadline = Clock::now() + std::chrono::seconds(wait_s_);
    if (!wait_until(seen_, list_deadline, [&] { return seen_.device_list.has_value(); })) {
      report_.fail("device list received", "none within " + std::to_string(wait_s_) + " s",
                   "the cloud sends it when a client subscribes to the user topic; try again "
                   "later");
    } else {
      std::string names;
      std::size_t count = 0;
      {
        std::lock_guard lock(seen_.mutex);
        for (const DeviceInfo& d : seen_.device_list->devices)
          names += (count++ ? ", " : ": ") + device_name(d);
      }
      report_.ok("device list received", std::to_string(count) + " device(s)" + names);
      if (device_topics(session, list_deadline)) status_report(list_deadline);
    }
  }
  session.stop();
  session.wait();
}

int Doctor::run() {
  thermomaven::client::http_global_init();
  TemporaryDir state;
  RemoveOnInterrupt cleanup(state.path());  // before any thread starts
  // A state directory of its own: doctor always logs in afresh, since a
  // stored token would hide a wrong password.
  cl::Account account = account_of(config_);
  account.state_dir = state.path();
  cl::Cloud cloud(account);
  if (!login(cloud) || !certificate(cloud)) return report_.exit_code();
  try {
    rest_devices_ = cloud.devices();
  } catch (const cl::CloudError&) {
    // Only evidence for explaining a silence; the MQTT list is the step.
  }
  if (!broker_reachable()) return report_.exit_code();
  follow(cloud);
  return report_.exit_code();
}

int parse_wait(const std::string& text) {
  try {
    std::size_t used = 0;
    const int seconds = std::stoi(text, &used);
    if (used == text.size() && seconds >= 1 && seconds <= 3600) return seconds;
  } catch (const std::exception&) {
  }
  throw UsageError("--wait must be a number of seconds from 1 to 3600, not '" + text + "'");
}

}  // namespace

int doctor_command(int argc, char** argv) {
  refuse_password_flag(argc, argv);
  CliArgs args(argc, argv, valued_flags({"--wait"}), {});
  if (!args.positional().empty()) throw UsageError("unexpected argument " + args.positional()[0]);
  const int wait_s = parse_wait(args.get_or("--wait", "60"));
  // Beside a running logger: its live state; a session of doctor's own would
  // compete with it for the account.
  const std::string state_dir = state_dir_of(args);
  if (auto logger = running_logger(state_dir)) return doctor_via_logger(*logger, state_dir);
  const thermomaven::client::CollectorConfig config = load_config(args);
  // The library's own log lines would interleave with the steps; they show
  // with an explicit --log-level (or THERMOMAVEN_LOG_LEVEL).
  const bool log_level_given = args.get("--log-level") || std::getenv("THERMOMAVEN_LOG_LEVEL");
  thermomaven::set_log_level(log_level_given ? config.log_level : thermomaven::LogLevel::Error);
  Doctor doctor(config, wait_s);
  const int code = doctor.run();
  print_second_account_advice();
  return code;
}

}  // namespace thermomaven::app
