// thermomaven::client::Cloud over the collector's REST client, state
// directory and keystore code.
#include <openssl/crypto.h>
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "cloud_internal.hpp"
#include "thermomaven/client/signing.hpp"
#include "thermomaven/core/json_text.hpp"
#include "thermomaven/core/log.hpp"
#include "thermomaven/core/time.hpp"

namespace thermomaven::client {
namespace {

bool equal_ignoring_case(std::string a, std::string b) {
  auto lower = [](std::string& s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  };
  lower(a);
  lower(b);
  return a == b;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read the CA file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string json_text(simdjson::dom::element e, const char* key) {
  std::string_view text;
  if (!e[key].get(text)) return std::string(text);
  std::int64_t number;
  if (!e[key].get(number)) return std::to_string(number);
  return "";
}

// The `data` of a device list call: an array of devices.
std::vector<DeviceInfo> parse_devices(const std::string& path, const std::string& data) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array devices;
  if (parser.parse(data).get(doc))
    throw CloudError(CloudError::Kind::BadResponse, "", path + ": data is not JSON");
  if (doc.is_null()) return {};
  if (doc.get(devices))
    throw CloudError(CloudError::Kind::BadResponse, "", path + ": data is not a list of devices");
  std::vector<DeviceInfo> out;
  for (simdjson::dom::element d : devices) {
    if (!d.is_object()) continue;
    DeviceInfo info{json_text(d, "deviceId"),
                    json_text(d, "deviceName"),
                    json_text(d, "deviceModel"),
                    json_text(d, "deviceSn"),
                    {}};
    simdjson::dom::array topics;
    if (!d["subTopics"].get(topics))
      for (simdjson::dom::element t : topics)
        if (std::string_view topic; !t.get(topic)) info.topics.emplace_back(topic);
    out.push_back(std::move(info));
  }
  return out;
}

// The minified JSON of a parsed element (stages of setParams kept as received).
std::string minified(simdjson::dom::element e) { return simdjson::minify(e); }

// setParams with stage 0's setTemperature replaced: stage 0's other fields
// and every later stage are kept as the probe reported them.
std::string set_params(const Command& c) {
  const std::string target = std::to_string(c.target_tenths);
  const std::string single = "[{\"setTemperature\":" + target + "}]";
  if (c.set_params_json.empty()) return single;
  simdjson::dom::parser parser;
  simdjson::dom::array stages;
  if (parser.parse(c.set_params_json).get(stages) || stages.size() == 0) return single;
  std::string out = "[";
  bool first = true;
  for (simdjson::dom::element stage : stages) {
    if (!first) {
      out += "," + minified(stage);
      continue;
    }
    first = false;
    out += "{\"setTemperature\":" + target;
    simdjson::dom::object fields;
    if (!stage.get(fields))
      for (simdjson::dom::key_value_pair field : fields)
        if (field.key != "setTemperature")
          out += ",\"" + json_escape(field.key) + "\":" + minified(field.value);
    out += "}";
  }
  return out + "]";
}

constexpr const char* kManualCookingData =
    R"({"dataType":"manual","dataId":"","dataName":"Manual cook","dataImgUrl":""})";

int cooking_action(Command::Action action) {
  switch (action) {
    case Command::Action::SetTarget:
      return 1;
    case Command::Action::Stop:
      return 2;
    case Command::Action::Rest:
      return 4;
    case Command::Action::Finish:
      return 5;
    case Command::Action::Volume:
      break;
  }
  return 0;
}

void require(bool present, const char* what) {
  if (!present) throw std::invalid_argument(std::string("a command needs ") + what);
}

}  // namespace

std::string command_type(const Command& c) {
  require(!c.model.empty(), "the device model");
  return c.model + (c.action == Command::Action::Volume ? ":setting:modify" : ":cooking:action");
}

// protocol.md, "Commands": cookingAction is an integer; action 1 carries the
// whole cook, 2, 4 and 5 only the probe and the running cook's uuid.
std::string command_data(const Command& c) {
  if (c.action == Command::Action::Volume) {
    require(!c.volume.empty(), "a volume");
    return "{\"volume\":\"" + json_escape(c.volume) + "\"}";
  }
  require(c.probe >= 1 && c.probe <= 4, "a probe from 1 to 4");
  require(!c.cook_uuid.empty(), "the cookUuid");
  std::string out = "{\"probeColor\":\"probe" + std::to_string(c.probe) +
                    "\",\"cookingAction\":" + std::to_string(cooking_action(c.action));
  if (c.action != Command::Action::SetTarget)
    return out + ",\"cookUuid\":\"" + json_escape(c.cook_uuid) + "\"}";
  require(!c.start_client.empty(), "the startClient");
  require(!c.cooking_mode.empty(), "the cookingMode");
  out += ",\"cookingMode\":\"" + json_escape(c.cooking_mode) + "\",\"cookUuid\":\"" +
         json_escape(c.cook_uuid) + "\",\"startClient\":\"" + json_escape(c.start_client) +
         "\",\"setParams\":" + set_params(c) + ",\"cookingData\":";
  return out + (c.start_client == "device" ? "null" : kManualCookingData) + "}";
}

namespace {

ApiSettings api_settings(const Account& account, const std::string& api_url) {
  return ApiSettings{.base_url = api_url,
                     .region = account.region,
                     .app_key = account.app_key.empty() ? std::string(kAppKey) : account.app_key,
                     .email = account.email,
                     .password = account.password};
}

Endpoint broker_endpoint(const Account& account) {
  try {
    return parse_endpoint(account.broker.empty() ? region_mqtt_host(account.region)
                                                 : account.broker);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("broker: ") + e.what());
  }
}

Account checked(Account account) {
  if (account.email.empty()) throw std::invalid_argument("the account needs an email address");
  if (account.password.empty()) throw std::invalid_argument("the account needs a password");
  if (account.region.empty()) account.region = "US";
  try {
    account.region = checked_region(account.region);  // before any request
  } catch (const ConfigError& e) {
    throw std::invalid_argument(e.what());
  }
  if (account.state_dir.empty()) account.state_dir = default_state_dir();
  return account;
}

}  // namespace

CloudError cloud_error(const ApiError& e) {
  using K = ApiError::Kind;
  const CloudError::Kind kind = e.kind == K::Transport      ? CloudError::Kind::Network
                                : e.kind == K::BadResponse  ? CloudError::Kind::BadResponse
                                : e.kind == K::LoginRefused ? CloudError::Kind::LoginRefused
                                                            : CloudError::Kind::Refused;
  return CloudError(kind, e.code, e.what());
}

Cloud::Impl::Impl(Account a)
    : account(checked(std::move(a))),
      api_url(account.api_url.empty() ? region_api_url(account.region) : account.api_url),
      broker(broker_endpoint(account)),
      extra_ca(account.ca_file.empty() ? "" : "\n" + read_text_file(account.ca_file)),
      state_dir(account.state_dir),
      http(HttpOptions{.ca_file = account.ca_file, .abort = &abort}),
      api(api_settings(account, api_url), http, state_dir) {}

void Cloud::Impl::login() {
  std::lock_guard lock(mutex);
  try {
    api.ensure_session();
  } catch (const ApiError& e) {
    throw cloud_error(e);
  }
}

TemperatureUnit Cloud::Impl::refresh_unit() {
  std::lock_guard lock(mutex);
  try {
    api.ensure_session();
    return api.read_unit();
  } catch (const ApiError& e) {
    throw cloud_error(e);
  }
}

std::string Cloud::Impl::call(const std::string& path, const std::string& body) {
  std::lock_guard lock(mutex);
  try {
    return api.call(path, body);
  } catch (const ApiError& e) {
    throw cloud_error(e);
  }
}

Credentials Cloud::Impl::fetch_credentials() {
  std::unique_lock lock(mutex);
  Credentials credentials;
  std::string keystore;
  try {
    api.ensure_session();
    credentials.grant = api.apply_for_certificate();
  } catch (const ApiError& e) {
    throw cloud_error(e);
  }
  try {
    keystore = api.download(credentials.grant.p12_url);
  } catch (const ApiError& e) {
    const CloudError error = cloud_error(e);
    throw CloudError(error.kind, "keystore_download", error.what());
  }
  credentials.unit = api.session().unit;
  credentials.logins = api.logins();
  lock.unlock();
  const std::string actual_md5 = md5_hex(keystore);
  const CertificateGrant& grant = credentials.grant;
  if (!equal_ignoring_case(actual_md5, grant.p12_md5))
    throw CloudError(CloudError::Kind::Certificate, "keystore_md5",
                     "keystore MD5 mismatch: the cloud announced " + grant.p12_md5.substr(0, 64) +
                         " but the download from " + url_without_query(grant.p12_url) + " has " +
                         actual_md5 + "; not using it");
  try {
    credentials.keys = open_pkcs12(keystore, grant.p12_password);
  } catch (const KeystoreError& e) {
    OPENSSL_cleanse(keystore.data(), keystore.size());
    throw CloudError(CloudError::Kind::Certificate, "keystore_unreadable",
                     std::string("keystore: ") + e.what());
  }
  OPENSSL_cleanse(keystore.data(), keystore.size());
  OPENSSL_cleanse(credentials.grant.p12_password.data(), credentials.grant.p12_password.size());
  if (credentials.keys.not_after_s <= now_s())
    throw CloudError(CloudError::Kind::Certificate, "certificate_expired",
                     "the cloud handed out a client certificate that expired at " +
                         format_utc(credentials.keys.not_after_s * 1000));
  credentials.renew_at_s = renewal_time_s(credentials.keys);
  thermomaven::log_info(
      "mqtt",
      "client certificate for " + grant.client_id + " valid until " +
          format_utc(credentials.keys.not_after_s * 1000) + ", renewal after " +
          format_utc(credentials.renew_at_s * 1000) + "; broker trust: " +
          (credentials.keys.chain_from_keystore ? "chain from the keystore" : "Amazon Root CA 1") +
          (account.ca_file.empty() ? "" : " + " + account.ca_file));
  return credentials;
}

std::string command_body(const Command& command, const std::string& cmd_id) {
  const std::string data = command_data(command);
  return "{\"deviceId\":\"" + json_escape(command.device_id) +
         "\",\"deviceType\":\"thermometer\",\"cmdType\":\"" + json_escape(command_type(command)) +
         "\",\"cmdId\":\"" + json_escape(cmd_id) + "\",\"cmdData\":" + data + "}";
}

Account account_from_environment() {
  CollectorConfig config;
  try {
    config = resolve_config({}, environment_settings(), {});
  } catch (const std::exception& e) {
    throw std::invalid_argument(e.what());
  }
  return account_from_config(config);
}

Account account_from_config(const CollectorConfig& config) {
  return Account{.email = config.email,
                 .password = config.password,
                 .region = config.region,
                 .api_url = config.api_url,
                 .broker = config.mqtt.host + ":" + std::to_string(config.mqtt.port),
                 .ca_file = config.ca_file,
                 .state_dir = config.state_dir,
                 .app_key = config.app_key};
}

Cloud::Cloud(Account account) : impl_(std::make_unique<Impl>(std::move(account))) {}
Cloud::~Cloud() = default;

void Cloud::login() { impl_->login(); }
const std::string& Cloud::user_id() const { return impl_->api.session().user_id; }
// Locked: a session's thread may be logging in meanwhile.
TemperatureUnit Cloud::unit() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->api.session().unit;
}
TemperatureUnit Cloud::refresh_unit() { return impl_->refresh_unit(); }
int Cloud::logins() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->api.logins();
}
const Account& Cloud::account() const { return impl_->account; }

CertificateInfo Cloud::certificate() {
  const Credentials c = impl_->fetch_credentials();
  return CertificateInfo{c.grant.client_id, c.grant.sub_topics, c.keys.subject_cn,
                         c.keys.not_after_s, c.renew_at_s};
}

std::vector<DeviceInfo> Cloud::devices() {
  const std::string mine = "app/device/share/my/device/list";
  const std::string shared = "app/device/share/shared/device/list";
  // An empty body, as the known clients send (protocol.md).
  std::vector<DeviceInfo> out = parse_devices(mine, impl_->call(mine, ""));
  for (DeviceInfo& d : parse_devices(shared, impl_->call(shared, ""))) out.push_back(std::move(d));
  return out;
}

std::string Cloud::send_command(const Command& command) {
  const std::string cmd_id = random_hex(16);
  send_command(command, cmd_id);
  return cmd_id;
}

void Cloud::send_command(const Command& command, const std::string& cmd_id) {
  if (command.device_id.empty() || command.model.empty())
    throw std::invalid_argument("a command needs the device id and its model");
  impl_->call("app/command/send", command_body(command, cmd_id));
}

}  // namespace thermomaven::client
