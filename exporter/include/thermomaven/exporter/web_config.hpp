// The exporter's web configuration file, in the format of Prometheus's own
// exporters (exporter-toolkit's web-config.yml), so that operators reuse
// what they know:
//
//   tls_server_config:
//     cert_file: server.crt
//     key_file: server.key
//   basic_auth_users:
//     alice: $2y$10$...
//
// and the basic authentication it configures (bcrypt hashes).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "thermomaven/tls/tls_front.hpp"

namespace thermomaven::exporter {

// "PATH:LINE: what is wrong" (or "PATH: ..." for the file as a whole).
class WebConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WebConfig {
  std::optional<thermomaven::tls::TlsServerConfig> tls;  // paths absolute or relative to the working directory
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
};

// Reads and checks a web configuration file: the YAML subset the format
// uses, unknown keys refused, relative paths taken from the file's directory,
// a world-readable key_file refused. Does not load the certificates (the
// server does, at start).
WebConfig load_web_config(const std::string& path);

// A bcrypt hash ($2b$) of `password` with 2^cost rounds (4..31).
std::string bcrypt_hash(std::string_view password, int cost = 10);

// Checks "Authorization: Basic ..." against the configured users. A bcrypt
// check costs tens of milliseconds and Prometheus asks every few seconds,
// so successful checks are remembered (a SHA-256 of user, hash and password,
// never the password itself). Thread-safe.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users);
  ~BasicAuth();
  BasicAuth(const BasicAuth&) = delete;
  BasicAuth& operator=(const BasicAuth&) = delete;

  // `authorization`: the header's value, or null when there is none.
  bool allows(const char* authorization) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace thermomaven::exporter
