// The doctor: every step of the live path, run through the client API with
// an account's configuration, each judged pass, fail, warning or skipped,
// with one line of detail and, on a failure, the fix in plain words. The
// `thermomaven doctor` command prints these results; a program embedding
// the client may show them its own way.
//
//   DoctorOptions options;
//   options.wait_s = 60;
//   auto results = run_doctor(account, options, [](const StepResult& r) { show(r); });
//   return doctor_passed(results) ? 0 : 1;
//
// The judgements (which failure means what, which advice to give, why a
// device may be silent) are pure functions below, tested without a network.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "thermomaven/client.hpp"
#include "thermomaven/client/config.hpp"

namespace thermomaven::client {

// The steps, in the order they run; a blocking failure skips those after it.
const std::vector<std::string>& doctor_steps();

enum class StepStatus { Passed, Failed, Warning, Skipped };

struct StepResult {
  std::string step;  // one of doctor_steps()
  StepStatus status = StepStatus::Passed;
  std::string detail;  // one line, never a secret: what was seen, or why skipped
  std::string advice;  // Failed: the fix, one line (may be empty)
  // Failed "status report": the likely reasons behind the silence, one line
  // each, from what the cloud said about each device.
  std::vector<std::string> reasons;
};

struct DoctorOptions {
  int wait_s = 60;                       // for the subscription, device list and a report
  int session_wait_s = 60;               // login, certificate and connection
  int broker_connect_timeout_ms = 5000;  // the TCP probe
};

using StepCallback = std::function<void(const StepResult&)>;

// Runs every step for `account` on a session of its own, without
// reconnecting, and calls `on_step` as each result is known (on the calling
// thread). The account's state_dir should be a fresh directory: a stored
// session token would hide a wrong password. Returns every result; throws
// std::invalid_argument or ConfigError only for an unusable account (as
// Cloud's constructor does).
std::vector<StepResult> run_doctor(const Account& account, const DoctorOptions& options,
                                   const StepCallback& on_step = {});

// No step failed.
bool doctor_passed(const std::vector<StepResult>& results);

// --- The judgements, pure ---------------------------------------------------

// Every step after `step`, Skipped with `detail`.
std::vector<StepResult> skipped_after(const std::string& step, const std::string& detail);

// "; AWS IoT also takes MQTT on port 443 ..." unless `port` is 443 already.
std::string port_443_advice(const std::string& host, int port);
// For a European region, "; ... the other broker is worth a try: ..."
// (protocol.md: no client is confirmed on either European broker); empty
// for other regions.
std::string other_broker_advice(const std::string& region, const std::string& host);

// The results of a failed Cloud::login(): "api reachable" failed, or passed
// with "login" failed (the cloud answered and refused).
std::vector<StepResult> login_failure(const CloudError& error, const std::string& api_url,
                                      const std::string& email, const std::string& region);
// The results of a failed Cloud::certificate(): the steps up to the one the
// error's code names, the last one failed.
std::vector<StepResult> certificate_failure(const CloudError& error);
// "connected and authorised" failed, from the session's last connect failure.
StepResult connect_failure(const SessionStats& stats, const Endpoint& broker,
                           const std::string& region, int waited_s);
// Why no reading arrived: one line per device of `list` (or one for an empty
// list), from its last report as the cloud kept it; `now_ms` for "N min ago".
std::vector<std::string> silence_reasons(const DeviceList& list,
                                         const std::vector<DeviceInfo>& rest_devices, int wait_s,
                                         std::int64_t now_ms);

}  // namespace thermomaven::client
