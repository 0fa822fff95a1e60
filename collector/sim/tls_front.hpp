// Terminates TLS for the simulator's HTTP server. Debian 12's civetweb
// (1.15) loads libssl at run time by OpenSSL 1.1 names and calls the
// missing SSL_get_peer_certificate on every HTTPS connection, which crashes
// with OpenSSL 3 (civetweb issue #1334). So civetweb serves plain HTTP on a
// private loopback port and this front does the TLS with OpenSSL directly,
// copying bytes both ways: clients still speak real HTTPS to the simulator.
#pragma once

#include <openssl/ssl.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace thermomaven::sim {

class TlsFront {
 public:
  // `cert_and_key_file`: PEM with the server certificate and its key.
  TlsFront(const std::string& cert_and_key_file, int backend_port);
  ~TlsFront();
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  // Listens on 127.0.0.1:port (0: any free port); returns the port.
  int listen(int port);
  // Stops accepting, cuts open connections and waits for their threads.
  void stop();

 private:
  void accept_loop();
  void serve(int client_fd);
  void relay(SSL* ssl, int client_fd, int backend_fd);

  SSL_CTX* ctx_ = nullptr;
  int backend_port_;
  int listen_fd_ = -1;
  std::thread acceptor_;
  std::mutex mutex_;  // guards the members below
  std::condition_variable idle_;
  std::set<int> open_fds_;  // sockets of live connections, to cut them at stop
  int connections_ = 0;
  bool stopping_ = false;
};

}  // namespace thermomaven::sim
