// The TCP reachability probe of thermomaven/client/tcp_probe.hpp: a
// non-blocking connect with poll, over every address of the name.
#include "thermomaven/client/tcp_probe.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace thermomaven::client {
namespace {

// Empty when `address` took the connection within `timeout_ms`, else why not.
std::string connect_error(const addrinfo& address, int timeout_ms) {
  const int fd = ::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  int rc = ::connect(fd, address.ai_addr, address.ai_addrlen);
  int error = rc == 0 ? 0 : errno;
  if (rc != 0 && error == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, timeout_ms) == 0) {
      ::close(fd);
      return "no answer within " + std::to_string(timeout_ms / 1000) + " s";
    }
    socklen_t len = sizeof error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
  }
  ::close(fd);
  return error == 0 ? "" : std::strerror(error);
}

}  // namespace

std::optional<std::string> tcp_unreachable_reason(const std::string& host, int port,
                                                  int timeout_ms) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return std::string("cannot resolve the name (") + gai_strerror(rc) + ")";
  std::string error = "no address";
  for (const addrinfo* a = found; a; a = a->ai_next) {
    error = connect_error(*a, timeout_ms);
    if (error.empty()) break;
  }
  ::freeaddrinfo(found);
  if (error.empty()) return std::nullopt;
  return error;
}

}  // namespace thermomaven::client
