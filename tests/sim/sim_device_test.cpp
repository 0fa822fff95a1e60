// The simulated station's side of protocol.md's "Commands" section, without
// a network: the shapes it accepts and refuses (cmdError 1), the lying
// success of stop and finish (nothing happens while the probe is in the
// food), the rest rule (cmdError 4 without a rest target), and new cooks;
// and that the cooks look real (whole degrees, a cycling pit, the core
// lagging the surface, a stall of hours for large cuts).
#include <simdjson.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "thermomaven/sim/device.hpp"

using namespace thermomaven::sim;

namespace {

// One probe's entry in the device's current status report.
struct ProbeView {
  std::string state, cook_uuid, start_client, mode;
  std::int64_t target = 0;
  std::size_t stages = 0;
  bool has_temperature = false;
};

ProbeView probe_view(const SimDevice& d, int number) {
  simdjson::dom::parser parser;
  const std::string json = d.status_data();
  simdjson::dom::element doc = parser.parse(json);
  for (simdjson::dom::element p : doc["probes"].get_array()) {
    if (std::string_view(p["probeColor"]) != "probe" + std::to_string(number)) continue;
    ProbeView v;
    v.state = std::string(std::string_view(p["cookingState"]));
    std::string_view text;
    if (!p["cookUuid"].get(text)) v.cook_uuid = std::string(text);
    if (!p["startClient"].get(text)) v.start_client = std::string(text);
    if (!p["cookingMode"].get(text)) v.mode = std::string(text);
    simdjson::dom::array stages = p["setParams"].get_array();
    v.stages = stages.size();
    v.target = int64_t(stages.at(0)["setTemperature"]);
    v.has_temperature = !p["curTemperature"].error();
    return v;
  }
  FAIL("no probe" << number << " in " << json);
  return {};
}

// A WT09 (4 probes) whose probe 1 is cooking, in °F.
SimDevice cooking_device() {
  SimDevice d(7, 0, "WT09", 'F', false);
  d.step(2);
  REQUIRE(probe_view(d, 1).state == "cooking");
  return d;
}

int apply(SimDevice& d, const std::string& cmd_type, const std::string& data) {
  std::string what;
  return d.apply({cmd_type, data}, what);
}

std::string simple(int action, int probe, const std::string& uuid) {
  return R"({"probeColor":"probe)" + std::to_string(probe) + R"(","cookingAction":)" +
         std::to_string(action) + R"(,"cookUuid":")" + uuid + R"("})";
}

constexpr const char* kManual =
    R"({"dataType":"manual","dataId":"","dataName":"Manual cook","dataImgUrl":""})";
constexpr const char* kFresh = "00112233445566778899aabbccddeeff";

std::string start(int probe, const std::string& uuid, const std::string& client,
                  const std::string& mode, const std::string& params,
                  const std::string& data = kManual) {
  return R"({"probeColor":"probe)" + std::to_string(probe) +
         R"(","cookingAction":1,"cookingMode":")" + mode + R"(","cookUuid":")" + uuid +
         R"(","startClient":")" + client + R"(","setParams":)" + params + R"(,"cookingData":)" +
         data + "}";
}

}  // namespace

TEST_CASE("sim: command shapes outside protocol.md's Commands section get cmdError 1") {
  SimDevice d = cooking_device();
  const ProbeView before = probe_view(d, 1);
  const std::string uuid = before.cook_uuid;
  const std::string change_ok =
      start(1, uuid, before.start_client, before.mode, R"([{"setTemperature":1900}])",
            before.start_client == "device" ? "null" : kManual);
  struct Case {
    const char* name;
    std::string cmd_type, data;
  };
  const std::vector<Case> cases = {
      {"a string action", "WT09:cooking:action",
       R"({"probeColor":"probe1","cookUuid":")" + uuid + R"(","action":"stop"})"},
      {"cookingAction as a string", "WT09:cooking:action",
       R"({"probeColor":"probe1","cookingAction":"2","cookUuid":")" + uuid + R"("})"},
      {"an unknown cookingAction", "WT09:cooking:action", simple(3, 1, uuid)},
      {"stop with an extra field", "WT09:cooking:action",
       R"({"probeColor":"probe1","cookingAction":2,"cookUuid":")" + uuid + R"(","action":"stop"})"},
      {"stop without a cookUuid", "WT09:cooking:action",
       R"({"probeColor":"probe1","cookingAction":2})"},
      {"a probeColor that is no probe", "WT09:cooking:action", simple(2, 9, uuid)},
      {"action 1 without cookingData", "WT09:cooking:action",
       change_ok.substr(0, change_ok.find(",\"cookingData\"")) + "}"},
      {"action 1 with an unknown cookingMode", "WT09:cooking:action",
       start(1, uuid, before.start_client, "sous-vide", R"([{"setTemperature":1900}])")},
      {"action 1 with empty setParams", "WT09:cooking:action",
       start(1, uuid, before.start_client, before.mode, "[]")},
      {"a change with another startClient", "WT09:cooking:action",
       start(1, uuid, before.start_client == "device" ? "ios" : "device", before.mode,
             R"([{"setTemperature":1900}])")},
      {"a new cook started as the device", "WT09:cooking:action",
       start(1, kFresh, "device", "smart", R"([{"setTemperature":1900}])", "null")},
      {"a new cook without cookingData", "WT09:cooking:action",
       start(1, kFresh, "android", "smart", R"([{"setTemperature":1900}])", "null")},
      {"another model's verb", "WT02:cooking:action", simple(2, 1, uuid)},
      {"a verb protocol.md does not characterise", "WT09:probe:search", "{}"},
      {"two settings in one command", "WT09:setting:modify",
       R"({"volume":"quiet","screenBrightness":1})"},
      {"an unknown volume", "WT09:setting:modify", R"({"volume":"loud"})"},
      {"cmdData that is not an object", "WT09:cooking:action", "[1]"},
  };
  for (const Case& c : cases) {
    INFO(c.name << ": " << c.data);
    CHECK(apply(d, c.cmd_type, c.data) == kCmdErrorInvalid);
  }
  // Nothing of it changed the cook.
  const ProbeView after = probe_view(d, 1);
  CHECK(after.cook_uuid == uuid);
  CHECK(after.target == before.target);
  CHECK(after.state == "cooking");
}

TEST_CASE("sim: an app-started cook is changed with the manual cookingData, never null") {
  SimDevice d = cooking_device();
  ProbeView p = probe_view(d, 1);
  // Make the running cook a device-started one with a known uuid: a new cook
  // is started by an app, so this checks the android rule; then the device's.
  REQUIRE(apply(d, "WT09:cooking:action",
                start(1, kFresh, "android", "smart", R"([{"setTemperature":1900}])")) == 0);
  p = probe_view(d, 1);
  CHECK(p.cook_uuid == kFresh);
  CHECK(p.start_client == "android");
  CHECK(apply(d, "WT09:cooking:action",
              start(1, kFresh, "android", "smart", R"([{"setTemperature":1950}])", "null")) ==
        kCmdErrorInvalid);
  CHECK(apply(d, "WT09:cooking:action",
              start(1, kFresh, "android", "smart", R"([{"setTemperature":1950}])")) == 0);
  CHECK(probe_view(d, 1).target == 1950);
}

TEST_CASE("sim: action 1 with the running uuid changes the cook; a fresh uuid starts a new one") {
  SimDevice d = cooking_device();
  const ProbeView before = probe_view(d, 1);
  const std::string data = before.start_client == "device" ? "null" : kManual;
  REQUIRE(apply(d, "WT09:cooking:action",
                start(1, before.cook_uuid, before.start_client, before.mode,
                      R"([{"setTemperature":1940}])", data)) == 0);
  d.step(2);
  ProbeView changed = probe_view(d, 1);
  CHECK(changed.cook_uuid == before.cook_uuid);
  CHECK(changed.target == 1940);
  CHECK(changed.start_client == before.start_client);

  // A docked probe starts a cook with the uuid it was sent.
  REQUIRE(d.move_probe(2, ProbePlace::Docked));
  CHECK(probe_view(d, 2).state == "charged");
  REQUIRE(apply(d, "WT09:cooking:action",
                start(2, kFresh, "android", "manual", R"([{"setTemperature":1650}])")) == 0);
  d.step(2);
  const ProbeView started = probe_view(d, 2);
  CHECK(started.state == "cooking");
  CHECK(started.cook_uuid == kFresh);
  CHECK(started.start_client == "android");
  CHECK(started.mode == "manual");
  CHECK(started.target == 1650);
}

TEST_CASE("sim: stop and finish are acknowledged and do nothing while the probe is in the food") {
  for (int action : {2, 5}) {
    INFO("cookingAction " << action);
    SimDevice d = cooking_device();
    const std::string uuid = probe_view(d, 1).cook_uuid;
    CHECK(apply(d, "WT09:cooking:action", simple(action, 1, uuid)) == 0);
    for (int i = 0; i < 5; ++i) d.step(2);
    CHECK(probe_view(d, 1).state == "cooking");
    CHECK(probe_view(d, 1).cook_uuid == uuid);
    // Out of the food, the acknowledged command takes effect.
    REQUIRE(d.move_probe(1, ProbePlace::Out));
    const ProbeView ended = probe_view(d, 1);
    CHECK(ended.state == "idle");
    CHECK(ended.cook_uuid.empty());
    CHECK(!ended.has_temperature);
    // Now there is no running cook: another stop is an invalid state.
    CHECK(apply(d, "WT09:cooking:action", simple(action, 1, uuid)) == kCmdErrorInvalid);
  }
}

TEST_CASE("sim: out of the food without a stop the cook goes on; docking ends it") {
  SimDevice d = cooking_device();
  const std::string uuid = probe_view(d, 1).cook_uuid;
  REQUIRE(d.move_probe(1, ProbePlace::Out));
  d.step(2);
  CHECK(probe_view(d, 1).cook_uuid == uuid);
  // A stop while it is out ends the cook at once.
  CHECK(apply(d, "WT09:cooking:action", simple(2, 1, uuid)) == 0);
  CHECK(probe_view(d, 1).cook_uuid.empty());

  SimDevice other = cooking_device();
  const std::string other_uuid = probe_view(other, 1).cook_uuid;
  REQUIRE(other.move_probe(1, ProbePlace::Docked));
  CHECK(probe_view(other, 1).state == "charged");
  CHECK(probe_view(other, 1).cook_uuid.empty());
  CHECK(apply(other, "WT09:cooking:action", simple(5, 1, other_uuid)) == kCmdErrorInvalid);
  CHECK(!other.move_probe(5, ProbePlace::Out));  // a WT09 has 4 probes
}

TEST_CASE("sim: rest needs a rest target (a second setParams stage), else cmdError 4") {
  SimDevice d = cooking_device();
  REQUIRE(apply(d, "WT09:cooking:action",
                start(1, kFresh, "android", "smart", R"([{"setTemperature":1950}])")) == 0);
  CHECK(probe_view(d, 1).stages == 1);
  CHECK(apply(d, "WT09:cooking:action", simple(4, 1, kFresh)) == kCmdErrorNotApplicable);
  CHECK(probe_view(d, 1).state == "cooking");
  REQUIRE(apply(d, "WT09:cooking:action",
                start(1, kFresh, "android", "smart",
                      R"([{"setTemperature":1950},{"setTemperature":1500}])")) == 0);
  CHECK(probe_view(d, 1).stages == 2);
  CHECK(apply(d, "WT09:cooking:action", simple(4, 1, kFresh)) == 0);
  CHECK(probe_view(d, 1).state == "resting");
  CHECK(probe_view(d, 1).cook_uuid == kFresh);
  // Rest, stop or finish with another uuid, or on a docked probe: invalid state.
  CHECK(apply(d, "WT09:cooking:action", simple(4, 1, std::string(32, 'a'))) == kCmdErrorInvalid);
  REQUIRE(d.move_probe(3, ProbePlace::Docked));
  CHECK(apply(d, "WT09:cooking:action", simple(4, 3, kFresh)) == kCmdErrorInvalid);
}

TEST_CASE("sim: a probe the model does not have is not applicable; volume changes the setting") {
  SimDevice d(7, 1, "WT11", 'C', false);
  d.step(2);
  CHECK(apply(d, "WT11:cooking:action", simple(2, 3, kFresh)) == kCmdErrorNotApplicable);
  CHECK(apply(d, "WT11:setting:modify", R"({"volume":"quiet"})") == 0);
  simdjson::dom::parser parser;
  const std::string json = d.status_data();
  CHECK(std::string_view(parser.parse(json)["volume"]) == "quiet");
}

TEST_CASE("sim: cooks look real: whole degrees, a cycling pit, a lagging core, a long stall") {
  // Each probe's first cook on a few stations, stepped every 2 s in virtual time.
  struct Cook {
    std::int64_t target = 0;
    int readings = 0, in_stall_band = 0, core_below_surface = 0;
    std::vector<std::int64_t> ambient;  // after the first 10 minutes
    bool done = false;
  };
  std::vector<Cook> cooks;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const char unit = seed % 2 ? 'F' : 'C';
    SimDevice d(seed, 0, "WT09", unit, false);
    std::map<std::string, Cook> by_probe;
    for (int step = 0; step < 30 * 1800; ++step) {
      d.step(2);
      simdjson::dom::parser parser;
      const std::string json = d.status_data();
      for (simdjson::dom::element p : parser.parse(json)["probes"].get_array()) {
        std::int64_t food, ambient;
        if (p["curTemperature"].get(food) || p["curAmbientTemperature"].get(ambient)) continue;
        // Whole degrees of the account's unit, in tenths.
        CHECK(food % 10 == 0);
        CHECK(ambient % 10 == 0);
        std::vector<std::int64_t> zones;
        for (simdjson::dom::element z : p["areaTemperature"].get_array()) {
          CHECK(std::int64_t(z) % 10 == 0);
          zones.push_back(std::int64_t(z));
        }
        CHECK(food == *std::min_element(zones.begin(), zones.end()));
        Cook& c = by_probe[std::string(std::string_view(p["probeColor"]))];
        if (c.done) continue;
        c.target = std::int64_t(p["setParams"].at(0)["setTemperature"]);
        const double food_c = unit == 'F' ? (food / 10.0 - 32) * 5 / 9 : food / 10.0;
        if (food_c >= 63 && food_c <= 77) ++c.in_stall_band;
        if (zones.front() < zones.back()) ++c.core_below_surface;
        if (++c.readings > 300) c.ambient.push_back(ambient);
        if (food >= c.target) c.done = true;
      }
    }
    for (auto& [probe, c] : by_probe) cooks.push_back(c);
  }
  int stalls = 0, slow_cooks = 0;
  for (Cook& c : cooks) {
    INFO("target " << c.target << ", " << c.readings << " readings");
    REQUIRE(c.done);
    CHECK(c.core_below_surface > c.readings / 2);  // the core lags the surface
    if (c.ambient.size() > 100) {
      std::sort(c.ambient.begin(), c.ambient.end());
      const auto swing = c.ambient[c.ambient.size() * 95 / 100] - c.ambient[c.ambient.size() / 20];
      CHECK(swing >= 80);  // the pit cycles: 8 degrees or more from the 5th to the 95th percentile
    }
    // Low-and-slow (brisket, shoulder: 203 °F or 95 °C) stall for hours near 65-75 °C.
    if (c.target == 2030 || c.target == 950) {
      ++slow_cooks;
      if (c.in_stall_band * 2 >= 2 * 3600) ++stalls;
    }
  }
  CHECK(slow_cooks >= 1);
  CHECK(stalls == slow_cooks);
}
