// command: one command to a device through the cloud (app/command/send).
// This file only reads the command line, runs the client library's
// CommandTracker (thermomaven/command_tracker.hpp: what to send, which
// receipt answers it, whether a stop or finish ended the cook) on a session
// of its own, prints the outcome, writes the audit row (`commands` table)
// and maps the outcome to the exit code (README, "Commands").
#include "command_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <thread>

#include "commands.hpp"
#include "live_config.hpp"
#include "logger_link.hpp"
#include "thermomaven/client.hpp"
#include "thermomaven/collector/command_audit.hpp"
#include "thermomaven/core/log.hpp"

namespace thermomaven::app {
namespace {

namespace cl = thermomaven::client;
using Clock = std::chrono::steady_clock;

int parse_int(const std::string& flag, const std::string& text, int low, int high) {
  std::size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || value < low || value > high)
    throw UsageError(flag + " must be a whole number from " + std::to_string(low) + " to " +
                     std::to_string(high) + ", not '" + text + "'");
  return value;
}

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

// The verbs, their cmdData verb and how many words they take.
struct Verb {
  const char* name;
  cl::CommandVerb verb;
  std::size_t words;  // with the verb itself
};
constexpr Verb kVerbs[] = {
    {"set-target", cl::CommandVerb::SetTarget, 2}, {"stop", cl::CommandVerb::Stop, 1},
    {"finish", cl::CommandVerb::Finish, 1},        {"rest", cl::CommandVerb::Rest, 1},
    {"volume", cl::CommandVerb::Volume, 2},
};
constexpr const char* kVerbList = "set-target TEMP, stop, finish, rest or volume LEVEL";

}  // namespace

cl::CommandRequest parse_command_request(const CliArgs& args) {
  cl::CommandRequest r;
  const auto& words = args.positional();
  if (words.empty()) throw UsageError(std::string("say what to do: ") + kVerbList);
  const Verb* verb = nullptr;
  for (const Verb& v : kVerbs)
    if (words[0] == v.name) verb = &v;
  if (!verb) throw UsageError("unknown command '" + words[0] + "': " + kVerbList);
  r.verb = verb->verb;
  if (r.verb == cl::CommandVerb::SetTarget) {
    if (words.size() < 2) throw UsageError("set-target needs a temperature, e.g. set-target 93C");
    parse_temperature(words[1], r);
  } else if (r.verb == cl::CommandVerb::Volume) {
    if (words.size() < 2) throw UsageError("volume needs a level: high, medium or quiet");
    r.volume = words[1];
    if (r.volume != "high" && r.volume != "medium" && r.volume != "quiet")
      throw UsageError("volume must be high, medium or quiet, not '" + r.volume + "'");
  }
  if (words.size() > verb->words) throw UsageError("unexpected argument " + words[verb->words]);
  r.device = args.get_or("--device", "");
  if (r.device.empty()) throw UsageError("--device ID|NAME is required");
  if (auto probe = args.get("--probe")) {
    if (r.verb == cl::CommandVerb::Volume)
      throw UsageError("volume is a setting of the device: no --probe");
    r.probe = parse_int("--probe", *probe, 1, 4);
  } else if (r.verb != cl::CommandVerb::Volume) {
    throw UsageError(std::string(verb->name) + " needs --probe N (1 to 4)");
  }
  if (auto timeout = args.get("--timeout")) r.timeout_s = parse_int("--timeout", *timeout, 1, 600);
  return r;
}

int print_result(const cl::CommandResult& result) {
  std::FILE* out = result.outcome == cl::CommandOutcome::Invalid ? stderr : stdout;
  std::fprintf(out, "%s%s\n",
               result.outcome == cl::CommandOutcome::Invalid ? "thermomaven command: " : "",
               result.message.c_str());
  return cl::exit_code(result.outcome);
}

namespace {

// A one-shot session feeding a tracker: connected, the device list in, the
// requested device's topic subscribed (so that its receipt cannot be missed).
class StandaloneCommand {
 public:
  explicit StandaloneCommand(const thermomaven::client::CollectorConfig& config)
      : cloud_(account_of(config)), session_(cloud_, session_options(config)) {
    session_.on_device_list([this](const cl::DeviceList& l) { tracker_.observe(l); });
    session_.on_status_report([this](const StatusReport& r) { tracker_.observe(r); });
    session_.on_command_receipt([this](const cl::CommandReceipt& r) { tracker_.observe(r); });
    session_.on_state([this](const cl::SessionEvent& e) {
      if (e.state == cl::SessionState::Stopped) ended_ = true;
    });
  }
  ~StandaloneCommand() {
    session_.stop();
    session_.wait();
  }

  cl::CommandResult run(const cl::CommandRequest& request,
                        const std::function<void(const cl::CommandResult&)>& on_sent) {
    // Connecting is not the device's answer: it gets its own time.
    const auto deadline = Clock::now() + std::chrono::seconds(std::max(30, request.timeout_s));
    session_.start();
    while (!tracker_.wait_until_ready(request, std::chrono::milliseconds(100))) {
      if (ended()) session_failed();
      if (Clock::now() >= deadline) break;  // execute() says what is missing
    }
    if (const auto device = tracker_.find_device(request.device)) {
      while (!subscribed(*device)) {
        if (ended()) session_failed();
        if (Clock::now() >= deadline)
          throw std::runtime_error("could not subscribe to the topic of " + device->device_id);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    return tracker_.execute(cloud_, request, on_sent);
  }

 private:
  static cl::SessionOptions session_options(const thermomaven::client::CollectorConfig& config) {
    cl::SessionOptions options;
    options.backoff_base_ms = config.backoff_base_ms;
    options.backoff_max_ms = config.backoff_max_ms;
    options.reconnect = false;  // a one-shot command says why it failed instead
    return options;
  }
  bool ended() const { return ended_; }
  bool subscribed(const DeviceInfo& device) const {
    const auto topics = session_.stats().subscribed;
    for (const std::string& topic : device.topics)
      if (std::find(topics.begin(), topics.end(), topic) == topics.end()) return false;
    return true;
  }
  [[noreturn]] void session_failed() const {
    const std::string why = session_.stats().last_error;
    throw std::runtime_error("cannot reach the devices: " +
                             (why.empty() ? "the session ended" : why));
  }

  cl::Cloud cloud_;
  cl::Session session_;
  cl::CommandTracker tracker_;
  std::atomic<bool> ended_ = false;
};

}  // namespace

int run_command_standalone(const thermomaven::client::CollectorConfig& config, const cl::CommandRequest& request) {
  storage::Database db(config.db_path);
  thermomaven::collector::CommandAudit audit(db, config.email, static_cast<std::int64_t>(::getuid()));
  StandaloneCommand command(config);
  const cl::CommandResult result = command.run(request, [&](const cl::CommandResult& sent) {
    audit.sent(sent);
    std::printf("sent %s to %s \"%s\" (cmdId %s)\n", sent.what.c_str(), sent.device_id.c_str(),
                sent.device_name.c_str(), sent.cmd_id.c_str());
    std::fflush(stdout);
  });
  audit.finished(result);
  return print_result(result);
}

namespace {

std::string iso_time(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

int list_commands(const std::string& db_path) {
  storage::Database db(db_path);
  storage::CommandLog log(db);
  for (const storage::CommandRecord& r : log.latest(100)) {
    std::printf("%s  %s  %s  %s  %s  %s", iso_time(r.sent_ms).c_str(), r.who.c_str(),
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
  if (auto logger = running_logger(state_dir_of(args))) return command_via_logger(*logger, request);
  const thermomaven::client::CollectorConfig config = load_config(args);
  const auto session_lock = hold_session(config.state_dir);
  // A one-shot command: the session's progress only when asked for.
  thermomaven::set_log_level(args.get("--log-level") ? config.log_level : thermomaven::LogLevel::Warn);
  return run_command_standalone(config, request);
}

}  // namespace thermomaven::app
