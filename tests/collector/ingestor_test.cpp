#include "thermomaven/collector/ingestor.hpp"

#include <simdjson.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <memory>

#include "test_support.hpp"
#include "thermomaven/collector/capture_reader.hpp"
#include "thermomaven/storage/cook_reader.hpp"

using namespace thermomaven;
using namespace thermomaven::collector;
using namespace thermomaven::client;

namespace {

void import_file(Ingestor& ingestor, const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  REQUIRE(file);
  CaptureReader reader(file.get());
  std::string_view line;
  std::size_t capacity;
  ParseError error;
  while (reader.next(line, capacity) == CaptureReader::Status::Line)
    ingestor.ingest_line(line, capacity, 1, error);
}

}  // namespace

TEST_CASE("The sample capture yields exactly the cooks it is known to hold") {
  tm_test::TempDir dir;
  storage::Database db(dir.file("t.db"));
  storage::ReadingWriter writer(db);
  Ingestor ingestor(writer);
  import_file(ingestor, tm_test::data_file("sample-capture.jsonl"));
  writer.commit();

  simdjson::dom::parser json;
  simdjson::dom::element expected = json.load(tm_test::data_file("sample-capture.expected.json"));
  CHECK(ingestor.stats().lines == std::uint64_t(expected["lines"]));
  CHECK(ingestor.stats().rejected_total() == 0);
  CHECK(ingestor.stats().messages.at(MessageKind::StatusReport) == 722);
  CHECK(ingestor.stats().messages.at(MessageKind::DeviceList) == 1);

  storage::CookReader reader(db);
  std::uint64_t total_readings = 0;
  std::size_t cooks = 0;
  for (simdjson::dom::element want : expected["cooks"].get_array()) {
    ++cooks;
    const std::string uuid{std::string_view(want["cook_uuid"])};
    INFO(uuid);
    const auto got = reader.find_cook(uuid);
    REQUIRE(got);
    CHECK(got->device_id == std::string_view(want["device_id"]));
    CHECK(got->device_name == std::string_view(want["device_name"]));
    CHECK(got->model == std::string_view(want["model"]));
    CHECK(got->probe == int64_t(want["probe"]));
    CHECK(got->readings == int64_t(want["readings"]));
    CHECK(got->max_tenths == int64_t(want["max_tenths_f"]));
    CHECK(got->target_tenths == int64_t(want["target_tenths_f"]));
    CHECK(got->first_ms == int64_t(want["first_ms"]));
    CHECK(got->last_ms == int64_t(want["last_ms"]));
    CHECK(got->end_reason == "docked");
    if (want["notes"].is_null())
      CHECK_FALSE(got->notes);
    else
      CHECK(got->notes == std::string(std::string_view(want["notes"])));
    CHECK(std::fabs(to_celsius(*got->max_tenths, got->unit) - double(want["max_temperature_c"])) <
          0.001);
    total_readings += static_cast<std::uint64_t>(int64_t(want["readings"]));
  }
  CHECK(reader.list_cooks().size() == cooks);
  CHECK(ingestor.stats().readings_stored == total_readings);

  SECTION("importing it again stores nothing new") {
    storage::ReadingWriter again_writer(db);
    Ingestor again(again_writer);
    import_file(again, tm_test::data_file("sample-capture.jsonl"));
    again_writer.commit();
    CHECK(again.stats().readings_stored == 0);
    CHECK(again.stats().readings_duplicate == total_readings);
    for (const auto& c : reader.list_cooks())
      CHECK(c.readings == reader.find_cook(c.cook_uuid)->readings);
  }
}

TEST_CASE(
    "A device list's lastStatusCmd is stored like a report, and is a duplicate when already seen") {
  tm_test::TempDir dir;
  storage::Database db(dir.file("t.db"));
  storage::ReadingWriter writer(db);
  Ingestor ingestor(writer);
  const std::string report =
      R"({"cmdType":"WT11:status:report","deviceId":"796","serverTime":1000,"cmdData":{"probes":[{"probeColor":"probe1","cookUuid":"c","curTemperature":500}]}})";
  const std::string list =
      R"({"cmdType":"user:device:list","cmdData":{"devices":[{"deviceId":"796","deviceName":"Smoker","deviceModel":"WT11","lastStatusCmd":)" +
      report + "}]}}";
  ParseError error;
  REQUIRE(ingestor.ingest_payload("device/WT11/796/pub", report, 1, error));
  REQUIRE(ingestor.ingest_payload("app/user/1/sub", list, 2, error));
  writer.commit();
  CHECK(ingestor.stats().readings_stored == 1);
  CHECK(ingestor.stats().readings_duplicate == 1);
  storage::CookReader reader(db);
  CHECK(reader.find_cook("c")->device_name == "Smoker");
}

TEST_CASE("Rejected input is counted by reason, blank lines are skipped") {
  tm_test::TempDir dir;
  storage::Database db(dir.file("t.db"));
  storage::ReadingWriter writer(db);
  Ingestor ingestor(writer);
  ParseError error;
  for (std::string line : {"", "   ", "{", "[]", "{}"}) {
    line.resize(line.size() + parser_padding());
    ingestor.ingest_line(std::string_view(line.data(), line.size() - parser_padding()), line.size(),
                         1, error);
  }
  CHECK(ingestor.stats().lines == 5);
  CHECK(ingestor.stats().blank_lines == 2);
  CHECK(ingestor.stats().rejected.at(RejectReason::NotJson) == 1);
  CHECK(ingestor.stats().rejected.at(RejectReason::NotObject) == 1);
  CHECK(ingestor.stats().rejected.at(RejectReason::NoCmdType) == 1);
  CHECK(ingestor.stats().rejected_total() == 3);
}
