// The running logger's state judged as doctor steps
// (collector/running_logger.hpp), and the lookup of a logger where none
// runs, without a logger process: the whole path beside a real logger is
// in tests/collector/live/control_channel_test.cpp.
#include "thermomaven/collector/running_logger.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

namespace {

using namespace thermomaven::collector;
using thermomaven::client::StepResult;
using thermomaven::client::StepStatus;

const std::int64_t kNow = 1'800'000'000'000;

const StepResult* find(const std::vector<StepResult>& results, const std::string& step,
                       StepStatus status) {
  for (const StepResult& r : results)
    if (r.step == step && r.status == status) return &r;
  return nullptr;
}

LoggerState healthy() {
  LoggerState s;
  s.pid = 4242;
  s.state = "connected";
  s.connected = true;
  s.reconnects = 2;
  s.subscriptions = {"user/1", "device/a"};
  s.device_list_received = true;
  s.devices = {{.device_id = "a",
                .name = "Grill",
                .model = "WT09",
                .last_report_ms = kNow - 30'000,
                .summary = "probe 1 cooking 186.0°F"}};
  s.logins = 1;
  s.cert_applies = 1;
  return s;
}

}  // namespace

TEST_CASE("a healthy logger: every step it knows passes, the others are skipped with why") {
  const auto results = logger_doctor_results(healthy(), "/state", kNow);
  CHECK(thermomaven::client::doctor_passed(results));
  REQUIRE(find(results, "logger running", StepStatus::Passed));
  CHECK(find(results, "logger running", StepStatus::Passed)->detail.find("pid 4242") == 0);
  REQUIRE(find(results, "connected", StepStatus::Passed));
  CHECK(find(results, "connected", StepStatus::Passed)->detail ==
        "state connected, 2 reconnect(s) since it started");
  CHECK(find(results, "subscribed", StepStatus::Passed)->detail == "2 topic(s): user/1, device/a");
  REQUIRE(find(results, "status report", StepStatus::Passed));
  CHECK(find(results, "status report", StepStatus::Passed)->detail ==
        "WT09 \"Grill\" (a): last report 30 s ago: probe 1 cooking 186.0°F");
  const StepResult* skipped = find(results, "broker reachable", StepStatus::Skipped);
  REQUIRE(skipped);
  CHECK(skipped->detail.find("logged in 1 time(s) and was granted 1 certificate(s)") !=
        std::string::npos);
  CHECK_FALSE(find(results, "last error", StepStatus::Warning));
}

TEST_CASE("a logger off the broker or without reports fails those steps") {
  LoggerState s = healthy();
  s.connected = false;
  s.state = "reconnecting";
  s.subscriptions.clear();
  s.last_error = "connection lost";
  auto results = logger_doctor_results(s, "/state", kNow);
  CHECK_FALSE(thermomaven::client::doctor_passed(results));
  REQUIRE(find(results, "connected", StepStatus::Failed));
  CHECK(find(results, "connected", StepStatus::Failed)->detail ==
        "no: state reconnecting (connection lost)");
  CHECK(find(results, "last error", StepStatus::Warning));
  CHECK_FALSE(find(results, "subscribed", StepStatus::Failed));  // not while disconnected

  s = healthy();
  s.devices[0].last_report_ms = 0;
  results = logger_doctor_results(s, "/state", kNow);
  CHECK(find(results, "status report", StepStatus::Warning));
  CHECK(find(results, "status report", StepStatus::Failed));

  s = healthy();
  s.device_list_received = false;
  results = logger_doctor_results(s, "/state", kNow);
  REQUIRE(find(results, "device list received", StepStatus::Failed));
  CHECK_FALSE(find(results, "status report", StepStatus::Passed));
}

TEST_CASE("no logger in a state directory nobody holds") {
  tm_test::TempDir dir;
  CHECK_FALSE(find_running_logger(dir.path().string(), std::chrono::milliseconds(0)).has_value());
}
