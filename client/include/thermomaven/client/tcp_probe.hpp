// A plain TCP connect to a host and port, nothing sent: tells a blocked port
// (firewall, wrong endpoint) apart from a server that takes the connection
// and then refuses us (doctor's "broker reachable" step).
#pragma once

#include <optional>
#include <string>

namespace thermomaven::client {

// nullopt when a connection to host:port opened within `timeout_ms` (to one
// of the addresses the name resolves to); else why not, one line: "cannot
// resolve the name (...)", "no answer within 5 s", "Connection refused".
std::optional<std::string> tcp_unreachable_reason(const std::string& host, int port,
                                                  int timeout_ms);

}  // namespace thermomaven::client
