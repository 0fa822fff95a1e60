#include "tls_front.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "log.hpp"
#include "pki.hpp"

namespace thermomaven::sim {
namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return addr;
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

}  // namespace

TlsFront::TlsFront(const std::string& cert_and_key_file, int backend_port)
    : backend_port_(backend_port) {
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (!ctx_) throw_openssl("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx_, cert_and_key_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx_, cert_and_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    SSL_CTX_free(ctx_);
    throw_openssl("cannot load the HTTPS certificate " + cert_and_key_file);
  }
}

TlsFront::~TlsFront() {
  stop();
  SSL_CTX_free(ctx_);
}

int TlsFront::listen(int port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = loopback(port);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot listen for HTTPS on 127.0.0.1:" + std::to_string(port) + ": " +
                             std::strerror(errno));
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
      log_error(std::string("https: accept failed: ") + std::strerror(errno));
      return;
    }
    open_fds_.insert(fd);
    ++connections_;
    std::thread([this, fd] { serve(fd); }).detach();  // counted; stop() waits for it
  }
}

void TlsFront::serve(int client_fd) {
  timeval timeout{10, 0};  // a client that stalls the handshake is dropped
  ::setsockopt(client_fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  SSL* ssl = SSL_new(ctx_);
  int backend_fd = -1;
  if (ssl && SSL_set_fd(ssl, client_fd) == 1 && SSL_accept(ssl) == 1) {
    timeval none{0, 0};
    ::setsockopt(client_fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    backend_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = loopback(backend_port_);
    {
      std::lock_guard lock(mutex_);
      if (backend_fd >= 0) open_fds_.insert(backend_fd);
      if (stopping_ && backend_fd >= 0) ::shutdown(backend_fd, SHUT_RDWR);
    }
    if (backend_fd >= 0 &&
        ::connect(backend_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
      relay(ssl, client_fd, backend_fd);
    else
      log_error(std::string("https: cannot reach the HTTP backend: ") + std::strerror(errno));
  }
  // A failed handshake (wrong CA, plain HTTP, port scan) is the client's problem.
  ERR_clear_error();
  if (ssl) SSL_free(ssl);
  std::lock_guard lock(mutex_);
  open_fds_.erase(client_fd);
  ::close(client_fd);
  if (backend_fd >= 0) {
    open_fds_.erase(backend_fd);
    ::close(backend_fd);
  }
  if (--connections_ == 0) idle_.notify_all();
}

// Copies the request to civetweb and the response back until either side
// closes. civetweb answers with "Connection: close", which ends it.
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

}  // namespace thermomaven::sim
