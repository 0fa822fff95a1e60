#include "thermomaven/client/config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "thermomaven/core/numbers.hpp"

extern char** environ;

namespace thermomaven::client {
namespace {

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

std::string unquote(std::string value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front())
    return value.substr(1, value.size() - 2);
  return value;
}

// Refuses files that group or others may read: they hold a secret.
void require_private(const std::string& path, const char* what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw ConfigError(std::string("cannot read ") + what + " " + path + ": " +
                      std::strerror(errno));
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    throw ConfigError(std::string(what) + " " + path +
                      " is readable by other users; run: chmod 600 " + path);
}

const std::string* lookup(const Settings& flags, const Settings& env, const Settings& file,
                          const std::string& name) {
  for (const Settings* source : {&flags, &env, &file}) {
    auto it = source->find(name);
    if (it != source->end() && !it->second.empty()) return &it->second;
  }
  return nullptr;
}

int positive_int(const std::string& text, const char* name) {
  try {
    std::size_t used = 0;
    const long value = std::stol(text, &used);
    if (used == text.size() && value > 0 && value < 100000000) return static_cast<int>(value);
  } catch (const std::exception&) {
  }
  throw ConfigError(std::string(name) + " must be a positive number, not '" + text + "'");
}

// protocol.md's region table: the app's own dictionary of 30 codes, each
// with its REST base; the MQTT host is the one protocol.md gives for it.
struct RegionGroup {
  std::vector<std::string_view> codes;
  RegionServers servers;
};

const std::vector<RegionGroup>& region_groups() {
  static const std::vector<RegionGroup> kGroups = {
      {{"US", "NZ", "CA", "AU"},
       {"https://api.iot.thermomaven.com", "a2ubmaqm3a642j-ats.iot.us-west-2.amazonaws.com",
        false}},
      {{"UK", "DE", "FR", "DK", "FI", "IS", "NO", "CH", "SE", "ZA", "AT", "BE", "BG",
        "CZ", "HU", "IE", "IT", "LU", "NL", "PL", "PT", "RO", "RS", "SK", "ES", "TR"},
       {"https://api.iot.thermomaven.de", "a2ubmaqm3a642j-ats.iot.eu-central-1.amazonaws.com",
        true}},
  };
  return kGroups;
}

}  // namespace

const std::initializer_list<const char*>& setting_names() {
  static const std::initializer_list<const char*> kNames = {
      "THERMOMAVEN_EMAIL",          "THERMOMAVEN_PASSWORD",        "THERMOMAVEN_PASSWORD_FILE",
      "THERMOMAVEN_REGION",         "THERMOMAVEN_API_URL",         "THERMOMAVEN_MQTT_ENDPOINT",
      "THERMOMAVEN_CA_FILE",        "THERMOMAVEN_STATE_DIR",       "THERMOMAVEN_DB",
      "THERMOMAVEN_LOG_LEVEL",      "THERMOMAVEN_BACKOFF_BASE_MS", "THERMOMAVEN_APP_KEY",
      "THERMOMAVEN_UNIT_REFRESH_MS"};
  return kNames;
}

Settings read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file " + path + ": " + std::strerror(errno));
  Settings settings;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string text = trim(line);
    if (text.empty() || text[0] == '#') continue;
    const auto eq = text.find('=');
    const std::string where = path + ":" + std::to_string(number);
    if (eq == std::string::npos) throw ConfigError(where + ": expected KEY=VALUE");
    std::string key = trim(text.substr(0, eq));
    if (key.rfind("export ", 0) == 0) key = trim(key.substr(7));
    const auto& names = setting_names();
    if (std::find_if(names.begin(), names.end(), [&](const char* n) { return key == n; }) ==
        names.end())
      throw ConfigError(where + ": unknown setting '" + key + "'");
    settings[key] = unquote(trim(text.substr(eq + 1)));
  }
  if (settings.count("THERMOMAVEN_PASSWORD")) require_private(path, "config file");
  return settings;
}

Settings environment_settings() {
  Settings settings;
  for (const char* name : setting_names())
    if (const char* value = std::getenv(name)) settings[name] = value;
  return settings;
}

std::vector<std::string> unknown_environment_names(
    std::initializer_list<std::string_view> also_known) {
  constexpr std::string_view kPrefix = "THERMOMAVEN_";
  const auto& names = setting_names();
  std::vector<std::string> unknown;
  for (char** entry = environ; *entry; ++entry) {
    const std::string_view text = *entry;
    const std::string_view name = text.substr(0, text.find('='));
    if (!name.starts_with(kPrefix)) continue;
    const auto known = [&](auto n) { return name == n; };
    if (std::none_of(names.begin(), names.end(), known) &&
        std::none_of(also_known.begin(), also_known.end(), known))
      unknown.emplace_back(name);
  }
  return unknown;
}

Endpoint parse_endpoint(const std::string& text, int default_port) {
  Endpoint endpoint;
  endpoint.port = default_port;
  std::string host = text;
  const auto colon = text.rfind(':');
  if (colon != std::string::npos && text.find(':') == colon) {
    host = text.substr(0, colon);
    const std::string port = text.substr(colon + 1);
    const auto value = parse_int64_in(port, 1, 65535);
    if (!value) throw ConfigError("MQTT endpoint '" + text + "' has a bad port (want host[:port])");
    endpoint.port = static_cast<int>(*value);
  }
  if (host.empty() || host.find_first_of("/ \t") != std::string::npos)
    throw ConfigError("MQTT endpoint '" + text + "' is not host[:port]");
  endpoint.host = host;
  return endpoint;
}

std::string read_password_file(const std::string& path) {
  require_private(path, "password file");
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read password file " + path + ": " + std::strerror(errno));
  std::string password;
  std::getline(in, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) throw ConfigError("password file " + path + " is empty");
  return password;
}

const RegionServers* region_servers(std::string_view code) {
  for (const RegionGroup& group : region_groups())
    for (std::string_view known : group.codes)
      if (known == code) return &group.servers;
  return nullptr;
}

std::string region_list_text() {
  std::string text;
  for (const RegionGroup& group : region_groups()) {
    if (!text.empty()) text += "; ";
    for (std::size_t i = 0; i < group.codes.size(); ++i)
      text += std::string(i ? " " : "") + std::string(group.codes[i]);
    text += " (" + std::string(group.servers.api_url) + ", MQTT " +
            std::string(group.servers.mqtt_host) + ")";
  }
  return text;
}

std::string checked_region(std::string code) {
  std::transform(code.begin(), code.end(), code.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (region_servers(code)) return code;
  std::string printable;
  for (char c : code.substr(0, 16))
    printable.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
  throw ConfigError("unknown region '" + printable + "'" +
                    (code == "GB" ? " (the United Kingdom is UK)" : "") +
                    "; the cloud knows exactly these codes: " + region_list_text());
}

std::string region_api_url(const std::string& region) {
  return std::string(region_servers(checked_region(region))->api_url);
}

std::string region_mqtt_host(const std::string& region) {
  return std::string(region_servers(checked_region(region))->mqtt_host);
}

std::string other_region_broker(const std::string& region, const std::string& current_host) {
  const RegionServers* servers = region_servers(region);
  if (!servers || !servers->europe) return {};
  for (const RegionGroup& group : region_groups())
    if (group.servers.mqtt_host != current_host) return std::string(group.servers.mqtt_host);
  return {};
}

std::string default_state_dir() {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/thermomaven";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.local/state/thermomaven";
  return "./thermomaven-state";
}

CollectorConfig resolve_config(const Settings& flags, const Settings& env, const Settings& file) {
  auto get = [&](const char* name) { return lookup(flags, env, file, name); };
  CollectorConfig config;
  if (auto v = get("THERMOMAVEN_EMAIL")) config.email = *v;
  if (config.email.empty())
    throw ConfigError("no account: set THERMOMAVEN_EMAIL (or --email, or in --config FILE)");

  // The password itself only from env or file; a password file from any source.
  if (auto v = get("THERMOMAVEN_PASSWORD_FILE"))
    config.password = read_password_file(*v);
  else if (auto p = get("THERMOMAVEN_PASSWORD"))
    config.password = *p;
  if (config.password.empty())
    throw ConfigError(
        "no password: set THERMOMAVEN_PASSWORD_FILE (a file only you can read) or "
        "THERMOMAVEN_PASSWORD");

  if (auto v = get("THERMOMAVEN_REGION")) config.region = *v;
  config.region = checked_region(config.region);  // before any request
  config.api_url = region_api_url(config.region);
  if (auto v = get("THERMOMAVEN_API_URL")) config.api_url = *v;
  while (!config.api_url.empty() && config.api_url.back() == '/') config.api_url.pop_back();
  if (config.api_url.rfind("https://", 0) != 0)
    throw ConfigError("THERMOMAVEN_API_URL must start with https:// (got '" + config.api_url +
                      "')");

  config.mqtt = parse_endpoint(region_mqtt_host(config.region));
  if (auto v = get("THERMOMAVEN_MQTT_ENDPOINT")) config.mqtt = parse_endpoint(*v);

  if (auto v = get("THERMOMAVEN_CA_FILE")) {
    config.ca_file = *v;
    if (::access(config.ca_file.c_str(), R_OK) != 0)
      throw ConfigError("cannot read THERMOMAVEN_CA_FILE " + config.ca_file + ": " +
                        std::strerror(errno));
  }
  config.state_dir = default_state_dir();
  if (auto v = get("THERMOMAVEN_STATE_DIR")) config.state_dir = *v;
  if (auto v = get("THERMOMAVEN_DB")) config.db_path = *v;
  if (auto v = get("THERMOMAVEN_LOG_LEVEL")) {
    auto level = parse_log_level(*v);
    if (!level) throw ConfigError("log level must be debug, info, warn or error, not '" + *v + "'");
    config.log_level = *level;
  }
  if (auto v = get("THERMOMAVEN_BACKOFF_BASE_MS"))
    config.backoff_base_ms = positive_int(*v, "THERMOMAVEN_BACKOFF_BASE_MS");
  config.backoff_max_ms = std::max(config.backoff_base_ms, 120000);
  if (config.backoff_base_ms < 5000) config.backoff_max_ms = config.backoff_base_ms * 24;
  if (auto v = get("THERMOMAVEN_UNIT_REFRESH_MS"))
    config.unit_refresh_ms = positive_int(*v, "THERMOMAVEN_UNIT_REFRESH_MS");
  config.app_key = "bcd4596f1bb8419a92669c8017bf25e8";
  if (auto v = get("THERMOMAVEN_APP_KEY")) config.app_key = *v;
  return config;
}

}  // namespace thermomaven::client
