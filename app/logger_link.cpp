// `command` and `doctor` beside a running logger: they find it through the
// state directory's session lock and control socket, and ask it instead of
// logging in themselves (logger_link.hpp; docs/collector.md, "Control
// channel").
#include "logger_link.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "command_command.hpp"
#include "thermomaven/client/config.hpp"

namespace thermomaven::app {
namespace {

namespace cl = thermomaven::client;

// A logger that holds the lock but has no socket yet is still starting.
constexpr auto kStartingLoggerWait = std::chrono::seconds(15);

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string age(std::int64_t received_ms) {
  const std::int64_t seconds = std::max<std::int64_t>(0, (now_ms() - received_ms) / 1000);
  if (seconds < 120) return std::to_string(seconds) + " s ago";
  if (seconds < 7200) return std::to_string(seconds / 60) + " min ago";
  return std::to_string(seconds / 3600) + " h ago";
}

void line(const char* mark, const std::string& step, const std::string& detail) {
  std::printf("%s %s: %s\n", mark, step.c_str(), detail.c_str());
}

}  // namespace

std::string state_dir_of(const CliArgs& args) {
  if (auto flag = args.get("--state-dir")) return *flag;
  if (const char* env = std::getenv("THERMOMAVEN_STATE_DIR"); env && *env) return env;
  if (auto path = args.get("--config")) {
    try {
      const thermomaven::client::Settings file = thermomaven::client::read_config_file(*path);
      if (auto it = file.find("THERMOMAVEN_STATE_DIR"); it != file.end() && !it->second.empty())
        return it->second;
    } catch (const thermomaven::client::ConfigError& e) {
      throw UsageError(e.what());
    }
  }
  return thermomaven::client::default_state_dir();
}

std::optional<thermomaven::collector::ControlClient> running_logger(const std::string& state_dir) {
  const auto give_up = std::chrono::steady_clock::now() + kStartingLoggerWait;
  for (;;) {
    try {
      if (auto logger = thermomaven::collector::ControlClient::connect(state_dir)) return logger;
    } catch (const thermomaven::collector::ControlError& e) {
      throw std::runtime_error(e.what());
    }
    const std::optional<thermomaven::client::LockHolder> holder = thermomaven::client::session_lock_holder(state_dir);
    if (!holder) return std::nullopt;
    if (!holder->is_logger())
      throw std::runtime_error(holder->describe() + " holds the cloud session of " + state_dir +
                               ": try again when it has finished");
    if (std::chrono::steady_clock::now() >= give_up)
      throw std::runtime_error(holder->describe() + " holds the cloud session of " + state_dir +
                               " but does not answer on " + thermomaven::collector::control_socket_path(state_dir));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::unique_ptr<thermomaven::client::SessionLock> hold_session(const std::string& state_dir) {
  thermomaven::client::StateDir dir(state_dir);  // creates it, checks owner and mode
  try {
    return std::make_unique<thermomaven::client::SessionLock>(state_dir, "command");
  } catch (const thermomaven::client::SessionLockBusy& busy) {
    // A logger that started between our look and the lock: it will answer soon.
    throw std::runtime_error(std::string(busy.what()) + ": try again in a moment");
  }
}

int command_via_logger(thermomaven::collector::ControlClient& logger, const cl::CommandRequest& request) {
  cl::CommandResult result;
  try {
    result = logger.command(request);
  } catch (const thermomaven::collector::ControlError& e) {
    throw std::runtime_error(e.what());
  }
  if (result.sent)
    std::printf("sent %s to %s \"%s\" (cmdId %s) through the running logger\n", result.what.c_str(),
                result.device_id.c_str(), result.device_name.c_str(), result.cmd_id.c_str());
  std::fflush(stdout);
  return print_result(result);  // as the standalone command prints it
}

int doctor_via_logger(thermomaven::collector::ControlClient& logger, const std::string& state_dir) {
  thermomaven::collector::LoggerState s;
  try {
    s = logger.status();
  } catch (const thermomaven::collector::ControlError& e) {
    throw std::runtime_error(e.what());
  }
  int failures = 0;
  line("ok  ", "logger running",
       "pid " + std::to_string(s.pid) + " holds the cloud session of " + state_dir +
           "; doctor asked it instead of logging in (a second session would knock it off the "
           "broker)");
  if (s.connected) {
    line("ok  ", "connected",
         "state " + s.state + ", " + std::to_string(s.reconnects) +
             " reconnect(s) since it started");
  } else {
    ++failures;
    line("FAIL", "connected",
         "no: state " + s.state + (s.last_error.empty() ? "" : " (" + s.last_error + ")") +
             " — the logger keeps retrying; see its log");
  }
  std::string topics;
  for (const std::string& t : s.subscriptions) topics += (topics.empty() ? "" : ", ") + t;
  if (!s.subscriptions.empty()) {
    line("ok  ", "subscribed", std::to_string(s.subscriptions.size()) + " topic(s): " + topics);
  } else if (s.connected) {
    ++failures;
    line("FAIL", "subscribed", "no topic granted on this connection");
  }
  if (!s.device_list_received) {
    ++failures;
    line("FAIL", "device list received", "not yet");
  } else {
    line("ok  ", "device list received", std::to_string(s.devices.size()) + " device(s)");
    bool heard = s.devices.empty();
    for (const thermomaven::collector::LoggerDevice& d : s.devices) {
      const std::string who = d.model + " \"" + d.name + "\" (" + d.device_id + ")";
      if (d.last_report_ms == 0) {
        line("warn", "status report", who + ": no report since the logger started");
        continue;
      }
      heard = true;
      line("ok  ", "status report",
           who + ": last report " + age(d.last_report_ms) + ": " + d.summary);
    }
    if (!heard) ++failures;
  }
  if (!s.last_error.empty()) line("warn", "last error", s.last_error);
  std::printf(
      "skip api reachable, login, certificate granted, keystore downloaded, keystore MD5, "
      "keystore opened, broker reachable: not run by doctor beside a running logger (it logged "
      "in %lld time(s) and was granted %lld certificate(s)); stop the logger to check them "
      "from scratch\n",
      static_cast<long long>(s.logins), static_cast<long long>(s.cert_applies));
  print_second_account_advice();
  return failures ? 1 : 0;
}

void print_second_account_advice() {
  std::printf(
      "note one session per account: a logger logged in with the phone app's account makes "
      "both drop out now and then; create a second ThermoMaven account, share the devices to "
      "it in the app, and log the logger in with it (README, \"A second account for the "
      "logger\")\n");
  std::fflush(stdout);
}

}  // namespace thermomaven::app
