// Storage of what issue 10 added: the base station's latest settings, who
// started a cook and its stages, the account's unit, readings that keep the
// unit they arrived in, the cook end rule, and the migration of a version-3
// database that must keep everything.
#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>

#include "report_builder.hpp"
#include "test_support.hpp"
#include "thermomaven/storage/cook_reader.hpp"
#include "thermomaven/storage/database.hpp"
#include "thermomaven/storage/reading_writer.hpp"
#include "writer_fixture.hpp"

using namespace thermomaven;
using namespace thermomaven::storage;
using tm_test::cooking_probe;
using tm_test::docked_probe;
using tm_test::report;

namespace {

using Fixture = tm_test::WriterFixture;

StatusReport with_base(StatusReport r, const std::string& battery, const std::string& connect,
                       const std::string& volume, std::optional<bool> wifi) {
  r.battery_status = battery;
  r.connect_status = connect;
  r.volume = volume;
  r.has_wifi_config = wifi;
  return r;
}

}  // namespace

TEST_CASE_METHOD(Fixture, "The base station's latest settings are kept per device") {
  writer.write(
      with_base(report("dev", 1000, {cooking_probe(1, "a", 400)}), "normal", "both", "high", true));
  DeviceSnapshot d = device("dev");
  CHECK(d.battery_status == "normal");
  CHECK(d.connect_status == "both");
  CHECK(d.volume == "high");
  CHECK(d.has_wifi_config == true);

  SECTION("a newer report replaces them; a field it lacks keeps its last value") {
    writer.write(with_base(report("dev", 2000, {cooking_probe(1, "a", 410)}), "low", "", "quiet",
                           std::nullopt));
    d = device("dev");
    CHECK(d.battery_status == "low");
    CHECK(d.connect_status == "both");
    CHECK(d.volume == "quiet");
    CHECK(d.has_wifi_config == true);
  }
  SECTION("a late report from before does not overwrite them") {
    writer.write(with_base(report("dev", 500, {cooking_probe(1, "a", 390)}), "charging", "ble",
                           "medium", false));
    d = device("dev");
    CHECK(d.battery_status == "normal");
    CHECK(d.volume == "high");
    CHECK(d.has_wifi_config == true);
  }
  SECTION("they survive a new writer (read back from the database)") {
    writer.commit();
    ReadingWriter second(db);
    second.write(
        with_base(report("dev", 3000, {cooking_probe(1, "a", 420)}), "", "wifi", "", std::nullopt));
    second.commit();
    d = device("dev");
    CHECK(d.battery_status == "normal");
    CHECK(d.connect_status == "wifi");
    CHECK(d.volume == "high");
  }
  SECTION("a device that never said them has none") {
    writer.write(report("quiet-one", 1000, {cooking_probe(1, "b", 400)}));
    const DeviceSnapshot q = device("quiet-one");
    CHECK(q.battery_status.empty());
    CHECK(q.volume.empty());
    CHECK_FALSE(q.has_wifi_config.has_value());
  }
}

TEST_CASE_METHOD(Fixture, "A cook keeps who started it and its latest stages") {
  ProbeSample p = cooking_probe(1, "staged", 400);
  p.start_client = "ios";
  p.set_params_json = R"([{"setTemperature":2030},{"setTemperature":1500}])";
  writer.write(report("dev", 1000, {p}));
  CookSession c = cook("staged");
  CHECK(c.start_client == "ios");
  CHECK(c.set_params == R"([{"setTemperature":2030},{"setTemperature":1500}])");

  SECTION("a later report without them keeps them; a newer one with them replaces them") {
    writer.write(report("dev", 2000, {cooking_probe(1, "staged", 410)}));
    CHECK(cook("staged").start_client == "ios");
    p.set_params_json = R"([{"setTemperature":1500}])";
    writer.write(report("dev", 3000, {p}));
    CHECK(cook("staged").set_params == R"([{"setTemperature":1500}])");
  }
  SECTION("an older report does not replace them") {
    p.start_client = "device";
    writer.write(report("dev", 500, {p}));
    CHECK(cook("staged").start_client == "ios");
  }
}

TEST_CASE_METHOD(Fixture, "The account's unit is kept; readings keep the unit they came in") {
  CHECK_FALSE(reader.account_unit().has_value());
  auto in_f = report("dev", 1000, {cooking_probe(1, "cook", 1400)});
  writer.write(in_f);
  writer.write_account_unit(TemperatureUnit::Fahrenheit, 900);
  writer.commit();
  REQUIRE(reader.account_unit());
  CHECK(reader.account_unit()->unit == TemperatureUnit::Fahrenheit);
  CHECK(reader.account_unit()->read_ms == 900);

  // The user switches to °C; the next report is in tenths of °C.
  writer.write_account_unit(TemperatureUnit::Celsius, 1500);
  auto in_c = report("dev", 2000, {cooking_probe(1, "cook", 610)});
  in_c.unit = TemperatureUnit::Celsius;
  writer.write(in_c);
  writer.commit();
  CHECK(reader.account_unit()->unit == TemperatureUnit::Celsius);
  CHECK(reader.latest_state().account_unit->unit == TemperatureUnit::Celsius);

  std::vector<std::pair<TemperatureUnit, std::int32_t>> readings;
  const CookSession c = cook("cook");
  reader.for_each_reading(
      c, [&](const CookReading& r) { readings.emplace_back(r.unit, *r.values.temperature); });
  REQUIRE(readings.size() == 2);
  CHECK(readings[0] == std::pair(TemperatureUnit::Fahrenheit, 1400));  // unchanged
  CHECK(readings[1] == std::pair(TemperatureUnit::Celsius, 610));
  // The cook's figures stay in the unit it started in: 61.0 °C is 141.8 °F.
  CHECK(c.unit == TemperatureUnit::Fahrenheit);
  CHECK(c.max_tenths == 1418);
  CHECK(reader.latest_snapshots().front().unit == TemperatureUnit::Celsius);

  SECTION("a probe added to a report stored in the other unit is converted to it") {
    auto late = report("dev", 1000, {cooking_probe(2, "other", 610)});
    late.unit = TemperatureUnit::Celsius;
    CHECK(writer.write(late).readings_stored == 1);
    const CookSession o = cook("other");
    std::optional<CookReading> got;
    reader.for_each_reading(o, [&](const CookReading& r) { got = r; });
    REQUIRE(got);
    CHECK(got->unit == TemperatureUnit::Fahrenheit);
    CHECK(got->values.temperature == 1418);
    CHECK(got->values.target == std::lround((2030 / 10.0 * 9 / 5 + 32) * 10));
  }
}

TEST_CASE_METHOD(Fixture, "A cook ends only on charged, a new cookUuid or the gap") {
  writer.write(report("dev", 1000, {cooking_probe(1, "cookA", 400)}));
  // The presumed states of protocol.md end nothing, with or without a reading.
  std::int64_t at = 2000;
  for (const char* state : {"done", "idle", "removed", "resting", "something-new"}) {
    ProbeSample p = cooking_probe(1, "cookA", 450);
    p.state = state;
    writer.write(report("dev", at += 100, {p}));
    ProbeSample stub = docked_probe(1);
    stub.state = state;
    writer.write(report("dev", at += 100, {stub}));
  }
  CookSession c = cook("cookA");
  CHECK_FALSE(c.ended_ms.has_value());
  CHECK(c.end_reason.empty());
  CHECK(c.readings == 6);

  SECTION("charged ends it") {
    writer.write(report("dev", 9000, {docked_probe(1)}));
    CHECK(cook("cookA").end_reason == "docked");
  }
  SECTION("a new cookUuid ends it") {
    writer.write(report("dev", 9000, {cooking_probe(1, "cookB", 400)}));
    CHECK(cook("cookA").end_reason == "replaced");
  }
  SECTION("after the gap a reading without a cookUuid no longer joins it") {
    writer.write(report("dev", 9000 + 60'001, {cooking_probe(1, "", 400)}));
    CHECK(cook("cookA").readings == 6);
  }
}

TEST_CASE("A version-3 database is migrated to the latest version and keeps everything") {
  tm_test::TempDir dir;
  const std::string path = dir.file("v3.db");
  std::string blob;
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    apply_migrations_up_to(raw, 3);
    REQUIRE(raw.execAndGet("PRAGMA user_version").getInt() == 3);
    raw.exec(
        "INSERT INTO devices VALUES (1, '199298835195806964', 'Smoker', 'WT09', 'WT5A', 1, 5000)");
    raw.exec("INSERT INTO probe_states VALUES (1, 'cooking')");
    raw.exec(
        "INSERT INTO cooks (id, cook_uuid, device, probe, unit, mode, notes, probe_serial, "
        "first_ms, last_ms, readings, max_tenths, target_tenths, target_ms) VALUES "
        "(1, 'c0ffee', 1, 2, 'F', 'smart', 'Brisket', 'WPTB1', 5000, 5000, 1, 1860, 2030, 5000)");
    raw.exec(
        "INSERT INTO commands (sent_ms, who, device_id, probe, cmd_type, cmd_id, what, result) "
        "VALUES (6000, 'me@example.com', '199298835195806964', 2, 'WT09:cooking:action', 'ab', "
        "'stop', 'success')");
    // The packed probes as version 3 stored them (storage/src/report_codec.cpp,
    // layout version 1): °F, online, base battery 80 %, probe 2 in state 1
    // ("cooking") at 186.0 with a target of 203.0.
    blob = std::string("\x01\x0e\xa0\x01\x01\x02\x01\x81\x01\x88\x1d\xdc\x1f", 13);
    SQLite::Statement insert(raw, "INSERT INTO reports VALUES (1, 5000, ?)");
    insert.bind(1, blob.data(), static_cast<int>(blob.size()));
    insert.exec();
  }

  Database db(path);
  CHECK(db.schema_version() == Database::latest_schema_version());  // 4 and every later one
  CHECK(db.sql().execAndGet("SELECT name FROM schema_migrations WHERE version = 4").getString() ==
        "004_base_settings_and_unit");
  CookReader reader(db);
  const auto c = reader.find_cook("c0ffee");
  REQUIRE(c);
  CHECK(c->device_name == "Smoker");
  CHECK(c->notes == "Brisket");
  CHECK(c->max_tenths == 1860);
  CHECK(c->target_tenths == 2030);
  CHECK(c->readings == 1);
  CHECK(c->start_client.empty());
  CHECK(c->set_params.empty());
  std::vector<std::int32_t> temperatures;
  reader.for_each_reading(*c, [&](const CookReading& r) {
    temperatures.push_back(*r.values.temperature);
    CHECK(r.state == "cooking");
  });
  CHECK(temperatures == std::vector<std::int32_t>{1860});
  CHECK(db.sql().execAndGet("SELECT count(*) FROM commands").getInt() == 1);
  CHECK(db.sql().execAndGet("SELECT serial FROM devices").getString() == "WT5A");
  CHECK_FALSE(reader.account_unit().has_value());
  const auto snapshot = reader.latest_snapshots();
  REQUIRE(snapshot.size() == 1);
  CHECK(snapshot[0].battery_status.empty());
  CHECK(snapshot[0].report_ms == 5000);

  // And the migrated database takes the new fields.
  ReadingWriter writer(db);
  auto next = report("199298835195806964", 7000, {cooking_probe(2, "c0ffee", 1900)});
  next.volume = "quiet";
  next.probes[0].start_client = "device";
  writer.write(next);
  writer.write_account_unit(TemperatureUnit::Fahrenheit, 7000);
  writer.commit();
  CHECK(reader.find_cook("c0ffee")->readings == 2);
  CHECK(reader.find_cook("c0ffee")->start_client == "device");
  CHECK(reader.latest_snapshots()[0].volume == "quiet");
  CHECK(reader.account_unit()->unit == TemperatureUnit::Fahrenheit);
}
