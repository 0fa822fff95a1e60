// The collector's configuration, from flags, the environment and a KEY=VALUE
// file, in that order of precedence. Every source uses the same names: the
// environment variable names (THERMOMAVEN_EMAIL, ...).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "thermomaven/client.hpp"
#include "thermomaven/core/log.hpp"

namespace thermomaven::client {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Setting name (e.g. "THERMOMAVEN_EMAIL") -> value, one map per source.
using Settings = std::map<std::string, std::string>;

struct Endpoint {
  std::string host;
  int port = 8883;
};

struct CollectorConfig {
  std::string email;
  std::string password;  // secret: never logged, never in argv
  std::string region = "US";
  std::string api_url;  // https://host[:port], no trailing slash
  Endpoint mqtt;        // broker
  std::string ca_file;  // extra trusted CAs (PEM), may be empty
  std::string state_dir;
  std::string db_path = "./thermomaven.db";
  LogLevel log_level = LogLevel::Info;
  int backoff_base_ms = 5000;  // reconnect backoff: base doubles up to max
  int backoff_max_ms = 120000;
  // How often the account's temperature unit is read again while running
  // (THERMOMAVEN_UNIT_REFRESH_MS; tests shorten it).
  int unit_refresh_ms = 10 * 60 * 1000;
  std::string app_key;  // signing key; tests may override it
};

// Every name a source may set.
const std::initializer_list<const char*>& setting_names();

// Reads KEY=VALUE lines; blank lines and lines starting with # are skipped,
// surrounding spaces and one pair of matching quotes around a value removed.
// Unknown keys are an error (a typo must not pass silently). A file holding
// THERMOMAVEN_PASSWORD must not be readable by group or others.
Settings read_config_file(const std::string& path);

// The THERMOMAVEN_* variables of this process's environment.
Settings environment_settings();

// THERMOMAVEN_* variables of the environment that are neither a setting nor
// in `also_known`: a typo, or a wished-for switch such as
// THERMOMAVEN_TLS_VERIFY=0, must not pass silently.
std::vector<std::string> unknown_environment_names(
    std::initializer_list<std::string_view> also_known);

// flags > env > file. Throws ConfigError with a one-line reason when the
// result is incomplete or malformed. Reads THERMOMAVEN_PASSWORD_FILE.
CollectorConfig resolve_config(const Settings& flags, const Settings& env, const Settings& file);

// host[:port]
Endpoint parse_endpoint(const std::string& text, int default_port = 8883);

// Reads a password file (first line, trailing newline removed). Refuses a
// file that group or others can read.
std::string read_password_file(const std::string& path);

// The two servers of a region code (protocol.md, "Regions").
struct RegionServers {
  std::string_view api_url;    // REST base URL
  std::string_view mqtt_host;  // AWS IoT endpoint, port 8883
  bool europe = false;         // its broker is the one no client has confirmed
};

// The servers of one of the 30 region codes (upper case); nullptr for any
// other code: nothing is guessed.
const RegionServers* region_servers(std::string_view code);

// "US NZ CA AU (https://..., MQTT ...); UK DE ... (..., MQTT ...)"
std::string region_list_text();

// The code in upper case when it is one of the 30; else throws ConfigError
// naming every valid code with its servers.
std::string checked_region(std::string code);

// The REST base URL and MQTT endpoint of a region code; ConfigError for an
// unknown code.
std::string region_api_url(const std::string& region);
std::string region_mqtt_host(const std::string& region);

// For a European region, the broker host that is not `current_host` (the
// other one worth a try, protocol.md); empty for other regions.
std::string other_region_broker(const std::string& region, const std::string& current_host);

// ${XDG_STATE_HOME:-$HOME/.local/state}/thermomaven, else ./thermomaven-state
std::string default_state_dir();

// The client API's account of a resolved configuration.
Account account_from_config(const CollectorConfig& config);

}  // namespace thermomaven::client
