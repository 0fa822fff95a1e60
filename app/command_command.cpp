// command: one command to a device through the cloud (app/command/send), the
// device's receipt over MQTT, and for stop and finish what the next status
// reports say; every command and its result go into the database's
// `commands` table. Built on the public client API.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>

#include "cli_args.hpp"
#include "commands.hpp"
#include "live_config.hpp"
#include "logger_link.hpp"
#include "thermomaven/client.hpp"
#include "thermomaven/collector/log.hpp"
#include "thermomaven/storage/command_log.hpp"

namespace thermomaven::app {
namespace {

namespace cl = thermomaven::client;
namespace tc = thermomaven::collector;
using Clock = std::chrono::steady_clock;

// Exit codes (README, "Commands").
constexpr int kDone = 0;       // receipt success (and, for stop/finish, the cook ended)
constexpr int kRefused = 1;    // the device answered failure (cmdError)
constexpr int kNoReceipt = 3;  // no receipt within --timeout
constexpr int kNoEffect = 4;   // stop/finish acknowledged, but the probe kept cooking

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

struct Request {
  cl::Command::Action action = cl::Command::Action::SetTarget;
  std::string verb;                     // as typed: set-target, stop, finish, volume
  std::string device;                   // id or name
  int probe = 0;                        // 0 for volume
  double degrees = 0;                   // set-target
  std::optional<TemperatureUnit> unit;  // set-target: C or F given, else the account's
  std::string volume;
  int timeout_s = 15;
};

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
void parse_temperature(const std::string& text, Request& r) {
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

Request parse_request(const CliArgs& args) {
  Request r;
  const auto& words = args.positional();
  if (words.empty())
    throw UsageError("say what to do: set-target TEMP, stop, finish or volume LEVEL");
  r.verb = words[0];
  const std::size_t wanted = r.verb == "set-target" || r.verb == "volume" ? 2 : 1;
  if (r.verb == "set-target") {
    r.action = cl::Command::Action::SetTarget;
    if (words.size() < 2) throw UsageError("set-target needs a temperature, e.g. set-target 93C");
    parse_temperature(words[1], r);
  } else if (r.verb == "stop" || r.verb == "finish") {
    r.action = r.verb == "stop" ? cl::Command::Action::Stop : cl::Command::Action::Finish;
  } else if (r.verb == "volume") {
    r.action = cl::Command::Action::Volume;
    if (words.size() < 2) throw UsageError("volume needs a level: high, medium or quiet");
    r.volume = words[1];
    if (r.volume != "high" && r.volume != "medium" && r.volume != "quiet")
      throw UsageError("volume must be high, medium or quiet, not '" + r.volume + "'");
  } else {
    throw UsageError("unknown command '" + r.verb + "': set-target, stop, finish or volume");
  }
  if (words.size() > wanted) throw UsageError("unexpected argument " + words[wanted]);
  r.device = args.get_or("--device", "");
  if (r.device.empty()) throw UsageError("--device ID|NAME is required");
  if (auto probe = args.get("--probe")) {
    if (r.action == cl::Command::Action::Volume)
      throw UsageError("volume is a setting of the device: no --probe");
    r.probe = parse_int("--probe", *probe, 1, 4);
  } else if (r.action != cl::Command::Action::Volume) {
    throw UsageError(r.verb + " needs --probe N (1 to 4)");
  }
  if (auto timeout = args.get("--timeout")) r.timeout_s = parse_int("--timeout", *timeout, 1, 600);
  return r;
}

// Tenths of a degree in the account's unit, as the device takes them.
std::int32_t target_tenths(const Request& r, TemperatureUnit account) {
  double degrees = r.degrees;
  if (r.unit && *r.unit != account)
    degrees = account == TemperatureUnit::Celsius ? (degrees - 32) * 5 / 9 : degrees * 9 / 5 + 32;
  return static_cast<std::int32_t>(std::lround(degrees * 10));
}

std::string degrees_text(std::int32_t tenths, TemperatureUnit unit) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%c", tenths / 10.0, unit_letter(unit));
  return text;
}

// What the session has seen, filled on its MQTT thread.
class Watch {
 public:
  void attach(cl::Session& session) {
    session.on_device_list([this](const cl::DeviceList& list) {
      std::lock_guard lock(mutex_);
      devices_ = list.devices;
      for (const StatusReport& r : list.latest_reports) latest_[r.device_id] = r;
      changed_.notify_all();
    });
    session.on_status_report([this](const StatusReport& r) {
      std::lock_guard lock(mutex_);
      latest_[r.device_id] = r;
      reports_.push_back(r);
      changed_.notify_all();
    });
    session.on_command_receipt([this](const cl::CommandReceipt& receipt) {
      std::lock_guard lock(mutex_);
      receipts_.push_back({receipt, now_ms()});
      changed_.notify_all();
    });
    session.on_state([this](const cl::SessionEvent& e) {
      std::lock_guard lock(mutex_);
      if (e.state == cl::SessionState::Stopped) ended_ = true;
      changed_.notify_all();
    });
  }

  // Waits until `ready` (called under the lock) or the session ended or
  // the deadline passed. Returns ready's last answer.
  template <typename Ready>
  bool wait(Clock::time_point deadline, Ready ready) {
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, deadline, [&] { return ready() || ended_; });
    return ready();
  }
  bool ended() {
    std::lock_guard lock(mutex_);
    return ended_;
  }
  std::optional<std::vector<DeviceInfo>> devices() {
    std::lock_guard lock(mutex_);
    return devices_;
  }
  std::optional<StatusReport> latest(const std::string& device_id) {
    std::lock_guard lock(mutex_);
    auto it = latest_.find(device_id);
    if (it == latest_.end()) return std::nullopt;
    return it->second;
  }
  // Under the lock only (inside wait's predicate).
  const std::optional<std::vector<DeviceInfo>>& devices_locked() const { return devices_; }
  const std::vector<StatusReport>& reports_locked() const { return reports_; }
  bool has_report_locked(const std::string& device_id) const { return latest_.count(device_id); }
  const cl::CommandReceipt* receipt_locked(const std::string& cmd_id, std::int64_t& at_ms) const {
    for (const auto& [receipt, received_ms] : receipts_)
      if (receipt.cmd_id == cmd_id) {
        at_ms = received_ms;
        return &receipt;
      }
    return nullptr;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<std::vector<DeviceInfo>> devices_;
  std::map<std::string, StatusReport> latest_;
  std::vector<StatusReport> reports_;
  // Receipts arrive on the device topic, possibly before send_command returns.
  std::vector<std::pair<cl::CommandReceipt, std::int64_t>> receipts_;
  bool ended_ = false;
};

bool same_name(std::string a, std::string b) {
  auto lower = [](std::string& s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  lower(a);
  lower(b);
  return a == b;
}

std::string device_names(const std::vector<DeviceInfo>& devices) {
  std::string out;
  for (const DeviceInfo& d : devices)
    out += (out.empty() ? "" : ", ") + d.device_id + " \"" + d.name + "\" (" + d.model + ")";
  return out.empty() ? "none" : out;
}

DeviceInfo find_device(const std::vector<DeviceInfo>& devices, const std::string& wanted) {
  for (const DeviceInfo& d : devices)
    if (d.device_id == wanted) return d;
  std::vector<DeviceInfo> named;
  for (const DeviceInfo& d : devices)
    if (same_name(d.name, wanted)) named.push_back(d);
  if (named.size() == 1) return named.front();
  if (named.size() > 1)
    throw UsageError("more than one device is called '" + wanted + "': " + device_names(named) +
                     "; give its id");
  throw UsageError("no device '" + wanted +
                   "' on this account; its devices: " + device_names(devices));
}

const ProbeSample* probe_of(const StatusReport& report, int probe) {
  for (const ProbeSample& p : report.probes)
    if (p.probe == probe) return &p;
  return nullptr;
}

class CommandRun {
 public:
  CommandRun(const tc::CollectorConfig& config, Request request)
      : config_(config),
        request_(std::move(request)),
        db_(config.db_path),
        log_(db_),
        cloud_(account_of(config)),
        session_(cloud_, session_options(config)) {
    watch_.attach(session_);
  }
  ~CommandRun() {
    session_.stop();
    session_.wait();
  }

  int run();

 private:
  static cl::SessionOptions session_options(const tc::CollectorConfig& config) {
    cl::SessionOptions options;
    options.backoff_base_ms = config.backoff_base_ms;
    options.backoff_max_ms = config.backoff_max_ms;
    options.reconnect = false;  // a one-shot command says why it failed instead
    return options;
  }
  DeviceInfo connect_to_device(Clock::time_point deadline);
  cl::Command build_command(const DeviceInfo& device);
  int follow_up(const cl::Command& command, const std::string& cmd_id, std::int64_t row,
                Clock::time_point deadline);
  int check_cook_ended(const cl::Command& command, std::int64_t row, std::size_t reports_before,
                       Clock::time_point deadline);
  [[noreturn]] void session_failed();

  tc::CollectorConfig config_;
  Request request_;
  storage::Database db_;
  storage::CommandLog log_;
  cl::Cloud cloud_;
  cl::Session session_;
  Watch watch_;
  std::string what_;
};

void CommandRun::session_failed() {
  const std::string why = session_.stats().last_error;
  throw std::runtime_error("cannot reach the devices: " +
                           (why.empty() ? "the session ended" : why));
}

// Waits for the device list, finds the device and waits until its topic is
// subscribed, so that its receipt cannot be missed.
DeviceInfo CommandRun::connect_to_device(Clock::time_point deadline) {
  session_.start();
  if (!watch_.wait(deadline, [&] { return watch_.devices_locked().has_value(); })) {
    if (watch_.ended()) session_failed();
    throw std::runtime_error(
        "no device list from the cloud in time: is the account's MQTT "
        "access working? (thermomaven doctor checks each step)");
  }
  const DeviceInfo device = find_device(*watch_.devices(), request_.device);
  auto subscribed = [&] {
    const auto topics = session_.stats().subscribed;
    for (const std::string& topic : device.topics)
      if (std::find(topics.begin(), topics.end(), topic) == topics.end()) return false;
    return true;
  };
  while (!subscribed()) {
    if (watch_.ended()) session_failed();
    if (Clock::now() >= deadline)
      throw std::runtime_error("could not subscribe to the topic of " + device.device_id);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return device;
}

cl::Command CommandRun::build_command(const DeviceInfo& device) {
  cl::Command c;
  c.action = request_.action;
  c.device_id = device.device_id;
  c.model = device.model;
  c.probe = request_.probe;
  c.volume = request_.volume;
  const std::optional<StatusReport> latest = watch_.latest(device.device_id);
  if (c.model.empty() && latest) c.model = latest->model;
  if (c.model.empty()) throw std::runtime_error("the model of " + device.device_id + " is unknown");
  const ProbeSample* probe = latest ? probe_of(*latest, request_.probe) : nullptr;
  if (probe && !probe->is_docked()) c.cook_uuid = probe->cook_uuid;
  const TemperatureUnit unit = cloud_.unit();
  switch (c.action) {
    case cl::Command::Action::SetTarget:
      c.target_tenths = target_tenths(request_, unit);
      what_ = "set-target " + degrees_text(c.target_tenths, unit);
      break;
    case cl::Command::Action::Stop:
    case cl::Command::Action::Finish:
    case cl::Command::Action::Rest:
      if (probe && probe->is_docked())
        throw UsageError("probe " + std::to_string(c.probe) + " of " + device.device_id +
                         " is in its charger: there is no cook to " + request_.verb);
      what_ = request_.verb + (c.cook_uuid.empty() ? "" : " cook " + c.cook_uuid);
      break;
    case cl::Command::Action::Volume:
      what_ = "volume " + c.volume;
      break;
  }
  return c;
}

int CommandRun::run() {
  // Connecting is not the device's answer: it gets its own time.
  const auto deadline = Clock::now() + std::chrono::seconds(std::max(30, request_.timeout_s));
  const DeviceInfo device = connect_to_device(deadline);
  // A probe's running cook (its cookUuid) is in the device's latest report.
  if (request_.action != cl::Command::Action::Volume)
    watch_.wait(deadline, [&] { return watch_.has_report_locked(device.device_id); });
  const cl::Command command = build_command(device);
  storage::CommandRecord record;
  record.who = config_.email;
  record.caller_uid = static_cast<std::int64_t>(::getuid());
  record.device_id = device.device_id;
  if (command.action != cl::Command::Action::Volume) record.probe = command.probe;
  record.cmd_type =
      command.model +
      (command.action == cl::Command::Action::Volume ? ":setting:modify" : ":cooking:action");
  record.what = what_;
  record.sent_ms = now_ms();
  std::string cmd_id;
  try {
    cmd_id = cloud_.send_command(command);
  } catch (const cl::CloudError& e) {
    record.result = "not_sent";
    log_.record_sent(record);
    throw;
  }
  record.cmd_id = cmd_id;
  const std::int64_t row = log_.record_sent(record);
  std::printf("sent %s to %s \"%s\" (cmdId %s)\n", what_.c_str(), device.device_id.c_str(),
              device.name.c_str(), cmd_id.c_str());
  // The receipt gets the whole --timeout from the moment the command went out.
  return follow_up(command, cmd_id, row, Clock::now() + std::chrono::seconds(request_.timeout_s));
}

int CommandRun::follow_up(const cl::Command& command, const std::string& cmd_id, std::int64_t row,
                          Clock::time_point deadline) {
  std::optional<cl::CommandReceipt> receipt;
  std::int64_t receipt_ms = 0;
  std::size_t reports_before = 0;
  watch_.wait(deadline, [&] {
    const cl::CommandReceipt* found = watch_.receipt_locked(cmd_id, receipt_ms);
    if (found) receipt = *found;
    reports_before = watch_.reports_locked().size();
    return found != nullptr;
  });
  if (!receipt) {
    log_.record_result(row, "no_receipt", std::nullopt, std::nullopt);
    std::printf("no receipt within %d s: the device may be off line or never got the command\n",
                request_.timeout_s);
    return kNoReceipt;
  }
  if (!receipt->ok()) {
    log_.record_result(row, "failure", receipt->cmd_error, receipt_ms);
    std::printf("refused by the device: executeResult %s, cmdError %lld\n",
                receipt->execute_result.c_str(), static_cast<long long>(*receipt->cmd_error));
    return kRefused;
  }
  if (command.action == cl::Command::Action::Stop ||
      command.action == cl::Command::Action::Finish) {
    log_.record_result(row, "success", receipt->cmd_error, receipt_ms);
    return check_cook_ended(command, row, reports_before, deadline);
  }
  log_.record_result(row, "success", receipt->cmd_error, receipt_ms);
  std::printf("done: the device confirmed %s\n", what_.c_str());
  return kDone;
}

// A device acknowledges stop and finish and may do nothing while the probe
// is in the food: the next reports tell whether the cook really ended.
int CommandRun::check_cook_ended(const cl::Command& command, std::int64_t row,
                                 std::size_t reports_before, Clock::time_point deadline) {
  constexpr int kReportsToJudge = 3;
  int seen = 0;
  bool ended = false;
  watch_.wait(deadline, [&] {
    seen = 0;
    const auto& reports = watch_.reports_locked();
    for (std::size_t i = reports_before; i < reports.size(); ++i) {
      if (reports[i].device_id != command.device_id) continue;
      ++seen;
      const ProbeSample* p = probe_of(reports[i], command.probe);
      if (!p || p->state != "cooking" ||
          (!command.cook_uuid.empty() && p->cook_uuid != command.cook_uuid))
        ended = true;
    }
    return ended || seen >= kReportsToJudge;
  });
  if (ended) {
    std::printf("done: the cook of probe %d ended\n", command.probe);
    return kDone;
  }
  if (seen == 0) {
    std::printf("acknowledged, but no status report came to confirm that the cook ended\n");
    return kDone;
  }
  log_.record_result(row, "no_effect", 0, std::nullopt);
  std::printf(
      "acknowledged, but the device did nothing: probe %d is still cooking after %d report(s); "
      "a station ignores %s while the probe is in the food (take it out, or use finish)\n",
      command.probe, seen, request_.verb.c_str());
  return kNoEffect;
}

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

// The request as the command tracker (and a running logger) takes it.
cl::CommandRequest tracker_request(const Request& r) {
  cl::CommandRequest out;
  switch (r.action) {
    case cl::Command::Action::SetTarget:
      out.verb = cl::CommandVerb::SetTarget;
      break;
    case cl::Command::Action::Stop:
      out.verb = cl::CommandVerb::Stop;
      break;
    case cl::Command::Action::Finish:
      out.verb = cl::CommandVerb::Finish;
      break;
    case cl::Command::Action::Rest:
      out.verb = cl::CommandVerb::Rest;
      break;
    case cl::Command::Action::Volume:
      out.verb = cl::CommandVerb::Volume;
      break;
  }
  out.device = r.device;
  out.probe = r.probe;
  out.degrees = r.degrees;
  out.unit = r.unit;
  out.volume = r.volume;
  out.timeout_s = r.timeout_s;
  return out;
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
  Request request = parse_request(args);
  // Beside a running logger, through it: a session of our own would knock
  // it off the broker. Else this process holds the session while it runs.
  if (auto logger = running_logger(state_dir_of(args)))
    return command_via_logger(*logger, tracker_request(request));
  const tc::CollectorConfig config = load_config(args);
  const auto session_lock = hold_session(config.state_dir);
  // A one-shot command: the session's progress only when asked for.
  tc::set_log_level(args.get("--log-level") ? config.log_level : tc::LogLevel::Warn);
  CommandRun run(config, std::move(request));
  return run.run();
}

}  // namespace thermomaven::app
