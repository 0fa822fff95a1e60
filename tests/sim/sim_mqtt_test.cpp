// The simulated cloud's MQTT side: a real Mosquitto over mutual TLS with an
// ACL like the AWS IoT policy, devices that publish realistic messages, the
// broker faults, and a published capture our own importer accepts.
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "sim_harness.hpp"
#include "thermomaven/core/time.hpp"

using namespace simtest;
using namespace std::chrono_literals;

namespace {

std::string text(simdjson::dom::element e) { return std::string(std::string_view(e)); }

using thermomaven::now_ms;

struct Logger {
  std::string token;
  Keystore keystore;
  ClientPem pem;
};

Logger certified_logger(const SimProcess& sim, const std::string& dir) {
  Logger l;
  l.token = login(sim);
  l.keystore = apply_for_certificate(sim, l.token);
  REQUIRE(extract_pem(l.keystore, dir, l.pem));
  return l;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// The device topics named in a `user:device:list` line of mosquitto_sub -v.
std::vector<std::string> device_topics(const std::string& line) {
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(line.substr(line.find(' ') + 1));
  std::vector<std::string> topics;
  for (simdjson::dom::element d : doc["cmdData"]["devices"].get_array())
    topics.emplace_back(std::string_view(d["subTopics"].at(0)));
  return topics;
}

void wait_for_published(const SimProcess& sim, std::int64_t count) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (status_number(sim, "published") < count) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(50ms);
  }
}

// Runs mosquitto_sub; its output is shown with the next assertion.
CommandResult subscribe(const std::vector<std::string>& argv, int timeout_s) {
  CommandResult r = run_command(argv, timeout_s);
  UNSCOPED_INFO("mosquitto_sub said: " << r.output);
  return r;
}

// Subscribes once to the user topic, which starts the devices reporting
// (with --list-on-subscribe: the list answers the subscription).
void start_devices(const SimProcess& sim, const Logger& logger) {
  const CommandResult r = run_command(
      mosquitto_sub(sim, logger.pem, logger.keystore.client_id, {logger.keystore.sub_topic}, 1, 10),
      15);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("a logger certificate gets the device list and reports, and nothing else") {
  SimProcess sim({"--interval-ms", "100", "--speed", "600", "--seed", "42", "--list-on-subscribe"});
  TempDir tmp;
  const Logger logger = certified_logger(sim, tmp.path());
  const std::string& id = logger.keystore.client_id;

  // Subscribing to the user topic brings the account's device list.
  CommandResult r =
      subscribe(mosquitto_sub(sim, logger.pem, id, {logger.keystore.sub_topic}, 1, 10), 15);
  UNSCOPED_INFO("--- simulator log ---\n" << sim.log());
  REQUIRE(r.exit_code == 0);
  const auto list = lines_of(r.output);
  REQUIRE(list.size() == 1);
  CHECK(list[0].starts_with(logger.keystore.sub_topic + " "));
  CHECK(list[0].find(R"("cmdType":"user:device:list")") != std::string::npos);
  CHECK(list[0].find(R"("cmdSeqNo":-1)") != std::string::npos);
  const auto topics = device_topics(list[0]);
  REQUIRE(topics.size() == 3);
  CHECK(topics[0].starts_with("device/WT09/"));

  SECTION("status reports arrive on the device topics") {
    r = subscribe(mosquitto_sub(sim, logger.pem, id, {topics[0], topics[1]}, 4, 10), 15);
    REQUIRE(r.exit_code == 0);
    std::set<std::string> seen_topics;
    for (const std::string& line : lines_of(r.output)) {
      const std::string topic = line.substr(0, line.find(' '));
      seen_topics.insert(topic);
      simdjson::dom::parser parser;
      const simdjson::dom::element doc = parser.parse(line.substr(line.find(' ') + 1));
      const std::string model = topic.substr(7, 4);
      CHECK(std::string_view(doc["cmdType"]) == model + ":status:report");
      CHECK(doc["cmdSeqNo"].is_string());
      CHECK(std::string_view(doc["deviceModel"]) == model);
      CHECK(std::string_view(doc["cmdData"]["globalStatus"]) == "online");
      CHECK(doc["serverTime"].is_int64());
      const std::size_t probes = doc["cmdData"]["probes"].get_array().size();
      CHECK(probes == (model == "WT09" ? 4u : 1u));
    }
    CHECK(seen_topics.size() == 2);
  }

  SECTION("the ACL refuses other topics, wildcards and strangers") {
    // A refused SUBSCRIBE gets a failure return code in its SUBACK.
    r = subscribe(mosquitto_sub(sim, logger.pem, id, {"device/WT09/123456789/pub"}, 1, 3), 10);
    CHECK(r.output.find("All subscription requests were denied") != std::string::npos);
    r = subscribe(mosquitto_sub(sim, logger.pem, id, {"#"}, 1, 3), 10);
    CHECK(r.output.find("denied") != std::string::npos);
    // Without a client certificate the broker does not let anyone in.
    r = subscribe(mosquitto_sub(sim, ClientPem{}, "anonymous", {logger.keystore.sub_topic}, 1, 3),
                  10);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find("denied") == std::string::npos);
  }

  SECTION("fault refuse_subscriptions denies the device topics only") {
    REQUIRE(control(sim, "fault?name=refuse_subscriptions&on=1").status == 200);
    r = subscribe(mosquitto_sub(sim, logger.pem, id, {topics[1]}, 1, 3), 10);
    CHECK(r.output.find("denied") != std::string::npos);
    r = subscribe(mosquitto_sub(sim, logger.pem, id, {logger.keystore.sub_topic}, 1, 10), 15);
    CHECK(r.exit_code == 0);
    REQUIRE(control(sim, "fault?name=refuse_subscriptions&on=0").status == 200);
    r = subscribe(mosquitto_sub(sim, logger.pem, id, {topics[1]}, 1, 10), 15);
    CHECK(r.exit_code == 0);
  }

  SECTION("fault untrusted_broker: the broker's certificate is from another CA") {
    REQUIRE(control(sim, "fault?name=untrusted_broker&on=1").status == 200);
    r = subscribe(mosquitto_sub(sim, logger.pem, id, {logger.keystore.sub_topic}, 1, 3), 10);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find("TLS error") != std::string::npos);
    REQUIRE(control(sim, "fault?name=untrusted_broker&on=0").status == 200);
    r = subscribe(mosquitto_sub(sim, logger.pem, id, {logger.keystore.sub_topic}, 1, 10), 15);
    CHECK(r.exit_code == 0);
  }

  SECTION("the broker can be stopped and started again on the same port") {
    REQUIRE(control(sim, "broker/stop").status == 200);
    CHECK(status_number(sim, "published") >= 0);
    CHECK(control(sim, "status", "GET").body.find(R"("broker_running":false)") !=
          std::string::npos);
    r = subscribe(mosquitto_sub(sim, logger.pem, id, {logger.keystore.sub_topic}, 1, 3), 10);
    CHECK(r.exit_code != 0);
    REQUIRE(control(sim, "broker/start").status == 200);
    CHECK(control(sim, "status", "GET").body.find(R"("broker_running":true)") != std::string::npos);
    r = subscribe(mosquitto_sub(sim, logger.pem, id, {topics[2]}, 1, 10), 15);
    CHECK(r.exit_code == 0);
  }

  SECTION("an added device is announced in a new device list") {
    BackgroundCommand sub(mosquitto_sub(sim, logger.pem, id, {logger.keystore.sub_topic}, 2, 10),
                          tmp.path() + "/sub.out");
    // The first list answers the subscription; wait for it before adding.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (read_file(tmp.path() + "/sub.out").empty() &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    const HttpReply added = control(sim, "devices/add?model=WT06");
    REQUIRE(added.status == 200);
    r = sub.wait(15);
    REQUIRE(r.exit_code == 0);
    const auto lists = lines_of(r.output);
    REQUIRE(lists.size() == 2);
    const auto after = device_topics(lists[1]);
    REQUIRE(after.size() == 4);
    CHECK(after[3].starts_with("device/WT06/"));
    CHECK(added.body.find(after[3]) != std::string::npos);
    // The new device's topic is readable at once.
    r = subscribe(mosquitto_sub(sim, logger.pem, id, {after[3]}, 1, 10), 15);
    CHECK(r.exit_code == 0);
  }

  SECTION("devices can be paused and resumed") {
    wait_for_published(sim, 3);
    REQUIRE(control(sim, "devices/pause").status == 200);
    std::this_thread::sleep_for(300ms);  // a publish in flight completes
    const auto paused_at = status_number(sim, "published");
    std::this_thread::sleep_for(500ms);
    CHECK(status_number(sim, "published") == paused_at);
    REQUIRE(control(sim, "devices/resume").status == 200);
    wait_for_published(sim, paused_at + 3);
  }
  CHECK(sim.stop() == 0);
}

namespace {

struct CookTrace {
  std::string device_id;
  int probe = 0;
  int readings = 0;
  bool remaining_null_first = false, remaining_later = false;
  int first_temp = 0, max_temp = 0, target = 0;
};

}  // namespace

TEST_CASE("the published capture imports into cooks with our own importer") {
  SimProcess sim({"--interval-ms", "40", "--speed", "4000", "--seed", "3", "--no-offline",
                  "--devices", "2", "--models", "WT11,WT02", "--list-on-subscribe"});
  TempDir tmp;
  const Logger logger = certified_logger(sim, tmp.path());
  start_devices(sim, logger);
  wait_for_published(sim, 300);
  REQUIRE(sim.stop() == 0);

  // What the simulator says it published, cook by cook.
  std::map<std::string, CookTrace> cooks;
  std::map<std::string, std::vector<std::string>> states_by_probe;  // "device/probe" -> states
  std::size_t lines = 0;
  std::istringstream in(read_file(sim.info().published_file));
  for (std::string line; std::getline(in, line); ++lines) {
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(line);
    const simdjson::dom::element payload = doc["payload"];
    if (std::string_view(payload["cmdType"]).find(":status:report") == std::string_view::npos)
      continue;
    const std::string device = text(payload["deviceId"]);
    for (simdjson::dom::element p : payload["cmdData"]["probes"].get_array()) {
      const std::string probe = text(p["probeColor"]);
      const std::string state = text(p["cookingState"]);
      auto& states = states_by_probe[device + "/" + probe];
      if (states.empty() || states.back() != state) states.push_back(state);
      if (state != "cooking") {
        CHECK(p["curTemperature"].error() == simdjson::NO_SUCH_FIELD);  // a docked stub
        continue;
      }
      CookTrace& c = cooks[text(p["cookUuid"])];
      const int temp = static_cast<int>(std::int64_t(p["curTemperature"]));
      if (c.readings == 0) {
        c.device_id = device;
        c.probe = probe.back() - '0';
        c.first_temp = temp;
        c.remaining_null_first = p["curRemainedSec"].is_null();
        c.target = static_cast<int>(std::int64_t(p["setParams"].at(0)["setTemperature"]));
      }
      if (!p["curRemainedSec"].is_null()) c.remaining_later = true;
      c.max_temp = std::max(c.max_temp, temp);
      ++c.readings;
      CHECK(p["areaTemperature"].get_array().size() == 5u);
    }
  }
  REQUIRE(lines >= 300);

  // A whole cook happened: cooking up to the target, docked, then a new cook.
  int finished = 0;
  for (const auto& [uuid, c] : cooks) {
    CHECK(c.remaining_null_first);
    if (c.max_temp >= c.target) {
      ++finished;
      CHECK(c.remaining_later);
      CHECK(c.first_temp < 600);  // from the fridge, in tenths of °F
    }
  }
  CHECK(finished >= 1);
  bool cycled = false;
  for (const auto& [probe, states] : states_by_probe)
    if (states.size() >= 3 && states[0] == "cooking" && states[1] == "charged") cycled = true;
  CHECK(cycled);

  // thermomaven import accepts every line and finds the same cooks.
  const std::string db = tmp.path() + "/imported.db";
  CommandResult r = run_command({TM_BINARY, "import", "--db", db, sim.info().published_file}, 60);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find(" 0 lines rejected") != std::string::npos);
  r = run_command({TM_BINARY, "cooks", "--db", db, "--json"}, 30);
  REQUIRE(r.exit_code == 0);
  simdjson::dom::parser parser;
  const simdjson::dom::array imported = parser.parse(r.output);
  std::map<std::string, std::int64_t> imported_readings;
  for (simdjson::dom::element c : imported) {
    const std::string uuid = text(c["cook_uuid"]);
    imported_readings[uuid] = std::int64_t(c["readings"]);
    REQUIRE(cooks.count(uuid) == 1);
    CHECK(std::string_view(c["device_id"]) == cooks[uuid].device_id);
    CHECK(std::int64_t(c["probe"]) == cooks[uuid].probe);
  }
  CHECK(imported_readings.size() == cooks.size());
  for (const auto& [uuid, c] : cooks) CHECK(imported_readings[uuid] == c.readings);
}

TEST_CASE("the same seed gives the same devices and the same reports") {
  auto run = [](const std::string& seed) {
    SimProcess sim({"--interval-ms", "30", "--speed", "600", "--seed", seed, "--devices", "1",
                    "--list-on-subscribe"});
    TempDir tmp;
    const Logger logger = certified_logger(sim, tmp.path());
    start_devices(sim, logger);
    wait_for_published(sim, 25);
    REQUIRE(sim.stop() == 0);
    // Each report's device, sequence number, id and data; times differ run to run.
    std::vector<std::string> reports;
    std::istringstream in(read_file(sim.info().published_file));
    for (std::string line; std::getline(in, line) && reports.size() < 20;) {
      simdjson::dom::parser parser;
      const simdjson::dom::element payload = parser.parse(line)["payload"];
      if (std::string_view(payload["cmdType"]) == "user:device:list") continue;
      reports.push_back(text(payload["deviceId"]) + " " + text(payload["cmdSeqNo"]) + " " +
                        text(payload["cmdId"]) + " " + simdjson::minify(payload["cmdData"]));
    }
    REQUIRE(reports.size() == 20);
    return std::make_pair(sim.info().user_id, reports);
  };
  const auto first = run("7");
  const auto again = run("7");
  const auto other = run("8");
  CHECK(first.first == again.first);
  CHECK(first.second == again.second);
  CHECK(first.first != other.first);
  CHECK(first.second[0].substr(0, 18) != other.second[0].substr(0, 18));  // device ids
}

TEST_CASE("app/command/send takes protocol.md's body; the receipt answers in its cmdData") {
  // The list on the subscription: this case reads it with mosquitto_sub alone.
  SimProcess sim({"--no-offline", "--interval-ms", "500", "--list-on-subscribe"});
  TempDir tmp;
  const Logger logger = certified_logger(sim, tmp.path());
  const std::string id = logger.keystore.client_id;
  CommandResult r =
      subscribe(mosquitto_sub(sim, logger.pem, id, {logger.keystore.sub_topic}, 1, 10), 15);
  REQUIRE(r.exit_code == 0);
  const std::string topic = device_topics(lines_of(r.output).at(0)).at(0);  // device/WT09/ID/pub
  const std::string device_id =
      topic.substr(topic.find('/', 7) + 1, topic.rfind('/') - topic.find('/', 7) - 1);
  REQUIRE(!device_id.empty());

  auto body = [&](const std::string& device, const std::string& type, const std::string& cmd_id,
                  const std::string& data) {
    return R"({"deviceId":)" + device + R"(,"deviceType":")" + type +
           R"(","cmdType":"WT09:setting:modify","cmdId":")" + cmd_id + R"(","cmdData":)" + data +
           "}";
  };
  const std::string quoted = "\"" + device_id + "\"";
  const std::string first_id = "0123456789abcdef0123456789abcdef";
  const std::string second_id = "fedcba9876543210fedcba9876543210";

  // Refused at the REST level: nothing reaches the device.
  const ApiReply no_type =
      api_call(sim, "app/command/send", body(quoted, "user", first_id, "{}"), logger.token);
  CHECK(no_type.code == "1002");
  CHECK(no_type.msg.find("deviceType") != std::string::npos);
  const ApiReply short_id =
      api_call(sim, "app/command/send", body(quoted, "thermometer", "abc", "{}"), logger.token);
  CHECK(short_id.code == "1002");
  CHECK(short_id.msg.find("cmdId") != std::string::npos);

  BackgroundCommand sub(mosquitto_sub(sim, logger.pem, id, {topic}, 100, 20),
                        tmp.path() + "/device.out");
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (read_file(tmp.path() + "/device.out").empty() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);  // subscribed: a report came
  // A string action is no shape of protocol.md's (and a numeric deviceId is the device).
  CHECK(api_call(sim, "app/command/send",
                 body(device_id, "thermometer", first_id, R"({"volume":"quiet","action":"x"})"),
                 logger.token)
            .code == "0");
  CHECK(api_call(sim, "app/command/send",
                 body(quoted, "thermometer", second_id, R"({"volume":"quiet"})"), logger.token)
            .code == "0");
  std::vector<std::string> receipts;
  while (receipts.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    receipts.clear();
    for (const std::string& line : lines_of(read_file(tmp.path() + "/device.out")))
      if (line.find("device:cmd:receipt") != std::string::npos)
        receipts.push_back(line.substr(line.find(' ') + 1));
  }
  REQUIRE(receipts.size() == 2);
  simdjson::dom::parser parser;
  const std::string sent[] = {first_id, second_id};
  for (std::size_t i = 0; i < 2; ++i) {
    INFO(receipts[i]);
    const simdjson::dom::element doc = parser.parse(receipts[i]);
    CHECK(text(doc["cmdId"]).size() == 32);
    CHECK(text(doc["cmdId"]) != sent[i]);  // the envelope's own id is new
    CHECK(text(doc["deviceId"]) == device_id);
    const simdjson::dom::element data = doc["cmdData"];
    CHECK(text(data["cmdId"]) == sent[i]);
    CHECK(text(data["cmdType"]) == "WT09:setting:modify");
    CHECK(text(data["executeResult"]) == (i == 0 ? "failure" : "success"));
    CHECK(int64_t(data["cmdError"]) == (i == 0 ? 1 : 0));
  }
}

namespace {

// Waits until the simulator's log holds `text` (Mosquitto's lines included).
bool wait_for_log(const SimProcess& sim, const std::string& text, int seconds = 20) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (sim.log().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

}  // namespace

TEST_CASE("a SUBSCRIBE with more than 8 topic filters is refused visibly: disconnected, counted") {
  SimProcess sim({"--devices", "1"});
  TempDir tmp;
  const Logger logger = certified_logger(sim, tmp.path());
  const std::string& id = logger.keystore.client_id;
  std::vector<std::string> nine = {logger.keystore.sub_topic};
  for (int i = 1; i <= 8; ++i) nine.push_back("device/WT09/" + std::to_string(i) + "/pub");
  const std::vector<std::string> eight(nine.begin(), nine.begin() + 8);

  // Eight in one packet is within the AWS IoT quota.
  subscribe(mosquitto_sub(sim, logger.pem, id, eight, 1, 2), 10);
  REQUIRE(wait_for_log(sim, id + " 1 " + logger.keystore.sub_topic));
  CHECK(status_number(sim, "oversized_subscribes") == 0);

  // Nine: Mosquitto would accept them; the simulator says why it drops the client.
  const CommandResult r = subscribe(mosquitto_sub(sim, logger.pem, id, nine, 1, 4), 15);
  REQUIRE(wait_for_log(sim,
                       id + " sent one SUBSCRIBE with 9 topic filters; AWS IoT accepts at most 8"));
  CHECK(wait_for_log(sim, "Client " + id + " disconnected"));
  // mosquitto_sub connects again and repeats the packet: knocked off each time.
  CHECK(status_number(sim, "oversized_subscribes") >= 1);
  // The client may connect again afterwards (it was only knocked off).
  CHECK(subscribe(mosquitto_sub(sim, logger.pem, id, {logger.keystore.sub_topic}, 1, 2), 10)
            .output.find("Connection Refused") == std::string::npos);
  INFO(r.output);
  CHECK(sim.stop() == 0);
}

TEST_CASE("one clientId per installation: a second connection knocks the first off") {
  SimProcess sim({"--devices", "1"});
  TempDir tmp;
  const Logger first = certified_logger(sim, tmp.path());
  // The same installation (x-deviceSn) applies again: the same clientId.
  const Keystore again = apply_for_certificate(sim, first.token);
  REQUIRE(again.client_id == first.keystore.client_id);
  CHECK(again.client_id.starts_with("android-" + sim.info().user_id + "-US-"));

  BackgroundCommand holder(
      mosquitto_sub(sim, first.pem, first.keystore.client_id, {first.keystore.sub_topic}, 1, 20),
      tmp.path() + "/holder.out");
  REQUIRE(wait_for_log(sim, first.keystore.client_id + " 1 " + first.keystore.sub_topic));
  subscribe(mosquitto_sub(sim, first.pem, again.client_id, {first.keystore.sub_topic}, 1, 2), 10);
  CHECK(wait_for_log(sim,
                     "Client " + again.client_id + " already connected, closing old connection"));
  holder.wait(30);
  CHECK(sim.stop() == 0);
}

TEST_CASE("user:device:list follows a REST device-list call, not a subscription (by default)") {
  SimProcess sim({"--devices", "2"});
  TempDir tmp;
  const Logger logger = certified_logger(sim, tmp.path());
  const std::string& id = logger.keystore.client_id;
  BackgroundCommand sub(mosquitto_sub(sim, logger.pem, id, {logger.keystore.sub_topic}, 1, 30),
                        tmp.path() + "/sub.out");
  REQUIRE(wait_for_log(sim, id + " 1 " + logger.keystore.sub_topic));
  std::this_thread::sleep_for(1500ms);
  CHECK(read_file(tmp.path() + "/sub.out").empty());  // subscribing alone brings nothing
  CHECK(status_number(sim, "published") == 0);
  REQUIRE(api_call(sim, "app/device/share/my/device/list", "", logger.token).code == "0");
  const CommandResult r = sub.wait(30);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto list = lines_of(r.output);
  REQUIRE(list.size() == 1);
  CHECK(device_topics(list[0]).size() == 2);
  CHECK(sim.stop() == 0);
}

TEST_CASE("--numeric-device-id and fault seconds_only_times: the shapes protocol.md allows") {
  SimProcess sim({"--devices", "12", "--numeric-device-id", "--list-on-subscribe", "--interval-ms",
                  "100", "--no-offline"});
  TempDir tmp;
  const Logger logger = certified_logger(sim, tmp.path());
  const std::string& id = logger.keystore.client_id;
  CommandResult r =
      subscribe(mosquitto_sub(sim, logger.pem, id, {logger.keystore.sub_topic}, 1, 10), 15);
  REQUIRE(r.exit_code == 0);
  simdjson::dom::parser parser;
  const auto list = lines_of(r.output);
  REQUIRE(list.size() == 1);
  const simdjson::dom::array devices =
      parser.parse(list[0].substr(list[0].find(' ') + 1))["cmdData"]["devices"];
  REQUIRE(devices.size() == 12);
  std::string numeric_topic, numeric_id;
  int numbers = 0;
  for (simdjson::dom::element d : devices) {
    const std::string topic(std::string_view(d["subTopics"].at(0)));
    if (d["deviceId"].is_uint64()) {
      ++numbers;
      numeric_id = std::to_string(std::uint64_t(d["deviceId"]));
      numeric_topic = topic;
    } else {
      CHECK(d["deviceId"].is_string());
    }
  }
  REQUIRE(numbers == 1);
  CHECK(numeric_topic.find("/" + numeric_id + "/") != std::string::npos);  // the topic: its digits

  // Its status reports carry the number too.
  r = subscribe(mosquitto_sub(sim, logger.pem, id, {numeric_topic}, 1, 10), 15);
  REQUIRE(r.exit_code == 0);
  simdjson::dom::parser report_parser;
  simdjson::dom::element report = report_parser.parse(r.output.substr(r.output.find(' ') + 1));
  CHECK(report["deviceId"].is_uint64());
  CHECK(report["serverTime"].is_int64());

  // seconds_only_times: only serverTimeSecond and deviceTimeSecond.
  REQUIRE(control(sim, "fault?name=seconds_only_times&on=1").status == 200);
  std::this_thread::sleep_for(300ms);  // a report built before the switch may be in flight
  r = subscribe(mosquitto_sub(sim, logger.pem, id, {numeric_topic}, 2, 10), 15);
  REQUIRE(r.exit_code == 0);
  const auto reports = lines_of(r.output);
  REQUIRE(reports.size() == 2);
  report = report_parser.parse(reports[1].substr(reports[1].find(' ') + 1));
  CHECK(report["serverTime"].error() == simdjson::NO_SUCH_FIELD);
  CHECK(report["deviceTime"].error() == simdjson::NO_SUCH_FIELD);
  CHECK(report["serverTimeSecond"].is_int64());
  CHECK(report["deviceTimeSecond"].is_int64());
  CHECK(sim.stop() == 0);
}

TEST_CASE("a unit changed in the app: the settings and every later report use the new unit") {
  SimProcess sim({"--interval-ms", "100", "--speed", "60", "--seed", "7", "--list-on-subscribe"});
  TempDir tmp;
  const Logger logger = certified_logger(sim, tmp.path());
  auto unit_in_settings = [&] {
    const ApiReply r = api_call(sim, "app/user/setting/get", "", logger.token);
    REQUIRE(r.code == "0");
    simdjson::dom::parser parser;
    return text(parser.parse(r.http.body)["data"]["temperatureUnit"]);
  };
  CHECK(unit_in_settings() == "F");
  CHECK(status_number(sim, "setting_reads") == 1);
  // Without a valid token the settings are refused like every signed call.
  CHECK(api_call(sim, "app/user/setting/get", "", "not-a-token").code != "0");

  start_devices(sim, logger);
  wait_for_published(sim, 40);
  CHECK(control(sim, "unit?to=K").status == 400);
  const std::int64_t change_asked = now_ms();
  REQUIRE(control(sim, "unit?to=C").status == 200);
  const std::int64_t changed = now_ms();
  CHECK(unit_in_settings() == "C");
  {
    const ApiReply r = api_call(sim, "app/account/login",
                                login_body(sim.info().email, sim.info().password), "none");
    REQUIRE(r.code == "0");
    simdjson::dom::parser parser;
    CHECK(text(parser.parse(r.http.body)["data"]["setting"]["temperatureUnit"]) == "C");
  }
  wait_for_published(sim, status_number(sim, "published") + 40);

  // The target of each cook, before and after the change: the same
  // temperature, in tenths of °F before and tenths of °C after.
  std::map<std::string, std::set<std::int64_t>> before, after;
  int reports = 0;
  std::istringstream published(read_file(sim.info().published_file));
  for (std::string line; std::getline(published, line);) {
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(line);
    const simdjson::dom::element payload = doc["payload"];
    std::string_view cmd_type;
    if (payload["cmdType"].get(cmd_type) || !cmd_type.ends_with(":status:report")) continue;
    // When the report was made: during the control call, it may be either.
    const std::int64_t made = payload["serverTime"];
    if (made >= change_asked && made <= changed) continue;
    ++reports;
    const simdjson::dom::element data = payload["cmdData"];
    CHECK((text(data["batteryStatus"]) == "normal" || text(data["batteryStatus"]) == "low"));
    CHECK(text(data["connectStatus"]) == "both");
    CHECK(text(data["volume"]) == "high");
    CHECK(data["hasWifiConfig"].is_bool());
    for (simdjson::dom::element probe : data["probes"].get_array()) {
      std::string_view uuid;
      if (probe["cookUuid"].get(uuid)) continue;  // a docked stub
      CHECK(probe["startClient"].is_string());
      const std::int64_t target = probe["setParams"].at(0)["setTemperature"];
      (made < change_asked ? before : after)[std::string(uuid)].insert(target);
    }
  }
  CHECK(reports >= 60);
  int compared = 0;
  for (const auto& [uuid, targets] : before) {
    if (!after.count(uuid)) continue;
    REQUIRE(targets.size() == 1);
    REQUIRE(after[uuid].size() == 1);
    const double fahrenheit = static_cast<double>(*targets.begin()) / 10.0;
    CHECK(*after[uuid].begin() == std::lround((fahrenheit - 32) * 5 / 9 * 10));
    ++compared;
  }
  CHECK(compared >= 2);
}
