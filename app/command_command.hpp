// `thermomaven command`'s parts that another path can reuse: the command
// line as a client::CommandRequest, how a result is printed, and the standalone flow (its own cloud
// session). The command semantics themselves are the client library's
// (thermomaven/command_tracker.hpp).
#pragma once

#include <string>

#include "cli_args.hpp"
#include "thermomaven/client/config.hpp"
#include "thermomaven/command_tracker.hpp"

namespace thermomaven::app {

// set-target TEMP[C|F] | stop | finish | rest | volume LEVEL, --device, --probe,
// --timeout. Throws UsageError with a one-line reason.
client::CommandRequest parse_command_request(const CliArgs& args);

// Prints the outcome's line (stdout; an Invalid one on stderr) and returns the exit code.
int print_result(const client::CommandResult& result);

// The standalone flow: the client's execute_on_own_session for `request`,
// the audit row in the database of `config`, the printed outcome; returns
// the exit code.
int run_command_standalone(const thermomaven::client::CollectorConfig& config,
                           const client::CommandRequest& request);

}  // namespace thermomaven::app
