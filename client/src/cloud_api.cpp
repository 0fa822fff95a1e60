#include "thermomaven/client/cloud_api.hpp"

#include <simdjson.h>

#include <algorithm>

#include "thermomaven/client/signing.hpp"
#include "thermomaven/core/json_text.hpp"
#include "thermomaven/core/log.hpp"
#include "thermomaven/core/time.hpp"

namespace thermomaven::client {
namespace {

namespace od = simdjson::ondemand;

// A server message for a log line: one line, bounded, printable.
std::string printable(std::string_view text, std::size_t limit = 160) {
  std::string out;
  for (char c : text.substr(0, limit))
    out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  if (text.size() > limit) out += "...";
  return out;
}

bool mentions_token(std::string msg) {
  std::transform(msg.begin(), msg.end(), msg.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return msg.find("token") != std::string::npos;
}

std::string string_field(od::value value) {
  if (value.type() == od::json_type::string)
    return std::string(std::string_view(value.get_string()));
  if (value.type() == od::json_type::number)
    return std::string(std::string_view(value.raw_json_token()));
  return {};
}

// A refused login: no code is known to mean one cause, and a wrong region
// fails like a wrong password (protocol.md), so every likely cause is named.
std::string login_refusal_causes(const std::string& region) {
  return "likely causes: a wrong password, the wrong region (" + region +
         " is in use; the cloud answers a wrong region like a wrong password), or no such "
         "account (check THERMOMAVEN_EMAIL)";
}

}  // namespace

// The JSON `code` is read whatever the HTTP status: a token error may come
// with a 401 (protocol.md). A body that is not the JSON envelope is a bad
// response, named by its status when that is not 200.
ApiEnvelope parse_api_envelope(const std::string& path, const HttpResponse& response) {
  od::parser parser;
  simdjson::padded_string padded(response.body);
  ApiEnvelope envelope;
  envelope.data = "null";
  auto fail = [&](const char* why) {
    if (response.status != 200)  // an error status without the cloud's envelope
      return ApiError(ApiError::Kind::BadResponse, "",
                      path + ": HTTP " + std::to_string(response.status) +
                          " from the cloud, without its JSON answer (content type '" +
                          printable(response.content_type, 60) + "')");
    return ApiError(ApiError::Kind::BadResponse, "",
                    path + ": the cloud answered with " + why + " (content type '" +
                        printable(response.content_type, 60) + "')");
  };

  try {
    od::document doc = parser.iterate(padded);
    od::object root = doc.get_object();
    bool has_code = false;
    for (auto field : root) {
      std::string_view key = field.unescaped_key();
      od::value value = field.value();
      if (key == "code") {
        has_code = true;
        if (value.type() == od::json_type::string)
          envelope.code = std::string(std::string_view(value.get_string()));
        else if (value.type() == od::json_type::number)
          envelope.code = std::to_string(int64_t(value.get_int64()));
        else
          throw fail("a code that is neither a string nor a number");
      } else if (key == "msg") {
        if (value.type() == od::json_type::string)
          envelope.msg = std::string(std::string_view(value.get_string()));
      } else if (key == "data") {
        switch (value.type()) {
          case od::json_type::object: {
            od::object object = value.get_object();
            envelope.data = std::string(std::string_view(object.raw_json()));
            break;
          }
          case od::json_type::array: {
            od::array array = value.get_array();
            envelope.data = std::string(std::string_view(array.raw_json()));
            break;
          }
          default:
            envelope.data = std::string(std::string_view(value.raw_json_token()));
        }
      }
    }
    if (!has_code) throw fail("JSON without a code");
  } catch (const simdjson::simdjson_error&) {
    throw fail("something that is not JSON");
  }
  if (response.status != 200 && envelope.code == "0")
    throw ApiError(
        ApiError::Kind::BadResponse, "",
        path + ": HTTP " + std::to_string(response.status) + " from the cloud, with code 0");
  return envelope;
}

StoredSession parse_login_data(std::string_view data) {
  StoredSession session;
  od::parser parser;
  simdjson::padded_string padded(data);
  try {
    od::document doc = parser.iterate(padded);
    for (auto field : doc.get_object()) {
      std::string_view key = field.unescaped_key();
      if (key == "token")
        session.token = string_field(field.value());
      else if (key == "userId")
        session.user_id = string_field(field.value());
      else if (key == "setting") {
        od::value setting = field.value();
        if (setting.type() != od::json_type::object) continue;
        for (auto s : setting.get_object()) {
          if (std::string_view(s.unescaped_key()) != "temperatureUnit") continue;
          const std::string unit = string_field(s.value());
          if (unit == "C" || unit == "c") session.unit = TemperatureUnit::Celsius;
        }
      }
    }
  } catch (const simdjson::simdjson_error&) {
    throw ApiError(ApiError::Kind::BadResponse, "", "login: malformed data in the answer");
  }
  return session;
}

namespace {

std::optional<TemperatureUnit> unit_named(const std::string& text) {
  if (text == "C" || text == "c") return TemperatureUnit::Celsius;
  if (text == "F" || text == "f") return TemperatureUnit::Fahrenheit;
  return std::nullopt;
}

// temperatureUnit among the fields of `object`, or of its `setting` object.
std::optional<TemperatureUnit> unit_in(od::object object, int depth) {
  std::optional<TemperatureUnit> top, nested;
  for (auto field : object) {
    std::string_view key = field.unescaped_key();
    od::value value = field.value();
    if (key == "temperatureUnit")
      top = unit_named(string_field(value));
    else if (key == "setting" && depth == 0 && value.type() == od::json_type::object)
      nested = unit_in(value.get_object(), depth + 1);
  }
  return top ? top : nested;
}

}  // namespace

std::optional<TemperatureUnit> parse_setting_unit(std::string_view data) {
  od::parser parser;
  simdjson::padded_string padded(data);
  try {
    od::document doc = parser.iterate(padded);
    if (doc.type() != od::json_type::object) return std::nullopt;
    return unit_in(doc.get_object(), 0);
  } catch (const simdjson::simdjson_error&) {
    throw ApiError(ApiError::Kind::BadResponse, "", "app/user/setting/get: malformed data");
  }
}

CertificateGrant parse_certificate_grant(std::string_view data) {
  CertificateGrant grant;
  od::parser parser;
  simdjson::padded_string padded(data);
  try {
    od::document doc = parser.iterate(padded);
    for (auto field : doc.get_object()) {
      std::string_view key = field.unescaped_key();
      od::value value = field.value();
      if (key == "p12Url")
        grant.p12_url = string_field(value);
      else if (key == "p12Md5")
        grant.p12_md5 = string_field(value);
      else if (key == "p12Password")
        grant.p12_password = string_field(value);
      else if (key == "clientId")
        grant.client_id = string_field(value);
      else if (key == "subTopics" && value.type() == od::json_type::array) {
        for (auto item : value.get_array()) {
          std::string topic = string_field(item.value());
          if (!topic.empty()) grant.sub_topics.push_back(std::move(topic));
        }
      }
    }
  } catch (const simdjson::simdjson_error&) {
    throw ApiError(ApiError::Kind::BadResponse, "", "app/mqtt/cert/apply: malformed data");
  }
  if (grant.p12_url.empty() || grant.client_id.empty() || grant.p12_md5.empty())
    throw ApiError(ApiError::Kind::BadResponse, "",
                   "app/mqtt/cert/apply: the answer lacks p12Url, p12Md5 or clientId");
  return grant;
}

CloudApi::CloudApi(ApiSettings settings, HttpClient& http, StateDir& state)
    : settings_(std::move(settings)), http_(http), state_(state), device_sn_(state.device_sn()) {}

std::vector<std::string> CloudApi::signed_headers(const std::string& body) {
  HeaderList x = {
      {"x-appId", std::string(kAppId)},
      {"x-appVersion", std::string(kAppVersion)},
      {"x-deviceSn", device_sn_},
      {"x-lang", settings_.lang},
      {"x-nonce", random_hex(16)},
      {"x-region", settings_.region},
      {"x-timestamp", std::to_string(now_ms())},
      {"x-token", session_.token.empty() ? "none" : session_.token},
  };
  const std::string sign = request_signature(settings_.app_key, x, body);
  std::vector<std::string> lines;
  for (const auto& [name, value] : x) lines.push_back(name + ": " + value);
  lines.push_back("x-sign: " + sign);
  lines.push_back("Content-Type: application/json; charset=UTF-8");
  lines.push_back("Expect:");
  return lines;
}

std::string CloudApi::call_once(const std::string& path, const std::string& body) {
  const std::string url = settings_.base_url + "/" + path;
  HttpResponse response;
  try {
    response = http_.post(url, signed_headers(body), body);
  } catch (const HttpError& e) {
    throw ApiError(ApiError::Kind::Transport, "", e.what());
  }
  ApiEnvelope envelope = parse_api_envelope(path, response);
  if (envelope.code == "0") return envelope.data;
  const std::string what = path + ": the cloud refused (code " + printable(envelope.code, 20) +
                           ": " + printable(envelope.msg) + ")";
  const bool token_problem = envelope.code == "4001" || envelope.code == "4002" ||
                             envelope.code == "4003" || mentions_token(envelope.msg);
  throw ApiError(token_problem ? ApiError::Kind::TokenInvalid : ApiError::Kind::Refused,
                 envelope.code, what);
}

void CloudApi::login() {
  session_ = {};
  const std::string body = "{\"accountName\":\"" + json_escape(settings_.email) +
                           "\",\"accountPassword\":\"" + md5_hex(settings_.password) +
                           "\",\"deviceInfo\":\"thermomaven-logger\"}";
  std::string data;
  try {
    data = call_once("app/account/login", body);
  } catch (const ApiError& e) {
    // No code is known to mean one cause (protocol.md lists none for a
    // login), and a wrong region fails like a wrong password: quote the
    // cloud and name the likely causes.
    const bool refused =
        e.kind == ApiError::Kind::TokenInvalid || e.kind == ApiError::Kind::Refused;
    if (!refused) throw ApiError(e.kind, e.code, std::string("login failed: ") + e.what());
    throw ApiError(
        ApiError::Kind::LoginRefused, e.code,
        std::string("login failed: ") + e.what() + "; " + login_refusal_causes(settings_.region));
  }
  ++logins_;
  StoredSession session = parse_login_data(data);
  session.email = settings_.email;
  if (session.token.empty() || session.user_id.empty())
    throw ApiError(ApiError::Kind::BadResponse, "", "login: the answer has no token or userId");
  const bool unit_known = parse_setting_unit(data).has_value();
  session_ = session;
  state_.save_session(session_);
  log_info("api",
           "logged in as user " + session_.user_id +
               (unit_known ? std::string(" (temperatures in °") + unit_letter(session_.unit) + ")"
                           : std::string(" (the answer names no temperature unit)")));
  if (!unit_known) read_unit_keeping_on_failure();
}

void CloudApi::ensure_session() {
  if (!session_.token.empty()) return;
  if (auto stored = state_.load_session(); stored && stored->email == settings_.email) {
    session_ = *stored;
    log_info("api", "reusing the stored session of user " + session_.user_id);
    // The unit may have changed in the app since the session was saved.
    read_unit_keeping_on_failure();
    return;
  }
  login();
}

TemperatureUnit CloudApi::read_unit() {
  const std::string data = call("app/user/setting/get", "");
  const std::optional<TemperatureUnit> unit = parse_setting_unit(data);
  if (!unit)
    throw ApiError(ApiError::Kind::BadResponse, "",
                   "app/user/setting/get: the answer names no temperatureUnit (F or C)");
  take_unit(*unit, "the account's settings");
  return *unit;
}

void CloudApi::read_unit_keeping_on_failure() {
  // A login inside the read (token refused) must not read again.
  if (reading_unit_) return;
  reading_unit_ = true;
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{reading_unit_};
  try {
    read_unit();
  } catch (const ApiError& e) {
    if (e.kind == ApiError::Kind::LoginRefused) throw;
    log_warn("api", std::string("could not read the account's temperature unit: ") + e.what() +
                        "; keeping °" + unit_letter(session_.unit));
  }
}

void CloudApi::take_unit(TemperatureUnit unit, const char* source) {
  if (unit == session_.unit) return;
  log_info("api", std::string("the account's temperature unit changed from °") +
                      unit_letter(session_.unit) + " to °" + unit_letter(unit) + " (" + source +
                      "); reports received from now on are read in °" + unit_letter(unit));
  session_.unit = unit;
  state_.save_session(session_);
}

std::string CloudApi::call(const std::string& path, const std::string& body) {
  ensure_session();
  try {
    return call_once(path, body);
  } catch (const ApiError& e) {
    if (e.kind != ApiError::Kind::TokenInvalid) throw;
    log_info("api", std::string(e.what()) + "; logging in again");
    state_.clear_session();
    login();
    return call_once(path, body);
  }
}

CertificateGrant CloudApi::apply_for_certificate() {
  const std::string data = call("app/mqtt/cert/apply", "");
  return parse_certificate_grant(data);
}

std::string CloudApi::download(const std::string& url) {
  if (url.rfind("https://", 0) != 0)
    throw ApiError(ApiError::Kind::BadResponse, "", "the keystore URL is not https");
  HttpResponse response;
  try {
    response = http_.get(url);
  } catch (const HttpError& e) {
    throw ApiError(ApiError::Kind::Transport, "", std::string("keystore download: ") + e.what());
  }
  if (response.status != 200)
    throw ApiError(ApiError::Kind::BadResponse, "",
                   "keystore download " + url_without_query(url) + ": HTTP " +
                       std::to_string(response.status));
  return std::move(response.body);
}

}  // namespace thermomaven::client
