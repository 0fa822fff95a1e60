#include <SQLiteCpp/SQLiteCpp.h>
#include <simdjson.h>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using tm_test::thermomaven;

namespace {

const std::string kSample = tm_test::data_file("sample-capture.jsonl");

std::string report_line(const std::string& cook, long long time_ms, int temperature,
                        const std::string& notes = "") {
  return R"({"cmdType":"WT09:status:report","deviceId":"199","serverTime":)" +
         std::to_string(time_ms) + R"(,"cmdData":{"probes":[{"probeColor":"probe1","cookUuid":")" +
         cook + R"(","curTemperature":)" + std::to_string(temperature) +
         R"(,"setParams":[{"setTemperature":1650}])" +
         (notes.empty() ? "" : R"(,"probeNotes":)" + notes) + "}]}}";
}

}  // namespace

TEST_CASE(
    "import stores the sample capture and prints a summary; a second import stores nothing new") {
  tm_test::TempDir dir;
  const std::string db = dir.file("t.db");
  const auto first = thermomaven({"import", "--db", db, kSample});
  CHECK(first.exit_code == 0);
  CHECK_THAT(first.err,
             Catch::Contains("723 lines") && Catch::Contains("device_list 1") &&
                 Catch::Contains("status_report 722") && Catch::Contains("1420 readings stored") &&
                 Catch::Contains("0 duplicates skipped") && Catch::Contains("0 lines rejected"));
  const auto second = thermomaven({"import", "--db", db, kSample});
  CHECK(second.exit_code == 0);
  CHECK_THAT(second.err,
             Catch::Contains("0 readings stored") && Catch::Contains("1420 duplicates skipped"));
}

TEST_CASE("cooks --json lists the sample's cooks newest first, as expected") {
  tm_test::TempDir dir;
  const std::string db = dir.file("t.db");
  REQUIRE(thermomaven({"import", "--db", db, kSample}).exit_code == 0);
  const auto listed = thermomaven({"cooks", "--db", db, "--json"});
  REQUIRE(listed.exit_code == 0);

  simdjson::dom::parser parser, expected_parser;
  simdjson::dom::array got = parser.parse(listed.out).get_array();
  simdjson::dom::element expected =
      expected_parser.load(tm_test::data_file("sample-capture.expected.json"));
  REQUIRE(got.size() == simdjson::dom::array(expected["cooks"]).size());
  std::string previous_started_at = "9999";
  for (simdjson::dom::element cook : got) {
    const std::string_view uuid = cook["cook_uuid"];
    CHECK(std::string(std::string_view(cook["started_at"])) <=
          previous_started_at);  // newest first
    previous_started_at = std::string(std::string_view(cook["started_at"]));
    bool found = false;
    for (simdjson::dom::element want : expected["cooks"].get_array()) {
      if (std::string_view(want["cook_uuid"]) != uuid) continue;
      found = true;
      INFO(uuid);
      for (const char* field : {"device_id", "device_name", "model", "started_at", "ended_at"})
        CHECK(std::string_view(cook[field]) == std::string_view(want[field]));
      CHECK(int64_t(cook["probe"]) == int64_t(want["probe"]));
      CHECK(int64_t(cook["readings"]) == int64_t(want["readings"]));
      CHECK(double(cook["max_temperature_c"]) ==
            Approx(double(want["max_temperature_c"])).margin(0.001));
      CHECK(double(cook["target_temperature_c"]) ==
            Approx(double(want["target_temperature_c"])).margin(0.001));
      CHECK(cook["notes"].is_null() == want["notes"].is_null());
      if (!want["notes"].is_null())
        CHECK(std::string_view(cook["notes"]) == std::string_view(want["notes"]));
    }
    CHECK(found);
  }

  const auto table = thermomaven({"cooks", "--db", db});
  CHECK(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::Contains("Offset smoker") &&
                            Catch::Contains("Pork, shoulder; \"butt\"") &&
                            Catch::Contains("1902316d9841aab4ccec38d79d89a0da"));
}

TEST_CASE("import reads standard input, reports each bad line with its number, and goes on") {
  tm_test::TempDir dir;
  const std::string db = dir.file("t.db");
  const std::string input = report_line("c1", 1000, 400) + "\n" +
                            report_line("c1", 2000, 410).substr(0, 60) + "\n" +  // truncated
                            "\n" +                                               // empty
                            "[1,2]\n" +                                          // not an object
                            R"({"cmdData":{}})"
                            "\n" +  // no cmdType
                            R"({"cmdType":"WT09:status:report","deviceId":"1","cmdData":7})"
                            "\n" +
                            std::string(2 << 20, ' ') + "x\n" +   // over 1 MiB
                            report_line("c1", 500, -184) + "\n";  // late, sub-zero
  const auto result = thermomaven({"import", "--db", db, "-"}, input);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.err, Catch::Contains("<stdin>:2: rejected (not_json)"));
  CHECK_THAT(result.err, Catch::Contains("<stdin>:4: rejected (not_object)"));
  CHECK_THAT(result.err, Catch::Contains("<stdin>:5: rejected (no_cmdtype)"));
  CHECK_THAT(result.err, Catch::Contains("<stdin>:6: rejected (bad_cmddata)"));
  CHECK_THAT(result.err, Catch::Contains("<stdin>:7: rejected (too_large)"));
  CHECK_THAT(result.err, Catch::Contains("8 lines") && Catch::Contains("2 readings stored") &&
                             Catch::Contains("5 lines rejected") &&
                             Catch::Contains("1 blank lines skipped"));
  const auto csv = thermomaven({"export", "--db", db, "--cook", "c1"});
  CHECK(csv.exit_code == 0);
  CHECK_THAT(
      csv.out,
      Catch::StartsWith("timestamp,elapsed_s,device_id,device_name,probe,state,target,temperature,"
                        "t1,t2,t3,t4,t5,ambient,remaining_s,probe_battery"));
  CHECK(csv.out.find("-18.4") < csv.out.find("40.0"));  // the late reading is first in time

  SECTION("--strict turns a rejected line into exit status 1, after storing the good ones") {
    tm_test::TempDir other;
    const auto strict = thermomaven({"import", "--strict", "--db", other.file("s.db"), "-"}, input);
    CHECK(strict.exit_code == 1);
    CHECK(thermomaven({"export", "--db", other.file("s.db"), "--cook", "c1"}).exit_code == 0);
  }
}

TEST_CASE("import fails with status 2 and a reason when it cannot read or store") {
  tm_test::TempDir dir;
  const auto missing = thermomaven({"import", "--db", dir.file("t.db"), dir.file("nope.jsonl")});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("cannot open") && Catch::Contains("nope.jsonl"));

  const auto bad_db = thermomaven({"import", "--db", dir.path().string(), kSample});  // a directory
  CHECK(bad_db.exit_code == 2);
  CHECK_THAT(bad_db.err, Catch::Contains("error"));

  tm_test::write_file(dir.file("corrupt.db"), std::string(4096, 'z'));
  const auto corrupt = thermomaven({"import", "--db", dir.file("corrupt.db"), kSample});
  CHECK(corrupt.exit_code == 2);
  CHECK_THAT(corrupt.err, Catch::Contains("not a database"));
  CHECK(tm_test::read_file(dir.file("corrupt.db")) == std::string(4096, 'z'));

  const auto usage =
      thermomaven({"import", "--db", dir.file("t.db"), "--source-unit", "K", kSample});
  CHECK(usage.exit_code == 2);
  CHECK_THAT(usage.err, Catch::Contains("--source-unit must be F or C"));
}

TEST_CASE("--source-unit C stores tenths as Celsius") {
  tm_test::TempDir dir;
  const std::string db = dir.file("t.db");
  REQUIRE(thermomaven({"import", "--db", db, "--source-unit", "C", "-"},
                      report_line("c", 1000, 950) + "\n")
              .exit_code == 0);
  const auto json = thermomaven({"cooks", "--db", db, "--json"});
  CHECK_THAT(json.out, Catch::Contains(R"("max_temperature_c": 95.0)") &&
                           Catch::Contains(R"("target_temperature_c": 165.0)"));
  const auto fahrenheit = thermomaven({"export", "--db", db, "--cook", "latest", "--unit", "F"});
  CHECK_THAT(fahrenheit.out, Catch::Contains(",203.0,"));
}

TEST_CASE("export writes a file, converts units, and refuses an unknown cook with status 1") {
  tm_test::TempDir dir;
  const std::string db = dir.file("t.db");
  REQUIRE(thermomaven({"import", "--db", db, kSample}).exit_code == 0);
  const auto to_file =
      thermomaven({"export", "--db", db, "--cook", "4c0251908fcdce4b314f68d9dcbd7a08", "-o",
                   dir.file("brisket.csv")});
  CHECK(to_file.exit_code == 0);
  const std::string csv = tm_test::read_file(dir.file("brisket.csv"));
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 361);  // header + 360 readings
  CHECK_THAT(csv, Catch::Contains("Offset smoker,1,cooking,203.0,38.0,"));
  const auto celsius = thermomaven(
      {"export", "--db", db, "--cook", "4c0251908fcdce4b314f68d9dcbd7a08", "--unit", "C"});
  CHECK_THAT(celsius.out, Catch::Contains("Offset smoker,1,cooking,95.0,3.3,"));

  const auto unknown = thermomaven({"export", "--db", db, "--cook", "ffff"});
  CHECK(unknown.exit_code == 1);
  CHECK_THAT(unknown.err, Catch::Contains("no cook ffff"));
  CHECK(unknown.out.empty());
}

TEST_CASE("Notes with formula starts, quotes, newlines and emoji come out intact in JSON") {
  tm_test::TempDir dir;
  const std::string db = dir.file("t.db");
  const std::string line = report_line("c", 1000, 400, R"j("=HYPERLINK(\"x\"), 🍖\nnext")j");
  REQUIRE(thermomaven({"import", "--db", db, "-"}, line + "\n").exit_code == 0);
  const auto json = thermomaven({"cooks", "--db", db, "--json"});
  CHECK_THAT(json.out, Catch::Contains(R"j("notes": "=HYPERLINK(\"x\"), 🍖\nnext")j"));
}

TEST_CASE("A large import reports every bad line once, in line order, and stores every good one") {
  // Enough lines to cross many of the import's chunks and parser threads.
  tm_test::TempDir dir;
  std::string input;
  std::vector<int> bad;
  for (int i = 1; i <= 3000; ++i) {
    if (i % 97 == 0) {
      input += "{broken\n";
      bad.push_back(i);
    } else if (i == 1500) {
      input += std::string((1 << 20) + 10, 'x') + "\n";
      bad.push_back(i);
    } else {
      input += report_line("big", 1000LL * i, 400 + i % 50) + "\n";
    }
  }
  const auto result = thermomaven({"import", "--db", dir.file("t.db"), "-"}, input);
  CHECK(result.exit_code == 0);
  std::vector<int> reported;
  std::size_t at = 0;
  while ((at = result.err.find("<stdin>:", at)) != std::string::npos) {
    at += 8;
    reported.push_back(std::stoi(result.err.substr(at)));
  }
  CHECK(reported == bad);
  const std::string stored = std::to_string(3000 - bad.size()) + " readings stored";
  CHECK_THAT(result.err, Catch::Contains("3000 lines") && Catch::Contains(stored) &&
                             Catch::Contains(std::to_string(bad.size()) + " lines rejected"));
}

TEST_CASE("Every command explains itself with --help, and an unknown command or option is exit 2") {
  for (const std::string command : {"import", "cooks", "export", "collect", "run", "serve"}) {
    const auto help = thermomaven({command, "--help"});
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Catch::StartsWith("usage: thermomaven " + command));
  }
  CHECK(thermomaven({"--help"}).exit_code == 0);
  CHECK(thermomaven({"frobnicate"}).exit_code == 2);
  const auto unknown = thermomaven({"cooks", "--db", "x.db", "--colour"});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("unknown option --colour"));
}
