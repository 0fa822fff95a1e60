#include "thermomaven/sim/broker.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "thermomaven/core/log.hpp"
#include "thermomaven/sim/pki.hpp"

namespace thermomaven::sim {
namespace {

using namespace std::chrono_literals;

// Debug lines that trace single packets: read, but not copied to our log.
bool is_packet_trace(const std::string& line) {
  for (const char* prefix : {"Received ", "Sending ", "\t", "No will message", "Outgoing messages"})
    if (line.starts_with(prefix)) return true;
  return false;
}

std::string current_user() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : "root";
}

}  // namespace

int pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok)
    throw std::runtime_error(std::string("cannot find a free port: ") + std::strerror(saved));
  return ntohs(addr.sin_port);
}

Broker::Broker(BrokerFiles files, int port, SubscribeHandler on_subscribe,
               OversizedSubscribeHandler on_oversized)
    : files_(std::move(files)),
      port_(port),
      on_subscribe_(std::move(on_subscribe)),
      on_oversized_(std::move(on_oversized)) {}

Broker::~Broker() {
  stop();
  std::lock_guard lock(mutex_);
  end_blackhole_locked();
}

void Broker::write_config(const std::string& cert_file, const std::string& key_file) {
  // Mosquitto started as root switches to the "mosquitto" user, which could
  // not read our 0700 directory: keep the current user instead.
  std::string conf =
      "# Written by thermomaven-sim; replaced at every broker start.\n"
      "per_listener_settings false\n"
      "allow_anonymous false\n"
      "persistence false\n"
      "user " +
      current_user() + "\n" + "listener " + std::to_string(port_) + " 127.0.0.1\n" + "cafile " +
      files_.ca_file + "\n" + "certfile " + cert_file + "\n" + "keyfile " + key_file + "\n" +
      "require_certificate true\n"
      "use_identity_as_username true\n"
      "tls_version tlsv1.2\n"
      "plugin " +
      files_.dynsec_plugin + "\n" + "plugin_opt_config_file " + files_.dynsec_file + "\n" +
      "log_dest stderr\n"  // unbuffered, unlike stdout into a pipe

      "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
      "log_type subscribe\n"
      "log_type debug\n"  // packet boundaries: SUBSCRIBE ... SUBACK (watch_subscribe_packet)
      "log_timestamp false\n"
      "connection_messages true\n";
  // Mosquitto refuses any other client id with CONNACK 5 (not authorised),
  // whatever its certificate: the refuse_clients fault.
  if (!client_id_prefix_.empty()) conf += "clientid_prefixes " + client_id_prefix_ + "\n";
  write_file(files_.config, conf, 0600);
}

void Broker::join_reader(std::unique_lock<std::mutex>& lock) {
  if (!reader_.joinable()) return;
  std::thread reader = std::move(reader_);
  lock.unlock();  // the reader takes mutex_ for every line
  reader.join();
  lock.lock();
}

void Broker::start(const std::string& cert_file, const std::string& key_file) {
  std::lock_guard serial(lifecycle_);
  std::unique_lock lock(mutex_);
  if (pid_ > 0) return;
  end_blackhole_locked();
  join_reader(lock);
  write_config(cert_file, key_file);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  const std::string exe = files_.mosquitto;
  const std::string conf = files_.config;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec. The broker must not
    // outlive the simulator, even one killed with SIGKILL.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    ::execl(exe.c_str(), exe.c_str(), "-c", conf.c_str(), static_cast<char*>(nullptr));
    static const char msg[] = "cannot execute mosquitto\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(fds[1]);
  pid_ = pid;
  listening_ = false;
  log_closed_ = false;
  last_line_.clear();
  reader_ = std::thread([this, fd = fds[0]] { read_log(fd); });
  const bool up = changed_.wait_for(lock, 10s, [this] { return listening_ || log_closed_; });
  if (up && listening_) {
    log_info("sim", "broker: mosquitto pid " + std::to_string(pid_) +
                        " listening on 127.0.0.1:" + std::to_string(port_));
    return;
  }
  const std::string why = last_line_.empty() ? "no output" : last_line_;
  reap_locked(lock);
  join_reader(lock);
  throw std::runtime_error("mosquitto did not start on port " + std::to_string(port_) + ": " + why);
}

void Broker::set_client_id_prefix(const std::string& prefix) {
  std::lock_guard lock(mutex_);
  client_id_prefix_ = prefix;
}

void Broker::stop() {
  std::lock_guard serial(lifecycle_);
  std::unique_lock lock(mutex_);
  if (pid_ > 0) {
    log_info("sim", "broker: stopping mosquitto pid " + std::to_string(pid_));
    reap_locked(lock);
  }
  join_reader(lock);
}

void Broker::blackhole() {
  stop();
  std::lock_guard serial(lifecycle_);
  std::lock_guard lock(mutex_);
  if (blackhole_fd_ >= 0) return;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port_));
  // Backlog 1: the first connects complete in the kernel and then hear
  // nothing; later SYNs are dropped (a connect timeout, no RST).
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 1) != 0) {
    const int saved = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot hold broker port " + std::to_string(port_) + ": " +
                             std::strerror(saved));
  }
  blackhole_fd_ = fd;
  log_info("sim",
           "broker: port " + std::to_string(port_) + " is a black hole (listens, never answers)");
}

void Broker::end_blackhole_locked() {
  if (blackhole_fd_ < 0) return;
  ::close(blackhole_fd_);
  blackhole_fd_ = -1;
  log_info("sim", "broker: black hole on port " + std::to_string(port_) + " closed");
}

void Broker::reap_locked(std::unique_lock<std::mutex>& lock) {
  const pid_t pid = pid_;
  pid_ = -1;
  listening_ = false;
  lock.unlock();
  ::kill(pid, SIGTERM);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  lock.lock();
}

bool Broker::running() {
  std::lock_guard lock(mutex_);
  return pid_ > 0 && listening_;
}

void Broker::watch_subscribe_packet(const std::string& line) {
  static const std::string kStart = "Received SUBSCRIBE from ";
  static const std::string kEnd = "Sending SUBACK to ";
  if (line.starts_with(kStart)) {
    subscribing_client_ = line.substr(kStart.size());
    subscribing_filters_ = 0;
  } else if (subscribing_filters_ >= 0 && line.starts_with("\t")) {
    ++subscribing_filters_;
  } else if (subscribing_filters_ >= 0 && line.starts_with(kEnd)) {
    const int filters = subscribing_filters_;
    subscribing_filters_ = -1;
    if (filters > kMaxFiltersPerSubscribe && on_oversized_)
      on_oversized_(subscribing_client_, filters);
  }
}

void Broker::read_log(int fd) {
  std::string pending;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buffer, static_cast<std::size_t>(n));
    std::size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      const std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      watch_subscribe_packet(line);
      if (!is_packet_trace(line)) log_info("sim", "mosquitto: " + line);
      // A subscribe line is "<client id> <qos> <topic>"; ids have no spaces.
      const auto first = line.find(' ');
      const auto second = first == std::string::npos ? first : line.find(' ', first + 1);
      if (second != std::string::npos && second == first + 2 && line[first + 1] >= '0' &&
          line[first + 1] <= '2' && on_subscribe_)
        on_subscribe_(line.substr(0, first), line.substr(second + 1));
      std::lock_guard lock(mutex_);
      last_line_ = line;
      if (line.find(" running") != std::string::npos && line.starts_with("mosquitto version"))
        listening_ = true;
      changed_.notify_all();
    }
  }
  ::close(fd);
  std::lock_guard lock(mutex_);
  log_closed_ = true;
  listening_ = false;
  changed_.notify_all();
}

}  // namespace thermomaven::sim
