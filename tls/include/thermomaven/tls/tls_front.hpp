// Terminates TLS in front of a plain-HTTP civetweb server on loopback.
// Debian 12's civetweb (1.15) loads libssl at run time by OpenSSL 1.1 names
// and calls the missing SSL_get_peer_certificate on every HTTPS connection,
// which crashes with OpenSSL 3 (civetweb issue #1334). So civetweb serves
// plain HTTP on a private loopback port and this front does the TLS with
// OpenSSL directly, copying bytes both ways: clients speak real HTTPS.
// Used by the exporter (--web.config.file) and by thermomaven-sim.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

using SSL_CTX = struct ssl_ctx_st;
using SSL = struct ssl_st;

namespace thermomaven::tls {

// The client certificate policies of Go's crypto/tls, by the names
// Prometheus's web configuration files use.
enum class ClientAuth {
  NoClientCert,
  RequestClientCert,           // asked for, not required, not verified
  RequireAnyClientCert,        // required, not verified
  VerifyClientCertIfGiven,     // optional, verified against the client CA
  RequireAndVerifyClientCert,  // required and verified against the client CA
};

enum class TlsVersion { Tls12, Tls13 };

struct TlsServerConfig {
  std::string cert_file;  // PEM: the server certificate, then any intermediates
  std::string key_file;   // PEM: its private key (may be the same file)
  ClientAuth client_auth = ClientAuth::NoClientCert;
  std::string client_ca_file;  // PEM: the CAs that sign client certificates
  TlsVersion min_version = TlsVersion::Tls12;
};

class TlsFront {
 public:
  using ErrorLog = std::function<void(std::string_view line)>;

  // Loads the certificate chain, the key and the client CA now, and throws
  // std::runtime_error with a one-line reason if they do not load or the key
  // does not belong to the certificate. `log` gets failures of the listening
  // socket and the backend (stderr if empty); failed handshakes are the
  // client's business and are not logged.
  TlsFront(const TlsServerConfig& config, int backend_port, ErrorLog log = {});
  ~TlsFront();
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  // Listens on host:port (IPv4; port 0: any free port); returns the port.
  int listen(int port, const std::string& host = "127.0.0.1");
  // Stops accepting, cuts open connections and waits for their threads.
  void stop();

  // Whether a connection that reached the backend from 127.0.0.1:port is one
  // of this front's own: other local users could connect to the backend's
  // loopback port directly, around TLS and client certificates.
  bool relays_from(int local_port) const;

 private:
  void accept_loop();
  void serve(int client_fd);
  void relay(SSL* ssl, int client_fd, int backend_fd);
  int connect_backend(int& local_port);

  SSL_CTX* ctx_ = nullptr;
  int backend_port_;
  ErrorLog log_;
  int listen_fd_ = -1;
  std::thread acceptor_;
  mutable std::mutex mutex_;  // guards the members below
  std::condition_variable idle_;
  std::set<int> open_fds_;       // sockets of live connections, to cut them at stop
  std::set<int> backend_ports_;  // local ports of live backend connections
  int connections_ = 0;
  bool stopping_ = false;
};

}  // namespace thermomaven::tls
