// The doctor's steps (thermomaven/doctor.hpp), moved here from the CLI so
// that any program embedding the client can run them: a Cloud and a Session
// of its own, each step judged from what the client API reports, every
// result handed to the caller as it is known.
#include "thermomaven/doctor.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "thermomaven/client/tcp_probe.hpp"
#include "thermomaven/core/time.hpp"

namespace thermomaven::client {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kNotTried = "not tried after this failure";

bool contains(const std::string& text, const char* part) {
  return text.find(part) != std::string::npos;
}

StepResult result(const std::string& step, StepStatus status, const std::string& detail,
                  const std::string& advice = "") {
  StepResult r;
  r.step = step;
  r.status = status;
  r.detail = detail;
  r.advice = advice;
  return r;
}

StepResult passed(const std::string& step, const std::string& detail) {
  return result(step, StepStatus::Passed, detail);
}

StepResult failed(const std::string& step, const std::string& detail, const std::string& advice) {
  return result(step, StepStatus::Failed, detail, advice);
}

std::string ago(std::int64_t epoch_ms, std::int64_t now_ms) {
  const std::int64_t minutes = (now_ms - epoch_ms) / 60000;
  if (minutes < 1) return "less than a minute ago";
  if (minutes < 120) return std::to_string(minutes) + " min ago";
  return std::to_string(minutes / 60) + " h ago";
}

std::string degrees(std::int32_t tenths, TemperatureUnit unit) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f °%c", tenths / 10.0, unit_letter(unit));
  return text;
}

std::string device_name(const DeviceInfo& d) {
  return d.model + " \"" + d.name + "\" (" + d.device_id + ")";
}

std::string readable_utc(std::int64_t epoch_ms) { return format_utc(epoch_ms, UtcStyle::Readable); }

// What the session's callbacks saw, for the waiting thread.
struct Observed {
  std::mutex mutex;
  std::condition_variable changed;
  bool connected = false;
  bool stopped = false;
  std::optional<DeviceList> device_list;
  std::set<std::string> reported;            // device ids with a live status report
  std::optional<std::string> reading;        // the first reading, described
  std::map<std::string, int> docked_probes;  // device id -> probes docked in its last report
};

bool wait_until(Observed& seen, Clock::time_point deadline, const auto& done) {
  std::unique_lock lock(seen.mutex);
  return seen.changed.wait_until(lock, deadline, [&] { return done() || seen.stopped; }) && done();
}

// One run: the results so far, each passed on to the caller at once.
class Doctor {
 public:
  Doctor(const Account& account, const DoctorOptions& options, const StepCallback& on_step)
      : account_(account),
        options_(options),
        on_step_(on_step),
        api_url_(account.api_url.empty() ? region_api_url(account.region) : account.api_url),
        broker_(parse_endpoint(account.broker.empty() ? region_mqtt_host(account.region)
                                                      : account.broker)) {}
  std::vector<StepResult> run();

 private:
  void add(const StepResult& result);
  void add(const std::vector<StepResult>& results) {
    for (const StepResult& r : results) add(r);
  }
  bool login(Cloud& cloud);
  bool certificate(Cloud& cloud);
  bool broker_reachable();
  void follow(Cloud& cloud);
  bool connected(Session& session);
  bool subscribed(Session& session, Clock::time_point deadline);
  bool device_topics(Session& session, Clock::time_point deadline);
  void status_report(Clock::time_point deadline);
  void silence(const std::string& detail);

  const Account& account_;
  const DoctorOptions& options_;
  const StepCallback& on_step_;
  const std::string api_url_;
  const Endpoint broker_;
  std::vector<StepResult> results_;
  Observed seen_;
  CertificateInfo certificate_;
  std::vector<DeviceInfo> rest_devices_;
};

// A failed step that blocks the rest skips every step after it.
void Doctor::add(const StepResult& result) {
  results_.push_back(result);
  if (on_step_) on_step_(result);
  if (result.status == StepStatus::Failed) add(skipped_after(result.step, kNotTried));
}

bool Doctor::login(Cloud& cloud) {
  try {
    cloud.login();
  } catch (const CloudError& e) {
    add(login_failure(e, api_url_, account_.email, account_.region));
    return false;
  }
  add(passed("api reachable", api_url_ + " (TLS verified)"));
  add(passed("login", "accepted for " + account_.email + " (user " + cloud.user_id() +
                          ", temperatures in °" + unit_letter(cloud.unit()) + ")"));
  return true;
}

bool Doctor::certificate(Cloud& cloud) {
  try {
    certificate_ = cloud.certificate();
  } catch (const CloudError& e) {
    add(certificate_failure(e));
    return false;
  }
  add(passed("certificate granted", "client id " + certificate_.client_id));
  add(passed("keystore downloaded", "the PKCS#12 keystore"));
  add(passed("keystore MD5", "matches the cloud's p12Md5"));
  add(passed("keystore opened", "certificate " + certificate_.subject_cn + ", valid until " +
                                    readable_utc(certificate_.not_after_s * 1000)));
  return true;
}

bool Doctor::broker_reachable() {
  const std::string where = broker_.host + ":" + std::to_string(broker_.port);
  const auto error =
      tcp_unreachable_reason(broker_.host, broker_.port, options_.broker_connect_timeout_ms);
  if (!error) {
    add(passed("broker reachable", where + " (TCP)"));
    return true;
  }
  add(failed("broker reachable", where + ": " + *error,
             "port " + std::to_string(broker_.port) +
                 " seems blocked (a firewall?) or THERMOMAVEN_MQTT_ENDPOINT is wrong" +
                 port_443_advice(broker_.host, broker_.port) +
                 other_broker_advice(account_.region, broker_.host)));
  return false;
}

bool Doctor::connected(Session& session) {
  wait_until(seen_, Clock::now() + std::chrono::seconds(options_.session_wait_s),
             [&] { return seen_.connected; });
  {
    std::lock_guard lock(seen_.mutex);
    if (seen_.connected) {
      add(passed("connected and authorised", broker_.host + ":" + std::to_string(broker_.port) +
                                                 " (mutual TLS, client certificate accepted)"));
      return true;
    }
  }
  add(connect_failure(session.stats(), broker_, account_.region, options_.session_wait_s));
  return false;
}

bool Doctor::subscribed(Session& session, Clock::time_point deadline) {
  const std::string topic = certificate_.topics.empty() ? "" : certificate_.topics.front();
  auto granted = [&] {
    for (const std::string& t : session.stats().subscribed)
      if (t == topic) return true;
    return false;
  };
  wait_until(seen_, deadline, [&] { return granted() || session.stats().subscribe_refused > 0; });
  if (granted()) {
    add(passed("subscribed", topic));
    return true;
  }
  const SessionStats stats = session.stats();
  add(failed("subscribed",
             stats.subscribe_refused
                 ? "the broker refused the user topic " + topic + " (" + stats.last_error + ")"
                 : "no answer to the subscription to " + topic,
             "the certificate's policy does not allow it; run doctor again for a new "
             "certificate"));
  return false;
}

// Every device topic of the list subscribed, or the refusal explained.
bool Doctor::device_topics(Session& session, Clock::time_point deadline) {
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
    add(passed("device topics subscribed", std::to_string(wanted.size()) + " topic(s)"));
    return true;
  }
  add(failed("device topics subscribed",
             "the broker refused " + std::to_string(left.size()) + " device topic(s), e.g. " +
                 *left.begin() + " (" + session.stats().last_error + ")",
             "the certificate's policy does not cover these devices: remove and add them again "
             "in the app, or ask the owner to share them again"));
  return false;
}

// "status report" failed, with the likely reasons; the last step, so it
// skips nothing.
void Doctor::silence(const std::string& detail) {
  StepResult result = failed("status report", detail, "the likely reasons:");
  {
    std::lock_guard lock(seen_.mutex);
    result.reasons = silence_reasons(*seen_.device_list, rest_devices_, options_.wait_s, now_ms());
  }
  add(result);
}

void Doctor::status_report(Clock::time_point deadline) {
  std::size_t devices = 0;
  {
    std::lock_guard lock(seen_.mutex);
    devices = seen_.device_list->devices.size();
  }
  if (devices == 0) return silence("none: the device list is empty");
  // Done at the first reading; a device whose probes are all docked keeps
  // sending stubs, so once every device has spoken there is no more to learn.
  wait_until(seen_, deadline,
             [&] { return seen_.reading.has_value() || seen_.reported.size() >= devices; });
  std::vector<StepResult> found;
  {
    std::lock_guard lock(seen_.mutex);
    if (seen_.reading) {
      found.push_back(passed("status report", *seen_.reading));
    } else if (!seen_.reported.empty()) {
      found.push_back(passed("status report", std::to_string(seen_.reported.size()) +
                                                  " device(s) reporting, without temperatures"));
      for (const DeviceInfo& d : seen_.device_list->devices) {
        auto it = seen_.docked_probes.find(d.device_id);
        if (it != seen_.docked_probes.end())
          found.push_back(result("status report", StepStatus::Warning,
                                 device_name(d) + ": every probe (" + std::to_string(it->second) +
                                     ") is in its charger; readings start when a probe is "
                                     "taken out"));
      }
    }
  }
  if (found.empty()) return silence("none within " + std::to_string(options_.wait_s) + " s");
  add(found);
}

void Doctor::follow(Cloud& cloud) {
  SessionOptions options;
  options.reconnect = false;
  Session session(cloud, options);
  session.on_state([this](const SessionEvent& e) {
    std::lock_guard lock(seen_.mutex);
    if (e.state == SessionState::Connected) seen_.connected = true;
    if (e.state == SessionState::Stopped) seen_.stopped = true;
    seen_.changed.notify_all();
  });
  session.on_device_list([this](const DeviceList& list) {
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
  const auto wait = std::chrono::seconds(options_.wait_s);
  if (connected(session) && subscribed(session, Clock::now() + wait)) {
    const auto list_deadline = Clock::now() + wait;
    if (!wait_until(seen_, list_deadline, [&] { return seen_.device_list.has_value(); })) {
      add(failed("device list received", "none within " + std::to_string(options_.wait_s) + " s",
                 "the cloud sends it when a client subscribes to the user topic; try again "
                 "later"));
    } else {
      std::string names;
      std::size_t count = 0;
      {
        std::lock_guard lock(seen_.mutex);
        for (const DeviceInfo& d : seen_.device_list->devices)
          names += (count++ ? ", " : ": ") + device_name(d);
      }
      add(passed("device list received", std::to_string(count) + " device(s)" + names));
      if (device_topics(session, list_deadline)) status_report(list_deadline);
    }
  }
  session.stop();
  session.wait();
}

std::vector<StepResult> Doctor::run() {
  Cloud cloud(account_);
  if (!login(cloud) || !certificate(cloud)) return results_;
  try {
    rest_devices_ = cloud.devices();
  } catch (const CloudError&) {
    // Only evidence for explaining a silence; the MQTT list is the step.
  }
  if (broker_reachable()) follow(cloud);
  return results_;
}

}  // namespace

const std::vector<std::string>& doctor_steps() {
  static const std::vector<std::string> steps = {"api reachable",
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
  return steps;
}

std::vector<StepResult> run_doctor(const Account& account, const DoctorOptions& options,
                                   const StepCallback& on_step) {
  return Doctor(account, options, on_step).run();
}

bool doctor_passed(const std::vector<StepResult>& results) {
  for (const StepResult& r : results)
    if (r.status == StepStatus::Failed) return false;
  return true;
}

std::vector<StepResult> skipped_after(const std::string& step, const std::string& detail) {
  std::vector<StepResult> skipped;
  bool after = false;
  for (const std::string& s : doctor_steps()) {
    if (after) skipped.push_back(result(s, StepStatus::Skipped, detail));
    if (s == step) after = true;
  }
  return skipped;
}

// AWS IoT's way around a blocked 8883.
std::string port_443_advice(const std::string& host, int port) {
  if (port == 443) return "";
  return "; AWS IoT also takes MQTT on port 443 with ALPN x-amzn-mqtt-ca, which thermomaven "
         "sends: try THERMOMAVEN_MQTT_ENDPOINT=" +
         host + ":443";
}

// No client has been reported working with a European account on either
// broker (protocol.md): when one cannot connect, the other is worth a try.
std::string other_broker_advice(const std::string& region, const std::string& host) {
  const std::string other = other_region_broker(region, host);
  if (other.empty()) return "";
  return "; no client is confirmed on a European account's broker, so the other broker is "
         "worth a try: THERMOMAVEN_MQTT_ENDPOINT=" +
         other + ":8883";
}

std::vector<StepResult> login_failure(const CloudError& e, const std::string& api_url,
                                      const std::string& email, const std::string& region) {
  const std::string what = e.what();
  if (e.kind == CloudError::Kind::Network) {
    const bool tls = contains(what, "SSL") || contains(what, "certificate");
    return {failed("api reachable", api_url + ": " + what,
                   tls ? "the API's TLS certificate is not trusted: check the system clock, a "
                         "proxy that intercepts HTTPS, or THERMOMAVEN_CA_FILE for a private CA"
                       : "check the network, a firewall, and THERMOMAVEN_API_URL / "
                         "THERMOMAVEN_REGION")};
  }
  if (e.kind == CloudError::Kind::BadResponse)
    return {failed("api reachable",
                   api_url + " answers, but not as the ThermoMaven API (" + what + ")",
                   "the cloud may be down for maintenance, or THERMOMAVEN_API_URL points "
                   "elsewhere; try again later")};
  // No refusal code is known to mean one cause, and the cloud answers a
  // wrong region like a wrong password (protocol.md): quote it (the error
  // carries the cloud's code and msg) and name every likely cause.
  const std::string quoted = what.substr(0, what.find("; likely causes"));
  return {passed("api reachable", api_url + " (TLS verified)"),
          failed("login", "refused for " + email + " (" + quoted + ")",
                 "check, in this order: the password (THERMOMAVEN_PASSWORD_FILE, its first "
                 "line), the region (" +
                     region +
                     " is in use; set THERMOMAVEN_REGION to the account's region), and the "
                     "account (THERMOMAVEN_EMAIL); the system clock matters too")};
}

std::vector<StepResult> certificate_failure(const CloudError& e) {
  // certificate() is one call; the error's code says which step failed.
  const std::string what = e.what();
  const std::string& step = e.code;
  if (step != "keystore_download" && step != "keystore_md5" && step != "keystore_unreadable" &&
      step != "certificate_expired")
    return {failed("certificate granted", "the cloud did not grant one (" + what + ")",
                   "try again later")};
  std::vector<StepResult> results = {
      passed("certificate granted", "the cloud granted a client certificate")};
  if (step == "keystore_download") {
    results.push_back(
        failed("keystore downloaded", what, "try again; a proxy may block the download"));
    return results;
  }
  results.push_back(passed("keystore downloaded", "the PKCS#12 keystore"));
  if (step == "keystore_md5") {
    results.push_back(failed("keystore MD5", "wrong (" + what + ")",
                             "the download was damaged or altered on the way (a proxy?); run "
                             "doctor again, the cloud hands out a new keystore each time"));
    return results;
  }
  results.push_back(passed("keystore MD5", "matches the cloud's p12Md5"));
  results.push_back(failed("keystore opened", "no (" + what + ")",
                           step == "certificate_expired"
                               ? "the certificate is out of date: check the system clock"
                               : "the password the cloud sent does not open it, or it is "
                                 "damaged; run doctor again for a new one"));
  return results;
}

StepResult connect_failure(const SessionStats& stats, const Endpoint& broker,
                           const std::string& region, int waited_s) {
  const std::string& error = stats.last_error;
  // A European account may also try the other broker (protocol.md).
  auto fail = [&](const std::string& detail, const std::string& fix) {
    const std::string advice = other_broker_advice(region, broker.host);
    return failed("connected and authorised", detail,
                  fix.empty() && !advice.empty() ? advice.substr(2) : fix + advice);
  };
  switch (stats.connect_failure) {
    case ConnectFailure::NotAuthorised:
      return fail("the broker refused this client (" + error + ")",
                  "the certificate is not allowed in: run doctor again (it applies for a new "
                  "one); if it persists, the account's MQTT access is blocked: log in once "
                  "with the ThermoMaven app");
    case ConnectFailure::BrokerNotTrusted:
      return fail("the broker's TLS certificate is not trusted (" + error + ")",
                  "wrong endpoint for the region, or a proxy that intercepts TLS; check "
                  "THERMOMAVEN_MQTT_ENDPOINT and THERMOMAVEN_REGION (THERMOMAVEN_CA_FILE for a "
                  "private broker)");
    case ConnectFailure::TlsRefused:
      return fail("the TLS handshake with the broker failed (" + error + ")",
                  "the broker may have refused the client certificate; run doctor again");
    case ConnectFailure::Unreachable:
      // The TCP check passed: something takes the connection and says nothing.
      return fail("the broker takes the TCP connection but never answers (" + error + ")",
                  "something on the way swallows the traffic on this port (a firewall or "
                  "proxy)" +
                      port_443_advice(broker.host, broker.port));
    case ConnectFailure::None:
      break;
  }
  return fail(error.empty() ? "no connection within " + std::to_string(waited_s) + " s" : error,
              "");
}

std::vector<std::string> silence_reasons(const DeviceList& list,
                                         const std::vector<DeviceInfo>& rest_devices, int wait_s,
                                         std::int64_t now_ms) {
  if (list.devices.empty())
    return {rest_devices.empty()
                ? "no device on this account: add the thermometer in the ThermoMaven app "
                  "(a shared device appears once its share is accepted)"
                : "the cloud lists " + std::to_string(rest_devices.size()) +
                      " device(s) over REST but none over MQTT: try again later"};
  std::map<std::string, const StatusReport*> latest;
  for (const StatusReport& r : list.latest_reports) latest[r.device_id] = &r;
  std::vector<std::string> reasons;
  for (const DeviceInfo& d : list.devices) {
    auto it = latest.find(d.device_id);
    if (it == latest.end() || it->second->time_ms == 0) {
      reasons.push_back(device_name(d) +
                        " has never reported to the cloud: switch it on and "
                        "connect it to Wi-Fi in the app");
    } else if (it->second->online == false) {
      reasons.push_back(device_name(d) + " is offline since " + readable_utc(it->second->time_ms) +
                        " (" + ago(it->second->time_ms, now_ms) + "): check its power and Wi-Fi");
    } else {
      reasons.push_back(device_name(d) + " was online at its last report (" +
                        readable_utc(it->second->time_ms) + ") but sent nothing in " +
                        std::to_string(wait_s) + " s: it may have just gone offline");
    }
  }
  return reasons;
}

}  // namespace thermomaven::client
