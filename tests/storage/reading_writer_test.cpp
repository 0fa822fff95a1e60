#include "thermomaven/storage/reading_writer.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "report_builder.hpp"
#include "test_support.hpp"
#include "thermomaven/storage/cook_reader.hpp"
#include "writer_fixture.hpp"

using namespace thermomaven;
using namespace thermomaven::storage;
using tm_test::cooking_probe;
using tm_test::docked_probe;
using tm_test::report;

namespace {

using Fixture = tm_test::WriterFixture;

}  // namespace

TEST_CASE_METHOD(Fixture, "A reading is stored once per device, probe and time") {
  const auto r =
      report("dev", 1000, {cooking_probe(1, "cookA", 400), cooking_probe(2, "cookB", 500)});
  const auto first = writer.write(r);
  CHECK(first.readings_stored == 2);
  CHECK(first.readings_duplicate == 0);

  SECTION("the same report again stores nothing new") {
    const auto again = writer.write(r);
    CHECK(again.readings_stored == 0);
    CHECK(again.readings_duplicate == 2);
    CHECK(cook("cookA").readings == 1);
  }
  SECTION("a second report at the same time adds only the probes the first lacked") {
    const auto more = writer.write(
        report("dev", 1000, {cooking_probe(2, "cookB", 999), cooking_probe(3, "cookC", 600)}));
    CHECK(more.readings_stored == 1);
    CHECK(more.readings_duplicate == 1);
    CHECK(cook("cookC").readings == 1);
    CHECK(cook("cookB").max_tenths == 500);  // the first value at that time is kept
  }
  SECTION("after a commit and a new writer, duplicates are still recognised") {
    writer.commit();
    ReadingWriter other(db);
    CHECK(other.write(r).readings_duplicate == 2);
  }
}

TEST_CASE_METHOD(Fixture,
                 "A cook keeps its first and last reading, count, maximum and latest target") {
  writer.write(report("dev", 3000, {cooking_probe(1, "cookA", 700, 2000)}));
  writer.write(report("dev", 1000, {cooking_probe(1, "cookA", 900, 1900)}));  // late, out of order
  writer.write(report("dev", 2000, {cooking_probe(1, "cookA", 650, 1950)}));
  const CookSession c = cook("cookA");
  CHECK(c.first_ms == 1000);
  CHECK(c.last_ms == 3000);
  CHECK(c.readings == 3);
  CHECK(c.max_tenths == 900);
  CHECK(c.target_tenths == 2000);  // the target of the newest reading, not the last written
  CHECK(reading_times(c) == std::vector<std::int64_t>{1000, 2000, 3000});  // stored in their place
  CHECK(c.device_id == "dev");
  CHECK(c.model == "WT09");
  CHECK(c.mode == "smart");
  CHECK_FALSE(c.ended_ms);
}

TEST_CASE_METHOD(Fixture, "Sub-zero temperatures are stored exactly") {
  auto frozen = cooking_probe(1, "frozen", -184, -50);
  frozen.ambient = -3000;
  writer.write(report("dev", 1000, {frozen}));
  const CookSession c = cook("frozen");
  CHECK(c.max_tenths == -184);
  CHECK(c.target_tenths == -50);
  reader.for_each_reading(c, [&](const CookReading& r) {
    CHECK(r.values.temperature == -184);
    CHECK(r.values.ambient == -3000);
    CHECK(r.values.zones[4] == -184 + 40);
  });
}

TEST_CASE_METHOD(Fixture, "Every stored field comes back as it went in, absent fields absent") {
  auto full = cooking_probe(1, "full", 1860);
  full.total_s = 54000;
  full.elapsed_s = 53990;
  full.remaining_s.reset();
  full.overheat = true;
  full.zones[2].reset();
  auto sparse = thermomaven::ProbeSample{};
  sparse.probe = 2;
  sparse.cook_uuid = "sparse";
  sparse.temperature = 100;
  writer.write(report("dev", 5000, {full, sparse}));
  int seen = 0;
  reader.for_each_reading(cook("full"), [&](const CookReading& r) {
    ++seen;
    CHECK(r.state == "cooking");
    CHECK(r.values.temperature == 1860);
    CHECK(r.values.zones[0] == 1860);
    CHECK_FALSE(r.values.zones[2]);
    CHECK(r.values.zones[4] == 1900);
    CHECK(r.values.ambient == 2360);
    CHECK(r.values.target == 2030);
    CHECK(r.values.elapsed_s == 53990);
    CHECK(r.values.total_s == 54000);
    CHECK_FALSE(r.values.remaining_s);
    CHECK(r.values.battery_pct == 97);
    CHECK(r.values.cooking == true);
    CHECK(r.values.overheat == true);
  });
  reader.for_each_reading(cook("sparse"), [&](const CookReading& r) {
    ++seen;
    CHECK(r.state.empty());
    CHECK(r.values.temperature == 100);
    CHECK_FALSE(r.values.target);
    CHECK_FALSE(r.values.ambient);
    CHECK_FALSE(r.values.cooking);
    CHECK_FALSE(r.values.battery_pct);
  });
  CHECK(seen == 2);
}

TEST_CASE_METHOD(Fixture, "A cook ends when its probe docks") {
  writer.write(report("dev", 1000, {cooking_probe(1, "cookA", 400)}));
  writer.write(report("dev", 2000, {cooking_probe(1, "cookA", 450)}));
  writer.write(report("dev", 3000, {docked_probe(1)}));
  CookSession c = cook("cookA");
  CHECK(c.end_reason == "docked");
  CHECK(c.ended_ms == 3000);
  CHECK(c.last_ms == 2000);

  SECTION("a late copy of a stub from before the last reading does not end the next cook") {
    writer.write(report("dev", 4000, {cooking_probe(1, "cookB", 400)}));
    writer.write(report("dev", 2500, {docked_probe(1)}));
    CHECK_FALSE(cook("cookB").ended_ms);
  }
}

TEST_CASE_METHOD(Fixture, "A new cookUuid on a probe ends the cook before it") {
  writer.write(report("dev", 1000, {cooking_probe(1, "old", 400), cooking_probe(2, "other", 400)}));
  writer.write(report("dev", 2000, {cooking_probe(1, "new", 410), cooking_probe(2, "other", 410)}));
  CHECK(cook("old").end_reason == "replaced");
  CHECK(cook("old").ended_ms == 1000);
  CHECK_FALSE(cook("new").ended_ms);
  CHECK_FALSE(cook("other").ended_ms);  // other probes are not affected

  SECTION("a late reading of the old cook is stored in it without reviving it") {
    writer.write(report("dev", 1500, {cooking_probe(1, "old", 420)}));
    CHECK(cook("old").readings == 2);
    CHECK(cook("old").end_reason == "replaced");
    CHECK_FALSE(cook("new").ended_ms);
  }
}

TEST_CASE_METHOD(Fixture,
                 "A reading without a cookUuid joins the probe's running cook within the gap") {
  writer.write(report("dev", 1000, {cooking_probe(1, "cookA", 400)}));
  writer.write(report("dev", 30'000, {cooking_probe(1, "", 410)}));
  CHECK(cook("cookA").readings == 2);
  CHECK(cook("cookA").last_ms == 30'000);
  SECTION("but not after the gap: it is kept in its report, in no cook") {
    const auto outcome = writer.write(report("dev", 200'000, {cooking_probe(1, "", 420)}));
    CHECK(outcome.readings_stored == 1);
    CHECK(cook("cookA").readings == 2);
  }
}

TEST_CASE_METHOD(Fixture, "Readings recorded in Celsius keep their unit") {
  auto r = report("dev", 1000, {cooking_probe(1, "celsius", 950, 960)});
  r.unit = TemperatureUnit::Celsius;
  writer.write(r);
  const CookSession c = cook("celsius");
  CHECK(c.unit == TemperatureUnit::Celsius);
  CHECK(c.max_tenths == 950);
  reader.for_each_reading(
      c, [&](const CookReading& reading) { CHECK(reading.unit == TemperatureUnit::Celsius); });
}

TEST_CASE_METHOD(Fixture,
                 "Device lists name the devices; reports from unlisted devices are still stored") {
  writer.write(DeviceInfo{"listed", "Offset smoker", "WT11", "WT5A", {"device/WT11/listed/pub"}});
  writer.write(report("listed", 1000, {cooking_probe(1, "a", 400)}));
  writer.write(report("stranger", 1000, {cooking_probe(1, "b", 400)}));
  CHECK(cook("a").device_name == "Offset smoker");
  CHECK(cook("a").model == "WT09");  // what the device's own reports say wins
  CHECK(cook("b").device_name.empty());
  CHECK(cook("b").readings == 1);
}

TEST_CASE_METHOD(Fixture, "Rolling back drops the uncommitted batch and nothing committed") {
  writer.write(report("dev", 1000, {cooking_probe(1, "kept", 400)}));
  writer.commit();
  writer.write(report("dev", 2000, {cooking_probe(1, "kept", 410)}));
  writer.write(report("dev", 2000, {cooking_probe(2, "dropped", 410)}));
  writer.rollback();
  CHECK(cook("kept").readings == 1);
  CHECK_FALSE(reader.find_cook("dropped"));
  SECTION("and the writer goes on afterwards") {
    CHECK(writer.write(report("dev", 2000, {cooking_probe(1, "kept", 410)})).readings_stored == 1);
    CHECK(cook("kept").readings == 2);
  }
}

TEST_CASE_METHOD(Fixture,
                 "A write the database refuses throws StorageError with its kind, and the writer "
                 "works again once the cause is gone") {
  writer.write(report("dev", 1000, {cooking_probe(1, "c", 400)}));
  writer.commit();
  SQLite::Database other(dir.file("t.db"), SQLite::OPEN_READWRITE);
  other.exec("CREATE TRIGGER refuse BEFORE INSERT ON reports BEGIN SELECT RAISE(ABORT, 'no'); END");
  try {
    writer.write(report("dev", 2000, {cooking_probe(1, "c", 410)}));
    FAIL("the refused write did not throw");
  } catch (const StorageError& e) {
    CHECK(e.kind == StorageError::Kind::Other);
    CHECK_THAT(e.what(), Catch::Contains("could not store report"));
  }
  other.exec("DROP TRIGGER refuse");
  // Its statements were reset by the rollback: the same write goes through.
  CHECK(writer.write(report("dev", 2000, {cooking_probe(1, "c", 410)})).readings_stored == 1);
  CHECK(cook("c").readings == 2);
}

TEST_CASE("SQLite's result codes map to the kinds a writer waits out") {
  using Kind = StorageError::Kind;
  CHECK(StorageError::kind_of_sqlite_code(SQLITE_FULL) == Kind::DiskFull);
  CHECK(StorageError::kind_of_sqlite_code(SQLITE_BUSY) == Kind::Locked);
  CHECK(StorageError::kind_of_sqlite_code(SQLITE_IOERR_WRITE) == Kind::Io);
  CHECK(StorageError::kind_of_sqlite_code(SQLITE_READONLY_DBMOVED) == Kind::ReadOnly);
  CHECK(StorageError::kind_of_sqlite_code(SQLITE_NOTADB) == Kind::Corrupt);
  CHECK(StorageError::kind_of_sqlite_code(SQLITE_CONSTRAINT_TRIGGER) == Kind::Other);
  CHECK(std::string(StorageError::kind_name(Kind::DiskFull)) == "disk_full");
  CHECK(std::string(StorageError::kind_name(Kind::Locked)) == "locked");
}

TEST_CASE_METHOD(Fixture, "The collector status is stored and read back") {
  CollectorStatus s;
  s.updated_ms = 42;
  s.pid = 7;
  s.state = "connected";
  s.mqtt_connected = true;
  s.mqtt_reconnects = 3;
  s.cert_expiry_s = 1800000000;
  s.counters.messages.status_report = 10;
  s.counters.readings_stored = 40;
  writer.write(s);
  writer.commit();
  const auto back = reader.collector_status();
  REQUIRE(back);
  CHECK(back->state == "connected");
  CHECK(back->mqtt_connected);
  CHECK(back->mqtt_reconnects == 3);
  CHECK(back->cert_expiry_s == 1800000000);
  CHECK(back->counters == s.counters);
}

TEST_CASE_METHOD(Fixture, "Every collector counter round-trips under its stored name and label") {
  CollectorStatus s;
  s.updated_ms = 42;
  std::int64_t next = 1000;
  for (const CounterField& field : kCounterFields) field.member(s.counters) = next++;
  writer.write(s);
  writer.commit();

  const auto back = reader.collector_status();
  REQUIRE(back);
  for (const CounterField& field : kCounterFields) {
    INFO(counter_group_name(field.group) << " " << field.label);
    CHECK(counter_value(back->counters, field) == counter_value(s.counters, field));
  }
  CHECK(back->counters == s.counters);

  // The rows are the ones an older exporter reads: (name, label) -> value.
  SQLite::Database raw(dir.file("t.db"), SQLite::OPEN_READONLY);
  auto stored = [&](const char* name, const char* label) {
    SQLite::Statement q(raw, "SELECT value FROM collector_counters WHERE name = ? AND label = ?");
    q.bind(1, name);
    q.bind(2, label);
    return q.executeStep() ? q.getColumn(0).getInt64() : -1;
  };
  CHECK(stored("messages", "status_report") == s.counters.messages.status_report);
  CHECK(stored("rejected", "no_cmdtype") == s.counters.rejected.no_cmdtype);
  CHECK(stored("readings_stored", "") == s.counters.readings_stored);
  CHECK(stored("readings_duplicate", "") == s.counters.readings_duplicate);
  CHECK(stored("dropped", "queue_full") == s.counters.dropped.queue_full);
  CHECK(stored("dropped", "storage_error") == s.counters.dropped.storage_error);
  CHECK(stored("logins", "") == s.counters.logins);
  CHECK(stored("cert_applies", "") == s.counters.cert_applies);
  CHECK(stored("connect_failures", "") == s.counters.connect_failures);
  CHECK(stored("subscribe_refused", "") == s.counters.subscribe_refused);
  CHECK(stored("storage_errors", "io_error") == s.counters.storage_errors.io_error);
  CHECK(raw.execAndGet("SELECT count(*) FROM collector_counters").getInt64() ==
        static_cast<std::int64_t>(std::size(kCounterFields)));
}

TEST_CASE_METHOD(Fixture, "Counter rows of another version are read where known and skipped otherwise") {
  CollectorStatus s;
  writer.write(s);
  writer.commit();
  {
    SQLite::Database raw(dir.file("t.db"), SQLite::OPEN_READWRITE);
    raw.exec("DELETE FROM collector_counters");  // an older collector wrote only what it saw
    raw.exec(
        "INSERT INTO collector_counters VALUES ('messages', 'status_report', 5), "
        "('rejected', 'not_json', 2), ('some_future_counter', 'x', 9)");
  }
  const auto back = reader.collector_status();
  REQUIRE(back);
  CollectorCounters expected;
  expected.messages.status_report = 5;
  expected.rejected.not_json = 2;
  CHECK(back->counters == expected);
}
