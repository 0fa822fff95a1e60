// The configuration of the commands that talk to the cloud (collect, run,
// doctor): flags > environment > --config file, resolved the same way for
// each of them so that `doctor` checks exactly what `collect` would use.
#pragma once

#include <set>
#include <string>

#include "cli_args.hpp"
#include "thermomaven/client.hpp"
#include "thermomaven/client/config.hpp"

namespace thermomaven::app {

// Says why, instead of a bare "unknown option", when someone tries --password.
void refuse_password_flag(int argc, char** argv);
// The configuration flags (--email, --config, ...) plus `extra`.
std::set<std::string> valued_flags(std::set<std::string> extra);
// Throws UsageError with a one-line reason when the result is unusable.
thermomaven::client::CollectorConfig load_config(const CliArgs& args);

}  // namespace thermomaven::app
