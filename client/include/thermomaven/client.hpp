// The embeddable ThermoMaven cloud client: log in, get the MQTT certificate,
// connect, and receive typed events from every device of the account, either
// blocking or in the background; send commands and match their receipts.
//
//   thermomaven::client::Cloud cloud(thermomaven::client::account_from_environment());
//   thermomaven::client::Session session(cloud);
//   session.on_status_report([](const thermomaven::StatusReport& r) { ... });
//   session.run();  // or session.start(); ... session.stop();
//
// The logger (`thermomaven collect|run`), `thermomaven doctor` and
// `thermomaven command` are built on this API. No Paho, curl or simdjson type
// appears here; the records are the logger's own (thermomaven/storage/records.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "thermomaven/core/records.hpp"

namespace thermomaven::client {

// Who to log in as and where. Empty fields take the region's defaults.
struct Account {
  std::string email;
  std::string password;  // secret: only its MD5 leaves the process, never logged
  // One of protocol.md's 30 codes (any case); another code is refused by
  // Cloud's constructor with the list of valid codes.
  std::string region = "US";
  std::string api_url;  // https://host[:port]; empty: the region's API
  std::string broker;   // host[:port]; empty: the region's AWS IoT endpoint, 8883
  std::string ca_file;  // extra trusted CAs (PEM) for API and broker; adds trust, never removes it
  std::string state_dir;  // where the session token is kept (0700); empty: the default
  std::string app_key;    // request signing key; empty: the app's own
};

// The account the logger would use: THERMOMAVEN_EMAIL, THERMOMAVEN_PASSWORD_FILE
// (mode 600), THERMOMAVEN_REGION, _API_URL, _MQTT_ENDPOINT, _CA_FILE and
// _STATE_DIR from the environment, checked as `thermomaven collect` checks
// them. Throws std::invalid_argument with a one-line reason.
Account account_from_environment();

// A failed cloud step, with a one-line reason that never holds a secret.
class CloudError : public std::runtime_error {
 public:
  enum class Kind {
    Network,       // no answer: DNS, connect, TLS, timeout
    BadResponse,   // HTTP error status or a body that is not the cloud's JSON
    LoginRefused,  // wrong password, unknown account, refused signature: do not retry
    Refused,       // the cloud answered with another non-zero code
    Certificate,   // keystore MD5 mismatch, unreadable or expired keystore
  };
  CloudError(Kind kind, std::string code, const std::string& what)
      : std::runtime_error(what), kind(kind), code(std::move(code)) {}
  Kind kind;
  // The cloud's code, empty when there was none. A failed certificate step
  // says which instead: "keystore_download", "keystore_md5",
  // "keystore_unreadable" or "certificate_expired".
  std::string code;
};

// The MQTT client certificate the cloud granted, opened. The private key
// stays inside the library (in memory only).
struct CertificateInfo {
  std::string client_id;
  std::vector<std::string> topics;  // subTopics: the user topic
  std::string subject_cn;
  std::int64_t not_after_s = 0;  // epoch seconds
  std::int64_t renew_at_s = 0;   // when the session applies for a new one
};

// One command to a device, sent through the REST API (app/command/send);
// the device answers with a CommandReceipt over MQTT. This is the wire
// level: CommandTracker (command_tracker.hpp) decides these fields from the
// probe's latest report (protocol.md, "Commands").
struct Command {
  // {MODEL}:cooking:action with cookingAction 1 (SetTarget: start a cook or
  // change the running one), 2 (Stop), 4 (Rest), 5 (Finish); Volume is
  // {MODEL}:setting:modify.
  enum class Action { SetTarget, Stop, Finish, Rest, Volume };
  Action action = Action::SetTarget;
  std::string device_id;
  std::string model;      // e.g. "WT09": the cmdType prefix
  int probe = 1;          // cooking actions: 1..4
  std::string cook_uuid;  // the running cook; for SetTarget a fresh one starts a cook
  // SetTarget only: as the running cook reported them ("device", "android",
  // "ios"; "smart", "manual"), or "android" and the last mode for a new cook.
  std::string start_client, cooking_mode;
  std::int32_t target_tenths = 0;  // SetTarget, in the account's unit
  // SetTarget: the stages as reported (a JSON array); stage 0's setTemperature
  // is replaced, every other field and stage kept. Empty: one stage.
  std::string set_params_json;
  std::string volume;  // Volume: "high", "medium" or "quiet"
};

// The cmdType and the cmdData (a JSON object) of `command`. Throws
// std::invalid_argument when a field protocol.md requires is missing.
std::string command_type(const Command& command);
std::string command_data(const Command& command);
// The JSON body of app/command/send for `command` with this cmdId.
std::string command_body(const Command& command, const std::string& cmd_id);

struct DeviceList {
  std::vector<DeviceInfo> devices;
  // Each device's lastStatusCmd: the cloud's copy of its latest report.
  std::vector<StatusReport> latest_reports;
};

struct CommandReceipt {
  std::string device_id;
  std::string cmd_id;    // of the command this answers
  std::string cmd_type;  // of the command this answers
  std::string execute_result;
  std::optional<std::int64_t> error_code;
  std::optional<std::int64_t> cmd_error;  // non-zero: the device refused
  bool ok() const { return !cmd_error || *cmd_error == 0; }
};

// Any message the library does not turn into one of the types above.
struct UnknownMessage {
  std::string topic;
  std::string cmd_type;
  std::string json;  // the whole payload
};

class Cloud {
 public:
  explicit Cloud(Account account);  // throws std::invalid_argument on an unusable account
  ~Cloud();
  Cloud(const Cloud&) = delete;
  Cloud& operator=(const Cloud&) = delete;

  // Reuses the stored session for this account when there is one, else logs in.
  void login();
  const std::string& user_id() const;
  TemperatureUnit unit() const;  // the account's setting.temperatureUnit, as last read
  // Reads the account's unit again (app/user/setting/get) and returns it; a
  // change is logged once. Throws CloudError. The session calls this itself.
  TemperatureUnit refresh_unit();
  int logins() const;  // fresh logins made by this object

  // Applies for the MQTT certificate, downloads the keystore, checks its MD5
  // and opens it. The session calls this itself; doctor calls it step by step.
  CertificateInfo certificate();
  // app/device/share/my/device/list and .../shared/device/list.
  std::vector<DeviceInfo> devices();
  // Sends a command with a fresh cmdId and returns that cmdId.
  std::string send_command(const Command& command);
  // Sends a command with the given cmdId (32 hex).
  void send_command(const Command& command, const std::string& cmd_id);

  const Account& account() const;

 private:
  friend class Session;  // shares the HTTP client and the opened certificate
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What the session is doing: for logs, health and `doctor`.
enum class SessionState {
  Starting,
  ApplyingCertificate,
  Connecting,
  Connected,
  Reconnecting,  // waiting out a backoff after `detail`
  Stopped,
};
const char* state_name(SessionState state);  // "connecting", ...

struct SessionEvent {
  SessionState state = SessionState::Starting;
  std::string detail;  // one line, never a secret: the error behind a reconnect, ...
};

struct SessionOptions {
  int backoff_base_ms = 5000;   // reconnect backoff doubles from here ...
  int backoff_max_ms = 120000;  // ... up to here, with jitter
  bool reconnect = true;        // false: run() returns after the first failure (doctor)
  // After the user topic is subscribed (every connection), both REST
  // device-list calls follow after this delay: they trigger the cloud's
  // user:device:list (protocol.md).
  int device_list_delay_ms = 1000;
  // How often the account's temperature unit is read again while running
  // (the user may change it in the app at any time); <= 0: never.
  int unit_refresh_ms = 10 * 60 * 1000;
};

// How the last connection attempt to the broker failed.
enum class ConnectFailure {
  None,              // it did not (or none was made yet)
  Unreachable,       // no TCP connection, or no answer in time
  BrokerNotTrusted,  // the broker's TLS certificate failed verification
  TlsRefused,        // the TLS handshake failed otherwise (e.g. our certificate refused)
  NotAuthorised,     // CONNACK 4 or 5: the broker refused the client
};

struct SessionStats {
  bool connected = false;
  std::int64_t reconnects = 0, logins = 0, cert_applies = 0, connect_failures = 0,
               subscribe_refused = 0;
  std::int64_t device_list_calls = 0, device_list_failures = 0;  // the REST trigger
  std::optional<std::int64_t> cert_expiry_s;
  std::vector<std::string> subscribed;  // topics granted on this connection
  std::string last_error;
  ConnectFailure connect_failure = ConnectFailure::None;
};

// One MQTT session over mutual TLS: applies for the certificate, connects,
// subscribes to the user topic and every device topic it learns of, renews
// the certificate before it ends and reconnects with backoff.
//
// Callbacks are set before run()/start(). They run on the library's MQTT
// thread, one at a time, and should return quickly.
class Session {
 public:
  explicit Session(Cloud& cloud, SessionOptions options = {});
  ~Session();  // stops and joins a background run
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void on_status_report(std::function<void(const StatusReport&)> callback);
  void on_device_list(std::function<void(const DeviceList&)> callback);
  void on_command_receipt(std::function<void(const CommandReceipt&)> callback);
  void on_unknown(std::function<void(const UnknownMessage&)> callback);
  // Every message as received, before any parsing (the logger stores these).
  void on_raw_message(
      std::function<void(std::string_view topic, std::string_view payload)> callback);
  void on_state(std::function<void(const SessionEvent&)> callback);
  // The account's temperature unit, after every successful read of it: when
  // the session has logged in, and every unit_refresh_ms. Runs on the
  // session's control thread, not the MQTT thread. Reports received after a
  // change are read in the new unit.
  void on_unit(std::function<void(TemperatureUnit)> callback);

  // Blocks until stop(): 0. Returns 1 when the login was refused for good,
  // and, with reconnect = false, 2 after the first failure.
  int run();
  void start();  // run() on a background thread
  void stop();   // thread-safe, returns at once
  int wait();    // joins a background run; its result

  SessionStats stats() const;  // thread-safe
  // The unit the reports received now are read in. Thread-safe and cheap:
  // an MQTT callback may ask it for each message.
  TemperatureUnit unit() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace thermomaven::client
