// The semantics of one command to a device (protocol.md, "Commands"), shared
// by `thermomaven command` on its own session and by a running logger that
// carries out a command for a local caller: which cmdData to send for what
// the probe's latest report shows, which receipt answers it (matched on
// cmdData.cmdId), and, for stop and finish, whether the next reports show the
// cook really ended (a station acknowledges both and does nothing while the
// probe is in the food). Depends on the client API only, never on storage.
//
//   CommandTracker tracker;
//   session.on_device_list([&](const DeviceList& l) { tracker.observe(l); });
//   session.on_status_report([&](const StatusReport& r) { tracker.observe(r); });
//   session.on_command_receipt([&](const CommandReceipt& r) { tracker.observe(r); });
//   CommandResult result = tracker.execute(cloud, request);
//   return exit_code(result.outcome);
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "thermomaven/client.hpp"

namespace thermomaven::client {

enum class CommandVerb { SetTarget, Stop, Finish, Rest, Volume };

// "set-target", "stop", "finish", "rest", "volume".
const char* verb_name(CommandVerb verb);
// The verb of that name; nullopt for any other word.
std::optional<CommandVerb> verb_from_name(std::string_view name);
// The levels a Volume command takes (protocol.md): "high", "medium", "quiet".
bool is_volume_level(std::string_view level);

struct CommandRequest {
  CommandVerb verb = CommandVerb::SetTarget;
  std::string device;                   // deviceId or device name
  int probe = 0;                        // 1..4; 0 for Volume
  double degrees = 0;                   // SetTarget
  std::optional<TemperatureUnit> unit;  // SetTarget: given, else the account's unit
  std::string volume;                   // Volume: high|medium|quiet
  int timeout_s = 15;                   // receipt + follow-up reports
};

enum class CommandOutcome {
  Confirmed,   // receipt ok (and for stop/finish a later report shows the cook ended) -> exit 0
  Refused,     // receipt cmdError != 0, or the cloud refused app/command/send      -> exit 1
  Invalid,     // refused locally before sending (unknown device, no running cook, ...) -> exit 2
  NoReceipt,   // no receipt within the timeout                                       -> exit 3
  NoEffect,    // stop/finish acknowledged, the next 3 reports still show the cook    -> exit 4
  Unverified,  // stop/finish acknowledged, no report showed the end before the timeout -> exit 5
};

// Whether `receipt` answers the command `cmd_id` sent to `device_id`: its
// cmdData.cmdId (the parser's CommandReceipt::cmd_id) is the one sent, and
// the device is the same (a receipt without a deviceId is taken as its
// topic's; a numeric deviceId arrives as its digits).
bool receipt_answers(const CommandReceipt& receipt, const std::string& cmd_id,
                     const std::string& device_id);

// "confirmed", "refused", "invalid", "no_receipt", "no_effect", "unverified".
const char* outcome_name(CommandOutcome outcome);
int exit_code(CommandOutcome outcome);

struct CommandResult {
  CommandOutcome outcome = CommandOutcome::Invalid;
  std::string message;  // one line for the user; never advises "use finish instead"
  // What was sent (for the audit row); empty when nothing was.
  std::string device_id, model, cmd_id, cmd_type, cmd_data_json;
  std::optional<CommandReceipt> receipt;
  std::string device_name;
  int probe = 0;             // 0 for Volume
  std::string what;          // e.g. "set-target 194.0F", "stop cook <uuid>"
  bool sent = false;         // app/command/send answered code 0
  std::int64_t sent_ms = 0;  // epoch ms
  std::optional<std::int64_t> receipt_ms;
};

// The cmdData and cmdType the tracker would send, decided from what it has
// seen; Invalid (with its message) when nothing may be sent. Pure: for tests
// and for the caller that wants to show what it is about to do.
struct PlannedCommand {
  std::optional<std::string> refusal;  // set: Invalid, with this message
  Command command;                     // cloud-level command: what command_data() serialises
  std::string device_name, what;
};

// Thread-safe. Fed by whoever owns the Session (the `command` CLI's own
// session, or the running logger's) through the observe() calls from the
// session callbacks; execute() blocks the calling thread only.
class CommandTracker {
 public:
  CommandTracker() = default;
  CommandTracker(const CommandTracker&) = delete;
  CommandTracker& operator=(const CommandTracker&) = delete;

  void observe(const DeviceList& list);
  void observe(const StatusReport& report);
  void observe(const CommandReceipt& receipt);

  // Waits (at most `wait`) until the device list arrived and, unless the
  // request is a Volume, a report of the requested device. False on timeout
  // (execute() then says what is missing).
  bool wait_until_ready(const CommandRequest& request, std::chrono::milliseconds wait);

  // The device called `wanted` (its deviceId or, ignoring case, its name)
  // in the latest device list; nullopt when there is none or no list yet.
  std::optional<DeviceInfo> find_device(const std::string& wanted) const;

  // Decides what to send for `request` in `account_unit`, from the device
  // list and the latest reports seen so far. `fresh_uuid` is the cookUuid a
  // new cook gets (a random 32-hex value when empty).
  PlannedCommand plan(const CommandRequest& request, TemperatureUnit account_unit,
                      const std::string& fresh_uuid = "");

  // Plans, sends with app/command/send, waits for the receipt and, for stop
  // and finish, the next reports. `on_sent` (optional) runs once the cloud
  // accepted the command, before the receipt is awaited (the audit row).
  // Throws nothing for the device's or the cloud's answers; a failed send
  // is Refused with `sent` false.
  CommandResult execute(Cloud& cloud, const CommandRequest& request,
                        const std::function<void(const CommandResult&)>& on_sent = {});

  // How many reports a stop/finish waits for before it calls the cook NoEffect.
  static constexpr int kReportsToJudge = 3;

 private:
  struct SeenReport {
    std::uint64_t seq;  // order of arrival
    StatusReport report;
  };
  using Clock = std::chrono::steady_clock;

  std::optional<DeviceInfo> find_device_locked(const std::string& wanted,
                                               std::string& refusal) const;
  struct SeenReceipt {
    CommandReceipt receipt;
    std::int64_t at_ms;     // arrival, epoch ms
    std::uint64_t reports;  // report_seq_ at arrival: later reports follow the receipt
  };
  // The report_seq_ at the receipt's arrival.
  std::uint64_t await_receipt(CommandResult& result, Clock::time_point deadline, int timeout_s);
  void await_cook_end(CommandResult& result, const std::string& cook_uuid, std::uint64_t after,
                      Clock::time_point deadline, int timeout_s);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<std::vector<DeviceInfo>> devices_;
  std::map<std::string, StatusReport> latest_;  // by deviceId: the newest report
  std::deque<SeenReport> reports_;              // the most recent, bounded
  std::uint64_t report_seq_ = 0;
  std::deque<SeenReceipt> receipts_;
};

// A command on a session of its own, for a caller that holds the account's
// session lock and has no running logger to ask: starts a Session on
// `cloud` (`options.reconnect` is forced off: a one-shot command says why it
// failed instead) feeding a CommandTracker, waits (at least 30 s, or the
// request's timeout) for the device list, the device's report and the
// subscription to its topics, so that the receipt cannot be missed, then
// executes `request` and stops the session. Throws std::runtime_error with a
// one-line reason when the session ends first or a topic is not granted.
CommandResult execute_on_own_session(Cloud& cloud, SessionOptions options,
                                     const CommandRequest& request,
                                     const std::function<void(const CommandResult&)>& on_sent = {});

}  // namespace thermomaven::client
