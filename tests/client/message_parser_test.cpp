#include "thermomaven/client/message_parser.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

using namespace thermomaven;
using namespace thermomaven::client;

namespace {

// Parses one capture line the way the importer does, with padding.
struct Parsed {
  bool ok = false;
  Message message;
  ParseError error;
};

Parsed parse_line(const std::string& line, std::int64_t receive_ms = 5,
                  ParserOptions options = {}) {
  MessageParser parser(options);
  std::string buffer = line;
  buffer.resize(line.size() + parser_padding());
  Parsed p;
  p.ok = parser.parse_line(std::string_view(buffer.data(), line.size()), buffer.size(), receive_ms,
                           p.message, p.error);
  return p;
}

const std::string kProbe =
    R"({"deviceSn":"WPTB1","probeColor":"probe2","cookingState":"cooking","cookingMode":"smart",)"
    R"("cookUuid":"c0ffee","startClient":"device","setParams":[{"setTemperature":2030},{"setTemperature":1500}],)"
    R"("curTemperature":1860,"areaTemperature":[1860,1872,1901,1950,2010],"curAmbientTemperature":2450,)"
    R"("temperaturePercentile":[2,0,2,7,1,7,0],"batteryValue":100,"totalCookSec":54000,"curCookSec":53990,)"
    R"("curRemainedSec":11068,"cooking":true,"overheat":false,"probeNotes":"Brisket"})";

std::string envelope(const std::string& data,
                     const std::string& extra = R"(,"serverTime":1777779660160)") {
  return R"({"cmdId":"aa","cmdSeqNo":"4675","cmdType":"WT11:status:report","cmdData":)" + data +
         R"(,"deviceTime":1777779659980,"deviceId":"796272403717381109","deviceType":"thermometer","deviceModel":"WT11")" +
         extra + "}";
}

std::string status(const std::string& probes) {
  return R"({"globalStatus":"online","batteryStatus":"normal","batteryValue":80,"wifiRssi":-65,"probes":[)" +
         probes + "]}";
}

}  // namespace

TEST_CASE("A bare status report envelope becomes a StatusReport with every field") {
  const Parsed p = parse_line(envelope(status(kProbe)));
  REQUIRE(p.ok);
  CHECK(p.message.kind == MessageKind::StatusReport);
  const StatusReport& r = p.message.report;
  CHECK(r.device_id == "796272403717381109");
  CHECK(r.model == "WT11");
  CHECK(r.time_ms == 1777779660160);
  CHECK(r.online == true);
  CHECK(r.battery_pct == 80);
  CHECK(r.wifi_rssi_dbm == -65);
  REQUIRE(r.probes.size() == 1);
  const ProbeSample& probe = r.probes[0];
  CHECK(probe.probe == 2);
  CHECK(probe.state == "cooking");
  CHECK(probe.mode == "smart");
  CHECK(probe.cook_uuid == "c0ffee");
  CHECK(probe.serial == "WPTB1");
  CHECK(probe.notes == "Brisket");
  CHECK(probe.temperature == 1860);
  CHECK(probe.zones[0] == 1860);
  CHECK(probe.zones[4] == 2010);
  CHECK(probe.ambient == 2450);
  CHECK(probe.target == 2030);  // the first stage is the current one
  CHECK(probe.elapsed_s == 53990);
  CHECK(probe.total_s == 54000);
  CHECK(probe.remaining_s == 11068);
  CHECK(probe.battery_pct == 100);
  CHECK(probe.cooking == true);
  CHECK(probe.overheat == false);
}

TEST_CASE(
    "The reading's time is serverTime, else deviceTime, else the wrapper's ts, else receipt") {
  const std::string no_server =
      R"({"cmdType":"WT11:status:report","deviceId":"d","cmdData":)" + status(kProbe);
  CHECK(parse_line(envelope(status(kProbe))).message.report.time_ms == 1777779660160);
  CHECK(parse_line(no_server + R"(,"deviceTime":123456})").message.report.time_ms == 123456);
  CHECK(
      parse_line(R"({"topic":"t","ts":777,"payload":)" + no_server + "}}").message.report.time_ms ==
      777);
  CHECK(parse_line(no_server + "}", 999).message.report.time_ms == 999);
  SECTION("a time of the wrong type is absent, not zero") {
    CHECK(parse_line(no_server + R"(,"serverTime":"soon","deviceTime":4242})")
              .message.report.time_ms == 4242);
  }
}

TEST_CASE("A wrapper's payload may be an object or a string holding the JSON") {
  const std::string body = envelope(status(kProbe));
  std::string quoted;
  for (char c : body) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  for (const std::string& payload : {body, "\"" + quoted + "\""}) {
    const Parsed p = parse_line(R"({"topic":"device/WT11/796272403717381109/pub","payload":)" +
                                payload + R"(,"ts":1})");
    REQUIRE(p.ok);
    CHECK(p.message.topic == "device/WT11/796272403717381109/pub");
    CHECK(p.message.report.probes.at(0).temperature == 1860);
  }
}

TEST_CASE("cmdData before cmdType is still understood") {
  const Parsed p = parse_line(R"({"cmdData":)" + status(kProbe) +
                              R"(,"cmdType":"WT09:status:report","deviceId":"x","serverTime":5})");
  REQUIRE(p.ok);
  CHECK(p.message.report.model == "WT09");
  CHECK(p.message.report.probes.at(0).temperature == 1860);
}

TEST_CASE("A field of the wrong type is treated as absent and the rest is kept") {
  std::string probe = kProbe;
  probe.replace(probe.find("\"curAmbientTemperature\":2450"), 28,
                "\"curAmbientTemperature\":\"hot\"");
  probe.replace(probe.find("\"batteryValue\":100"), 18, "\"batteryValue\":[1]");
  probe.replace(probe.find("\"cooking\":true"), 14, "\"cooking\":\"yes\"");
  probe.replace(probe.find("\"cookUuid\":\"c0ffee\""), 19, "\"cookUuid\":12");
  const Parsed p = parse_line(envelope(status(probe)));
  REQUIRE(p.ok);
  const ProbeSample& s = p.message.report.probes.at(0);
  CHECK_FALSE(s.ambient);
  CHECK_FALSE(s.battery_pct);
  CHECK_FALSE(s.cooking);
  CHECK(s.cook_uuid.empty());
  CHECK(s.temperature == 1860);
  CHECK(s.target == 2030);
}

TEST_CASE("Temperatures below zero, nulls and fractions") {
  const Parsed p = parse_line(envelope(status(
      R"({"probeColor":"probe1","curTemperature":-184,"areaTemperature":[-184,null,-150.4,"x",-100],"curRemainedSec":null})")));
  REQUIRE(p.ok);
  const ProbeSample& s = p.message.report.probes.at(0);
  CHECK(s.temperature == -184);
  CHECK(s.zones[0] == -184);
  CHECK_FALSE(s.zones[1]);
  CHECK(s.zones[2] == -150);
  CHECK_FALSE(s.zones[3]);
  CHECK(s.zones[4] == -100);
  CHECK_FALSE(s.remaining_s);
}

TEST_CASE("A docked probe is a stub without a reading") {
  const Parsed p = parse_line(envelope(status(
      R"({"probeColor":"probe3","cookingState":"charged","cookingMode":"smart","setParams":[{"setTemperature":1650}]})")));
  REQUIRE(p.ok);
  const ProbeSample& s = p.message.report.probes.at(0);
  CHECK(s.is_docked());
  CHECK_FALSE(s.is_reading());
  CHECK(s.probe == 3);
  CHECK(s.target == 1650);
}

TEST_CASE("Names and notes keep commas, quotes, newlines, escapes and emoji") {
  const Parsed p = parse_line(envelope(status(
      R"j({"probeColor":"probe1","curTemperature":1,"probeNotes":"Pork, \"butt\"\n\u00e9 \ud83c\udf56 =SUM(A1)"})j")));
  REQUIRE(p.ok);
  CHECK(p.message.report.probes.at(0).notes ==
        "Pork, \"butt\"\n\xC3\xA9 \xF0\x9F\x8D\x96 =SUM(A1)");
}

TEST_CASE("Bounded: long strings are cut at a character boundary, extra probes dropped") {
  std::string long_note;
  for (int i = 0; i < 200; ++i) long_note += "\xC3\xA9";  // 400 bytes of é
  std::string probes;
  for (int i = 0; i < 20; ++i)
    probes +=
        std::string(i ? "," : "") + R"({"curTemperature":1,"probeNotes":")" + long_note + "\"}";
  const Parsed p = parse_line(envelope(status(probes)));
  REQUIRE(p.ok);
  CHECK(p.message.report.probes.size() == 4);  // positions 1..4; the rest cannot be placed
  const std::string& note = p.message.report.probes[0].notes;
  CHECK(note.size() <= 256);
  CHECK(note.size() % 2 == 0);
}

TEST_CASE("A probe without a probeColor is placed by its position") {
  const Parsed p =
      parse_line(envelope(status(R"({"curTemperature":1},{"curTemperature":2,"probeColor":7})")));
  REQUIRE(p.ok);
  CHECK(p.message.report.probes.at(0).probe == 1);
  CHECK(p.message.report.probes.at(1).probe == 2);
}

TEST_CASE("A device list names devices, their topics and their last status") {
  const std::string line =
      R"({"cmdId":"f","cmdSeqNo":-1,"cmdType":"user:device:list","cmdData":{"devices":[)"
      R"({"deviceId":"796","deviceName":"Offset smoker","deviceModel":"WT11","deviceSn":"WT5A","subTopics":["device/WT11/796/pub"],"lastStatusCmd":)" +
      envelope(status(kProbe), R"(,"serverTime":42)") +
      R"(},{"deviceId":"199","deviceName":"Grill","deviceModel":"WT09","subTopics":"not-a-list","lastStatusCmd":null},)"
      R"({"deviceName":"no id: skipped"}]},"serverTime":1,"deviceId":"3337","deviceType":"user"})";
  const Parsed p = parse_line(line);
  REQUIRE(p.ok);
  CHECK(p.message.kind == MessageKind::DeviceList);
  REQUIRE(p.message.devices.size() == 2);
  CHECK(p.message.devices[0].name == "Offset smoker");
  CHECK(p.message.devices[0].topics == std::vector<std::string>{"device/WT11/796/pub"});
  CHECK(p.message.devices[1].topics.empty());
  REQUIRE(p.message.latest_reports.size() == 1);
  CHECK(p.message.latest_reports[0].time_ms == 42);
  CHECK(p.message.latest_reports[0].probes.at(0).temperature == 1860);
}

TEST_CASE("The seconds fields give the time when the millisecond fields are missing") {
  const std::string data = status(kProbe);
  auto report = [&](const std::string& times) {
    return R"({"cmdId":"aa","cmdSeqNo":"1","cmdType":"WT11:status:report","cmdData":)" + data +
           R"(,"deviceId":"796","deviceModel":"WT11")" + times + "}";
  };
  // protocol.md: serverTime (ms) first, then serverTimeSecond, then the device clock.
  CHECK(parse_line(report(R"(,"serverTimeSecond":1777779660,"deviceTimeSecond":1777779659)"))
            .message.report.time_ms == 1777779660000);
  CHECK(parse_line(report(R"(,"serverTime":1777779660160,"serverTimeSecond":1777779999)"))
            .message.report.time_ms == 1777779660160);
  CHECK(parse_line(report(R"(,"deviceTimeSecond":1777779659)")).message.report.time_ms ==
        1777779659000);
  CHECK(parse_line(report(R"(,"serverTimeSecond":"soon","deviceTime":1777779659980)"))
            .message.report.time_ms == 1777779659980);
  // Nothing usable: the receive time, as before.
  CHECK(parse_line(report(R"(,"serverTimeSecond":-5)"), 77).message.report.time_ms == 77);
}

TEST_CASE("A deviceId that is a JSON number is the same device as its digits") {
  const std::string numeric =
      R"({"cmdId":"aa","cmdSeqNo":"1","cmdType":"WT11:status:report","cmdData":)" + status(kProbe) +
      R"(,"serverTime":1777779660160,"deviceId":796272403717381109,"deviceModel":"WT11"})";
  const Parsed report = parse_line(numeric);
  REQUIRE(report.ok);
  CHECK(report.message.report.device_id == "796272403717381109");

  const std::string list =
      R"({"cmdId":"f","cmdSeqNo":-1,"cmdType":"user:device:list","cmdData":{"devices":[)"
      R"({"deviceId":796272403717381109,"deviceName":"Smoker","deviceModel":"WT11","subTopics":["device/WT11/796272403717381109/pub"],"lastStatusCmd":)" +
      numeric +
      R"(},{"deviceId":-3,"deviceName":"not an id"},{"deviceId":1.5,"deviceName":"nor this"}]}})";
  const Parsed p = parse_line(list);
  REQUIRE(p.ok);
  REQUIRE(p.message.devices.size() == 1);
  CHECK(p.message.devices[0].device_id == "796272403717381109");
  REQUIRE(p.message.latest_reports.size() == 1);
  CHECK(p.message.latest_reports[0].device_id == "796272403717381109");

  const Parsed receipt = parse_line(
      R"({"cmdType":"device:cmd:receipt","deviceId":42,"cmdData":{"cmdId":"abc","cmdError":0}})");
  REQUIRE(receipt.ok);
  CHECK(receipt.message.receipt.device_id == "42");
}

TEST_CASE("Receipts and unknown kinds are accepted and told apart") {
  const Parsed receipt = parse_line(
      R"({"cmdType":"device:cmd:receipt","deviceId":"d","cmdData":{"cmdId":"abc","cmdType":"WT09:cooking:action","executeResult":"failure","errorCode":0,"cmdError":4}})");
  REQUIRE(receipt.ok);
  CHECK(receipt.message.kind == MessageKind::CommandReceipt);
  CHECK(receipt.message.receipt.cmd_id == "abc");
  CHECK(receipt.message.receipt.cmd_error == 4);
  const Parsed unknown = parse_line(R"({"cmdType":"WT09:firmware:news","cmdData":[1,2,3]})");
  REQUIRE(unknown.ok);
  CHECK(unknown.message.kind == MessageKind::Unknown);
  CHECK(unknown.message.cmd_type == "WT09:firmware:news");
}

TEST_CASE("A probe keeps its startClient and setParams as received, for a command") {
  const Parsed p = parse_line(envelope(status(kProbe)));
  REQUIRE(p.ok);
  const ProbeSample& probe = p.message.report.probes.at(0);
  CHECK(probe.start_client == "device");
  CHECK(probe.target == 2030);
  CHECK(probe.set_params_json == R"([{"setTemperature":2030},{"setTemperature":1500}])");
  // A docked stub keeps its mode and setParams; a wrong type is absent, not a crash.
  const Parsed stub = parse_line(envelope(status(
      R"({"probeColor":"probe1","cookingState":"charged","cookingMode":"manual","setParams":[{"setTemperature":-40,"x":{"y":[1]}}]},)"
      R"({"probeColor":"probe2","startClient":7,"setParams":{"setTemperature":1}})")));
  REQUIRE(stub.ok);
  REQUIRE(stub.message.report.probes.size() == 2);
  CHECK(stub.message.report.probes[0].target == -40);
  CHECK(stub.message.report.probes[0].set_params_json ==
        R"([{"setTemperature":-40,"x":{"y":[1]}}])");
  CHECK(stub.message.report.probes[0].start_client.empty());
  CHECK(stub.message.report.probes[1].start_client.empty());
  CHECK(stub.message.report.probes[1].set_params_json.empty());
  CHECK(!stub.message.report.probes[1].target.has_value());
}

TEST_CASE("The target is stage 0's setTemperature, whatever else setParams holds") {
  struct Case {
    std::string set_params;
    std::optional<std::int32_t> target;
  };
  const std::vector<Case> cases = {
      {R"([{"setTemperature":2030}])", 2030},
      {R"([ { "note" : "setTemperature", "x":{"setTemperature":1}, "setTemperature" : -45 } ])",
       -45},
      {R"([{"a":"q\"}\\","setTemperature":1999.6},{"setTemperature":1}])", 2000},
      {R"([{"x":[1,{"setTemperature":5}]},{"setTemperature":1}])", std::nullopt},
      {R"([{"setTemperature":"2030"}])", std::nullopt},
      {R"([{"setTemperature":null}])", std::nullopt},
      {R"([{"setTemperature":99999999999}])", std::nullopt},
      {R"([2030,{"setTemperature":1}])", std::nullopt},
      {R"([])", std::nullopt},
  };
  for (const Case& c : cases) {
    INFO(c.set_params);
    const Parsed p = parse_line(envelope(status(
        R"({"probeColor":"probe1","cookingState":"charged","setParams":)" + c.set_params + "}")));
    REQUIRE(p.ok);
    REQUIRE(p.message.report.probes.size() == 1);
    CHECK(p.message.report.probes[0].target == c.target);
    CHECK(p.message.report.probes[0].set_params_json == c.set_params);
  }
}

TEST_CASE("Receipts: cmdData.cmdId answers the command; a numeric deviceId is its digits") {
  struct Case {
    const char* name;
    std::string line;
    std::string cmd_id, device_id, execute_result;
    std::optional<std::int64_t> cmd_error;
  };
  const std::vector<Case> cases = {
      {"protocol.md's layout: the envelope's own cmdId is a new id",
       R"({"cmdId":"new1","cmdType":"device:cmd:receipt","deviceId":"796","cmdData":{"cmdId":"sent1","cmdType":"WT11:cooking:action","executeResult":"success","errorCode":0,"cmdError":0}})",
       "sent1", "796", "success", 0},
      {"a numeric deviceId",
       R"({"cmdId":"new2","cmdType":"device:cmd:receipt","deviceId":199298835195806964,"cmdData":{"cmdId":"sent2","executeResult":"failure","cmdError":4}})",
       "sent2", "199298835195806964", "failure", 4},
      {"fields at the top level only when cmdData lacks them",
       R"({"cmdId":"sent3","cmdType":"device:cmd:receipt","deviceId":"5","executeResult":"failure","errorCode":1,"cmdError":1})",
       "sent3", "5", "failure", 1},
      {"cmdData without the result: the top-level layout",
       R"({"cmdId":"sent4","cmdType":"device:cmd:receipt","deviceId":"5","cmdData":{},"executeResult":"success","cmdError":0})",
       "sent4", "5", "success", 0},
      {"cmdData wins over top-level fields",
       R"({"cmdId":"new5","cmdType":"device:cmd:receipt","deviceId":"5","executeResult":"failure","cmdError":1,"cmdData":{"cmdId":"sent5","executeResult":"success","cmdError":0}})",
       "sent5", "5", "success", 0},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const Parsed p = parse_line(c.line);
    REQUIRE(p.ok);
    REQUIRE(p.message.kind == MessageKind::CommandReceipt);
    CHECK(p.message.receipt.cmd_id == c.cmd_id);
    CHECK(p.message.receipt.device_id == c.device_id);
    CHECK(p.message.receipt.execute_result == c.execute_result);
    CHECK(p.message.receipt.cmd_error == c.cmd_error);
  }
  const Parsed empty = parse_line(R"({"cmdId":"x","cmdType":"device:cmd:receipt","deviceId":"5"})");
  CHECK(!empty.ok);
  CHECK(empty.error.reason_name() == "bad_cmddata");
}

TEST_CASE("The unit of the raw tenths comes from the options") {
  ParserOptions celsius;
  celsius.unit = TemperatureUnit::Celsius;
  CHECK(parse_line(envelope(status(kProbe)), 1, celsius).message.report.unit ==
        TemperatureUnit::Celsius);
  CHECK(parse_line(envelope(status(kProbe))).message.report.unit == TemperatureUnit::Fahrenheit);
}

TEST_CASE("Lines that cannot be a message are refused with a reason") {
  struct Case {
    std::string line, reason;
  };
  const std::string full = envelope(status(kProbe));
  const std::vector<Case> cases = {
      {"not json at all", "not_json"},
      {full.substr(0, full.size() / 2), "not_json"},  // truncated
      {full.substr(0, full.size() - 1), "not_json"},  // missing the last brace
      {full + " trailing", "not_json"},
      {"[1,2,3]", "not_object"},
      {"42", "not_object"},
      {R"("a string")", "not_object"},
      {R"({"cmdData":{}})", "no_cmdtype"},
      {R"({"cmdType":7,"cmdData":{}})", "no_cmdtype"},
      {R"({"cmdType":"WT09:status:report","deviceId":"d","cmdData":"oops"})", "bad_cmddata"},
      {R"({"cmdType":"WT09:status:report","deviceId":"d","cmdData":[]})", "bad_cmddata"},
      {R"({"cmdData":5,"cmdType":"user:device:list"})", "bad_cmddata"},
      {R"({"cmdType":"WT09:status:report","deviceId":"d"})", "bad_cmddata"},
      {R"({"cmdType":"WT09:status:report","cmdData":{"probes":[]}})", "no_device"},
      {R"({"topic":"x","payload":42})", "not_object"},
      {R"({"topic":"x","payload":"{\"cmdType\":"})", "not_json"},
  };
  for (const Case& c : cases) {
    INFO(c.line);
    const Parsed p = parse_line(c.line);
    CHECK_FALSE(p.ok);
    CHECK(p.error.reason_name() == c.reason);
    CHECK_FALSE(p.error.detail.empty());
  }
}

TEST_CASE("A message over the size limit is refused without being parsed") {
  ParserOptions small;
  small.max_message_bytes = 100;
  const Parsed p = parse_line(envelope(status(kProbe)), 1, small);
  CHECK_FALSE(p.ok);
  CHECK(p.error.reason_name() == "too_large");
}

TEST_CASE(
    "An MQTT payload is parsed with the device taken from the topic when the envelope lacks it") {
  MessageParser parser;
  Message m;
  ParseError e;
  const std::string payload =
      R"({"cmdType":"WT09:status:report","cmdData":)" + status(kProbe) + "}";
  REQUIRE(parser.parse_payload("device/WT09/199298835195806964/pub", payload, 1234, m, e));
  CHECK(m.report.device_id == "199298835195806964");
  CHECK(m.report.time_ms == 1234);
  CHECK_FALSE(parser.parse_payload("t", "{\"cmdType\":", 1, m, e));
  CHECK(e.reason_name() == "not_json");
}

TEST_CASE("The base station's settings are read from the report: battery, connection, volume") {
  const Parsed p = parse_line(envelope(
      R"({"globalStatus":"online","batteryStatus":"charging","batteryValue":25,"wifiRssi":-30,)"
      R"("hasWifiConfig":true,"connectStatus":"ble","volume":"quiet","probes":[)" +
      kProbe + "]}"));
  REQUIRE(p.ok);
  const StatusReport& r = p.message.report;
  CHECK(r.battery_status == "charging");
  CHECK(r.connect_status == "ble");
  CHECK(r.volume == "quiet");
  CHECK(r.has_wifi_config == true);
  CHECK(r.battery_pct == 25);
  REQUIRE(r.probes.size() == 1);
  CHECK(r.probes[0].temperature == 1860);

  SECTION("absent, of the wrong type or absurdly long: unknown, and the rest is kept") {
    const Parsed q =
        parse_line(envelope(R"({"batteryStatus":7,"hasWifiConfig":"yes","connectStatus":null,)"
                            R"("volume":")" +
                            std::string(100, 'x') + R"(","probes":[)" + kProbe + "]}"));
    REQUIRE(q.ok);
    CHECK(q.message.report.battery_status.empty());
    CHECK_FALSE(q.message.report.has_wifi_config.has_value());
    CHECK(q.message.report.connect_status.empty());
    CHECK(q.message.report.volume.empty());
    CHECK(q.message.report.probes.size() == 1);
  }
  SECTION("an unknown value is kept as sent: it may be a real one protocol.md does not list") {
    const Parsed q = parse_line(envelope(R"({"volume":"loud","probes":[]})"));
    REQUIRE(q.ok);
    CHECK(q.message.report.volume == "loud");
    CHECK(q.message.report.battery_status.empty());
  }
}

TEST_CASE("A parser reused for the next report forgets the settings of the one before") {
  MessageParser parser;
  Message message;
  ParseError error;
  const std::string first = envelope(
      R"({"batteryStatus":"low","connectStatus":"wifi","volume":"high","hasWifiConfig":false,"probes":[]})");
  REQUIRE(parser.parse_payload("device/WT11/1/pub", first, 5, message, error));
  CHECK(message.report.battery_status == "low");
  CHECK(message.report.has_wifi_config == false);
  REQUIRE(parser.parse_payload("device/WT11/1/pub", envelope(status(kProbe)), 5, message, error));
  CHECK(message.report.battery_status == "normal");
  CHECK(message.report.connect_status.empty());
  CHECK(message.report.volume.empty());
  CHECK_FALSE(message.report.has_wifi_config.has_value());
}
