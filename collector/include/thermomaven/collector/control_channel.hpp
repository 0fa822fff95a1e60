// The running logger's local control channel: a Unix stream socket
// `control.sock` in the state directory. The logger holds the account's only
// cloud session (SessionLock); `thermomaven command` and `thermomaven doctor`
// on the same state directory ask it instead of opening a session of their
// own, which would knock the logger off the broker (same clientId).
//
// One request per connection, one JSON object per line each way (the
// protocol is in docs/collector.md, "Control channel"). Only the logger's own
// uid and root may use it: the socket is 0600 in the 0700 state directory,
// and the logger checks the caller's uid with SO_PEERCRED as well.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "thermomaven/command_tracker.hpp"

namespace thermomaven::collector {

// `<state dir>/control.sock`
std::string control_socket_path(const std::string& state_dir);

// What the logger tells `doctor` about one device.
struct LoggerDevice {
  std::string device_id, name, model;
  std::int64_t last_report_ms = 0;  // when the logger received its last report; 0: none
  std::string summary;              // its probes, one phrase: "probe 1 cooking 186.0°F, ..."
};

// What the logger tells `doctor` about itself.
struct LoggerState {
  std::int64_t pid = 0;
  std::string state;  // the session's state: "connected", "reconnecting", ...
  bool connected = false;
  std::int64_t reconnects = 0, logins = 0, cert_applies = 0;
  std::vector<std::string> subscriptions;  // topics granted on the current connection
  bool device_list_received = false;
  std::vector<LoggerDevice> devices;
  std::string last_error;
  std::string unit;  // "F" or "C": the account's unit as the logger knows it
};

// Who is on the other end of a connection (SO_PEERCRED).
struct ControlCaller {
  uid_t uid = 0;
  pid_t pid = 0;
};

// A logger is there but cannot be used: not allowed, bad answer, timeout.
class ControlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The logger's side: listens on the socket for its life. Each connection is
// served on a thread of its own (at most kMaxConnections at once).
class ControlServer {
 public:
  using StatusHandler = std::function<LoggerState()>;
  using CommandHandler =
      std::function<client::CommandResult(const client::CommandRequest&, const ControlCaller&)>;
  static constexpr int kMaxConnections = 8;
  static constexpr std::size_t kMaxRequestBytes = 4096;
  static constexpr int kRequestTimeoutMs = 5000;  // to send the request line

  // Replaces a stale socket (the caller holds the SessionLock, so nobody else
  // listens there) and starts listening. Throws std::runtime_error.
  ControlServer(const std::string& state_dir, StatusHandler status, CommandHandler command);
  // Stops accepting; waits for the requests in progress (a command lasts up
  // to its timeout) and removes the socket.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Stops accepting new connections at once; thread-safe.
  void stop_accepting();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The caller's side.
class ControlClient {
 public:
  // Connects to the logger of `state_dir`. nullopt when no logger listens
  // there (no socket, or nobody accepts on it). Throws ControlError when one
  // is there but may not be used by this uid.
  static std::optional<ControlClient> connect(const std::string& state_dir);
  ~ControlClient();
  ControlClient(ControlClient&& other) noexcept;
  ControlClient& operator=(ControlClient&&) = delete;

  // One request each; a client is good for one. Throw ControlError.
  LoggerState status();
  client::CommandResult command(const client::CommandRequest& request);

 private:
  explicit ControlClient(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  std::string exchange(const std::string& request, int timeout_ms);
  int fd_ = -1;
  std::string path_;
};

}  // namespace thermomaven::collector
