// Whether a logger (`thermomaven run` or `collect`) holds the cloud session
// of a state directory, and how `command` and `doctor` go through it instead
// of opening a session of their own, which would knock it off the broker
// (the cloud hands out one MQTT client id per installation).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "cli_args.hpp"
#include "thermomaven/client/state_dir.hpp"
#include "thermomaven/collector/control_channel.hpp"
#include "thermomaven/command_tracker.hpp"

namespace thermomaven::app {

// The state directory the configuration names (flags > environment >
// --config file > the default), without reading anything else: a caller of
// a running logger (e.g. root beside the service) needs no password.
std::string state_dir_of(const CliArgs& args);

// For a standalone `command`: the state directory's session lock, so that a
// logger started meanwhile waits for it. Throws std::runtime_error.
std::unique_ptr<thermomaven::client::SessionLock> hold_session(const std::string& state_dir);

// `command` through the running logger: prints the result as the standalone
// command does and returns the same exit code.
int command_via_logger(collector::ControlClient& logger, const client::CommandRequest& request);

// The advice against fighting with the phone app (protocol.md, "One session
// per account"), as doctor prints it.
void print_second_account_advice();

}  // namespace thermomaven::app
