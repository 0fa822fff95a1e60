// Finding the running logger of a state directory and judging its state as
// doctor steps (running_logger.hpp), moved here from the CLI.
#include "thermomaven/collector/running_logger.hpp"

#include <algorithm>
#include <thread>

#include "thermomaven/client/state_dir.hpp"

namespace thermomaven::collector {
namespace {

using client::StepResult;
using client::StepStatus;

// The steps a standalone doctor runs that one beside a logger does not.
const std::vector<std::string> kStepsNotRun = {
    "api reachable", "login",           "certificate granted", "keystore downloaded",
    "keystore MD5",  "keystore opened", "broker reachable"};

std::string age(std::int64_t received_ms, std::int64_t now_ms) {
  const std::int64_t seconds = std::max<std::int64_t>(0, (now_ms - received_ms) / 1000);
  if (seconds < 120) return std::to_string(seconds) + " s ago";
  if (seconds < 7200) return std::to_string(seconds / 60) + " min ago";
  return std::to_string(seconds / 3600) + " h ago";
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

// Every device's last report; a failure when none has reported.
void device_reports(const LoggerState& s, std::int64_t now_ms, std::vector<StepResult>& out) {
  out.push_back(result("device list received", StepStatus::Passed,
                       std::to_string(s.devices.size()) + " device(s)"));
  bool heard = s.devices.empty();
  for (const LoggerDevice& d : s.devices) {
    const std::string who = d.model + " \"" + d.name + "\" (" + d.device_id + ")";
    if (d.last_report_ms == 0) {
      out.push_back(result("status report", StepStatus::Warning,
                           who + ": no report since the logger started"));
      continue;
    }
    heard = true;
    out.push_back(
        result("status report", StepStatus::Passed,
               who + ": last report " + age(d.last_report_ms, now_ms) + ": " + d.summary));
  }
  if (!heard)
    out.push_back(result("status report", StepStatus::Failed,
                         "none of the " + std::to_string(s.devices.size()) +
                             " device(s) has reported since the logger started",
                         "switch them on and check their Wi-Fi"));
}

}  // namespace

std::optional<ControlClient> find_running_logger(const std::string& state_dir,
                                                 std::chrono::milliseconds starting_wait) {
  const auto give_up = std::chrono::steady_clock::now() + starting_wait;
  for (;;) {
    if (auto logger = ControlClient::connect(state_dir)) return logger;
    const std::optional<client::LockHolder> holder = client::session_lock_holder(state_dir);
    if (!holder) return std::nullopt;
    if (!holder->is_logger())
      throw ControlError(holder->describe() + " holds the cloud session of " + state_dir +
                         ": try again when it has finished");
    if (std::chrono::steady_clock::now() >= give_up)
      throw ControlError(holder->describe() + " holds the cloud session of " + state_dir +
                         " but does not answer on " + control_socket_path(state_dir));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::vector<StepResult> logger_doctor_results(const LoggerState& s, const std::string& state_dir,
                                              std::int64_t now_ms) {
  std::vector<StepResult> out;
  out.push_back(result("logger running", StepStatus::Passed,
                       "pid " + std::to_string(s.pid) + " holds the cloud session of " + state_dir +
                           "; doctor asked it instead of logging in (a second session would "
                           "knock it off the broker)"));
  if (s.connected)
    out.push_back(result("connected", StepStatus::Passed,
                         "state " + s.state + ", " + std::to_string(s.reconnects) +
                             " reconnect(s) since it started"));
  else
    out.push_back(
        result("connected", StepStatus::Failed,
               "no: state " + s.state + (s.last_error.empty() ? "" : " (" + s.last_error + ")"),
               "the logger keeps retrying; see its log"));
  std::string topics;
  for (const std::string& t : s.subscriptions) topics += (topics.empty() ? "" : ", ") + t;
  if (!s.subscriptions.empty())
    out.push_back(result("subscribed", StepStatus::Passed,
                         std::to_string(s.subscriptions.size()) + " topic(s): " + topics));
  else if (s.connected)
    out.push_back(result("subscribed", StepStatus::Failed, "no topic granted on this connection"));
  if (!s.device_list_received)
    out.push_back(result("device list received", StepStatus::Failed, "not yet"));
  else
    device_reports(s, now_ms, out);
  if (!s.last_error.empty()) out.push_back(result("last error", StepStatus::Warning, s.last_error));
  const std::string not_run = "not run by doctor beside a running logger (it logged in " +
                              std::to_string(s.logins) + " time(s) and was granted " +
                              std::to_string(s.cert_applies) +
                              " certificate(s)); stop the logger to check them from scratch";
  for (const std::string& step : kStepsNotRun)
    out.push_back(result(step, StepStatus::Skipped, not_run));
  return out;
}

}  // namespace thermomaven::collector
