#include "live_config.hpp"

#include <map>

#include "thermomaven/core/log.hpp"

namespace thermomaven::app {
namespace {

// Flags spelled like the settings they override. There is deliberately no
// --password: a password must never appear in a command line.
const std::map<std::string, std::string> kFlagSettings = {
    {"--email", "THERMOMAVEN_EMAIL"},
    {"--password-file", "THERMOMAVEN_PASSWORD_FILE"},
    {"--region", "THERMOMAVEN_REGION"},
    {"--api-url", "THERMOMAVEN_API_URL"},
    {"--mqtt-endpoint", "THERMOMAVEN_MQTT_ENDPOINT"},
    {"--ca-file", "THERMOMAVEN_CA_FILE"},
    {"--state-dir", "THERMOMAVEN_STATE_DIR"},
    {"--db", "THERMOMAVEN_DB"},
    {"--log-level", "THERMOMAVEN_LOG_LEVEL"},
    {"--backoff-base-ms", "THERMOMAVEN_BACKOFF_BASE_MS"},  // for tests
};

}  // namespace

// Says why, instead of a bare "unknown option", when someone tries it.
void refuse_password_flag(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--password" || arg.rfind("--password=", 0) == 0)
      throw UsageError(
          "there is no --password flag: a password must never be in a command line; "
          "use --password-file FILE (mode 600) or THERMOMAVEN_PASSWORD_FILE");
  }
}

thermomaven::client::CollectorConfig load_config(const CliArgs& args) {
  thermomaven::client::Settings flags;
  for (const auto& [flag, name] : kFlagSettings)
    if (auto value = args.get(flag)) flags[name] = *value;
  thermomaven::client::Settings file;
  if (auto path = args.get("--config")) file = thermomaven::client::read_config_file(*path);
  for (const std::string& name :
       thermomaven::client::unknown_environment_names({"THERMOMAVEN_WEB_CONFIG_FILE"}))
    thermomaven::log_warn("config",
                          name + " in the environment is not a thermomaven setting; ignored");
  try {
    return thermomaven::client::resolve_config(flags, thermomaven::client::environment_settings(),
                                               file);
  } catch (const thermomaven::client::ConfigError& e) {
    throw UsageError(e.what());
  }
}

std::set<std::string> valued_flags(std::set<std::string> extra) {
  for (const auto& [flag, name] : kFlagSettings) extra.insert(flag);
  extra.insert("--config");
  return extra;
}

}  // namespace thermomaven::app
