#include "thermomaven/exporter/cook_export.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>

#include "test_support.hpp"
#include "thermomaven/core/forecast.hpp"
#include "thermomaven/core/time.hpp"
#include "thermomaven/storage/reading_writer.hpp"

using namespace thermomaven;
using namespace thermomaven::storage;

namespace {

// RFC 4180 reader: the test's independent view of what a spreadsheet sees.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string cell;
  bool quoted = false, in_quotes = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
        cell += text[++i];
      else if (c == '"')
        in_quotes = false;
      else
        cell += c;
    } else if (c == '"' && cell.empty() && !quoted) {
      in_quotes = quoted = true;
    } else if (c == ',') {
      rows.back().push_back(cell);
      cell.clear();
      quoted = false;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      rows.back().push_back(cell);
      cell.clear();
      quoted = false;
      rows.emplace_back();
      ++i;
    } else {
      REQUIRE(c != '\n');  // bare newlines only inside quotes
      cell += c;
    }
  }
  REQUIRE(cell.empty());
  rows.pop_back();  // after the last CRLF
  return rows;
}

ProbeSample probe(std::int32_t temperature) {
  ProbeSample p;
  p.probe = 2;
  p.state = "cooking";
  p.cook_uuid = "cook";
  p.temperature = temperature;
  p.zones = {temperature, temperature + 1, std::nullopt, temperature + 3, temperature + 4};
  p.ambient = 2450;
  p.target = 2030;
  p.elapsed_s = 90;
  p.remaining_s = 600;
  p.battery_pct = 88;
  return p;
}

struct CookFixture {
  tm_test::TempDir dir;
  Database db{dir.file("t.db")};
  CookReader reader{db};

  CookFixture(const std::string& device_name, const std::string& notes = "") {
    ReadingWriter writer(db);
    writer.write(DeviceInfo{"=1+2", device_name, "WT09", "", {}});
    for (std::int64_t t : {3000, 1000, 2000}) {
      StatusReport r;
      r.device_id = "=1+2";
      r.time_ms = 1777779659000 + t;
      r.probes = {probe(static_cast<std::int32_t>(300 + t / 100))};
      if (!notes.empty()) {
        r.probes[0].notes = notes;
        r.probes[0].has_notes = true;
      }
      writer.write(r);
    }
    StatusReport cold;
    cold.device_id = "=1+2";
    cold.time_ms = 1777779659000 + 4000;
    cold.probes = {probe(-184)};
    cold.probes[0].remaining_s.reset();
    writer.write(cold);
  }

  std::vector<std::vector<std::string>> csv(std::optional<TemperatureUnit> unit = std::nullopt) {
    std::ostringstream out;
    exporter::write_cook_csv(reader, *reader.find_cook("cook"), unit, out);
    return parse_csv(out.str());
  }
};

}  // namespace

TEST_CASE("A cook's CSV has the contract's columns first and one row per reading in time order") {
  CookFixture f("Kitchen grill");
  const auto rows = f.csv();
  REQUIRE(rows.size() == 5);
  const std::vector<std::string> header = {
      "timestamp", "elapsed_s",   "device_id",   "device_name",  "probe", "state",
      "target",    "temperature", "t1",          "t2",           "t3",    "t4",
      "t5",        "ambient",     "remaining_s", "probe_battery"};
  CHECK(std::vector<std::string>(rows[0].begin(), rows[0].begin() + header.size()) == header);
  CHECK(rows[1][0] == "2026-05-03T03:41:00.000Z");
  CHECK(rows[2][0] == "2026-05-03T03:41:01.000Z");
  CHECK(rows[3][0] == "2026-05-03T03:41:02.000Z");
  const auto& first = rows[1];
  CHECK(first[1] == "90");
  CHECK(first[4] == "2");
  CHECK(first[5] == "cooking");
  CHECK(first[6] == "203.0");  // recorded unit (°F) by default
  CHECK(first[7] == "31.0");
  CHECK(first[8] == "31.0");
  CHECK(first[9] == "31.1");
  CHECK(first[10].empty());  // absent, not zero
  CHECK(first[13] == "245.0");
  CHECK(first[14] == "600");
  CHECK(first[15] == "88");
  for (const auto& row : rows) CHECK(row.size() == rows[0].size());
}

TEST_CASE("Temperatures convert to the chosen unit with one decimal, sub-zero included") {
  CookFixture f("Grill");
  const auto celsius = f.csv(TemperatureUnit::Celsius);
  CHECK(celsius[1][6] == "95.0");   // 203.0 °F
  CHECK(celsius[1][7] == "-0.6");   // 31.0 °F
  CHECK(celsius[4][7] == "-28.0");  // -18.4 °F
  CHECK(celsius[4][14].empty());
  const auto fahrenheit = f.csv(TemperatureUnit::Fahrenheit);
  CHECK(fahrenheit[4][7] == "-18.4");
}

TEST_CASE("Names with commas, quotes, newlines and emoji survive; formulas are neutralised") {
  const std::string name = "Pork, \"butt\"\nline two \xF0\x9F\x8D\x96";
  CookFixture f(name);
  const auto rows = f.csv();
  CHECK(rows[1][3] == name);
  CHECK(rows[1][2] == "'=1+2");  // would run as a formula in a spreadsheet
  SECTION("every formula start is neutralised") {
    for (const std::string start : {"=", "+", "-", "@", "\t", "\r"}) {
      CookFixture g(start + "cmd|' /C calc'!A0");
      CHECK(g.csv()[1][3] == "'" + start + "cmd|' /C calc'!A0");
    }
  }
}

TEST_CASE("The cooks JSON's timestamps are ISO 8601 UTC with milliseconds") {
  // The formatting itself (negative times, edges) is core's, tested in tests/core.
  CookFixture f("Grill");
  const std::string json = exporter::cooks_json(f.reader.list_cooks(), 0, 0);
  CHECK_THAT(json, Catch::Contains(R"("started_at": "2026-05-03T03:41:00.000Z")"));
}

TEST_CASE("The cooks JSON escapes text and writes null for what is unknown") {
  CookFixture f("Tab\there \"quoted\" \\ \xF0\x9F\x94\xA5", "Brisket\nnight");
  const std::string json = exporter::cooks_json(f.reader.list_cooks(), 0, 0);
  CHECK_THAT(json, Catch::Contains(R"("device_name": "Tab\there \"quoted\" \\ )"
                                   "\xF0\x9F\x94\xA5\""));
  CHECK_THAT(json, Catch::Contains(R"("notes": "Brisket\nnight")"));
  CHECK_THAT(json, Catch::Contains(R"("max_temperature_c": 0.556)"));  // 33.0 °F
  CHECK_THAT(json, Catch::Contains(R"("started_at": "2026-05-03T03:41:00.000Z")"));
  CookFixture unnamed("");
  CHECK_THAT(exporter::cooks_json(unnamed.reader.list_cooks(), 0, 0),
             Catch::Contains(R"("notes": null)"));
  CHECK(exporter::cooks_json({}, 0, 0) == "[]\n");
}

TEST_CASE("The CSV's two trailing columns are the forecast from the readings up to each row") {
  tm_test::TempDir dir;
  Database db{dir.file("t.db")};
  CookReader reader{db};
  constexpr std::int64_t kStart = 1777779659000;
  std::vector<std::int32_t> foods;
  {
    ReadingWriter writer(db);
    for (int step = 0; step < 1200; ++step) {  // 2 s apart: 40 minutes
      StatusReport r;
      r.device_id = "d1";
      r.time_ms = kStart + step * 2000;
      ProbeSample p = probe(static_cast<std::int32_t>(
          2500 - 2100 * std::exp(-step * 2.0 / (4 * 3600.0))));  // °F tenths, pit 250 °F
      p.ambient = 2500;
      r.probes = {p};
      foods.push_back(*p.temperature);
      writer.write(r);
    }
  }
  std::ostringstream out;
  exporter::write_cook_csv(reader, *reader.find_cook("cook"), std::nullopt, out);
  const auto rows = parse_csv(out.str());
  REQUIRE(rows.size() == 1201);
  const std::size_t n = rows[0].size();
  CHECK(rows[0][n - 2] == "predicted_done_at");
  CHECK(rows[0][n - 1] == "prediction_confidence");
  CHECK(rows[0][n - 3] == "unit");  // the existing columns are unchanged, the new ones trail

  forecast::ProbeForecaster replay;
  int with_estimate = 0;
  for (std::size_t i = 0; i < foods.size(); ++i) {
    const forecast::Forecast f = replay.update({kStart + static_cast<std::int64_t>(i) * 2000,
                                                foods[i], 2500, 2030, TemperatureUnit::Fahrenheit});
    const auto& row = rows[i + 1];
    REQUIRE(row.size() == n);
    if (!f.predicted_done_ms) {
      CHECK(row[n - 2].empty());
      CHECK(row[n - 1].empty());
      continue;
    }
    ++with_estimate;
    CHECK(row[n - 2] == format_utc(*f.predicted_done_ms, UtcStyle::Millis));
    CHECK(std::abs(std::stod(row[n - 1]) - *f.confidence) <= 0.005);
  }
  // Nothing before 10 minutes of readings, then an estimate on every row.
  CHECK(rows[1][n - 2].empty());
  CHECK(with_estimate > 800);
}

TEST_CASE("A cook that spans a change of the account's unit converts each row from its own unit") {
  tm_test::TempDir dir;
  Database db{dir.file("t.db")};
  {
    ReadingWriter writer(db);
    // Two reports in °F, then the account switches to °C mid-cook.
    const std::pair<std::int32_t, TemperatureUnit> readings[] = {
        {1850, TemperatureUnit::Fahrenheit},  // 185.0 °F = 85.0 °C
        {1868, TemperatureUnit::Fahrenheit},  // 186.8 °F = 86.0 °C
        {870, TemperatureUnit::Celsius},      // 87.0 °C = 188.6 °F
        {880, TemperatureUnit::Celsius}};     // 88.0 °C = 190.4 °F
    std::int64_t at = 1777779659000;
    for (const auto& [tenths, unit] : readings) {
      StatusReport r;
      r.device_id = "dev";
      r.time_ms = at += 2000;
      r.unit = unit;
      r.probes = {probe(tenths)};
      r.probes[0].target = unit == TemperatureUnit::Fahrenheit ? 2030 : 950;  // 203 °F = 95 °C
      writer.write(r);
    }
    writer.commit();
  }
  CookReader reader{db};
  auto csv = [&](TemperatureUnit unit) {
    std::ostringstream out;
    exporter::write_cook_csv(reader, *reader.find_cook("cook"), unit, out);
    return parse_csv(out.str());
  };
  const auto celsius = csv(TemperatureUnit::Celsius);
  REQUIRE(celsius.size() == 5);
  const char* const expected_c[] = {"85.0", "86.0", "87.0", "88.0"};
  const char* const expected_f[] = {"185.0", "186.8", "188.6", "190.4"};
  const auto fahrenheit = csv(TemperatureUnit::Fahrenheit);
  for (int i = 0; i < 4; ++i) {
    INFO("row " << i + 1);
    CHECK(celsius[i + 1][7] == expected_c[i]);
    CHECK(celsius[i + 1][6] == "95.0");
    CHECK(celsius[i + 1][16] == "C");
    CHECK(fahrenheit[i + 1][7] == expected_f[i]);
    CHECK(fahrenheit[i + 1][6] == "203.0");
    CHECK(fahrenheit[i + 1][16] == "F");
  }
}
