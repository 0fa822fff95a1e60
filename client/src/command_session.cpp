// A command on a session of its own (command_tracker.hpp,
// execute_on_own_session), moved here from the CLI: the session's
// readiness (device list, the device's report, its topics subscribed) is
// the client's business, not the command line's. Also the verb and volume
// names a caller parses.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "thermomaven/command_tracker.hpp"

namespace thermomaven::client {
namespace {

using Clock = std::chrono::steady_clock;

// Connecting is not the device's answer: it gets this much time at least.
constexpr int kMinSessionWaitS = 30;

constexpr CommandVerb kVerbs[] = {CommandVerb::SetTarget, CommandVerb::Stop, CommandVerb::Finish,
                                  CommandVerb::Rest, CommandVerb::Volume};
constexpr std::string_view kVolumeLevels[] = {"high", "medium", "quiet"};

// A one-shot session feeding a tracker; stopped and joined when it ends.
class OwnSession {
 public:
  OwnSession(Cloud& cloud, SessionOptions options) : cloud_(cloud), session_(cloud, options) {
    session_.on_device_list([this](const DeviceList& l) { tracker_.observe(l); });
    session_.on_status_report([this](const StatusReport& r) { tracker_.observe(r); });
    session_.on_command_receipt([this](const CommandReceipt& r) { tracker_.observe(r); });
    session_.on_state([this](const SessionEvent& e) {
      if (e.state == SessionState::Stopped) ended_ = true;
    });
  }
  ~OwnSession() {
    session_.stop();
    session_.wait();
  }
  OwnSession(const OwnSession&) = delete;
  OwnSession& operator=(const OwnSession&) = delete;

  CommandResult run(const CommandRequest& request,
                    const std::function<void(const CommandResult&)>& on_sent) {
    const auto deadline =
        Clock::now() + std::chrono::seconds(std::max(kMinSessionWaitS, request.timeout_s));
    session_.start();
    while (!tracker_.wait_until_ready(request, std::chrono::milliseconds(100))) {
      if (ended_) session_failed();
      if (Clock::now() >= deadline) break;  // execute() says what is missing
    }
    if (const auto device = tracker_.find_device(request.device)) {
      while (!subscribed(*device)) {
        if (ended_) session_failed();
        if (Clock::now() >= deadline)
          throw std::runtime_error("could not subscribe to the topic of " + device->device_id);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    return tracker_.execute(cloud_, request, on_sent);
  }

 private:
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

  Cloud& cloud_;
  Session session_;
  CommandTracker tracker_;
  std::atomic<bool> ended_ = false;
};

}  // namespace

std::optional<CommandVerb> verb_from_name(std::string_view name) {
  for (CommandVerb verb : kVerbs)
    if (name == verb_name(verb)) return verb;
  return std::nullopt;
}

bool is_volume_level(std::string_view level) {
  return std::find(std::begin(kVolumeLevels), std::end(kVolumeLevels), level) !=
         std::end(kVolumeLevels);
}

CommandResult execute_on_own_session(Cloud& cloud, SessionOptions options,
                                     const CommandRequest& request,
                                     const std::function<void(const CommandResult&)>& on_sent) {
  options.reconnect = false;
  OwnSession session(cloud, options);
  return session.run(request, on_sent);
}

}  // namespace thermomaven::client
