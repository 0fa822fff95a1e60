#include "thermomaven/tls/tls_front.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace thermomaven::tls {
namespace {

// Each connection has a thread; a flood beyond this is turned away at once.
constexpr int kMaxConnections = 256;

sockaddr_in ipv4_address(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    throw std::runtime_error("cannot listen for HTTPS on " + host + ": not an IPv4 address");
  return addr;
}

// The relay writes what it gets as it gets it (civetweb sends headers and
// body apart): Nagle's algorithm would hold the second write until the
// other side's delayed ACK, 40 ms a response.
void no_delay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// The oldest OpenSSL error, which names the cause ("no such file",
// "key values mismatch"), then the queue cleared.
[[noreturn]] void throw_tls_error(const std::string& what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  char reason[256] = "";
  if (code) ERR_error_string_n(code, reason, sizeof reason);
  throw std::runtime_error(what + (code ? std::string(": ") + reason : std::string()));
}

// RequestClientCert and RequireAnyClientCert take whatever certificate comes.
int accept_any_certificate(int, X509_STORE_CTX*) { return 1; }

void set_client_auth(SSL_CTX* ctx, const TlsServerConfig& config) {
  int mode = SSL_VERIFY_NONE;
  SSL_verify_cb callback = nullptr;
  switch (config.client_auth) {
    case ClientAuth::NoClientCert:
      break;
    case ClientAuth::RequestClientCert:
      mode = SSL_VERIFY_PEER;
      callback = accept_any_certificate;
      break;
    case ClientAuth::RequireAnyClientCert:
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      callback = accept_any_certificate;
      break;
    case ClientAuth::VerifyClientCertIfGiven:
      mode = SSL_VERIFY_PEER;
      break;
    case ClientAuth::RequireAndVerifyClientCert:
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      break;
  }
  if (!config.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, config.client_ca_file.c_str(), nullptr) != 1)
      throw_tls_error("cannot load the client CA file " + config.client_ca_file);
    // Tells clients which CAs to pick a certificate from.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.client_ca_file.c_str());
    if (names) SSL_CTX_set_client_CA_list(ctx, names);
  }
  SSL_CTX_set_verify(ctx, mode, callback);
}

SSL_CTX* new_server_context(const TlsServerConfig& config) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) throw_tls_error("SSL_CTX_new");
  try {
    SSL_CTX_set_min_proto_version(
        ctx, config.min_version == TlsVersion::Tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1)
      throw_tls_error("cannot load the TLS certificate " + config.cert_file);
    const std::string mismatch = "the TLS key " + config.key_file +
                                 " does not belong to the certificate " + config.cert_file;
    if (SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      if (ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH) {
        ERR_clear_error();
        throw std::runtime_error(mismatch);
      }
      throw_tls_error("cannot load the TLS key " + config.key_file);
    }
    if (SSL_CTX_check_private_key(ctx) != 1) throw_tls_error(mismatch);
    set_client_auth(ctx, config);
  } catch (...) {
    SSL_CTX_free(ctx);
    throw;
  }
  return ctx;
}

}  // namespace

TlsFront::TlsFront(const TlsServerConfig& config, int backend_port, ErrorLog log)
    : ctx_(new_server_context(config)), backend_port_(backend_port), log_(std::move(log)) {
  if (!log_)
    log_ = [](std::string_view line) {
      std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    };
}

TlsFront::~TlsFront() {
  stop();
  SSL_CTX_free(ctx_);
}

int TlsFront::listen(int port, const std::string& host) {
  sockaddr_in addr = ipv4_address(host, port);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot listen for HTTPS on " + host + ":" + std::to_string(port) +
                             ": " + std::strerror(errno));
  acceptor_ = std::thread([this] { accept_loop(); });
  return ntohs(addr.sin_port);
}

void TlsFront::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // wakes their poll()
  }
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return connections_ == 0; });
}

bool TlsFront::relays_from(int local_port) const {
  std::lock_guard lock(mutex_);
  return backend_ports_.count(local_port) > 0;
}

void TlsFront::accept_loop() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard lock(mutex_);
    if (stopping_) {
      if (fd >= 0) ::close(fd);
      return;
    }
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {  // out of descriptors: wait, don't spin
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      log_(std::string("https: accept failed: ") + std::strerror(errno));
      return;
    }
    if (connections_ >= kMaxConnections) {
      ::close(fd);
      continue;
    }
    open_fds_.insert(fd);
    ++connections_;
    std::thread([this, fd] { serve(fd); }).detach();  // counted; stop() waits for it
  }
}

// A socket to the backend, its local port registered in backend_ports_
// before any byte of the request reaches it (`local_port`, -1 if it could
// not connect). The caller closes the socket.
int TlsFront::connect_backend(int& local_port) {
  local_port = -1;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  no_delay(fd);
  {
    std::lock_guard lock(mutex_);
    open_fds_.insert(fd);
    if (stopping_) ::shutdown(fd, SHUT_RDWR);
  }
  sockaddr_in addr = ipv4_address("127.0.0.1", backend_port_);
  socklen_t len = sizeof addr;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    log_(std::string("https: cannot reach the HTTP backend: ") + std::strerror(errno));
    return fd;
  }
  local_port = ntohs(addr.sin_port);
  std::lock_guard lock(mutex_);
  backend_ports_.insert(local_port);
  return fd;
}

void TlsFront::serve(int client_fd) {
  no_delay(client_fd);
  timeval timeout{10, 0};  // a client that stalls the handshake is dropped
  ::setsockopt(client_fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  SSL* ssl = SSL_new(ctx_);
  int backend_fd = -1;
  int backend_port = -1;
  if (ssl && SSL_set_fd(ssl, client_fd) == 1 && SSL_accept(ssl) == 1) {
    timeval none{0, 0};
    ::setsockopt(client_fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    // A client that stops reading (an open /events stream, say) must not
    // hold this thread in SSL_write for ever: past 10 s it is dropped, as
    // civetweb drops a stalled plain-HTTP client.
    timeval send_timeout{10, 0};
    ::setsockopt(client_fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    backend_fd = connect_backend(backend_port);
    if (backend_port >= 0) relay(ssl, client_fd, backend_fd);
  }
  // A failed handshake (wrong CA, plain HTTP, port scan) is the client's problem.
  ERR_clear_error();
  if (ssl) SSL_free(ssl);
  std::lock_guard lock(mutex_);
  open_fds_.erase(client_fd);
  ::close(client_fd);
  if (backend_fd >= 0) {
    open_fds_.erase(backend_fd);
    backend_ports_.erase(backend_port);
    ::close(backend_fd);
  }
  if (--connections_ == 0) idle_.notify_all();
}

// Copies requests to civetweb and responses back until either side closes.
void TlsFront::relay(SSL* ssl, int client_fd, int backend_fd) {
  char buffer[16384];
  bool client_open = true;
  for (;;) {
    // A closed side is left out (fd -1): its POLLHUP would make poll spin.
    pollfd fds[2] = {{client_open ? client_fd : -1, POLLIN, 0}, {backend_fd, POLLIN, 0}};
    if (!(client_open && SSL_pending(ssl) > 0) && ::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (client_open && (SSL_pending(ssl) > 0 || fds[0].revents)) {
      const int n = SSL_read(ssl, buffer, sizeof buffer);
      if (n > 0) {
        if (!write_all(backend_fd, buffer, static_cast<std::size_t>(n))) return;
      } else {
        client_open = false;  // the client finished sending; the answer may still come
        ::shutdown(backend_fd, SHUT_WR);
      }
    }
    if (fds[1].revents) {
      const ssize_t n = ::recv(backend_fd, buffer, sizeof buffer, 0);
      if (n <= 0) {
        SSL_shutdown(ssl);
        return;
      }
      if (SSL_write(ssl, buffer, static_cast<int>(n)) <= 0) return;
    }
  }
}

}  // namespace thermomaven::tls
