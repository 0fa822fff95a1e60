#include "thermomaven/storage/cook_reader.hpp"

#include <catch2/catch.hpp>

#include "report_builder.hpp"
#include "test_support.hpp"
#include "thermomaven/storage/reading_writer.hpp"

using namespace thermomaven;
using namespace thermomaven::storage;

TEST_CASE("Cooks are listed newest first and 'latest' finds the newest") {
  tm_test::TempDir dir;
  Database db(dir.file("t.db"));
  {
    ReadingWriter writer(db);
    writer.write(tm_test::report("dev", 5000, {tm_test::cooking_probe(1, "middle", 400)}));
    writer.write(tm_test::report("dev", 1000, {tm_test::cooking_probe(2, "oldest", 400)}));
    writer.write(tm_test::report("dev", 9000, {tm_test::cooking_probe(3, "newest", 400)}));
  }
  CookReader reader(db);
  const auto cooks = reader.list_cooks();
  REQUIRE(cooks.size() == 3);
  CHECK(cooks[0].cook_uuid == "newest");
  CHECK(cooks[1].cook_uuid == "middle");
  CHECK(cooks[2].cook_uuid == "oldest");
  CHECK(reader.find_cook("latest")->cook_uuid == "newest");
  CHECK_FALSE(reader.find_cook("no-such-cook"));
}

TEST_CASE("The latest snapshot of a device is its newest report, with the running cooks") {
  tm_test::TempDir dir;
  Database db(dir.file("t.db"));
  {
    ReadingWriter writer(db);
    writer.write(DeviceInfo{"dev", "Grill", "WT09", "SN", {}});
    writer.write(DeviceInfo{"silent", "Never reported", "WT02", "SN2", {}});
    writer.write(tm_test::report(
        "dev", 1000, {tm_test::cooking_probe(1, "a", 400), tm_test::cooking_probe(2, "b", 400)}));
    writer.write(tm_test::report("dev", 2000,
                                 {tm_test::cooking_probe(1, "a", 450), tm_test::docked_probe(2)}));
  }
  Database readonly(dir.file("t.db"), OpenMode::ReadOnly);
  CookReader reader(readonly);
  const auto snapshots = reader.latest_snapshots();
  REQUIRE(snapshots.size() == 2);
  const DeviceSnapshot& dev = snapshots[0];
  CHECK(dev.device_id == "dev");
  CHECK(dev.name == "Grill");
  CHECK(dev.report_ms == 2000);
  CHECK(dev.online == true);
  CHECK(dev.battery_pct == 80);
  CHECK(dev.wifi_rssi_dbm == -51);
  REQUIRE(dev.probes.size() == 2);
  CHECK(dev.probes[0].values.temperature == 450);
  CHECK(dev.probes[0].values.state == "cooking");
  REQUIRE(dev.probes[0].cook);
  CHECK(dev.probes[0].cook->cook_uuid == "a");
  CHECK(dev.probes[1].values.state == "charged");
  CHECK_FALSE(dev.probes[1].values.temperature);
  CHECK_FALSE(dev.probes[1].cook);  // its cook ended when it docked
  CHECK(snapshots[1].device_id == "silent");
  CHECK(snapshots[1].report_ms == 0);
  CHECK(snapshots[1].probes.empty());
}

TEST_CASE(
    "A reader in another connection sees whole committed batches only, while the writer writes") {
  tm_test::TempDir dir;
  Database writer_db(dir.file("t.db"));
  ReadingWriter writer(writer_db);
  writer.write(tm_test::report("dev", 1000, {tm_test::cooking_probe(1, "a", 400)}));
  writer.commit();
  writer.write(tm_test::report("dev", 2000, {tm_test::cooking_probe(1, "a", 410)}));
  writer.write(
      tm_test::report("dev", 2000, {tm_test::cooking_probe(2, "b", 410)}));  // batch still open

  Database reader_db(dir.file("t.db"), OpenMode::ReadOnly);
  CookReader reader(reader_db);
  const auto cooks = reader.list_cooks();  // does not wait for the writer's transaction
  REQUIRE(cooks.size() == 1);
  CHECK(cooks[0].readings == 1);
  std::size_t readings = 0;
  reader.for_each_reading(cooks[0], [&](const CookReading&) { ++readings; });
  CHECK(readings == 1);
  writer.commit();
  CHECK(reader.list_cooks().size() == 2);
  CHECK(reader.find_cook("a")->readings == 2);
}
