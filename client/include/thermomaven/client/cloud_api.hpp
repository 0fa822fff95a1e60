// The signed REST API of the ThermoMaven cloud (protocol.md): login with the
// password's MD5, the session kept in the state directory and reused, one
// fresh login and retry when the cloud says the token is no longer valid,
// the MQTT certificate grant and the keystore download.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "thermomaven/client/http_client.hpp"
#include "thermomaven/client/state_dir.hpp"

namespace thermomaven::client {

// A failed API call, with a one-line reason that never holds a secret.
class ApiError : public std::runtime_error {
 public:
  enum class Kind {
    Transport,     // no answer (network, TLS, timeout)
    BadResponse,   // HTTP error status or a body that is not the expected JSON
    TokenInvalid,  // 4001/4002/4003 or a message about the token
    Refused,       // any other non-zero code
    LoginRefused,  // the login itself was refused: wrong password, unknown account, bad signature
  };
  ApiError(Kind kind, std::string code, const std::string& what)
      : std::runtime_error(what), kind(kind), code(std::move(code)) {}
  Kind kind;
  std::string code;  // the cloud's code, empty when there was none
};

struct ApiSettings {
  std::string base_url;  // https://host[:port]
  std::string region = "US";
  std::string lang = "en_US";
  std::string app_key;
  std::string email;
  std::string password;  // secret; only its MD5 leaves the process
};

struct CertificateGrant {
  std::string p12_url;
  std::string p12_md5;
  std::string p12_password;  // secret
  std::string client_id;
  std::vector<std::string> sub_topics;
};

// The envelope {"code", "msg", "data"} of every answer.
struct ApiEnvelope {
  std::string code;
  std::string msg;
  std::string data;  // raw JSON, "null" when absent
};

// The pure parsing steps of the API, apart from the transport so that
// they can be fuzzed. Each throws ApiError(BadResponse) on a body that is
// not what the cloud sends; `path` only names the call in that error.
ApiEnvelope parse_api_envelope(const std::string& path, const HttpResponse& response);
// The `data` of a login answer: token, userId, unit (email left empty).
StoredSession parse_login_data(std::string_view data);
// The account's temperatureUnit in the `data` of app/user/setting/get (whose
// answer protocol.md does not document): at the top of `data` or under its
// `setting` object, as in the login answer. nullopt when neither has F or C.
std::optional<TemperatureUnit> parse_setting_unit(std::string_view data);
// The `data` of app/mqtt/cert/apply.
CertificateGrant parse_certificate_grant(std::string_view data);

class CloudApi {
 public:
  CloudApi(ApiSettings settings, HttpClient& http, StateDir& state);

  // Uses the stored session if there is one for this account, else logs in.
  void ensure_session();
  const StoredSession& session() const { return session_; }
  int logins() const { return logins_; }

  // app/user/setting/get: the account's temperature unit now. A change is
  // logged once and saved with the session. Throws ApiError.
  TemperatureUnit read_unit();

  CertificateGrant apply_for_certificate();
  // The keystore bytes at p12Url (a plain GET).
  std::string download(const std::string& url);

  // A signed POST; returns the raw `data` JSON text. Retries once after a
  // fresh login when the token was refused.
  std::string call(const std::string& path, const std::string& body);

 private:
  void login();
  // read_unit(), logging a failure and keeping the current unit (a refused
  // login still throws).
  void read_unit_keeping_on_failure();
  void take_unit(TemperatureUnit unit, const char* source);
  std::string call_once(const std::string& path, const std::string& body);
  std::vector<std::string> signed_headers(const std::string& body);

  ApiSettings settings_;
  HttpClient& http_;
  StateDir& state_;
  std::string device_sn_;
  StoredSession session_;
  int logins_ = 0;
  bool reading_unit_ = false;
};

}  // namespace thermomaven::client
