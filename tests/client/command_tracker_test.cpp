// CommandTracker without a network: the cmdData it plans for what the
// probe's latest report shows (protocol.md, "Commands"), what it refuses
// before sending, and which receipt answers a command.
#include "thermomaven/command_tracker.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

using namespace thermomaven;
using namespace thermomaven::client;

namespace {

constexpr const char* kUuid = "0123456789abcdef0123456789abcdef";
constexpr const char* kFresh = "fedcba9876543210fedcba9876543210";
constexpr const char* kManual =
    R"({"dataType":"manual","dataId":"","dataName":"Manual cook","dataImgUrl":""})";

ProbeSample cooking_probe(int number, const std::string& start_client,
                          const std::string& set_params = R"([{"setTemperature":2030}])") {
  ProbeSample p;
  p.probe = number;
  p.state = "cooking";
  p.mode = "manual";
  p.cook_uuid = kUuid;
  p.start_client = start_client;
  p.set_params_json = set_params;
  p.temperature = 1500;
  return p;
}

ProbeSample docked_probe(int number, const std::string& mode) {
  ProbeSample p;
  p.probe = number;
  p.state = "charged";
  p.mode = mode;
  p.set_params_json = R"([{"setTemperature":1650}])";
  return p;
}

// A tracker that saw one WT09 "Kitchen grill" (id 42) with these probes.
void feed(CommandTracker& tracker, std::vector<ProbeSample> probes, bool with_report = true) {
  DeviceList list;
  list.devices.push_back({"42", "Kitchen grill", "WT09", "WT0001", {"device/WT09/42/pub"}});
  list.devices.push_back({"43", "Smoker", "WT11", "WT0002", {"device/WT11/43/pub"}});
  tracker.observe(list);
  if (!with_report) return;
  StatusReport report;
  report.device_id = "42";
  report.model = "WT09";
  report.time_ms = 1000;
  report.probes = std::move(probes);
  tracker.observe(report);
}

CommandRequest set_target(const std::string& device, int probe, double degrees,
                          std::optional<TemperatureUnit> unit = std::nullopt) {
  CommandRequest r;
  r.verb = CommandVerb::SetTarget;
  r.device = device;
  r.probe = probe;
  r.degrees = degrees;
  r.unit = unit;
  return r;
}

CommandRequest cook_verb(CommandVerb verb, int probe) {
  CommandRequest r;
  r.verb = verb;
  r.device = "42";
  r.probe = probe;
  return r;
}

}  // namespace

TEST_CASE("set-target: the cmdData for what the probe's latest report shows") {
  struct Case {
    const char* name;
    ProbeSample probe;
    std::string data;  // the cmdData planned for 194.0F on probe 1
  };
  const std::vector<Case> cases = {
      {"a running cook the device started: its uuid, startClient, mode; cookingData null",
       cooking_probe(1, "device"),
       std::string(
           R"({"probeColor":"probe1","cookingAction":1,"cookingMode":"manual","cookUuid":")") +
           kUuid +
           R"(","startClient":"device","setParams":[{"setTemperature":1940}],"cookingData":null})"},
      {"a running cook an app started: the manual cookingData object", cooking_probe(1, "android"),
       std::string(
           R"({"probeColor":"probe1","cookingAction":1,"cookingMode":"manual","cookUuid":")") +
           kUuid +
           R"(","startClient":"android","setParams":[{"setTemperature":1940}],"cookingData":)" +
           kManual + "}"},
      {"multi-stage: stage 0's target replaced, its other fields and later stages kept",
       cooking_probe(1, "ios",
                     R"([{"setTemperature":2030,"holdSec":60},{"setTemperature":1500,"x":[1,2]}])"),
       std::string(
           R"({"probeColor":"probe1","cookingAction":1,"cookingMode":"manual","cookUuid":")") +
           kUuid +
           R"(","startClient":"ios","setParams":[{"setTemperature":1940,"holdSec":60},{"setTemperature":1500,"x":[1,2]}],"cookingData":)" +
           kManual + "}"},
      {"a docked stub: a new cook, fresh uuid, android, the stub's mode", docked_probe(1, "manual"),
       std::string(
           R"({"probeColor":"probe1","cookingAction":1,"cookingMode":"manual","cookUuid":")") +
           kFresh +
           R"(","startClient":"android","setParams":[{"setTemperature":1940}],"cookingData":)" +
           kManual + "}"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    CommandTracker tracker;
    feed(tracker, {c.probe});
    const PlannedCommand plan =
        tracker.plan(set_target("kitchen GRILL", 1, 90, TemperatureUnit::Celsius),
                     TemperatureUnit::Fahrenheit, kFresh);
    REQUIRE(!plan.refusal);
    CHECK(command_type(plan.command) == "WT09:cooking:action");
    CHECK(command_data(plan.command) == c.data);
    CHECK(plan.command.device_id == "42");
  }
}

TEST_CASE("set-target with no cookUuid starts a cook in smart mode when no mode was reported") {
  ProbeSample probe;
  probe.probe = 2;
  probe.state = "idle";
  probe.temperature = 700;
  CommandTracker tracker;
  feed(tracker, {probe});
  const PlannedCommand plan = tracker.plan(set_target("42", 2, 60), TemperatureUnit::Celsius);
  REQUIRE(!plan.refusal);
  CHECK(plan.command.start_client == "android");
  CHECK(plan.command.cooking_mode == "smart");
  CHECK(plan.command.cook_uuid.size() == 32);
  CHECK(plan.command.cook_uuid.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(plan.command.target_tenths == 600);
  CHECK(plan.what == "set-target 60.0C (new cook " + plan.command.cook_uuid + ")");
  // Each new cook gets its own uuid.
  CHECK(tracker.plan(set_target("42", 2, 60), TemperatureUnit::Celsius).command.cook_uuid !=
        plan.command.cook_uuid);
}

TEST_CASE("stop, finish and rest carry the running cook's uuid and an integer cookingAction") {
  struct Case {
    CommandVerb verb;
    int action;
  };
  for (const Case c :
       {Case{CommandVerb::Stop, 2}, Case{CommandVerb::Rest, 4}, Case{CommandVerb::Finish, 5}}) {
    INFO(verb_name(c.verb));
    CommandTracker tracker;
    feed(tracker, {docked_probe(1, "smart"), cooking_probe(2, "device")});
    const PlannedCommand plan = tracker.plan(cook_verb(c.verb, 2), TemperatureUnit::Fahrenheit);
    REQUIRE(!plan.refusal);
    CHECK(command_data(plan.command) == R"({"probeColor":"probe2","cookingAction":)" +
                                            std::to_string(c.action) + R"(,"cookUuid":")" + kUuid +
                                            R"("})");
    CHECK(plan.what == std::string(verb_name(c.verb)) + " cook " + kUuid);
  }
}

TEST_CASE("refused before anything is sent: Invalid, with the reason") {
  struct Case {
    const char* name;
    CommandRequest request;
    bool with_report;
    std::string reason;
  };
  ProbeSample no_uuid = cooking_probe(3, "device");
  no_uuid.cook_uuid.clear();
  const std::vector<Case> cases = {
      {"stop on a docked probe", cook_verb(CommandVerb::Stop, 1), true,
       "probe 1 of 42 has no running cook (it is in its charger): there is nothing to stop"},
      {"finish without a cookUuid", cook_verb(CommandVerb::Finish, 3), true,
       "probe 3 of 42 has no running cook (its report has no cookUuid): there is nothing to "
       "finish"},
      {"rest on a docked probe", cook_verb(CommandVerb::Rest, 1), true, "nothing to rest"},
      {"set-target with no report of the device", set_target("42", 1, 200), false,
       "no report from this probe yet (probe 1 of 42)"},
      {"set-target on a probe the reports do not show", set_target("42", 4, 200), true,
       "no report from this probe yet (probe 4 of 42)"},
      {"stop with no report", cook_verb(CommandVerb::Stop, 2), false,
       "no report from this probe yet"},
      {"an unknown device names the account's devices", set_target("Garage", 1, 200), true,
       R"(no device 'Garage' on this account; its devices: 42 "Kitchen grill" (WT09), 43 "Smoker" (WT11))"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    CommandTracker tracker;
    feed(tracker, {docked_probe(1, "smart"), cooking_probe(2, "device"), no_uuid}, c.with_report);
    const PlannedCommand plan = tracker.plan(c.request, TemperatureUnit::Fahrenheit);
    REQUIRE(plan.refusal);
    CHECK(plan.refusal->find(c.reason) != std::string::npos);
  }
  CommandTracker empty;
  const PlannedCommand no_list = empty.plan(set_target("42", 1, 200), TemperatureUnit::Fahrenheit);
  REQUIRE(no_list.refusal);
  CHECK(no_list.refusal->find("no device list from the cloud yet") != std::string::npos);
}

TEST_CASE("volume is a device setting: one value, the setting:modify verb") {
  CommandTracker tracker;
  feed(tracker, {}, false);
  CommandRequest r;
  r.verb = CommandVerb::Volume;
  r.device = "smoker";
  r.volume = "quiet";
  const PlannedCommand plan = tracker.plan(r, TemperatureUnit::Fahrenheit);
  REQUIRE(!plan.refusal);
  CHECK(command_type(plan.command) == "WT11:setting:modify");
  CHECK(
      command_body(plan.command, "ab") ==
      R"({"deviceId":"43","deviceType":"thermometer","cmdType":"WT11:setting:modify","cmdId":"ab","cmdData":{"volume":"quiet"}})");
}

TEST_CASE("the latest report decides, also when the device list's copy is older") {
  CommandTracker tracker;
  feed(tracker, {cooking_probe(1, "device")});
  DeviceList list;
  list.devices.push_back({"42", "Kitchen grill", "WT09", "WT0001", {}});
  StatusReport older;
  older.device_id = "42";
  older.time_ms = 500;
  older.probes = {docked_probe(1, "smart")};
  list.latest_reports.push_back(older);
  tracker.observe(list);
  const PlannedCommand plan = tracker.plan(set_target("42", 1, 200), TemperatureUnit::Fahrenheit);
  REQUIRE(!plan.refusal);
  CHECK(plan.command.cook_uuid == kUuid);  // still the running cook, not a new one
}

TEST_CASE("a receipt answers the command whose cmdId its cmdData carries, on the same device") {
  CommandReceipt r;
  r.cmd_id = "c1";
  r.device_id = "199298835195806964";
  CHECK(receipt_answers(r, "c1", "199298835195806964"));
  CHECK(!receipt_answers(r, "c2", "199298835195806964"));
  CHECK(!receipt_answers(r, "c1", "42"));
  r.device_id.clear();  // none given: the topic's device
  CHECK(receipt_answers(r, "c1", "42"));
  r.cmd_id.clear();
  CHECK(!receipt_answers(r, "", "42"));
}

TEST_CASE("exit codes 0 to 5, one per outcome") {
  CHECK(exit_code(CommandOutcome::Confirmed) == 0);
  CHECK(exit_code(CommandOutcome::Refused) == 1);
  CHECK(exit_code(CommandOutcome::Invalid) == 2);
  CHECK(exit_code(CommandOutcome::NoReceipt) == 3);
  CHECK(exit_code(CommandOutcome::NoEffect) == 4);
  CHECK(exit_code(CommandOutcome::Unverified) == 5);
}
