#include "thermomaven/sim/cloud.hpp"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <thread>

#include "thermomaven/core/log.hpp"
#include "thermomaven/core/time.hpp"
#include "thermomaven/sim/json_writer.hpp"
#include "thermomaven/sim/signing.hpp"

namespace thermomaven::sim {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kMaxBody = 64 * 1024;
constexpr std::int64_t kMaxClockSkewMs = 5 * 60 * 1000;
constexpr std::size_t kKeystoresKept = 64;

// The x-* headers protocol.md requires, in signing (byte) order.
constexpr const char* kSignedHeaders[] = {"x-appId", "x-appVersion", "x-deviceSn",  "x-lang",
                                          "x-nonce", "x-region",     "x-timestamp", "x-token"};

// Error codes of the simulated cloud (docs/simulated-cloud.md). The real
// cloud sends `code` sometimes as a string and sometimes as a number, so the
// simulator does both: these go out as numbers, the rest as strings.
enum ErrorCode {
  kBadSignature = 1001,
  kBadHeader = 1002,
  kWrongPassword = 1003,
  kUnknownAccount = 1004,
  kWrongRegion = 1005,
  kTokenInvalid = 4001,
};
bool code_sent_as_number(int code) {
  return code == kBadHeader || code == kUnknownAccount || code == kTokenInvalid;
}

// Opens and closes a connection to a loopback port.
void poke_port(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::close(fd);
}

std::string common_prefix(const std::string& a, const std::string& b) {
  const auto end = std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first;
  return std::string(a.begin(), end);
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_region(std::string_view s) {
  return s.size() == 2 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string query_value(mg_connection* conn, const char* name) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (!info->query_string) return "";
  char value[256];
  const int n =
      mg_get_var(info->query_string, std::strlen(info->query_string), name, value, sizeof value);
  return n < 0 ? "" : std::string(value, static_cast<std::size_t>(n));
}

// protocol.md's region table, codes only: the simulator serves every
// region on one address.
constexpr std::string_view kKnownRegions[] = {
    "US", "NZ", "CA", "AU", "UK", "DE", "FR", "DK", "FI", "IS", "NO", "CH", "SE", "ZA", "AT",
    "BE", "BG", "CZ", "HU", "IE", "IT", "LU", "NL", "PL", "PT", "RO", "RS", "SK", "ES", "TR"};

// protocol.md: the app sends 32 hex characters (an MD5), one client 16.
bool is_device_sn(std::string_view s) { return is_lower_hex(s, 32) || is_lower_hex(s, 16); }

}  // namespace

bool is_known_region(std::string_view code) {
  return std::find(std::begin(kKnownRegions), std::end(kKnownRegions), code) !=
         std::end(kKnownRegions);
}

const char* known_regions_text() {
  return "US NZ CA AU UK DE FR DK FI IS NO CH SE ZA AT BE BG CZ HU IE IT LU NL PL PT RO RS SK "
         "ES TR";
}

Cloud::Cloud(CloudOptions options, const CertificateAuthority& ca, Broker& broker, Fleet& fleet)
    : options_(std::move(options)),
      ca_(ca),
      broker_(broker),
      fleet_(fleet),
      admin_(options_.admin) {}

Cloud::~Cloud() { stop(); }

int Cloud::listen(int port, const std::string& cert_and_key_file) {
  // Plain HTTP on a private loopback port; TlsFront puts HTTPS in front.
  const char* settings[] = {"listening_ports",    "127.0.0.1:0", "num_threads", "16",
                            "request_timeout_ms", "30000",       nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = [](const mg_connection*, const char* message) {
    log_warn("sim", std::string("http: ") + message);
    return 1;
  };
  server_ = mg_start(&callbacks, this, settings);
  if (!server_) throw std::runtime_error("cannot start the HTTP server on 127.0.0.1");
  mg_set_request_handler(server_, "/app", on_request, this);
  mg_set_request_handler(server_, "/sim", on_request, this);
  mg_server_port backend[1];
  if (mg_get_server_ports(server_, 1, backend) < 1)
    throw std::runtime_error("the HTTP server has no listening port");
  backend_port_ = backend[0].port;
  tls::TlsServerConfig https;
  https.cert_file = https.key_file = cert_and_key_file;
  tls_ = std::make_unique<tls::TlsFront>(https, backend_port_,
                                         [](std::string_view line) { log_error("sim", line); });
  const int https_port = tls_->listen(port);
  options_.base_url = "https://127.0.0.1:" + std::to_string(https_port);
  return https_port;
}

void Cloud::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stopping_cv_.notify_all();  // ends api_slow waits
  std::vector<std::thread> kickers;
  {
    std::lock_guard lock(mutex_);
    kickers.swap(kickers_);
  }
  for (std::thread& t : kickers) t.join();
  if (tls_) tls_->stop();
  {
    std::lock_guard lock(admin_mutex_);
    admin_.disconnect();
  }
  if (server_) {
    // civetweb's accept thread notices the stop only when its poll() ends,
    // which takes up to 2 s unless a connection wakes it.
    std::atomic<bool> stopped = false;
    std::thread stopper([&] {
      mg_stop(server_);
      stopped = true;
    });
    while (!stopped) {
      poke_port(backend_port_);
      std::this_thread::sleep_for(20ms);
    }
    stopper.join();
  }
  server_ = nullptr;
}

Cloud::Faults Cloud::faults() const {
  std::lock_guard lock(mutex_);
  return faults_;
}

bool Cloud::wait_or_stop(int seconds) {
  std::unique_lock lock(mutex_);
  return !stopping_cv_.wait_for(lock, std::chrono::seconds(seconds), [this] { return stopping_; });
}

namespace {

// One dynamic-security ACL entry, as in the plugin's file and commands.
void acl_entry(JsonWriter& j, const char* type, const std::string& topic) {
  j.begin_object().field("acltype", type).field("topic", topic).field("allow", true).end_object();
}

// The commands that add (or remove) a logger's read access to `topic`.
void topic_commands(JsonWriter& j, const std::string& topic, bool add) {
  for (const char* type : {"subscribeLiteral", "publishClientReceive"}) {
    j.begin_object()
        .field("command", add ? "addRoleACL" : "removeRoleACL")
        .field("rolename", "logger")
        .field("acltype", type)
        .field("topic", topic);
    if (add) j.field("allow", true);
    j.end_object();
  }
}

}  // namespace

// Everything is denied unless a role allows it. The simulator's own
// identity ("cloud") writes every topic and sends access-control commands;
// each logger certificate (user name = CN = clientId) reads its user topic
// and its account's device topics, as the AWS IoT policy allows.
std::string Cloud::dynsec_config() const {
  const auto devices = fleet_.devices();
  std::lock_guard lock(mutex_);
  JsonWriter j;
  j.begin_object().key("defaultACLAccess").begin_object();
  j.field("publishClientSend", false).field("publishClientReceive", false);
  j.field("subscribe", false).field("unsubscribe", true).end_object();
  j.key("clients").begin_array();
  j.begin_object().field("username", options_.publisher_id).key("roles").begin_array();
  j.begin_object().field("rolename", "cloud").end_object().end_array().end_object();
  for (const std::string& client : client_ids_) {
    j.begin_object().field("username", client).key("roles").begin_array();
    j.begin_object().field("rolename", "logger").end_object().end_array().end_object();
  }
  j.end_array().key("groups").begin_array().end_array().key("roles").begin_array();
  j.begin_object().field("rolename", "cloud").key("acls").begin_array();
  acl_entry(j, "publishClientSend", "#");
  acl_entry(j, "publishClientSend", "$CONTROL/dynamic-security/#");
  j.end_array().end_object();
  j.begin_object().field("rolename", "logger").key("acls").begin_array();
  std::vector<std::string> readable = {fleet_.user_topic()};
  if (!faults_.refuse_subscriptions)
    for (const DeviceSummary& d : devices) readable.push_back(d.topic);
  for (const std::string& topic : readable) {
    acl_entry(j, "subscribeLiteral", topic);
    acl_entry(j, "publishClientReceive", topic);
  }
  j.end_array().end_object().end_array().end_object();
  return j.take();
}

void Cloud::start_broker() {
  write_file(options_.dynsec_file, dynsec_config(), 0600);
  // refuse_clients: only the simulator's own clients may connect.
  broker_.set_client_id_prefix(faults().refuse_clients
                                   ? common_prefix(options_.publisher_id, options_.admin.client_id)
                                   : "");
  if (faults().untrusted_broker)
    broker_.start(options_.untrusted_cert, options_.untrusted_key);
  else
    broker_.start();
}

void Cloud::change_access(const std::string& commands) {
  if (!broker_.running()) return;
  std::lock_guard lock(admin_mutex_);
  // Mosquitto handles the command before it acknowledges the message, so
  // once publish() returns the change is in force.
  if (!admin_.publish("$CONTROL/dynamic-security/v1", commands))
    log_warn("sim", "broker: could not change access control (broker unavailable)");
}

void Cloud::refuse_oversized_subscribe(const std::string& client_id, int filters) {
  log_warn("sim", "broker: " + client_id + " sent one SUBSCRIBE with " + std::to_string(filters) +
                      " topic filters; AWS IoT accepts at most " +
                      std::to_string(Broker::kMaxFiltersPerSubscribe) + ": disconnecting it");
  std::lock_guard lock(mutex_);
  ++oversized_subscribes_;
  if (stopping_) return;
  // disableClient kicks the connected client; enableClient lets it back in.
  kickers_.emplace_back([this, client_id] {
    JsonWriter j;
    j.begin_object().key("commands").begin_array();
    for (const char* command : {"disableClient", "enableClient"})
      j.begin_object().field("command", command).field("username", client_id).end_object();
    j.end_array().end_object();
    change_access(j.str());
  });
}

void Cloud::allow_device_topic(const std::string& topic) {
  if (faults().refuse_subscriptions) return;  // granted when the fault ends
  JsonWriter j;
  j.begin_object().key("commands").begin_array();
  topic_commands(j, topic, true);
  j.end_array().end_object();
  change_access(j.str());
}

int Cloud::on_request(mg_connection* conn, void* self) {
  Reply reply;
  try {
    reply = static_cast<Cloud*>(self)->handle(conn);
  } catch (const std::exception& e) {
    log_error("sim", std::string("https: request failed: ") + e.what());
    reply = {500, "application/json", R"({"code":"500","msg":"internal error","data":null})"};
  }
  const char* reason = mg_get_response_code_text(conn, reply.http_status);
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Connection: close\r\n\r\n",
            reply.http_status, reason, reply.content_type.c_str(), reply.body.size());
  mg_write(conn, reply.body.data(), reply.body.size());
  return reply.http_status;
}

namespace {

std::string envelope(int code, const std::string& msg, const std::string& data_json) {
  JsonWriter j;
  j.begin_object();
  if (code == 0)
    j.field("code", "0");
  else if (code_sent_as_number(code))
    j.field("code", code);
  else
    j.field("code", std::to_string(code));
  j.field("msg", msg).key("data").raw(data_json).end_object();
  return j.take();
}

}  // namespace

Cloud::Reply Cloud::handle(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string path = info->local_uri ? info->local_uri : "";
  const std::string method = info->request_method ? info->request_method : "";
  if (path.starts_with("/sim/")) return handle_control(conn, path.substr(5), method);
  if (!path.starts_with("/app/"))
    return {404, "application/json", envelope(404, "no such endpoint", "null")};
  if (method != "POST")
    return {405, "application/json", envelope(405, "only POST is supported", "null")};
  const Faults f = faults();
  if (f.api_5xx) {
    log_info("sim", "api: " + path + ": answering 503 (fault api_5xx)");
    return {503, "text/html",
            "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n"};
  }
  if (f.api_html) {
    log_info("sim", "api: " + path + ": answering an HTML page (fault api_html)");
    return {200, "text/html",
            "<!DOCTYPE html><html><head><title>Maintenance</title></head>"
            "<body>We'll be back soon.</body></html>\n"};
  }
  if (f.api_slow) {
    log_info("sim", "api: " + path + ": answering in 10 s (fault api_slow)");
    if (!wait_or_stop(10)) return {503, "text/plain", "shutting down\n"};
  }
  return handle_api(conn, path.substr(1));  // "app/..." as in protocol.md
}

static std::optional<std::string> read_body(mg_connection* conn) {
  std::string body;
  char buffer[4096];
  for (;;) {
    const int n = mg_read(conn, buffer, sizeof buffer);
    if (n <= 0) break;
    body.append(buffer, static_cast<std::size_t>(n));
    if (body.size() > kMaxBody) return std::nullopt;
  }
  return body;
}

Cloud::Reply Cloud::handle_api(mg_connection* conn, const std::string& path) {
  const auto body = read_body(conn);
  if (!body) return {413, "application/json", envelope(413, "body too large", "null")};
  std::string code;
  Reply rejected = check_request(conn, *body, code);
  if (!code.empty()) {
    std::lock_guard lock(mutex_);
    ++rejected_;
    log_warn("sim",
             "api: " + path + " refused with code " + code + ": " + rejected.body.substr(0, 200));
    return rejected;
  }
  if (path == "app/account/login") return login(*body, mg_get_header(conn, "x-region"));
  {
    std::lock_guard lock(mutex_);
    const char* token = mg_get_header(conn, "x-token");
    if (!tokens_.count(token)) {
      ++rejected_;
      log_warn("sim",
               "api: " + path + " refused with HTTP 401, code 4001: token invalid or expired");
      // protocol.md: a token error may come with a non-200 status.
      return {401, "application/json", envelope(kTokenInvalid, "token invalid or expired", "null")};
    }
  }
  log_info("sim", "api: " + path);
  if (path == "app/account/logout") {
    std::lock_guard lock(mutex_);
    tokens_.erase(mg_get_header(conn, "x-token"));
    return {200, "application/json", envelope(0, "success", "null")};
  }
  if (path == "app/device/share/my/device/list" || path == "app/device/share/shared/device/list")
    return device_list(path, *body);
  if (path == "app/mqtt/cert/apply")
    return apply_for_certificate(mg_get_header(conn, "x-deviceSn"));
  if (path == "app/user/setting/get") return user_settings();
  if (path == "app/history/page")
    return {200, "application/json",
            envelope(0, "success", R"({"list":[],"total":0,"page":1,"pageSize":20})")};
  if (path == "app/command/send") return send_command(*body);
  return {404, "application/json", envelope(404, "no such endpoint", "null")};
}

// Empty `error_code` when the request is acceptable; else the reply to send.
Cloud::Reply Cloud::check_request(mg_connection* conn, const std::string& body,
                                  std::string& error_code) {
  auto refuse = [&](int code, const std::string& msg) {
    error_code = std::to_string(code);
    return Reply{200, "application/json", envelope(code, msg, "null")};
  };
  std::map<std::string, std::string> headers;
  for (const char* name : kSignedHeaders) {
    const char* value = mg_get_header(conn, name);
    if (!value || !*value) return refuse(kBadHeader, std::string("missing header ") + name);
    headers[name] = value;
  }
  if (headers["x-appId"] != kAppId) return refuse(kBadHeader, "unknown x-appId");
  if (!all_digits(headers["x-appVersion"])) return refuse(kBadHeader, "malformed x-appVersion");
  if (!is_device_sn(headers["x-deviceSn"]))
    return refuse(kBadHeader, "malformed x-deviceSn (32 or 16 lowercase hex expected)");
  if (!is_lower_hex(headers["x-nonce"], 32))
    return refuse(kBadHeader, "malformed x-nonce (32 lowercase hex expected)");
  if (!is_region(headers["x-region"])) return refuse(kBadHeader, "malformed x-region");
  if (!all_digits(headers["x-timestamp"])) return refuse(kBadHeader, "malformed x-timestamp");
  const std::int64_t skew = std::stoll(headers["x-timestamp"]) - now_ms();
  if (skew > kMaxClockSkewMs || skew < -kMaxClockSkewMs)
    return refuse(kBadHeader, "x-timestamp is more than 5 minutes from the server time");
  const char* sign = mg_get_header(conn, "x-sign");
  if (!sign || !*sign) return refuse(kBadHeader, "missing header x-sign");
  if (lower(sign) != request_signature(headers, body)) return refuse(kBadSignature, "sign error");
  return {};
}

Cloud::Reply Cloud::login(const std::string& body, const std::string& region) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view name, password;
  if (parser.parse(body).get(doc) || doc["accountName"].get(name) ||
      doc["accountPassword"].get(password))
    return {200, "application/json",
            envelope(kBadHeader, "accountName and accountPassword are required", "null")};
  std::lock_guard lock(mutex_);
  if (lower(std::string(name)) != lower(options_.email)) {
    ++rejected_;
    log_warn("sim", "api: login refused with code 1004: unknown account");
    return {200, "application/json", envelope(kUnknownAccount, "account does not exist", "null")};
  }
  // One region's cloud does not hold another region's accounts; the
  // simulator serves every region and says which one the account is in.
  if (region != options_.region) {
    ++rejected_;
    log_warn("sim", "api: login refused with code 1005: x-region " + region + ", account in " +
                        options_.region);
    return {200, "application/json",
            envelope(kWrongRegion, "account belongs to region " + options_.region, "null")};
  }
  if (lower(std::string(password)) != md5_hex(options_.password)) {
    ++rejected_;
    log_warn("sim", "api: login refused with code 1003: wrong password");
    return {200, "application/json", envelope(kWrongPassword, "password error", "null")};
  }
  const std::string token = random_hex(40);
  tokens_.insert(token);
  ++logins_;
  log_info("sim", "api: app/account/login: " + options_.email + " logged in (login " +
                      std::to_string(logins_) + ")");
  JsonWriter j;
  j.begin_object()
      .field("token", token)
      .field("userId", options_.user_id)
      .key("user")
      .begin_object()
      .field("userId", options_.user_id)
      .field("email", options_.email)
      .field("nickName", "Sim Cook")
      .field("region", options_.region)
      .end_object()
      .key("setting")
      .raw(settings_json())
      .end_object();
  return {200, "application/json", envelope(0, "success", j.str())};
}

// The account's settings: login's `setting`, and the whole `data` of
// app/user/setting/get (protocol.md does not document that answer; the
// simulator's choice, docs/protocol-assumptions.md).
std::string Cloud::settings_json() const {
  JsonWriter j;
  j.begin_object()
      .field("temperatureUnit", std::string(1, options_.unit))
      .field("language", "en_US")
      .end_object();
  return j.take();
}

Cloud::Reply Cloud::user_settings() {
  std::lock_guard lock(mutex_);
  ++setting_reads_;
  return {200, "application/json", envelope(0, "success", settings_json())};
}

// The user changes the unit in the app: the account's setting and every
// report from now on.
Cloud::Reply Cloud::set_unit(const std::string& to) {
  if (to != "F" && to != "C") return {400, "text/plain", "to must be F or C\n"};
  {
    std::lock_guard lock(mutex_);
    options_.unit = to[0];
  }
  fleet_.set_unit(to[0]);
  log_info("sim", "control: the account's temperature unit is now " + to);
  return {200, "application/json", R"({"ok":true})"};
}

// Both device-list calls publish the account's user:device:list: one
// client found that the real cloud publishes it then (protocol.md). The
// account owns every simulated device, so the shared list is empty.
Cloud::Reply Cloud::device_list(const std::string& path, const std::string& body) {
  const bool blank = body.find_first_not_of(" \t\r\n") == std::string::npos;
  {
    std::lock_guard lock(mutex_);
    ++device_list_calls_;
    if (!blank) ++device_list_bodies_;
  }
  if (!blank) log_warn("sim", "api: " + path + " called with a body; the known clients send none");
  fleet_.publish_device_list();
  if (path == "app/device/share/shared/device/list")
    return {200, "application/json", envelope(0, "success", "[]")};
  JsonWriter j;
  j.begin_array();
  std::int64_t share_id = 880000;
  for (const DeviceSummary& d : fleet_.devices())
    j.begin_object()
        .field("deviceShareId", std::to_string(++share_id))
        .field("deviceSn", d.serial)
        .field("deviceName", d.name)
        .field("deviceModel", d.model)
        .field("deviceType", "thermometer")
        .field("firmwareVersionCode", "1012")
        .end_object();
  j.end_array();
  return {200, "application/json", envelope(0, "success", j.str())};
}

// The clientId names the installation (protocol.md): the same x-deviceSn
// gets the same clientId, so two connections of one installation knock each
// other off the broker, as on AWS IoT.
Cloud::Reply Cloud::apply_for_certificate(const std::string& device_sn) {
  const Faults f = faults();
  const std::string client_id =
      "android-" + options_.user_id + "-" + options_.region + "-" + device_sn;
  const KeyAndCert leaf = ca_.issue_client(client_id, options_.cert_days);
  const std::string password = random_hex(24);
  const auto p12 =
      make_pkcs12(leaf, options_.p12_without_ca ? nullptr : ca_.root().cert.get(), password,
                  options_.legacy_p12 ? KeystoreCipher::Legacy : KeystoreCipher::Modern);
  std::string md5 =
      md5_hex(std::string_view(reinterpret_cast<const char*>(p12.data()), p12.size()));
  if (f.bad_md5) md5 = md5_hex(md5);  // a well-formed digest of something else
  // A keystore the announced password does not open (MD5 still right).
  const std::string announced_password = f.bad_p12_password ? random_hex(24) : password;
  const std::string file = random_hex(32) + ".p12";
  {
    std::lock_guard lock(mutex_);
    client_ids_.insert(client_id);
    keystores_[file] = p12;
    keystore_order_.push_back(file);
    if (keystore_order_.size() > kKeystoresKept) {
      keystores_.erase(keystore_order_.front());
      keystore_order_.pop_front();
    }
    ++cert_applies_;
  }
  // The broker must know the new client before the logger connects.
  JsonWriter commands;
  commands.begin_object().key("commands").begin_array().begin_object();
  commands.field("command", "createClient").field("username", client_id).key("roles");
  commands.begin_array().begin_object().field("rolename", "logger").end_object().end_array();
  commands.end_object().end_array().end_object();
  change_access(commands.str());
  log_info("sim", "api: app/mqtt/cert/apply: issued " + client_id + " (" +
                      (options_.legacy_p12 ? "legacy" : "modern") + " keystore" +
                      (f.bad_md5 ? ", wrong p12Md5 (fault bad_md5)" : "") +
                      (f.bad_p12_password ? ", wrong p12Password (fault bad_p12_password)" : "") +
                      ")");
  JsonWriter j;
  j.begin_object()
      .field("p12Url", options_.base_url + "/sim/p12/" + file)
      .field("p12Md5", md5)
      .field("p12Password", announced_password)
      .field("clientId", client_id)
      .key("subTopics")
      .begin_array()
      .value(fleet_.user_topic())
      .end_array()
      .end_object();
  return {200, "application/json", envelope(0, "success", j.str())};
}

// app/command/send: the body protocol.md lists (deviceId, deviceType
// "thermometer", cmdType, a 32-hex cmdId, cmdData). The REST answer only
// means queued; the station checks cmdData and answers with its receipt.
Cloud::Reply Cloud::send_command(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  std::string device_id;
  std::string_view device_text, device_type, cmd_id, cmd_type;
  std::uint64_t device_number = 0;
  if (parser.parse(body).get(doc))
    return {200, "application/json", envelope(kBadHeader, "body is not a JSON object", "null")};
  if (!doc["deviceId"].get(device_text))
    device_id = std::string(device_text);
  else if (!doc["deviceId"].get(device_number))  // a number is the same device as its digits
    device_id = std::to_string(device_number);
  if (device_id.empty())
    return {200, "application/json", envelope(kBadHeader, "deviceId is required", "null")};
  if (doc["deviceType"].get(device_type) || device_type != "thermometer")
    return {200, "application/json",
            envelope(kBadHeader, "deviceType must be thermometer", "null")};
  if (doc["cmdType"].get(cmd_type) || cmd_type.empty())
    return {200, "application/json", envelope(kBadHeader, "cmdType is required", "null")};
  if (doc["cmdId"].get(cmd_id) || cmd_id.size() != 32 ||
      !std::all_of(cmd_id.begin(), cmd_id.end(),
                   [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
    return {200, "application/json",
            envelope(kBadHeader, "cmdId must be 32 hex characters", "null")};
  simdjson::dom::element data;
  if (doc["cmdData"].get(data))
    return {200, "application/json", envelope(kBadHeader, "cmdData is required", "null")};
  const DeviceCommand command{std::string(cmd_type), simdjson::minify(data)};
  if (!fleet_.command(device_id, std::string(cmd_id), command, !faults().drop_receipts))
    return {200, "application/json", envelope(2001, "device not found", "null")};
  return {200, "application/json", envelope(0, "success", "null")};
}

Cloud::Reply Cloud::handle_control(mg_connection* conn, const std::string& path,
                                   const std::string& method) {
  if (path.starts_with("p12/") && method == "GET") {
    std::lock_guard lock(mutex_);
    auto it = keystores_.find(path.substr(4));
    if (it == keystores_.end()) return {404, "text/plain", "no such keystore\n"};
    log_info("sim", "https: keystore " + path.substr(4) + " downloaded");
    return {200, "application/x-pkcs12", std::string(it->second.begin(), it->second.end())};
  }
  if (path == "status" && method == "GET") return status();
  if (method != "POST") return {405, "text/plain", "use POST\n"};
  const std::string ok = R"({"ok":true})";
  if (path == "expire-tokens") {
    std::lock_guard lock(mutex_);
    log_info("sim", "control: " + std::to_string(tokens_.size()) + " tokens expired");
    tokens_.clear();
    return {200, "application/json", ok};
  }
  if (path == "broker/stop") {
    broker_.stop();
    return {200, "application/json", ok};
  }
  if (path == "broker/start") {
    start_broker();
    return {200, "application/json", ok};
  }
  if (path == "fault") {
    const std::string on = query_value(conn, "on");
    if (on != "0" && on != "1") return {400, "text/plain", "on must be 1 or 0\n"};
    return set_fault(query_value(conn, "name"), on == "1");
  }
  if (path == "unit") return set_unit(query_value(conn, "to"));
  if (path == "devices/pause") {
    fleet_.pause();
    log_info("sim", "control: devices paused");
    return {200, "application/json", ok};
  }
  if (path == "devices/resume") {
    fleet_.resume();
    log_info("sim", "control: devices resumed");
    return {200, "application/json", ok};
  }
  if (path.starts_with("probe/")) return move_probe(conn, path.substr(6));
  if (path == "devices/add") {
    std::string model = query_value(conn, "model");
    if (model.empty()) model = "WT02";
    const bool valid = model.size() <= 8 && std::all_of(model.begin(), model.end(), [](char c) {
                         return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                       });
    if (!valid) return {400, "text/plain", "model must be like WT02\n"};
    const DeviceSummary d = fleet_.add_device(model);
    allow_device_topic(d.topic);
    fleet_.publish_device_list();
    log_info("sim", "control: added device " + d.id + " (" + d.model + ")");
    JsonWriter j;
    j.begin_object().field("deviceId", d.id).field("topic", d.topic).end_object();
    return {200, "application/json", j.str()};
  }
  return {404, "text/plain", "no such control endpoint\n"};
}

// /sim/probe/in|out|dock?device=ID&probe=N: where a probe is. Stop and
// finish take effect when the probe is out of the food; docking ends a cook.
Cloud::Reply Cloud::move_probe(mg_connection* conn, const std::string& where) {
  ProbePlace place;
  if (where == "in")
    place = ProbePlace::InFood;
  else if (where == "out")
    place = ProbePlace::Out;
  else if (where == "dock")
    place = ProbePlace::Docked;
  else
    return {404, "text/plain", "no such control endpoint: probe/ takes in, out or dock\n"};
  const std::string device = query_value(conn, "device");
  const std::string probe = query_value(conn, "probe");
  if (probe.size() != 1 || probe[0] < '1' || probe[0] > '4')
    return {400, "text/plain", "probe must be 1 to 4\n"};
  if (!fleet_.move_probe(device, probe[0] - '0', place))
    return {404, "text/plain", "no probe " + probe + " on device '" + device + "'\n"};
  log_info("sim", "control: probe " + probe + " of " + device + " " + where);
  return {200, "application/json", R"({"ok":true})"};
}

Cloud::Reply Cloud::set_fault(const std::string& name, bool on) {
  bool changed_broker = false, changed_acl = false, changed_blackhole = false;
  {
    std::lock_guard lock(mutex_);
    if (name == "bad_md5")
      faults_.bad_md5 = on;
    else if (name == "api_5xx")
      faults_.api_5xx = on;
    else if (name == "api_html")
      faults_.api_html = on;
    else if (name == "api_slow")
      faults_.api_slow = on;
    else if (name == "drop_receipts")
      faults_.drop_receipts = on;
    else if (name == "bad_p12_password")
      faults_.bad_p12_password = on;
    else if (name == "devices_offline")
      faults_.devices_offline = on;
    else if (name == "probes_docked")
      faults_.probes_docked = on;
    else if (name == "seconds_only_times")
      faults_.seconds_only_times = on;
    else if (name == "refuse_clients") {
      changed_broker = faults_.refuse_clients != on;
      faults_.refuse_clients = on;
    } else if (name == "blackhole_broker") {
      changed_blackhole = faults_.blackhole_broker != on;
      faults_.blackhole_broker = on;
    } else if (name == "refuse_subscriptions") {
      changed_acl = faults_.refuse_subscriptions != on;
      faults_.refuse_subscriptions = on;
    } else if (name == "untrusted_broker") {
      changed_broker = faults_.untrusted_broker != on;
      faults_.untrusted_broker = on;
    } else {
      return {400, "text/plain", "unknown fault '" + name + "'\n"};
    }
  }
  log_info("sim", "control: fault " + name + (on ? " on" : " off"));
  if (name == "devices_offline") fleet_.set_all_offline(on);
  if (name == "probes_docked") fleet_.set_probes_docked(on);
  if (name == "seconds_only_times") fleet_.set_seconds_only_times(on);
  if (changed_acl) {
    JsonWriter j;
    j.begin_object().key("commands").begin_array();
    for (const DeviceSummary& d : fleet_.devices()) topic_commands(j, d.topic, !on);
    j.end_array().end_object();
    change_access(j.str());
  }
  if (changed_blackhole) {
    if (on)
      broker_.blackhole();
    else
      start_broker();
  }
  if (changed_broker && broker_.running()) {
    broker_.stop();  // restarted with the other certificate
    start_broker();
  }
  return {200, "application/json", R"({"ok":true})"};
}

Cloud::Reply Cloud::status() {
  const bool broker_running = broker_.running();
  const auto devices = fleet_.devices();
  std::lock_guard lock(mutex_);
  JsonWriter j;
  j.begin_object()
      .field("published", static_cast<std::int64_t>(fleet_.published()))
      .field("logins", static_cast<std::int64_t>(logins_))
      .field("cert_applies", static_cast<std::int64_t>(cert_applies_))
      .field("rejected", static_cast<std::int64_t>(rejected_))
      .field("broker_running", broker_running)
      .field("devices", static_cast<int>(devices.size()))
      .field("paused", fleet_.paused())
      .field("valid_tokens", static_cast<int>(tokens_.size()))
      .field("device_list_calls", static_cast<std::int64_t>(device_list_calls_))
      .field("device_list_bodies", static_cast<std::int64_t>(device_list_bodies_))
      .field("oversized_subscribes", static_cast<std::int64_t>(oversized_subscribes_))
      .field("setting_reads", static_cast<std::int64_t>(setting_reads_))
      .field("unit", std::string(1, options_.unit))
      .key("faults")
      .begin_object()
      .field("bad_md5", faults_.bad_md5)
      .field("refuse_subscriptions", faults_.refuse_subscriptions)
      .field("untrusted_broker", faults_.untrusted_broker)
      .field("api_5xx", faults_.api_5xx)
      .field("api_html", faults_.api_html)
      .field("api_slow", faults_.api_slow)
      .field("drop_receipts", faults_.drop_receipts)
      .field("bad_p12_password", faults_.bad_p12_password)
      .field("refuse_clients", faults_.refuse_clients)
      .field("devices_offline", faults_.devices_offline)
      .field("probes_docked", faults_.probes_docked)
      .field("blackhole_broker", faults_.blackhole_broker)
      .field("seconds_only_times", faults_.seconds_only_times)
      .end_object()
      .end_object();
  return {200, "application/json", j.str()};
}

}  // namespace thermomaven::sim
