// The wire facts of protocol.md, through the real `thermomaven collect`
// against thermomaven-sim (real HTTPS, real Mosquitto over mutual TLS, real
// SQLite): the region list, token errors with HTTP 401, the seconds-only
// times, a numeric deviceId, at most 8 topic filters per SUBSCRIBE, and the
// REST device-list calls that trigger user:device:list.
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <set>

#include "live_sim_support.hpp"

using namespace live_test;

namespace {

constexpr const char* kDeviceSubscribed = "subscribed to device/";

std::set<std::string> stored_devices(const std::string& db) {
  std::set<std::string> out;
  for (const auto& r : readings_in(db)) out.insert(std::get<0>(r));
  return out;
}

// The deviceIds of the first user:device:list the sim published, as text,
// and the one that went out as a JSON number.
struct ListedIds {
  std::set<std::string> all;
  std::string numeric;
};

ListedIds listed_ids(const std::string& published) {
  ListedIds ids;
  std::istringstream in(read_file(published));
  simdjson::dom::parser parser;
  for (std::string line; std::getline(in, line);) {
    const simdjson::dom::element payload = parser.parse(line)["payload"];
    std::string_view type;
    if (payload["cmdType"].get(type) || type != "user:device:list") continue;
    for (simdjson::dom::element d : payload["cmdData"]["devices"].get_array()) {
      std::uint64_t number;
      std::string_view text;
      if (!d["deviceId"].get(number)) {
        ids.numeric = std::to_string(number);
        ids.all.insert(ids.numeric);
      } else if (!d["deviceId"].get(text)) {
        ids.all.emplace(text);
      }
    }
    break;
  }
  return ids;
}

}  // namespace

TEST_CASE("a region code outside protocol.md's 30 is refused at start, before any request") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--devices", "1"});
  for (const char* code : {"GB", "GR", "EU"}) {
    auto env = sim_env(sim.info());
    env["THERMOMAVEN_REGION"] = code;
    Collector collector(dir.path().string(), env);
    CHECK(collector.process().wait_exit(30) == 2);
    INFO(collector.log());
    CHECK(collector.count_lines(std::string("unknown region '") + code + "'") == 1);
    // Every valid code, with its two servers.
    CHECK(collector.count_lines(
              "US NZ CA AU (https://api.iot.thermomaven.com, MQTT "
              "a2ubmaqm3a642j-ats.iot.us-west-2.amazonaws.com); UK DE FR DK FI IS NO CH SE ZA AT "
              "BE BG CZ HU IE IT LU NL PL PT RO RS SK ES TR (https://api.iot.thermomaven.de, MQTT "
              "a2ubmaqm3a642j-ats.iot.eu-central-1.amazonaws.com)") == 1);
  }
  CHECK(sim.status_number("rejected") == 0);
  CHECK(sim.status_number("logins") == 0);
  CHECK(sim.status_number("cert_applies") == 0);
}

TEST_CASE("a token error with HTTP 401 while the logger runs: one new login, readings go on") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--devices", "2", "--no-offline"});
  Collector collector(dir.path().string(), sim_env(sim.info()));
  REQUIRE(collector.wait_log(kDeviceSubscribed, 30));
  REQUIRE(wait_until([&] { return sim.status_number("device_list_calls") >= 2; }, 30));
  CHECK(sim.status_number("logins") == 1);
  sim.control("expire-tokens");
  // The next REST call (the device lists after the reconnect) meets the 401.
  sim.control("broker/stop");
  sim.control("broker/start");
  REQUIRE(collector.wait_log("logging in again", 60));
  CHECK_THAT(sim.log(), Catch::Contains("refused with HTTP 401, code 4001"));
  CHECK(collector.count_lines("code 4001: token invalid or expired") >= 1);
  // The line comes before the login request itself: wait for the sim to see it.
  CHECK(wait_until([&] { return sim.status_number("logins") >= 2; }, 30));
  const auto before = readings_in(dir.file("collector.db")).size();
  REQUIRE(
      wait_until([&] { return readings_in(dir.file("collector.db")).size() >= before + 10; }, 60));
  CHECK(sim.status_number("logins") == 2);  // one new login, not one per call
  CHECK(collector.count_lines("login failed") == 0);
  CHECK(collector.count_lines("asking for the device list failed") == 0);
  // One installation, one clientId: the reconnection used the same one.
  CHECK(collector.count_lines("as android-" + sim.info().user_id + "-US-") == 2);
  CHECK(collector.process().stop() == 0);
}

TEST_CASE("envelopes with only the seconds fields: stored at serverTimeSecond") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--devices", "2", "--no-offline"});
  sim.fault("seconds_only_times", true);
  const std::int64_t started = now_ms();
  Collector collector(dir.path().string(), sim_env(sim.info()));
  REQUIRE(collector.wait_log(kDeviceSubscribed, 30));
  REQUIRE(wait_until([&] { return readings_in(dir.file("collector.db")).size() >= 20; }, 60));
  CHECK(collector.process().stop() == 0);
  const std::int64_t stopped = now_ms();
  for (const auto& r : readings_in(dir.file("collector.db"))) {
    const std::int64_t time_ms = std::get<2>(r);
    INFO("reading at " << time_ms);
    CHECK(time_ms % 1000 == 0);  // whole seconds: serverTimeSecond, not the receive time
    CHECK(time_ms >= started - 2000);
    CHECK(time_ms <= stopped);
  }
}

TEST_CASE("a 12-device account with a numeric deviceId: every device stored, 8 filters a packet") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--devices", "12", "--numeric-device-id", "--no-offline"});
  Collector collector(dir.path().string(), sim_env(sim.info()));
  REQUIRE(collector.wait_log("device list: 12 device(s)", 60));
  const std::string db = dir.file("collector.db");
  REQUIRE(wait_until([&] { return stored_devices(db).size() == 12; }, 90));
  INFO(collector.log());
  const ListedIds ids = listed_ids(sim.published_file());
  REQUIRE(ids.all.size() == 12);
  REQUIRE_FALSE(ids.numeric.empty());
  CHECK(stored_devices(db) == ids.all);  // the numeric one stored as its digits
  CHECK(collector.count_lines("following new device topic device/") == 12);
  // No SUBSCRIBE went over the AWS IoT quota, and the list came only because
  // the logger called both REST device lists, each with an empty body.
  CHECK(sim.status_number("oversized_subscribes") == 0);
  CHECK(sim.status_number("device_list_calls") >= 2);
  CHECK(sim.status_number("device_list_bodies") == 0);
  CHECK(collector.count_lines("connection lost") == 0);
  CHECK(collector.process().stop() == 0);
}

TEST_CASE("a failing device-list call is logged and the session goes on") {
  TempDir dir;
  // The list also on subscription, so that the session has its devices anyway.
  Sim sim(dir.file("sim"), {"--devices", "2", "--no-offline", "--list-on-subscribe"});
  Collector collector(dir.path().string(), sim_env(sim.info()));
  REQUIRE(collector.wait_log(kDeviceSubscribed, 30));
  sim.fault("api_5xx", true);
  sim.control("broker/stop");
  sim.control("broker/start");
  REQUIRE(collector.wait_log("asking for the device list failed", 60));
  CHECK(collector.count_lines("HTTP 503") >= 1);
  const auto before = readings_in(dir.file("collector.db")).size();
  REQUIRE(
      wait_until([&] { return readings_in(dir.file("collector.db")).size() >= before + 10; }, 60));
  CHECK(collector.count_lines("connected to ") == 2);  // no reconnection for the failure
  sim.fault("api_5xx", false);
  CHECK(collector.process().stop() == 0);
}
