// `thermomaven command` end to end against the simulated devices: commands
// go through app/command/send, receipts come back over MQTT, the devices
// obey or refuse as a station does, and every command is in the audit trail.
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <regex>

#include "live_sim_support.hpp"
#include "thermomaven/storage/command_log.hpp"

using namespace live_test;
using thermomaven::storage::CommandLog;
using thermomaven::storage::CommandRecord;

namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult command(const TempDir& dir, const Sim& sim, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {TM_BINARY,         "command",     "--db",
                                   dir.file("tm.db"), "--state-dir", dir.file("state")};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult result;
  result.exit_code = run(argv, result.output, sim_env(sim.info()));
  return result;
}

std::vector<CommandRecord> audit(const TempDir& dir) {
  thermomaven::storage::Database db(dir.file("tm.db"));
  return CommandLog(db).latest();
}

// The device id in "sent ... to ID ..."
std::string device_of(const std::string& output) {
  std::smatch m;
  REQUIRE(std::regex_search(output, m, std::regex("to ([0-9]+) \"")));
  return m[1];
}

// One published status report of a device: probe1's state, cook and target, and the volume.
struct Published {
  std::string state, cook_uuid, volume;
  std::int64_t target = 0;
};

std::vector<Published> published_since(const Sim& sim, const std::string& device_id,
                                       std::int64_t since_ms) {
  std::vector<Published> out;
  simdjson::dom::parser parser;
  std::istringstream lines(read_file(sim.published_file()));
  std::string line;
  while (std::getline(lines, line)) {
    simdjson::dom::element doc = parser.parse(line);
    if (int64_t(doc["ts"]) < since_ms) continue;
    simdjson::dom::element payload = doc["payload"];
    if (!std::string_view(payload["cmdType"]).ends_with(":status:report")) continue;
    if (std::string_view(payload["deviceId"]) != device_id) continue;
    Published p;
    p.volume = std::string(std::string_view(payload["cmdData"]["volume"]));
    for (simdjson::dom::element probe : payload["cmdData"]["probes"].get_array()) {
      if (std::string_view(probe["probeColor"]) != "probe1") continue;
      p.state = std::string(std::string_view(probe["cookingState"]));
      std::string_view uuid;
      if (!probe["cookUuid"].get(uuid)) p.cook_uuid = std::string(uuid);
      p.target = int64_t(probe["setParams"].at(0)["setTemperature"]);
    }
    out.push_back(p);
  }
  return out;
}

// Waits until `count` reports of the device were published after `since_ms`.
std::vector<Published> next_reports(const Sim& sim, const std::string& device_id,
                                    std::int64_t since_ms, std::size_t count) {
  std::vector<Published> reports;
  wait_until(
      [&] {
        reports = published_since(sim, device_id, since_ms);
        return reports.size() >= count;
      },
      10);
  REQUIRE(reports.size() >= count);
  return reports;
}

}  // namespace

TEST_CASE(
    "set-target: confirmed by the receipt, the next reports carry it, the audit row says so") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--no-offline"});  // account unit F
  // 90 °C is 194.0 °F, which no simulated food starts with.
  const CommandResult sent =
      command(dir, sim, {"--device", "kitchen GRILL", "--probe", "1", "set-target", "90C"});
  INFO(sent.output);
  CHECK(sent.exit_code == 0);
  CHECK(sent.output.find("sent set-target 194.0F") != std::string::npos);
  CHECK(sent.output.find("done: the device confirmed set-target 194.0F") != std::string::npos);
  const std::string device_id = device_of(sent.output);
  const std::int64_t after = now_ms();
  for (const Published& report : next_reports(sim, device_id, after, 3))
    CHECK(report.target == 1940);

  const auto rows = audit(dir);
  REQUIRE(rows.size() == 1);
  const CommandRecord& row = rows[0];
  CHECK(row.who == sim.info().email);
  CHECK(row.device_id == device_id);
  CHECK(row.probe == 1);
  CHECK(row.cmd_type == "WT09:cooking:action");
  CHECK(std::regex_match(row.cmd_id, std::regex("[0-9a-f]{32}")));
  CHECK(row.what == "set-target 194.0F");
  CHECK(row.result == "success");
  CHECK(row.cmd_error == 0);
  REQUIRE(row.receipt_ms.has_value());
  CHECK(*row.receipt_ms >= row.sent_ms);
  CHECK(row.sent_ms <= after);
}

TEST_CASE("refused, silent no-op, finish, volume and unknown devices against one fleet") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--no-offline", "--unit", "C"});

  SECTION("impossible changes get cmdError 4: exit 1 and a failure row") {
    // WT11 ("Offset smoker") has one probe; 400 °C is past any probe's range.
    const CommandResult no_probe =
        command(dir, sim, {"--device", "Offset smoker", "--probe", "3", "set-target", "70"});
    CHECK(no_probe.exit_code == 1);
    CHECK(no_probe.output.find("refused by the device: executeResult failure, cmdError 4") !=
          std::string::npos);
    const CommandResult too_hot =
        command(dir, sim, {"--device", "Kitchen grill", "--probe", "1", "set-target", "400C"});
    CHECK(too_hot.exit_code == 1);
    const auto rows = audit(dir);
    REQUIRE(rows.size() == 2);
    for (const CommandRecord& row : rows) {
      CHECK(row.result == "failure");
      CHECK(row.cmd_error == 4);
    }
    CHECK(rows[0].what == "set-target 70.0C");  // the account's unit, C here
    CHECK(rows[1].what == "set-target 400.0C");
  }

  SECTION("stop while the probe is in the food is acknowledged and ignored; finish ends the cook") {
    const CommandResult stop =
        command(dir, sim, {"--device", "Kitchen grill", "--probe", "1", "stop"});
    INFO(stop.output);
    CHECK(stop.exit_code == 4);
    CHECK(stop.output.find("the device did nothing: probe 1 is still cooking") !=
          std::string::npos);
    const std::string device_id = device_of(stop.output);
    const std::int64_t after_stop = now_ms();
    const auto still = next_reports(sim, device_id, after_stop, 2);
    CHECK(still.back().state == "cooking");

    const CommandResult finish =
        command(dir, sim, {"--device", device_id, "--probe", "1", "finish"});
    INFO(finish.output);
    CHECK(finish.exit_code == 0);
    CHECK(finish.output.find("done: the cook of probe 1 ended") != std::string::npos);
    for (const Published& report : next_reports(sim, device_id, now_ms(), 2))
      CHECK(report.state == "charged");

    const auto rows = audit(dir);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].result == "no_effect");
    CHECK(rows[0].what == "stop cook " + still.back().cook_uuid);
    CHECK(rows[1].result == "success");
  }

  SECTION("volume is a device setting: confirmed, and the reports show it") {
    const CommandResult quiet = command(dir, sim, {"--device", "Kamado", "volume", "quiet"});
    INFO(quiet.output);
    CHECK(quiet.exit_code == 0);
    const std::string device_id = device_of(quiet.output);
    for (const Published& report : next_reports(sim, device_id, now_ms(), 2))
      CHECK(report.volume == "quiet");
    const auto rows = audit(dir);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].cmd_type == "WT02:setting:modify");
    CHECK(!rows[0].probe.has_value());
    const CommandResult list = command(dir, sim, {"--list"});
    CHECK(list.exit_code == 0);
    CHECK(list.output.find(device_id + "  -  volume quiet  success (cmdError 0)") !=
          std::string::npos);
  }

  SECTION("an unknown device is a clear error naming the account's devices; nothing is sent") {
    const CommandResult unknown =
        command(dir, sim, {"--device", "Garage smoker", "--probe", "1", "stop"});
    CHECK(unknown.exit_code == 2);
    CHECK(unknown.output.find("no device 'Garage smoker' on this account; its devices: ") !=
          std::string::npos);
    CHECK(unknown.output.find("\"Kitchen grill\" (WT09)") != std::string::npos);
    CHECK(audit(dir).empty());
  }
}

TEST_CASE("no receipt within --timeout: exit 3 and a no_receipt row") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--no-offline"});
  sim.fault("drop_receipts", true);
  const CommandResult lost = command(
      dir, sim,
      {"--device", "Kitchen grill", "--probe", "1", "--timeout", "2", "set-target", "190F"});
  CHECK(lost.exit_code == 3);
  CHECK(lost.output.find("no receipt within 2 s") != std::string::npos);
  const auto rows = audit(dir);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].result == "no_receipt");
  CHECK(!rows[0].receipt_ms.has_value());
}

TEST_CASE("bad command lines get a one-line reason and exit 2 before anything connects") {
  using tm_test::thermomaven;
  CHECK(thermomaven({"command", "--device", "x", "set-target", "90C"})
            .err.find("set-target needs --probe N (1 to 4)") != std::string::npos);
  CHECK(thermomaven({"command", "--device", "x", "--probe", "1", "set-target", "hot"})
            .err.find("set-target needs a temperature like 93.5C, 203F or 203, not 'hot'") !=
        std::string::npos);
  CHECK(thermomaven({"command", "--device", "x", "volume", "loud"})
            .err.find("volume must be high, medium or quiet, not 'loud'") != std::string::npos);
  CHECK(thermomaven({"command", "--device", "x", "--probe", "5", "stop"})
            .err.find("--probe must be a whole number from 1 to 4, not '5'") != std::string::npos);
  CHECK(thermomaven({"command", "--probe", "1", "stop"}).exit_code == 2);
  CHECK(thermomaven({"command", "--device", "x", "--probe", "1", "boil"})
            .err.find("unknown command 'boil'") != std::string::npos);
}
