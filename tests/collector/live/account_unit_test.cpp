// The account's temperature unit and the base station's settings, end to
// end: the real `thermomaven run` against thermomaven-sim (real HTTPS, a real
// Mosquitto over mutual TLS, real SQLite) while the user changes the unit
// in the app, and the settings the base reports reaching the database and
// /metrics (issue 10, points 5 and 7).
#include <simdjson.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>

#include "live_sim_support.hpp"

using namespace live_test;
using thermomaven::TemperatureUnit;
namespace storage = thermomaven::storage;

namespace {

constexpr const char* kDeviceSubscribed = "subscribed to device/";
constexpr const char* kUnitChanged = "temperature unit changed from °F to °C";

// The samples of one metric family: the label text between the braces -> value.
std::map<std::string, double> samples(const std::string& metrics, const std::string& family) {
  std::map<std::string, double> out;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(family + "{")) continue;
    const auto close = line.rfind('}');
    out[line.substr(family.size() + 1, close - family.size() - 1)] =
        std::stod(line.substr(close + 2));
  }
  return out;
}

// One stored reading: its report's unit and the food temperature.
struct Stored {
  TemperatureUnit unit;
  std::int32_t tenths;
};
using ReadingAt = std::tuple<std::string, int, std::int64_t>;  // device, probe, time

std::map<ReadingAt, Stored> stored_readings(const std::string& db_path) {
  std::map<ReadingAt, Stored> out;
  storage::Database db(db_path, storage::OpenMode::ReadOnly);
  storage::CookReader reader(db);
  for (const auto& cook : reader.list_cooks())
    reader.for_each_reading(cook, [&](const storage::CookReading& r) {
      out[{cook.device_id, cook.probe, r.time_ms}] = {r.unit, *r.values.temperature};
    });
  return out;
}

// What the sim published: (device, probe, serverTime) -> curTemperature.
std::map<ReadingAt, std::int32_t> published_readings(const std::string& file) {
  std::map<ReadingAt, std::int32_t> out;
  std::istringstream lines(read_file(file));
  simdjson::dom::parser parser;
  for (std::string line; std::getline(lines, line);) {
    const simdjson::dom::element payload = parser.parse(line)["payload"];
    std::string_view cmd_type, device;
    if (payload["cmdType"].get(cmd_type) || !cmd_type.ends_with(":status:report") ||
        payload["deviceId"].get(device))
      continue;
    const std::int64_t time = payload["serverTime"];
    for (simdjson::dom::element probe : payload["cmdData"]["probes"].get_array()) {
      std::int64_t temperature;
      std::string_view color;
      if (probe["curTemperature"].get(temperature) || probe["probeColor"].get(color)) continue;
      out[{std::string(device), color[5] - '0', time}] = static_cast<std::int32_t>(temperature);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the unit changed in the app while `thermomaven run` runs") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  auto env = sim_env(sim.info());
  env["THERMOMAVEN_UNIT_REFRESH_MS"] = "1000";
  Collector run(dir.path().string(), env, {"--listen", "127.0.0.1:0"}, "run");
  REQUIRE(run.wait_log(kDeviceSubscribed, 60));
  const std::string base = run.exporter_url();
  REQUIRE_FALSE(base.empty());
  REQUIRE(wait_until([&] { return readings_in(dir.file("collector.db")).size() >= 20; }, 60));

  // Before: °F everywhere, and the account's unit known to the exporter.
  std::string metrics;
  REQUIRE(wait_until(
      [&] {
        metrics = http_get(base + "/metrics").body;
        return metrics.find("thermomaven_account_temperature_unit_info{unit=\"F\"} 1") !=
               std::string::npos;
      },
      30));
  const auto targets_before = samples(metrics, "thermomaven_probe_target_temperature_celsius");
  REQUIRE_FALSE(targets_before.empty());

  // The base station's settings reach /metrics.
  const auto info = samples(metrics, "thermomaven_device_info");
  CHECK(info.size() == 3);
  for (const auto& [labels, value] : info) {
    CHECK_THAT(labels, Catch::Contains("connect_status=\"both\"") &&
                           Catch::Contains("volume=\"high\"") &&
                           Catch::Contains("wifi_configured=\"1\""));
    CHECK(value == 1);
  }
  const auto battery = samples(metrics, "thermomaven_device_battery_status");
  CHECK(battery.size() >= 9);  // normal, low and charging of each of the 3 devices
  int current_statuses = 0;
  for (const auto& [labels, value] : battery) current_statuses += value == 1;
  CHECK(current_statuses == 3);

  // Readings well before the change, then the user switches the app to °C.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const std::int64_t change_asked = now_ms();
  sim.control("unit?to=C");
  REQUIRE(run.wait_log(kUnitChanged, 30));
  const std::int64_t noticed = run.last_log_ms(kUnitChanged);
  REQUIRE(noticed >= change_asked);

  // After: the metrics, always in °C, show the same targets as before (the
  // sim keeps each cook's target; only its unit on the wire changed).
  REQUIRE(wait_until(
      [&] {
        metrics = http_get(base + "/metrics").body;
        return metrics.find("thermomaven_account_temperature_unit_info{unit=\"C\"} 1") !=
               std::string::npos;
      },
      30));
  REQUIRE(wait_until(
      [&] {
        const auto published = published_readings(sim.published_file());
        return std::count_if(published.begin(), published.end(), [&](const auto& p) {
                 return std::get<2>(p.first) > noticed + 2000;
               }) >= 20;
      },
      60));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a few more unit reads
  metrics = http_get(base + "/metrics").body;
  CHECK(metrics.find("thermomaven_account_temperature_unit_info{unit=\"F\"}") == std::string::npos);
  const auto targets_after = samples(metrics, "thermomaven_probe_target_temperature_celsius");
  int same_target = 0;
  for (const auto& [labels, celsius] : targets_before) {
    if (!targets_after.count(labels)) continue;
    INFO(labels);
    CHECK(std::fabs(targets_after.at(labels) - celsius) < 0.06);
    ++same_target;
  }
  CHECK(same_target >= 1);
  CHECK(run.process().stop() == 0);
  // Logged once, though the unit was read again every second.
  CHECK(run.count_lines(kUnitChanged) == 1);
  CHECK(run.count_lines("temperature unit changed") == 1);

  // The database: the account's unit, and every reading in the unit it was
  // received in. Readings made before the change are °F and unchanged;
  // readings received after the logger noticed are °C, as published.
  storage::Database db(dir.file("collector.db"), storage::OpenMode::ReadOnly);
  const auto account = storage::CookReader(db).account_unit();
  REQUIRE(account);
  CHECK(account->unit == TemperatureUnit::Celsius);
  CHECK(account->read_ms >= noticed);
  const auto published = published_readings(sim.published_file());
  int before = 0, after = 0;
  for (const auto& [at, stored] : stored_readings(dir.file("collector.db"))) {
    const std::int64_t time = std::get<2>(at);
    INFO("device " << std::get<0>(at) << " probe " << std::get<1>(at) << " time " << time);
    REQUIRE(published.count(at));
    CHECK(stored.tenths == published.at(at));
    // Reports near either moment may have been on their way: not judged.
    if (time < change_asked - 1500) {
      CHECK(stored.unit == TemperatureUnit::Fahrenheit);
      ++before;
    } else if (time > noticed + 1500) {
      CHECK(stored.unit == TemperatureUnit::Celsius);
      ++after;
    }
  }
  CHECK(before >= 20);
  CHECK(after >= 20);

  // The base station's latest settings are in the database too.
  for (const auto& device : storage::CookReader(db).latest_snapshots()) {
    CHECK(device.connect_status == "both");
    CHECK(device.volume == "high");
    CHECK(device.has_wifi_config == true);
    CHECK((device.battery_status == "normal" || device.battery_status == "low"));
  }
}

TEST_CASE("a saved session is not trusted for the unit: it is read again at start") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  {
    Collector first(dir.path().string(), sim_env(sim.info()));
    REQUIRE(first.wait_log(kDeviceSubscribed, 60));
    CHECK(first.process().stop() == 0);
  }
  // Changed in the app while no logger ran; the saved token still works.
  sim.control("unit?to=C");
  const std::int64_t reads_before = sim.status_number("setting_reads");
  Collector second(dir.path().string(), sim_env(sim.info()));
  REQUIRE(second.wait_log(kUnitChanged, 60));
  CHECK(second.count_lines("reusing the stored session") == 1);
  CHECK(sim.status_number("logins") == 1);  // no second login was needed
  CHECK(sim.status_number("setting_reads") == reads_before + 1);
  REQUIRE(second.wait_log(kDeviceSubscribed, 60));
  REQUIRE(wait_until(
      [&] {
        storage::Database db(dir.file("collector.db"), storage::OpenMode::ReadOnly);
        const auto unit = storage::CookReader(db).account_unit();
        return unit && unit->unit == TemperatureUnit::Celsius;
      },
      30));
  CHECK(second.process().stop() == 0);
}

TEST_CASE("a failed read of the unit is logged, keeps the unit and nothing else stops") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--unit", "C"});
  auto env = sim_env(sim.info());
  env["THERMOMAVEN_UNIT_REFRESH_MS"] = "500";
  Collector collector(dir.path().string(), env);
  REQUIRE(collector.wait_log(kDeviceSubscribed, 60));
  CHECK(collector.count_lines("(temperatures in °C)") == 1);
  REQUIRE(wait_until([&] { return readings_in(dir.file("collector.db")).size() >= 5; }, 60));
  sim.fault("api_5xx", true);
  const bool logged = collector.wait_log("could not read the account's temperature unit", 30);
  sim.fault("api_5xx", false);
  REQUIRE(logged);
  const std::size_t before = readings_in(dir.file("collector.db")).size();
  REQUIRE(
      wait_until([&] { return readings_in(dir.file("collector.db")).size() >= before + 10; }, 60));
  CHECK(collector.process().stop() == 0);
  CHECK(collector.count_lines("keeping °C") >= 1);
  CHECK(collector.count_lines("temperature unit changed") == 0);
  CHECK(collector.count_lines("connection lost") == 0);
  for (const auto& [at, stored] : stored_readings(dir.file("collector.db")))
    CHECK(stored.unit == TemperatureUnit::Celsius);
  storage::Database db(dir.file("collector.db"), storage::OpenMode::ReadOnly);
  const auto account = storage::CookReader(db).account_unit();
  REQUIRE(account);
  CHECK(account->unit == TemperatureUnit::Celsius);
}
