// `thermomaven command` end to end against the simulated devices: commands
// go through app/command/send, receipts come back over MQTT, the devices
// obey or refuse as a station does, and every command is in the audit trail.
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <functional>
#include <regex>
#include <thread>

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

// One published status report of a device: one probe's state, cook and target, and the volume.
struct Published {
  std::string state, cook_uuid, start_client, volume;
  std::int64_t target = 0;
};

std::vector<Published> published_since(const Sim& sim, const std::string& device_id,
                                       std::int64_t since_ms, int probe_number = 1) {
  std::vector<Published> out;
  simdjson::dom::parser parser;
  std::istringstream lines(read_file(sim.published_file()));
  std::string line;
  const std::string color = "probe" + std::to_string(probe_number);
  while (std::getline(lines, line)) {
    simdjson::dom::element doc = parser.parse(line);
    if (int64_t(doc["ts"]) < since_ms) continue;
    simdjson::dom::element payload = doc["payload"];
    if (!std::string_view(payload["cmdType"]).ends_with(":status:report")) continue;
    if (std::string_view(payload["deviceId"]) != device_id) continue;
    Published p;
    p.volume = std::string(std::string_view(payload["cmdData"]["volume"]));
    for (simdjson::dom::element probe : payload["cmdData"]["probes"].get_array()) {
      if (std::string_view(probe["probeColor"]) != color) continue;
      p.state = std::string(std::string_view(probe["cookingState"]));
      std::string_view text;
      if (!probe["cookUuid"].get(text)) p.cook_uuid = std::string(text);
      if (!probe["startClient"].get(text)) p.start_client = std::string(text);
      p.target = int64_t(probe["setParams"].at(0)["setTemperature"]);
    }
    out.push_back(p);
  }
  return out;
}

// Waits until `count` reports of the device were published after `since_ms`.
std::vector<Published> next_reports(const Sim& sim, const std::string& device_id,
                                    std::int64_t since_ms, std::size_t count,
                                    int probe_number = 1) {
  std::vector<Published> reports;
  wait_until(
      [&] {
        reports = published_since(sim, device_id, since_ms, probe_number);
        return reports.size() >= count;
      },
      30);
  REQUIRE(reports.size() >= count);
  return reports;
}

// Whether the sim published a device:cmd:receipt after `since_ms`.
bool receipt_published(const Sim& sim, std::int64_t since_ms) {
  simdjson::dom::parser parser;
  std::istringstream lines(read_file(sim.published_file()));
  std::string line;
  while (std::getline(lines, line)) {
    simdjson::dom::element doc = parser.parse(line);
    if (int64_t(doc["ts"]) >= since_ms &&
        std::string_view(doc["payload"]["cmdType"]) == "device:cmd:receipt")
      return true;
  }
  return false;
}

// Runs a command on another thread; once its receipt is out, `then` runs
// (e.g. the probe is taken out of the food while the command watches).
CommandResult command_then(const TempDir& dir, Sim& sim, const std::vector<std::string>& args,
                           const std::function<void()>& then) {
  const std::int64_t since = now_ms();
  CommandResult result;
  std::thread running([&] { result = command(dir, sim, args); });
  const bool receipt = wait_until([&] { return receipt_published(sim, since); }, 60);
  if (receipt) then();
  running.join();
  REQUIRE(receipt);
  return result;
}

std::string probe_control(const std::string& where, const std::string& device_id, int probe) {
  return "probe/" + where + "?device=" + device_id + "&probe=" + std::to_string(probe);
}

}  // namespace

TEST_CASE("set-target on a running cook changes it; on a docked probe it starts a new cook") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--no-offline"});  // account unit F
  // 90 °C is 194.0 °F, which no simulated food starts with.
  const std::int64_t before = now_ms();
  const CommandResult sent =
      command(dir, sim, {"--device", "kitchen GRILL", "--probe", "1", "set-target", "90C"});
  INFO(sent.output);
  CHECK(sent.exit_code == 0);
  CHECK(sent.output.find("sent set-target 194.0F") != std::string::npos);
  CHECK(sent.output.find("done: the device confirmed set-target 194.0F") != std::string::npos);
  const std::string device_id = device_of(sent.output);
  const std::string running_uuid = published_since(sim, device_id, before).front().cook_uuid;
  REQUIRE(running_uuid.size() == 32);
  const std::int64_t after = now_ms();
  // The same cook (its uuid), the new target: the sim refuses any other shape.
  for (const Published& report : next_reports(sim, device_id, after, 3)) {
    CHECK(report.target == 1940);
    CHECK(report.cook_uuid == running_uuid);
  }

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

  // Probe 2 in its charger: set-target starts a cook with a fresh uuid.
  sim.control(probe_control("dock", device_id, 2));
  next_reports(sim, device_id, now_ms(), 1, 2);
  const CommandResult started =
      command(dir, sim, {"--device", device_id, "--probe", "2", "set-target", "160"});
  INFO(started.output);
  CHECK(started.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(started.output, m, std::regex("new cook ([0-9a-f]{32})")));
  const std::string new_uuid = m[1];
  CHECK(new_uuid != running_uuid);
  for (const Published& report : next_reports(sim, device_id, now_ms(), 2, 2)) {
    CHECK(report.state == "cooking");
    CHECK(report.cook_uuid == new_uuid);
    CHECK(report.start_client == "android");
    CHECK(report.target == 1600);
  }
}

TEST_CASE("stop and finish: acknowledged, and the reports say whether the cook ended") {
  TempDir dir;
  // Reports every 2 s: the test takes the probe out while the command watches.
  Sim sim(dir.file("sim"), {"--no-offline", "--interval-ms", "2000"});
  // A cook on probe 2, started by us, for finish; probe 1 runs from the start.
  const CommandResult first =
      command(dir, sim, {"--device", "Kitchen grill", "--probe", "1", "set-target", "200"});
  REQUIRE(first.exit_code == 0);
  const std::string device_id = device_of(first.output);
  sim.control(probe_control("dock", device_id, 2));
  REQUIRE(
      command(dir, sim, {"--device", device_id, "--probe", "2", "set-target", "150"}).exit_code ==
      0);

  for (const auto& [verb, probe] : {std::pair{std::string("stop"), 1}, {"finish", 2}}) {
    INFO(verb);
    const std::string probe_text = std::to_string(probe);
    // In the food: acknowledged, and nothing happens.
    const CommandResult ignored =
        command(dir, sim, {"--device", device_id, "--probe", probe_text, verb});
    INFO(ignored.output);
    CHECK(ignored.exit_code == 4);
    CHECK(ignored.output.find("acknowledged, but probe " + probe_text +
                              " is still cooking after 3 reports") != std::string::npos);
    CHECK(ignored.output.find("take it out of the food or put it back in its charger") !=
          std::string::npos);
    CHECK(ignored.output.find("use finish") == std::string::npos);
    CHECK(next_reports(sim, device_id, now_ms(), 1, probe).back().state == "cooking");

    // Taken out of the food while the command watches: the cook ends.
    const CommandResult ended = command_then(
        dir, sim, {"--device", device_id, "--probe", probe_text, "--timeout", "30", verb},
        [&] { sim.control(probe_control("out", device_id, probe)); });
    INFO(ended.output);
    CHECK(ended.exit_code == 0);
    CHECK(ended.output.find("done: the cook of probe " + probe_text + " ended") !=
          std::string::npos);
    const Published after = next_reports(sim, device_id, now_ms(), 1, probe).back();
    CHECK(after.state != "cooking");
    CHECK(after.cook_uuid.empty());

    // No running cook any more: refused before sending, exit 2.
    const CommandResult nothing =
        command(dir, sim, {"--device", device_id, "--probe", probe_text, verb});
    CHECK(nothing.exit_code == 2);
    CHECK(nothing.output.find("has no running cook") != std::string::npos);
  }
  const auto rows = audit(dir);
  REQUIRE(rows.size() == 6);  // two set-targets, then per verb: no_effect and success
  CHECK(rows[2].result == "no_effect");
  CHECK(rows[3].result == "success");
  CHECK(rows[4].result == "no_effect");
  CHECK(rows[4].what.starts_with("finish cook "));
  CHECK(rows[5].result == "success");
}

TEST_CASE("refusals, rest, volume, unknown devices and silent devices against one fleet") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--no-offline", "--unit", "C"});

  SECTION("what the device cannot do gets cmdError 4: exit 1 and a failure row") {
    const CommandResult too_hot =
        command(dir, sim, {"--device", "Kitchen grill", "--probe", "1", "set-target", "400C"});
    INFO(too_hot.output);
    CHECK(too_hot.exit_code == 1);
    CHECK(too_hot.output.find(
              "refused by the device: executeResult failure, cmdError 4 (not applicable)") !=
          std::string::npos);
    // A cook we started has one stage, so no rest target: rest is not applicable.
    const std::string device_id = device_of(too_hot.output);
    sim.control(probe_control("dock", device_id, 3));
    next_reports(sim, device_id, now_ms(), 1, 3);
    REQUIRE(
        command(dir, sim, {"--device", device_id, "--probe", "3", "set-target", "70"}).exit_code ==
        0);
    const CommandResult rest = command(dir, sim, {"--device", device_id, "--probe", "3", "rest"});
    INFO(rest.output);
    CHECK(rest.exit_code == 1);
    CHECK(rest.output.find("cmdError 4") != std::string::npos);
    const auto rows = audit(dir);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].result == "failure");
    CHECK(rows[0].cmd_error == 4);
    CHECK(rows[0].what == "set-target 400.0C");  // the account's unit, C here
    CHECK(rows[2].result == "failure");
    CHECK(rows[2].what.starts_with("rest cook "));
  }

  SECTION("a probe the reports do not show, or one in its charger: exit 2, nothing sent") {
    // WT11 ("Offset smoker") has one probe.
    const CommandResult no_probe =
        command(dir, sim, {"--device", "Offset smoker", "--probe", "3", "set-target", "70"});
    CHECK(no_probe.exit_code == 2);
    CHECK(no_probe.output.find("no report from this probe yet") != std::string::npos);
    const CommandResult first =
        command(dir, sim, {"--device", "Kitchen grill", "--probe", "1", "set-target", "90"});
    REQUIRE(first.exit_code == 0);
    const std::string device_id = device_of(first.output);
    sim.control(probe_control("dock", device_id, 4));
    next_reports(sim, device_id, now_ms(), 1, 4);
    const CommandResult docked = command(dir, sim, {"--device", device_id, "--probe", "4", "stop"});
    CHECK(docked.exit_code == 2);
    CHECK(docked.output.find("probe 4 of " + device_id +
                             " has no running cook (it is in its charger)") != std::string::npos);
    CHECK(audit(dir).size() == 1);  // only the set-target
  }

  SECTION("stop with no report before the timeout: acknowledged but unverified, exit 5") {
    const CommandResult first =
        command(dir, sim, {"--device", "Kitchen grill", "--probe", "1", "set-target", "90"});
    REQUIRE(first.exit_code == 0);
    sim.control("devices/pause");  // the cloud still has each device's last report
    const CommandResult unverified =
        command(dir, sim, {"--device", "Kitchen grill", "--probe", "1", "--timeout", "3", "stop"});
    INFO(unverified.output);
    CHECK(unverified.exit_code == 5);
    CHECK(unverified.output.find("acknowledged, but no report within 3 s showed the cook of "
                                 "probe 1 ended") != std::string::npos);
    const auto rows = audit(dir);
    REQUIRE(rows.size() == 2);
    CHECK(rows[1].result == "unverified");
    sim.control("devices/resume");
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
  CHECK(thermomaven({"command", "--device", "x", "rest"}).err.find("rest needs --probe N") !=
        std::string::npos);
  CHECK(thermomaven({"command", "--device", "x", "--probe", "1", "set-target", "hot"})
            .err.find("set-target needs a temperature like 93.5C, 203F or 203, not 'hot'") !=
        std::string::npos);
  CHECK(thermomaven({"command", "--device", "x", "volume", "loud"})
            .err.find("volume must be high, medium or quiet, not 'loud'") != std::string::npos);
  CHECK(thermomaven({"command", "--device", "x", "--probe", "5", "stop"})
            .err.find("--probe must be a whole number from 1 to 4, not '5'") != std::string::npos);
  CHECK(thermomaven({"command", "--probe", "1", "stop"}).exit_code == 2);
  CHECK(thermomaven({"command", "--device", "x", "--probe", "1", "boil"})
            .err.find("unknown command 'boil': set-target TEMP, stop, finish, rest or volume") !=
        std::string::npos);
}
