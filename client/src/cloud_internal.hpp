// What Cloud and Session share inside the library: the REST client with its
// stored session, and the MQTT credentials opened from the keystore.
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <string>

#include "thermomaven/client.hpp"
#include "thermomaven/client/cloud_api.hpp"
#include "thermomaven/client/config.hpp"
#include "thermomaven/client/http_client.hpp"
#include "thermomaven/client/keystore.hpp"
#include "thermomaven/client/state_dir.hpp"

namespace thermomaven::client {

// An opened certificate: the grant (client id, topics) and the PEM pieces.
struct Credentials {
  CertificateGrant grant;
  ClientCredentials keys;
  std::int64_t renew_at_s = 0;
  // Read with the certificate, under the cloud's lock: the account's unit
  // (for the parser) and how many logins the cloud has made so far.
  TemperatureUnit unit = TemperatureUnit::Fahrenheit;
  int logins = 0;
};

struct Cloud::Impl {
  explicit Impl(Account account);

  // Each throws CloudError. One request at a time: the HTTP client is one
  // curl handle, and a session may apply for a certificate while the user
  // sends a command.
  void login();
  Credentials fetch_credentials();
  TemperatureUnit refresh_unit();
  std::string call(const std::string& path, const std::string& body);

  Account account;
  std::string api_url;
  Endpoint broker;
  std::string extra_ca;  // the ca_file's PEM text, for the broker trust
  // Set by Session::stop(): an HTTP transfer in progress is abandoned.
  std::atomic<bool> abort{false};
  std::mutex mutex;
  StateDir state_dir;
  HttpClient http;
  CloudApi api;
};

// The public error for an internal one.
CloudError cloud_error(const ApiError& error);

}  // namespace thermomaven::client
