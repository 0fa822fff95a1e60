// The Mosquitto broker as a child process, with a generated configuration:
// one TLS listener on 127.0.0.1 that requires a client certificate from the
// simulator's CA and takes the certificate's CN as the user name. Access
// control is Mosquitto's dynamic-security plugin, because the plain
// acl_file never refuses a SUBSCRIBE (it only filters deliveries), and the
// collector must see refused subscriptions. The caller writes the plugin's
// file before start() and changes it at run time through $CONTROL messages.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace thermomaven::sim {

struct BrokerFiles {
  std::string mosquitto;      // the executable
  std::string config;         // written by Broker::start
  std::string ca_file;        // verifies client certificates
  std::string cert_file;      // the broker's own certificate ...
  std::string key_file;       // ... and key
  std::string dynsec_plugin;  // Mosquitto's dynamic-security plugin ...
  std::string dynsec_file;    // ... and its configuration (clients, roles, ACLs)
};

class Broker {
 public:
  // Called from the log-reader thread for every subscription the broker
  // granted.
  using SubscribeHandler = std::function<void(const std::string& client, const std::string& topic)>;
  // Called from the log-reader thread for every SUBSCRIBE packet that
  // carried more topic filters than AWS IoT accepts in one (8). Mosquitto
  // itself accepts them, so the simulator watches its debug log for the
  // packet boundaries ("Received SUBSCRIBE from", one tab-indented line per
  // filter, "Sending SUBACK to"). Must not block: it hands work over.
  using OversizedSubscribeHandler = std::function<void(const std::string& client, int filters)>;
  static constexpr int kMaxFiltersPerSubscribe = 8;

  Broker(BrokerFiles files, int port, SubscribeHandler on_subscribe,
         OversizedSubscribeHandler on_oversized = {});
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Starts Mosquitto with the given server certificate and waits until it
  // listens. Throws with Mosquitto's last log line when it cannot start.
  void start(const std::string& cert_file, const std::string& key_file);
  void start() { start(files_.cert_file, files_.key_file); }
  // From the next start() on, only clients whose id starts with `prefix`
  // may connect; the others get CONNACK 5 (not authorised). Empty: all.
  void set_client_id_prefix(const std::string& prefix);
  // Stops it (SIGTERM, then SIGKILL after 5 s) and reaps it. Idempotent.
  void stop();
  // Stops Mosquitto and holds its port with a socket that listens but never
  // accepts: connects sit in the kernel's queue (or, once it is full, get no
  // SYN-ACK), so clients see a network that swallows packets, not a refusal.
  // start() ends it.
  void blackhole();
  bool running();
  int port() const { return port_; }

 private:
  void read_log(int fd);
  void watch_subscribe_packet(const std::string& line);
  void write_config(const std::string& cert_file, const std::string& key_file);
  void reap_locked(std::unique_lock<std::mutex>& lock);
  void join_reader(std::unique_lock<std::mutex>& lock);
  void end_blackhole_locked();

  BrokerFiles files_;
  int port_;
  SubscribeHandler on_subscribe_;
  OversizedSubscribeHandler on_oversized_;
  // Log-reader thread only: the SUBSCRIBE packet being logged.
  std::string subscribing_client_;
  int subscribing_filters_ = -1;  // -1: not inside a SUBSCRIBE

  std::mutex lifecycle_;  // one start/stop at a time
  std::mutex mutex_;      // guards everything below
  std::condition_variable changed_;
  pid_t pid_ = -1;
  int blackhole_fd_ = -1;
  std::string client_id_prefix_;
  std::thread reader_;
  bool listening_ = false;
  bool log_closed_ = false;
  std::string last_line_;
};

// A loopback TCP port that was free a moment ago.
int pick_free_port();

}  // namespace thermomaven::sim
