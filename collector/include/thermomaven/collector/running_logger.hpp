// The caller's side of a running logger, beyond one request: finding the
// logger that holds a state directory's cloud session (waiting out one that
// is still starting), and judging its live state as doctor steps. Used by
// `thermomaven command` and `thermomaven doctor`, which must not open a
// session of their own beside it (the cloud hands out one MQTT client id
// per installation). The request protocol is control_channel.hpp's.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "thermomaven/collector/control_channel.hpp"
#include "thermomaven/doctor.hpp"

namespace thermomaven::collector {

// A logger that holds the lock but has no socket yet is still starting.
inline constexpr std::chrono::seconds kStartingLoggerWait{15};

// The running logger of `state_dir`, connected; nullopt when none runs.
// Throws ControlError with a one-line reason when the session is held but
// cannot be used: a logger that does not answer within `starting_wait`, a
// one-shot command still running, or a socket this uid may not use.
std::optional<ControlClient> find_running_logger(
    const std::string& state_dir, std::chrono::milliseconds starting_wait = kStartingLoggerWait);

// Doctor's steps as the running logger knows them: "logger running",
// "connected", "subscribed", "device list received", a "status report" per
// device, a "last error" warning, and the steps doctor did not run itself
// (Skipped, with why). `now_ms` for "N s ago".
std::vector<client::StepResult> logger_doctor_results(const LoggerState& state,
                                                      const std::string& state_dir,
                                                      std::int64_t now_ms);

}  // namespace thermomaven::collector
