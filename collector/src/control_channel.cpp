// The running logger's control channel (control_channel.hpp): the Unix
// socket's server and client, and the line-delimited JSON they exchange.
// Everything that arrives on the socket is untrusted: its size and the time
// it may take are bounded, and any malformed request gets a one-line error.
#include "thermomaven/collector/control_channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <list>
#include <mutex>
#include <system_error>
#include <thread>

#include "thermomaven/core/json_text.hpp"
#include "thermomaven/core/log.hpp"

namespace thermomaven::collector {
namespace {

namespace cl = thermomaven::client;
using Clock = std::chrono::steady_clock;

constexpr const char* kSocketFile = "control.sock";
constexpr std::size_t kMaxResponseBytes = 1u << 20;
constexpr int kStatusTimeoutMs = 10000;
// A command waits for the device list and a report before it is sent, then
// for the receipt and reports for its own timeout.
constexpr int kCommandExtraMs = 120000;

// ---- socket plumbing -------------------------------------------------------

// A sockaddr_un for `path`. A path too long for sun_path (108 bytes) is
// reached through /proc/self/fd and an O_PATH descriptor of its directory.
class SocketAddress {
 public:
  explicit SocketAddress(const std::string& path) {
    std::string use = path;
    if (path.size() >= sizeof addr_.sun_path) {
      const std::size_t slash = path.rfind('/');
      const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
      dir_fd_ = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (dir_fd_ < 0)
        throw std::system_error(errno, std::generic_category(), "cannot open " + dir);
      use = "/proc/self/fd/" + std::to_string(dir_fd_) + "/" + path.substr(slash + 1);
    }
    if (use.size() >= sizeof addr_.sun_path)
      throw std::runtime_error("socket path too long: " + path);
    addr_.sun_family = AF_UNIX;
    std::memcpy(addr_.sun_path, use.c_str(), use.size() + 1);
  }
  ~SocketAddress() {
    if (dir_fd_ >= 0) ::close(dir_fd_);
  }
  SocketAddress(const SocketAddress&) = delete;
  SocketAddress& operator=(const SocketAddress&) = delete;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&addr_); }
  socklen_t size() const { return sizeof addr_; }

 private:
  sockaddr_un addr_{};
  int dir_fd_ = -1;
};

int remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(std::min<long long>(left, 1 << 30)) : 0;
}

enum class ReadEnd { Line, Closed, TooLong, Timeout, Error };

// Reads up to the first '\n' (not included) within `deadline`.
ReadEnd read_line(int fd, std::string& line, std::size_t max_bytes, Clock::time_point deadline) {
  line.clear();
  char buffer[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return ReadEnd::Error;
    if (ready == 0) return ReadEnd::Timeout;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return ReadEnd::Error;
    if (n == 0) return ReadEnd::Closed;
    const std::string_view got(buffer, static_cast<std::size_t>(n));
    const std::size_t newline = got.find('\n');
    line.append(got.substr(0, newline));
    if (line.size() > max_bytes) return ReadEnd::TooLong;
    if (newline != std::string_view::npos) return ReadEnd::Line;
  }
}

bool write_all(int fd, const std::string& text, Clock::time_point deadline) {
  std::size_t done = 0;
  while (done < text.size()) {
    pollfd p{fd, POLLOUT, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// ---- JSON ------------------------------------------------------------------

template <typename T>
std::string optional_number(const std::optional<T>& value) {
  return value ? std::to_string(*value) : "null";
}

std::string error_line(const std::string& error) {
  return "{\"ok\":false,\"error\":" + json_quoted(error) + "}\n";
}

std::string text_field(simdjson::dom::element e, const char* key) {
  std::string_view text;
  if (e[key].get_string().get(text) != simdjson::SUCCESS) return "";
  return std::string(text);
}

std::int64_t int_field(simdjson::dom::element e, const char* key, std::int64_t otherwise = 0) {
  std::int64_t value = 0;
  if (e[key].get_int64().get(value) != simdjson::SUCCESS) return otherwise;
  return value;
}

std::optional<std::int64_t> optional_int(simdjson::dom::element e, const char* key) {
  std::int64_t value = 0;
  if (e[key].get_int64().get(value) != simdjson::SUCCESS) return std::nullopt;
  return value;
}

// The verbs by their command-line names.
constexpr cl::CommandVerb kVerbs[] = {cl::CommandVerb::SetTarget, cl::CommandVerb::Stop,
                                      cl::CommandVerb::Finish, cl::CommandVerb::Rest,
                                      cl::CommandVerb::Volume};
constexpr cl::CommandOutcome kOutcomes[] = {
    cl::CommandOutcome::Confirmed, cl::CommandOutcome::Refused,  cl::CommandOutcome::Invalid,
    cl::CommandOutcome::NoReceipt, cl::CommandOutcome::NoEffect, cl::CommandOutcome::Unverified};

std::string request_json(const cl::CommandRequest& r) {
  std::string out = "{\"op\":\"command\",\"verb\":" + json_quoted(cl::verb_name(r.verb)) +
                    ",\"device\":" + json_quoted(r.device) +
                    ",\"probe\":" + std::to_string(r.probe);
  char degrees[64];
  std::snprintf(degrees, sizeof degrees, "%.17g", r.degrees);
  out += ",\"degrees\":" + std::string(degrees);
  if (r.unit) out += ",\"unit\":\"" + std::string(1, unit_letter(*r.unit)) + "\"";
  out += ",\"volume\":" + json_quoted(r.volume) + ",\"timeout_s\":" + std::to_string(r.timeout_s) +
         "}";
  return out;
}

// A command request as the logger takes it; the reason when it cannot.
std::optional<cl::CommandRequest> parse_command(simdjson::dom::element e, std::string& error) {
  cl::CommandRequest r;
  const std::string verb = text_field(e, "verb");
  bool known = false;
  for (cl::CommandVerb v : kVerbs)
    if (verb == cl::verb_name(v)) r.verb = v, known = true;
  if (!known) {
    error = "unknown verb '" + verb.substr(0, 40) + "'";
    return std::nullopt;
  }
  r.device = text_field(e, "device");
  if (r.device.empty() || r.device.size() > 200) {
    error = "a command needs a device (at most 200 characters)";
    return std::nullopt;
  }
  r.probe = static_cast<int>(int_field(e, "probe", -1));
  if (r.probe < 0 || r.probe > 4) {
    error = "probe must be 0 to 4";
    return std::nullopt;
  }
  double degrees = 0;
  if (e["degrees"].get_double().get(degrees) == simdjson::SUCCESS) r.degrees = degrees;
  if (!std::isfinite(r.degrees) || std::fabs(r.degrees) > 1000) {
    error = "degrees out of range";
    return std::nullopt;
  }
  const std::string unit = text_field(e, "unit");
  if (unit == "C") r.unit = TemperatureUnit::Celsius;
  if (unit == "F") r.unit = TemperatureUnit::Fahrenheit;
  r.volume = text_field(e, "volume").substr(0, 40);
  r.timeout_s = static_cast<int>(int_field(e, "timeout_s", 15));
  if (r.timeout_s < 1 || r.timeout_s > 600) {
    error = "timeout_s must be 1 to 600";
    return std::nullopt;
  }
  return r;
}

std::string result_json(const cl::CommandResult& r) {
  std::string receipt = "null";
  if (r.receipt)
    receipt = "{\"device_id\":" + json_quoted(r.receipt->device_id) +
              ",\"cmd_id\":" + json_quoted(r.receipt->cmd_id) +
              ",\"cmd_type\":" + json_quoted(r.receipt->cmd_type) +
              ",\"execute_result\":" + json_quoted(r.receipt->execute_result) +
              ",\"error_code\":" + optional_number(r.receipt->error_code) +
              ",\"cmd_error\":" + optional_number(r.receipt->cmd_error) + "}";
  return "{\"ok\":true,\"outcome\":" + json_quoted(cl::outcome_name(r.outcome)) +
         ",\"message\":" + json_quoted(r.message) + ",\"device_id\":" + json_quoted(r.device_id) +
         ",\"device_name\":" + json_quoted(r.device_name) + ",\"model\":" + json_quoted(r.model) +
         ",\"cmd_id\":" + json_quoted(r.cmd_id) + ",\"cmd_type\":" + json_quoted(r.cmd_type) +
         ",\"cmd_data_json\":" + json_quoted(r.cmd_data_json) + ",\"what\":" + json_quoted(r.what) +
         ",\"probe\":" + std::to_string(r.probe) + ",\"sent\":" + (r.sent ? "true" : "false") +
         ",\"sent_ms\":" + std::to_string(r.sent_ms) +
         ",\"receipt_ms\":" + optional_number(r.receipt_ms) + ",\"receipt\":" + receipt + "}\n";
}

cl::CommandResult parse_result(simdjson::dom::element e) {
  cl::CommandResult r;
  const std::string outcome = text_field(e, "outcome");
  bool known = false;
  for (cl::CommandOutcome o : kOutcomes)
    if (outcome == cl::outcome_name(o)) r.outcome = o, known = true;
  if (!known) throw ControlError("the logger answered an unknown outcome '" + outcome + "'");
  r.message = text_field(e, "message");
  r.device_id = text_field(e, "device_id");
  r.device_name = text_field(e, "device_name");
  r.model = text_field(e, "model");
  r.cmd_id = text_field(e, "cmd_id");
  r.cmd_type = text_field(e, "cmd_type");
  r.cmd_data_json = text_field(e, "cmd_data_json");
  r.what = text_field(e, "what");
  r.probe = static_cast<int>(int_field(e, "probe"));
  bool sent = false;
  if (e["sent"].get_bool().get(sent) == simdjson::SUCCESS) r.sent = sent;
  r.sent_ms = int_field(e, "sent_ms");
  r.receipt_ms = optional_int(e, "receipt_ms");
  simdjson::dom::element receipt;
  if (e["receipt"].get(receipt) == simdjson::SUCCESS && receipt.is_object()) {
    cl::CommandReceipt c;
    c.device_id = text_field(receipt, "device_id");
    c.cmd_id = text_field(receipt, "cmd_id");
    c.cmd_type = text_field(receipt, "cmd_type");
    c.execute_result = text_field(receipt, "execute_result");
    c.error_code = optional_int(receipt, "error_code");
    c.cmd_error = optional_int(receipt, "cmd_error");
    r.receipt = c;
  }
  return r;
}

std::string state_json(const LoggerState& s) {
  std::string topics, devices;
  for (const std::string& t : s.subscriptions)
    topics += (topics.empty() ? "" : ",") + json_quoted(t);
  for (const LoggerDevice& d : s.devices)
    devices += std::string(devices.empty() ? "" : ",") +
               "{\"device_id\":" + json_quoted(d.device_id) + ",\"name\":" + json_quoted(d.name) +
               ",\"model\":" + json_quoted(d.model) +
               ",\"last_report_ms\":" + std::to_string(d.last_report_ms) +
               ",\"summary\":" + json_quoted(d.summary) + "}";
  return "{\"ok\":true,\"pid\":" + std::to_string(s.pid) + ",\"state\":" + json_quoted(s.state) +
         ",\"connected\":" + (s.connected ? "true" : "false") +
         ",\"reconnects\":" + std::to_string(s.reconnects) +
         ",\"logins\":" + std::to_string(s.logins) +
         ",\"cert_applies\":" + std::to_string(s.cert_applies) + ",\"subscriptions\":[" + topics +
         "],\"device_list_received\":" + (s.device_list_received ? "true" : "false") +
         ",\"devices\":[" + devices + "],\"last_error\":" + json_quoted(s.last_error) +
         ",\"unit\":" + json_quoted(s.unit) + "}\n";
}

LoggerState parse_state(simdjson::dom::element e) {
  LoggerState s;
  s.pid = int_field(e, "pid");
  s.state = text_field(e, "state");
  bool flag = false;
  if (e["connected"].get_bool().get(flag) == simdjson::SUCCESS) s.connected = flag;
  s.reconnects = int_field(e, "reconnects");
  s.logins = int_field(e, "logins");
  s.cert_applies = int_field(e, "cert_applies");
  simdjson::dom::array list;
  if (e["subscriptions"].get_array().get(list) == simdjson::SUCCESS)
    for (simdjson::dom::element t : list) {
      std::string_view topic;
      if (t.get_string().get(topic) == simdjson::SUCCESS) s.subscriptions.emplace_back(topic);
    }
  if (e["device_list_received"].get_bool().get(flag) == simdjson::SUCCESS)
    s.device_list_received = flag;
  if (e["devices"].get_array().get(list) == simdjson::SUCCESS)
    for (simdjson::dom::element d : list) {
      LoggerDevice device;
      device.device_id = text_field(d, "device_id");
      device.name = text_field(d, "name");
      device.model = text_field(d, "model");
      device.last_report_ms = int_field(d, "last_report_ms");
      device.summary = text_field(d, "summary");
      s.devices.push_back(std::move(device));
    }
  s.last_error = text_field(e, "last_error");
  s.unit = text_field(e, "unit");
  return s;
}

}  // namespace

std::string control_socket_path(const std::string& state_dir) {
  return state_dir + "/" + kSocketFile;
}

// ---- server ----------------------------------------------------------------

struct ControlServer::Impl {
  Impl(std::string state_dir, StatusHandler status, CommandHandler command)
      : path(control_socket_path(state_dir)),
        status(std::move(status)),
        command(std::move(command)) {}

  void listen_on_socket();
  void accept_loop();
  void serve(int fd, ControlCaller caller);
  std::string answer(const std::string& line, const ControlCaller& caller);
  void reap(bool all);

  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  std::string path;
  StatusHandler status;
  CommandHandler command;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  std::atomic<bool> stopping{false};
  std::thread acceptor;
  std::list<Worker> workers;  // acceptor thread only (and the destructor after it)
};

void ControlServer::Impl::listen_on_socket() {
  ::unlink(path.c_str());  // stale: whoever made it no longer holds the session lock
  listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd < 0) throw std::system_error(errno, std::generic_category(), "control socket");
  const SocketAddress address(path);
  if (::bind(listen_fd, address.get(), address.size()) != 0 || ::chmod(path.c_str(), 0600) != 0 ||
      ::listen(listen_fd, 16) != 0) {
    const int saved = errno;
    ::close(listen_fd);
    throw std::system_error(saved, std::generic_category(), "cannot listen on " + path);
  }
  if (::pipe2(wake, O_CLOEXEC) != 0) {
    const int saved = errno;
    ::close(listen_fd);
    throw std::system_error(saved, std::generic_category(), "control socket pipe");
  }
}

void ControlServer::Impl::reap(bool all) {
  for (auto it = workers.begin(); it != workers.end();) {
    if (all || *it->done) {
      it->thread.join();
      it = workers.erase(it);
    } else {
      ++it;
    }
  }
}

void ControlServer::Impl::accept_loop() {
  while (!stopping) {
    pollfd p[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
    if (::poll(p, 2, 1000) < 0 && errno != EINTR) break;
    reap(false);
    if (stopping || p[1].revents) break;
    if (!(p[0].revents & POLLIN)) continue;
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      ::close(fd);
      continue;
    }
    const ControlCaller caller{cred.uid, cred.pid};
    if (workers.size() >= static_cast<std::size_t>(kMaxConnections)) {
      write_all(fd, error_line("the logger is busy with other requests; try again"),
                Clock::now() + std::chrono::seconds(1));
      ::close(fd);
      continue;
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    workers.push_back({std::thread([this, fd, caller, done] {
                         serve(fd, caller);
                         *done = true;
                       }),
                       done});
  }
}

void ControlServer::Impl::serve(int fd, ControlCaller caller) {
  std::string line;
  const ReadEnd end = read_line(fd, line, kMaxRequestBytes,
                                Clock::now() + std::chrono::milliseconds(kRequestTimeoutMs));
  std::string reply;
  switch (end) {
    case ReadEnd::Line:
      reply = answer(line, caller);
      break;
    case ReadEnd::TooLong:
      reply = error_line("request longer than " + std::to_string(kMaxRequestBytes) + " bytes");
      break;
    case ReadEnd::Timeout:
      reply =
          error_line("no request line within " + std::to_string(kRequestTimeoutMs / 1000) + " s");
      break;
    case ReadEnd::Closed:
    case ReadEnd::Error:
      break;
  }
  if (!reply.empty()) write_all(fd, reply, Clock::now() + std::chrono::seconds(5));
  ::close(fd);
}

std::string ControlServer::Impl::answer(const std::string& line, const ControlCaller& caller) {
  const uid_t own = ::geteuid();
  if (caller.uid != own && caller.uid != 0) {
    log_warn("control", "refused a request from uid " + std::to_string(caller.uid) + " (pid " +
                            std::to_string(caller.pid) + "): only uid " + std::to_string(own) +
                            " and root may use this logger");
    return error_line("uid " + std::to_string(caller.uid) +
                      " may not use this logger: only its own uid (" + std::to_string(own) +
                      ") and root may");
  }
  simdjson::dom::parser parser;
  simdjson::dom::element request;
  std::string_view op;
  if (parser.parse(line).get(request) != simdjson::SUCCESS || !request.is_object() ||
      request["op"].get_string().get(op) != simdjson::SUCCESS) {
    log_debug("control", "a request that is not a JSON object with an op, from uid " +
                             std::to_string(caller.uid));
    return error_line("not a request: one JSON object with \"op\" per line");
  }
  try {
    if (op == "status") return state_json(status());
    if (op == "command") {
      std::string error;
      const std::optional<cl::CommandRequest> parsed = parse_command(request, error);
      if (!parsed) return error_line("bad command: " + error);
      return result_json(command(*parsed, caller));
    }
  } catch (const std::exception& e) {
    log_error("control", std::string("a request failed: ") + e.what());
    return error_line(std::string("the logger failed: ") + e.what());
  }
  return error_line("unknown op '" + std::string(op.substr(0, 40)) + "': status or command");
}

ControlServer::ControlServer(const std::string& state_dir, StatusHandler status,
                             CommandHandler command)
    : impl_(std::make_unique<Impl>(state_dir, std::move(status), std::move(command))) {
  impl_->listen_on_socket();
  impl_->acceptor = std::thread([this] { impl_->accept_loop(); });
}

void ControlServer::stop_accepting() {
  if (impl_->stopping.exchange(true)) return;
  const char byte = 1;
  if (::write(impl_->wake[1], &byte, 1) < 0) {
  }
}

ControlServer::~ControlServer() {
  stop_accepting();
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  ::close(impl_->listen_fd);
  ::unlink(impl_->path.c_str());
  if (!impl_->workers.empty())
    log_info("control", "waiting for " + std::to_string(impl_->workers.size()) +
                            " request(s) in progress to finish");
  impl_->reap(true);
  ::close(impl_->wake[0]);
  ::close(impl_->wake[1]);
}

// ---- client ----------------------------------------------------------------

std::optional<ControlClient> ControlClient::connect(const std::string& state_dir) {
  const std::string path = control_socket_path(state_dir);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw ControlError("cannot look for a running logger in " + state_dir + " (" +
                       std::strerror(errno) +
                       "): the logger's state directory is only for its own user and root");
  }
  if (!S_ISSOCK(st.st_mode)) return std::nullopt;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ControlError(std::string("cannot make a socket: ") + std::strerror(errno));
  const SocketAddress address(path);
  if (::connect(fd, address.get(), address.size()) != 0) {
    const int saved = errno;
    ::close(fd);
    if (saved == ECONNREFUSED || saved == ENOENT) return std::nullopt;  // stale socket
    throw ControlError("cannot reach the running logger at " + path + " (" + std::strerror(saved) +
                       "): only the logger's own user and root may");
  }
  return ControlClient(fd, path);
}

ControlClient::~ControlClient() {
  if (fd_ >= 0) ::close(fd_);
}

ControlClient::ControlClient(ControlClient&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

std::string ControlClient::exchange(const std::string& request, int timeout_ms) {
  if (fd_ < 0) throw ControlError("this control connection was used already");
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  if (!write_all(fd_, request + "\n", deadline))
    throw ControlError("the running logger did not take the request (" + path_ + ")");
  std::string line;
  const ReadEnd end = read_line(fd_, line, kMaxResponseBytes, deadline);
  ::close(fd_);
  fd_ = -1;
  if (end == ReadEnd::Timeout)
    throw ControlError("no answer from the running logger within " +
                       std::to_string(timeout_ms / 1000) + " s");
  if (end != ReadEnd::Line) throw ControlError("the running logger closed the connection");
  return line;
}

namespace {

// The answer's object when it says ok; its error as a ControlError when not.
simdjson::dom::element answer_of(simdjson::dom::parser& parser, const std::string& line) {
  simdjson::dom::element e;
  if (parser.parse(line).get(e) != simdjson::SUCCESS || !e.is_object())
    throw ControlError("the running logger answered something that is not JSON");
  bool ok = false;
  if (e["ok"].get_bool().get(ok) != simdjson::SUCCESS || !ok) {
    const std::string error = text_field(e, "error");
    throw ControlError("the running logger refused: " + (error.empty() ? "no reason" : error));
  }
  return e;
}

}  // namespace

LoggerState ControlClient::status() {
  const std::string line = exchange("{\"op\":\"status\"}", kStatusTimeoutMs);
  simdjson::dom::parser parser;
  return parse_state(answer_of(parser, line));
}

cl::CommandResult ControlClient::command(const cl::CommandRequest& request) {
  const std::string line =
      exchange(request_json(request), request.timeout_s * 1000 + kCommandExtraMs);
  simdjson::dom::parser parser;
  return parse_result(answer_of(parser, line));
}

}  // namespace thermomaven::collector
