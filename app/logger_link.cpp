// `command` and `doctor` beside a running logger: they find it through the
// state directory's session lock and control socket, and ask it instead of
// logging in themselves (logger_link.hpp; docs/collector.md, "Control
// channel").
#include "logger_link.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "command_command.hpp"
#include "thermomaven/client/config.hpp"

namespace thermomaven::app {
namespace cl = thermomaven::client;

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

std::unique_ptr<thermomaven::client::SessionLock> hold_session(const std::string& state_dir) {
  thermomaven::client::StateDir dir(state_dir);  // creates it, checks owner and mode
  try {
    return std::make_unique<thermomaven::client::SessionLock>(state_dir, "command");
  } catch (const thermomaven::client::SessionLockBusy& busy) {
    // A logger that started between our look and the lock: it will answer soon.
    throw std::runtime_error(std::string(busy.what()) + ": try again in a moment");
  }
}

int command_via_logger(thermomaven::collector::ControlClient& logger,
                       const cl::CommandRequest& request) {
  const cl::CommandResult result = logger.command(request);  // ControlError: one line
  if (result.sent)
    std::printf("sent %s to %s \"%s\" (cmdId %s) through the running logger\n", result.what.c_str(),
                result.device_id.c_str(), result.device_name.c_str(), result.cmd_id.c_str());
  std::fflush(stdout);
  return print_result(result);  // as the standalone command prints it
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
