// CommandTracker: what to send for a command, which receipt answers it, and
// whether a stop or finish really ended the cook (protocol.md, "Commands").
#include "thermomaven/command_tracker.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "thermomaven/client/signing.hpp"
#include "thermomaven/core/time.hpp"

namespace thermomaven::client {
namespace {

constexpr std::size_t kKeptReports = 2000;  // recent reports, for the stop/finish follow-up
constexpr std::size_t kKeptReceipts = 200;

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

const ProbeSample* probe_of(const StatusReport& report, int probe) {
  for (const ProbeSample& p : report.probes)
    if (p.probe == probe) return &p;
  return nullptr;
}

// A probe's cook runs while its latest report is out of the charger and
// carries a cookUuid (protocol.md: the docked stub has no cookUuid).
bool has_running_cook(const ProbeSample& p) { return !p.is_docked() && !p.cook_uuid.empty(); }

// Tenths of a degree in the account's unit, as the device takes them.
std::int32_t target_tenths(const CommandRequest& r, TemperatureUnit account) {
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

Command::Action action_of(CommandVerb verb) {
  switch (verb) {
    case CommandVerb::SetTarget:
      return Command::Action::SetTarget;
    case CommandVerb::Stop:
      return Command::Action::Stop;
    case CommandVerb::Finish:
      return Command::Action::Finish;
    case CommandVerb::Rest:
      return Command::Action::Rest;
    case CommandVerb::Volume:
      break;
  }
  return Command::Action::Volume;
}

// protocol.md: cmdError 1 invalid state, 4 not applicable.
std::string cmd_error_meaning(std::int64_t cmd_error) {
  if (cmd_error == 1) return " (invalid state)";
  if (cmd_error == 4) return " (not applicable)";
  return "";
}

// A cook has ended when the probe's report shows it docked, without a
// cookUuid or with another one (a new cook).
bool cook_ended(const ProbeSample& p, const std::string& cook_uuid) {
  return p.is_docked() || p.cook_uuid.empty() || p.cook_uuid != cook_uuid;
}

}  // namespace

bool receipt_answers(const CommandReceipt& receipt, const std::string& cmd_id,
                     const std::string& device_id) {
  return !cmd_id.empty() && receipt.cmd_id == cmd_id &&
         (receipt.device_id.empty() || receipt.device_id == device_id);
}

const char* verb_name(CommandVerb verb) {
  switch (verb) {
    case CommandVerb::SetTarget:
      return "set-target";
    case CommandVerb::Stop:
      return "stop";
    case CommandVerb::Finish:
      return "finish";
    case CommandVerb::Rest:
      return "rest";
    case CommandVerb::Volume:
      return "volume";
  }
  return "?";
}

const char* outcome_name(CommandOutcome outcome) {
  switch (outcome) {
    case CommandOutcome::Confirmed:
      return "confirmed";
    case CommandOutcome::Refused:
      return "refused";
    case CommandOutcome::Invalid:
      return "invalid";
    case CommandOutcome::NoReceipt:
      return "no_receipt";
    case CommandOutcome::NoEffect:
      return "no_effect";
    case CommandOutcome::Unverified:
      return "unverified";
  }
  return "?";
}

int exit_code(CommandOutcome outcome) {
  switch (outcome) {
    case CommandOutcome::Confirmed:
      return 0;
    case CommandOutcome::Refused:
      return 1;
    case CommandOutcome::Invalid:
      return 2;
    case CommandOutcome::NoReceipt:
      return 3;
    case CommandOutcome::NoEffect:
      return 4;
    case CommandOutcome::Unverified:
      return 5;
  }
  return 1;
}

void CommandTracker::observe(const DeviceList& list) {
  {
    std::lock_guard lock(mutex_);
    devices_ = list.devices;
    // The cloud's copy of each device's latest report: it may be older than
    // one already seen, so it only fills in what is missing or older.
    for (const StatusReport& r : list.latest_reports) {
      auto it = latest_.find(r.device_id);
      if (it == latest_.end() || it->second.time_ms <= r.time_ms) latest_[r.device_id] = r;
    }
  }
  changed_.notify_all();
}

void CommandTracker::observe(const StatusReport& report) {
  {
    std::lock_guard lock(mutex_);
    auto it = latest_.find(report.device_id);
    if (it == latest_.end() || it->second.time_ms <= report.time_ms)
      latest_[report.device_id] = report;
    reports_.push_back({++report_seq_, report});
    if (reports_.size() > kKeptReports) reports_.pop_front();
  }
  changed_.notify_all();
}

void CommandTracker::observe(const CommandReceipt& receipt) {
  {
    std::lock_guard lock(mutex_);
    receipts_.push_back({receipt, now_ms(), report_seq_});
    if (receipts_.size() > kKeptReceipts) receipts_.pop_front();
  }
  changed_.notify_all();
}

std::optional<DeviceInfo> CommandTracker::find_device_locked(const std::string& wanted,
                                                             std::string& refusal) const {
  if (!devices_) {
    refusal =
        "no device list from the cloud yet: is the account's MQTT access working? "
        "(thermomaven doctor checks each step)";
    return std::nullopt;
  }
  for (const DeviceInfo& d : *devices_)
    if (d.device_id == wanted) return d;
  std::vector<DeviceInfo> named;
  for (const DeviceInfo& d : *devices_)
    if (same_name(d.name, wanted)) named.push_back(d);
  if (named.size() == 1) return named.front();
  if (named.size() > 1)
    refusal =
        "more than one device is called '" + wanted + "': " + device_names(named) + "; give its id";
  else
    refusal = "no device '" + wanted + "' on this account; its devices: " + device_names(*devices_);
  return std::nullopt;
}

std::optional<DeviceInfo> CommandTracker::find_device(const std::string& wanted) const {
  std::lock_guard lock(mutex_);
  std::string ignored;
  return find_device_locked(wanted, ignored);
}

bool CommandTracker::wait_until_ready(const CommandRequest& request,
                                      std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, wait, [&] {
    if (!devices_) return false;
    if (request.verb == CommandVerb::Volume) return true;
    std::string ignored;
    const std::optional<DeviceInfo> device = find_device_locked(request.device, ignored);
    return !device || latest_.count(device->device_id) > 0;  // unknown: execute() says so
  });
}

PlannedCommand CommandTracker::plan(const CommandRequest& request, TemperatureUnit account_unit,
                                    const std::string& fresh_uuid) {
  std::lock_guard lock(mutex_);
  PlannedCommand plan;
  std::string refusal;
  const std::optional<DeviceInfo> device = find_device_locked(request.device, refusal);
  if (!device) {
    plan.refusal = refusal;
    return plan;
  }
  Command& c = plan.command;
  c.action = action_of(request.verb);
  c.device_id = device->device_id;
  c.model = device->model;
  c.probe = request.probe;
  plan.device_name = device->name;
  const auto latest = latest_.find(device->device_id);
  if (c.model.empty() && latest != latest_.end()) c.model = latest->second.model;
  if (c.model.empty()) {
    plan.refusal = "the model of " + device->device_id + " is unknown: the cloud did not say";
    return plan;
  }
  if (c.action == Command::Action::Volume) {
    c.volume = request.volume;
    plan.what = "volume " + c.volume;
    return plan;
  }
  const std::string probe_name = "probe " + std::to_string(c.probe) + " of " + device->device_id;
  const ProbeSample* probe = latest == latest_.end() ? nullptr : probe_of(latest->second, c.probe);
  if (!probe) {
    plan.refusal = "no report from this probe yet (" + probe_name +
                   "): a command needs its latest state; is it on line?";
    return plan;
  }
  const bool running = has_running_cook(*probe);
  if (c.action != Command::Action::SetTarget) {
    if (!running) {
      plan.refusal = probe_name + " has no running cook (" +
                     (probe->is_docked() ? "it is in its charger" : "its report has no cookUuid") +
                     "): there is nothing to " + verb_name(request.verb);
      return plan;
    }
    c.cook_uuid = probe->cook_uuid;
    plan.what = std::string(verb_name(request.verb)) + " cook " + c.cook_uuid;
    return plan;
  }
  c.target_tenths = target_tenths(request, account_unit);
  plan.what = "set-target " + degrees_text(c.target_tenths, account_unit);
  if (running) {
    // Change the running cook: everything as it reported it, new target.
    c.cook_uuid = probe->cook_uuid;
    c.start_client = probe->start_client.empty() ? "android" : probe->start_client;
    c.cooking_mode = probe->mode.empty() ? "smart" : probe->mode;
    c.set_params_json = probe->set_params_json;
  } else {
    // Start a cook: a fresh uuid, started by an app, in the last mode.
    c.cook_uuid = fresh_uuid.empty() ? random_hex(16) : fresh_uuid;
    c.start_client = "android";
    c.cooking_mode = probe->mode.empty() ? "smart" : probe->mode;
    plan.what += " (new cook " + c.cook_uuid + ")";
  }
  return plan;
}

CommandResult CommandTracker::execute(Cloud& cloud, const CommandRequest& request,
                                      const std::function<void(const CommandResult&)>& on_sent) {
  CommandResult result;
  result.probe = request.verb == CommandVerb::Volume ? 0 : request.probe;
  const PlannedCommand plan = this->plan(request, cloud.unit());
  if (plan.refusal) {
    result.outcome = CommandOutcome::Invalid;
    result.message = *plan.refusal;
    return result;
  }
  const Command& command = plan.command;
  result.device_id = command.device_id;
  result.device_name = plan.device_name;
  result.model = command.model;
  result.what = plan.what;
  result.cmd_id = random_hex(16);
  try {
    result.cmd_type = command_type(command);
    result.cmd_data_json = command_data(command);
  } catch (const std::invalid_argument& e) {
    result.outcome = CommandOutcome::Invalid;
    result.message = e.what();
    return result;
  }
  result.sent_ms = now_ms();
  try {
    cloud.send_command(command, result.cmd_id);
  } catch (const CloudError& e) {
    result.outcome = CommandOutcome::Refused;
    result.message = std::string("not sent: ") + e.what();
    return result;
  }
  result.sent = true;
  if (on_sent) on_sent(result);
  // The receipt and the follow-up reports share the whole timeout from the send.
  const auto deadline = Clock::now() + std::chrono::seconds(request.timeout_s);
  const std::uint64_t reports_before = await_receipt(result, deadline, request.timeout_s);
  if (result.outcome != CommandOutcome::Confirmed) return result;
  if (command.action == Command::Action::Stop || command.action == Command::Action::Finish)
    await_cook_end(result, command.cook_uuid, reports_before, deadline, request.timeout_s);
  else
    result.message = "done: the device confirmed " + result.what;
  return result;
}

std::uint64_t CommandTracker::await_receipt(CommandResult& result, Clock::time_point deadline,
                                            int timeout_s) {
  std::unique_lock lock(mutex_);
  // Matched on cmdData.cmdId (the receipt's own cmdId is a new one); a
  // receipt naming another device is not ours, whatever its cmdId.
  std::uint64_t reports_before = 0;
  changed_.wait_until(lock, deadline, [&] {
    for (const SeenReceipt& seen : receipts_)
      if (receipt_answers(seen.receipt, result.cmd_id, result.device_id)) {
        result.receipt = seen.receipt;
        result.receipt_ms = seen.at_ms;
        reports_before = seen.reports;
        return true;
      }
    return false;
  });
  if (!result.receipt) {
    result.outcome = CommandOutcome::NoReceipt;
    result.message = "no receipt within " + std::to_string(timeout_s) +
                     " s: the device may be off line or never got the command";
    return reports_before;
  }
  if (!result.receipt->ok()) {
    const std::int64_t error = *result.receipt->cmd_error;
    result.outcome = CommandOutcome::Refused;
    result.message = "refused by the device: executeResult " +
                     (result.receipt->execute_result.empty() ? std::string("(none)")
                                                             : result.receipt->execute_result) +
                     ", cmdError " + std::to_string(error) + cmd_error_meaning(error);
    return reports_before;
  }
  result.outcome = CommandOutcome::Confirmed;
  return reports_before;
}

// A station acknowledges stop and finish and does nothing while the probe is
// in the food: only the next reports tell whether the cook ended.
void CommandTracker::await_cook_end(CommandResult& result, const std::string& cook_uuid,
                                    std::uint64_t after, Clock::time_point deadline,
                                    int timeout_s) {
  std::unique_lock lock(mutex_);
  // Reports that arrived after the receipt; a repeated one (same time) counts once.
  int still_cooking = 0;
  bool ended = false;
  changed_.wait_until(lock, deadline, [&] {
    still_cooking = 0;
    std::int64_t last_time = -1;
    for (const SeenReport& seen : reports_) {
      if (seen.seq <= after || seen.report.device_id != result.device_id) continue;
      if (seen.report.time_ms == last_time) continue;
      last_time = seen.report.time_ms;
      const ProbeSample* p = probe_of(seen.report, result.probe);
      if (!p) continue;  // a report without the probe says nothing about its cook
      if (cook_ended(*p, cook_uuid)) {
        ended = true;
        return true;
      }
      ++still_cooking;
    }
    return still_cooking >= kReportsToJudge;
  });
  const std::string probe = "probe " + std::to_string(result.probe);
  if (ended) {
    result.outcome = CommandOutcome::Confirmed;
    result.message = "done: the cook of " + probe + " ended";
  } else if (still_cooking >= kReportsToJudge) {
    result.outcome = CommandOutcome::NoEffect;
    result.message = "acknowledged, but " + probe + " is still cooking after " +
                     std::to_string(still_cooking) +
                     " reports: a station ends the cook only when the probe is out of the food; "
                     "take it out of the food or put it back in its charger";
  } else {
    result.outcome = CommandOutcome::Unverified;
    result.message = "acknowledged, but no report within " + std::to_string(timeout_s) +
                     " s showed the cook of " + probe +
                     " ended; it ends when the probe is out of the food or in its charger";
  }
}

}  // namespace thermomaven::client
