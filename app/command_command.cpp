// command: one command to a device through the cloud (app/command/send).
// This file only reads the command line, hands the request to the running
// logger or to the client library's execute_on_own_session
// (thermomaven/command_tracker.hpp: the session, what to send, which receipt
// answers it, whether a stop or finish ended the cook), prints the outcome,
// writes the audit row (`commands` table) and maps the outcome to the exit
// code (README, "Commands").
#include "command_command.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "commands.hpp"
#include "live_config.hpp"
#include "logger_link.hpp"
#include "thermomaven/client.hpp"
#include "thermomaven/collector/command_audit.hpp"
#include "thermomaven/collector/running_logger.hpp"
#include "thermomaven/core/log.hpp"
#include "thermomaven/core/time.hpp"

namespace thermomaven::app {
namespace {

namespace cl = thermomaven::client;

// TEMP[C|F]: "93.5C", "200F", "200" (the account's unit).
void parse_temperature(const std::string& text, cl::CommandRequest& r) {
  std::string number = text;
  if (!number.empty() && (number.back() == 'C' || number.back() == 'c')) {
    r.unit = TemperatureUnit::Celsius;
    number.pop_back();
  } else if (!number.empty() && (number.back() == 'F' || number.back() == 'f')) {
    r.unit = TemperatureUnit::Fahrenheit;
    number.pop_back();
  }
  char* end = nullptr;
  r.degrees = std::strtod(number.c_str(), &end);
  if (number.empty() || *end != '\0' || !std::isfinite(r.degrees) || std::fabs(r.degrees) > 1000)
    throw UsageError("set-target needs a temperature like 93.5C, 203F or 203, not '" + text + "'");
}

// What the verbs are called, for the usage error.
constexpr const char* kVerbList = "set-target TEMP, stop, finish, rest or volume LEVEL";
// How many words a verb takes, itself included: set-target and volume take a value.
std::size_t words_of(cl::CommandVerb verb) {
  return verb == cl::CommandVerb::SetTarget || verb == cl::CommandVerb::Volume ? 2 : 1;
}

}  // namespace

cl::CommandRequest parse_command_request(const CliArgs& args) {
  cl::CommandRequest r;
  const auto& words = args.positional();
  if (words.empty()) throw UsageError(std::string("say what to do: ") + kVerbList);
  const auto verb = cl::verb_from_name(words[0]);
  if (!verb) throw UsageError("unknown command '" + words[0] + "': " + kVerbList);
  r.verb = *verb;
  if (r.verb == cl::CommandVerb::SetTarget) {
    if (words.size() < 2) throw UsageError("set-target needs a temperature, e.g. set-target 93C");
    parse_temperature(words[1], r);
  } else if (r.verb == cl::CommandVerb::Volume) {
    if (words.size() < 2) throw UsageError("volume needs a level: high, medium or quiet");
    r.volume = words[1];
    if (!cl::is_volume_level(r.volume))
      throw UsageError("volume must be high, medium or quiet, not '" + r.volume + "'");
  }
  if (words.size() > words_of(r.verb))
    throw UsageError("unexpected argument " + words[words_of(r.verb)]);
  r.device = args.get_or("--device", "");
  if (r.device.empty()) throw UsageError("--device ID|NAME is required");
  if (auto probe = args.optional_integer("--probe", 1, 4)) {
    if (r.verb == cl::CommandVerb::Volume)
      throw UsageError("volume is a setting of the device: no --probe");
    r.probe = static_cast<int>(*probe);
  } else if (r.verb != cl::CommandVerb::Volume) {
    throw UsageError(std::string(cl::verb_name(r.verb)) + " needs --probe N (1 to 4)");
  }
  r.timeout_s = static_cast<int>(
      args.seconds("--timeout", std::chrono::seconds(r.timeout_s), 1, 600).count());
  return r;
}

int print_result(const cl::CommandResult& result) {
  std::FILE* out = result.outcome == cl::CommandOutcome::Invalid ? stderr : stdout;
  std::fprintf(out, "%s%s\n",
               result.outcome == cl::CommandOutcome::Invalid ? "thermomaven command: " : "",
               result.message.c_str());
  return cl::exit_code(result.outcome);
}

int run_command_standalone(const thermomaven::client::CollectorConfig& config,
                           const cl::CommandRequest& request) {
  storage::Database db(config.db_path);
  thermomaven::collector::CommandAudit audit(db, config.email,
                                             static_cast<std::int64_t>(::getuid()));
  cl::Cloud cloud(cl::account_from_config(config));
  cl::SessionOptions options;
  options.backoff_base_ms = config.backoff_base_ms;
  options.backoff_max_ms = config.backoff_max_ms;
  const cl::CommandResult result =
      cl::execute_on_own_session(cloud, options, request, [&](const cl::CommandResult& sent) {
        audit.sent(sent);
        std::printf("sent %s to %s \"%s\" (cmdId %s)\n", sent.what.c_str(), sent.device_id.c_str(),
                    sent.device_name.c_str(), sent.cmd_id.c_str());
        std::fflush(stdout);
      });
  audit.finished(result);
  return print_result(result);
}

namespace {

int list_commands(const std::string& db_path) {
  storage::Database db(db_path);
  storage::CommandLog log(db);
  for (const storage::CommandRecord& r : log.latest(100)) {
    std::printf("%s  %s  %s  %s  %s  %s", format_utc(r.sent_ms).c_str(), r.who.c_str(),
                r.device_id.c_str(), r.probe ? ("probe" + std::to_string(*r.probe)).c_str() : "-",
                r.what.c_str(), r.result.c_str());
    if (r.cmd_error) std::printf(" (cmdError %lld)", static_cast<long long>(*r.cmd_error));
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int command_command(int argc, char** argv) {
  refuse_password_flag(argc, argv);
  CliArgs args(argc, argv, valued_flags({"--device", "--probe", "--timeout"}), {"--list"});
  if (args.has("--list")) {
    if (!args.positional().empty())
      throw UsageError("--list takes no command: " + args.positional()[0]);
    const char* env_db = std::getenv("THERMOMAVEN_DB");
    return list_commands(args.get_or("--db", env_db && *env_db ? env_db : "./thermomaven.db"));
  }
  const cl::CommandRequest request = parse_command_request(args);
  // Beside a running logger, through it: a session of our own would knock
  // it off the broker. Else this process holds the session while it runs.
  if (auto logger = collector::find_running_logger(state_dir_of(args)))
    return command_via_logger(*logger, request);
  const thermomaven::client::CollectorConfig config = load_config(args);
  const auto session_lock = hold_session(config.state_dir);
  // A one-shot command: the session's progress only when asked for.
  thermomaven::set_log_level(args.get("--log-level") ? config.log_level
                                                     : thermomaven::LogLevel::Warn);
  return run_command_standalone(config, request);
}

}  // namespace thermomaven::app
