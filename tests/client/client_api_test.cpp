// The embeddable client API (thermomaven/client.hpp), used as a program
// outside the project would use it, against thermomaven-sim: real HTTPS, a
// real Mosquitto over mutual TLS. The sim is driven and its published
// messages are read through the test support; the code under test is
// reached only through the public header.
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>

#include "live_sim_support.hpp"
#include "thermomaven/client.hpp"

using namespace live_test;
namespace client = thermomaven::client;

namespace {

std::string first_line(const std::string& path) {
  const std::string text = read_file(path);
  return text.substr(0, text.find('\n'));
}

client::Account sim_account(const Sim& sim, const TempDir& dir) {
  const SimInfo& info = sim.info();
  client::Account account;
  account.email = info.email;
  account.password = first_line(info.password_file);
  account.api_url = info.api_url;
  account.broker = info.mqtt_endpoint;
  account.ca_file = info.ca_file;
  account.state_dir = dir.file("state");
  return account;
}

client::Account account_of(std::string email, std::string password, std::string broker = "") {
  client::Account account;
  account.email = std::move(email);
  account.password = std::move(password);
  account.broker = std::move(broker);
  return account;
}

using thermomaven::now_s;

// What a session delivered, collected from its MQTT thread.
struct Received {
  std::mutex mutex;
  std::vector<client::DeviceList> lists;
  std::vector<thermomaven::StatusReport> reports;
  std::vector<std::pair<std::string, std::string>> raw;  // topic, payload
  std::vector<client::SessionState> states;

  void attach(client::Session& session) {
    session.on_device_list([this](const client::DeviceList& l) {
      std::lock_guard lock(mutex);
      lists.push_back(l);
    });
    session.on_status_report([this](const thermomaven::StatusReport& r) {
      std::lock_guard lock(mutex);
      reports.push_back(r);
    });
    session.on_raw_message([this](std::string_view topic, std::string_view payload) {
      std::lock_guard lock(mutex);
      raw.emplace_back(topic, payload);
    });
    session.on_state([this](const client::SessionEvent& e) {
      std::lock_guard lock(mutex);
      states.push_back(e.state);
    });
  }
  std::size_t report_count() {
    std::lock_guard lock(mutex);
    return reports.size();
  }
};

// The probe values of a published status report, as the sim wrote them.
struct PublishedProbe {
  std::string state;
  std::optional<std::int64_t> temperature, target;
};
using PublishedKey = std::pair<std::string, std::int64_t>;  // deviceId, serverTime

std::map<PublishedKey, std::map<int, PublishedProbe>> published_reports(const Sim& sim) {
  std::map<PublishedKey, std::map<int, PublishedProbe>> out;
  simdjson::dom::parser parser;
  std::istringstream lines(read_file(sim.published_file()));
  std::string line;
  while (std::getline(lines, line)) {
    simdjson::dom::element doc = parser.parse(line);
    simdjson::dom::element payload = doc["payload"];
    std::string_view cmd_type = payload["cmdType"];
    if (!cmd_type.ends_with(":status:report")) continue;
    auto& probes =
        out[{std::string(std::string_view(payload["deviceId"])), int64_t(payload["serverTime"])}];
    for (simdjson::dom::element p : payload["cmdData"]["probes"].get_array()) {
      const std::string_view color = p["probeColor"];
      PublishedProbe probe{std::string(std::string_view(p["cookingState"])), {}, {}};
      std::int64_t value;
      if (!p["curTemperature"].get(value)) probe.temperature = value;
      simdjson::dom::array params;
      if (!p["setParams"].get(params) && params.size() > 0 &&
          !params.at(0)["setTemperature"].get(value))
        probe.target = value;
      probes[std::stoi(std::string(color.substr(5)))] = probe;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("Cloud: login, the account's unit, the MQTT certificate and the device lists") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--unit", "C", "--cert-days", "30"});
  client::Cloud cloud(sim_account(sim, dir));
  cloud.login();
  CHECK(cloud.user_id() == sim.info().user_id);
  CHECK(cloud.unit() == thermomaven::TemperatureUnit::Celsius);
  CHECK(cloud.logins() == 1);

  const client::CertificateInfo cert = cloud.certificate();
  CHECK(cert.client_id.rfind("android-" + sim.info().user_id + "-", 0) == 0);
  CHECK(cert.subject_cn == cert.client_id);
  CHECK(cert.topics == std::vector<std::string>{"app/user/" + sim.info().user_id + "/sub"});
  const std::int64_t thirty_days = 30 * 86400;
  CHECK(cert.not_after_s > now_s() + thirty_days - 86400);
  CHECK(cert.not_after_s < now_s() + thirty_days + 86400);
  CHECK(cert.renew_at_s > now_s());
  CHECK(cert.renew_at_s < cert.not_after_s);

  // The REST lists have no deviceId; name, model and serial are the fleet's,
  // as the MQTT device list (which the session receives) names them.
  const std::vector<thermomaven::DeviceInfo> listed = cloud.devices();
  client::Session session(cloud);
  Received received;
  received.attach(session);
  session.start();
  REQUIRE(wait_until(
      [&] {
        std::lock_guard l(received.mutex);
        return !received.lists.empty();
      },
      20));
  session.stop();
  CHECK(session.wait() == 0);
  const auto& fleet = received.lists.front().devices;
  REQUIRE(fleet.size() == 3);
  REQUIRE(listed.size() == fleet.size());
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    CHECK(listed[i].name == fleet[i].name);
    CHECK(listed[i].model == fleet[i].model);
    CHECK(listed[i].serial == fleet[i].serial);
    CHECK(!fleet[i].device_id.empty());
  }
  CHECK(fleet[0].model == "WT09");  // the sim's default models, in order
  CHECK(fleet[1].model == "WT11");
  CHECK(fleet[2].model == "WT02");
  // The stored session is reused: no second login for the second use.
  CHECK(cloud.logins() == 1);
}

TEST_CASE(
    "Session in the background: the device list, then status reports equal to what was published") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--no-offline"});
  client::Cloud cloud(sim_account(sim, dir));
  client::SessionOptions options;
  options.backoff_base_ms = 200;
  client::Session session(cloud, options);
  Received received;
  received.attach(session);
  session.start();
  REQUIRE(wait_until([&] { return received.report_count() >= 12; }, 30));
  const auto stop_asked = std::chrono::steady_clock::now();
  session.stop();
  CHECK(session.wait() == 0);
  // Promptly: the MQTT client is disconnected, no backoff is waited out.
  CHECK(std::chrono::steady_clock::now() - stop_asked < std::chrono::seconds(5));

  std::lock_guard lock(received.mutex);
  CHECK(received.states.front() == client::SessionState::ApplyingCertificate);
  CHECK(std::count(received.states.begin(), received.states.end(),
                   client::SessionState::Connected) >= 1);
  CHECK(received.states.back() == client::SessionState::Stopped);
  const client::SessionStats stats = session.stats();
  CHECK(!stats.connected);
  CHECK(stats.cert_applies == 1);
  CHECK(stats.subscribed.size() == 4);  // the user topic and three device topics

  REQUIRE(!received.lists.empty());
  const auto published = published_reports(sim);
  for (const thermomaven::StatusReport& report : received.reports) {
    INFO("report of " << report.device_id << " at " << report.time_ms);
    auto it = published.find({report.device_id, report.time_ms});
    REQUIRE(it != published.end());
    REQUIRE(report.probes.size() == it->second.size());
    for (const thermomaven::ProbeSample& probe : report.probes) {
      const PublishedProbe& sent = it->second.at(probe.probe);
      CHECK(probe.state == sent.state);
      CHECK(probe.temperature == sent.temperature);
      CHECK(probe.target == sent.target);
    }
  }
  // Every raw message is one the sim published, byte for byte.
  const std::string capture = read_file(sim.published_file());
  for (const auto& [topic, payload] : received.raw)
    CHECK(capture.find("\"topic\":\"" + topic + "\",\"payload\":" + payload) != std::string::npos);
  CHECK(received.raw.size() >= received.reports.size() + 1);
}

TEST_CASE("a refused login is final: CloudError LoginRefused, and run() returns 1") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  client::Account account = sim_account(sim, dir);
  account.password = "not the password";
  client::Cloud cloud(account);
  try {
    cloud.login();
    FAIL("the login was accepted");
  } catch (const client::CloudError& e) {
    CHECK(e.kind == client::CloudError::Kind::LoginRefused);
    CHECK(std::string(e.what()).find("not the password") == std::string::npos);
  }
  client::Session session(cloud);
  CHECK(session.run() == 1);
  CHECK(session.stats().last_error.find("login") != std::string::npos);
}

TEST_CASE("without reconnect, run() returns 2 after the first failure and says why") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  sim.control("broker/stop");
  client::Cloud cloud(sim_account(sim, dir));
  client::SessionOptions options;
  options.reconnect = false;
  client::Session session(cloud, options);
  CHECK(session.run() == 2);
  CHECK(session.stats().last_error.find("cannot connect to " + sim.info().mqtt_endpoint) !=
        std::string::npos);
  CHECK(session.stats().connect_failures == 1);
  // The cloud is still usable after the session.
  CHECK(cloud.devices().size() == 3);
}

TEST_CASE("an unusable account is refused before anything connects") {
  CHECK_THROWS_AS(client::Cloud(account_of("", "x")), std::invalid_argument);
  CHECK_THROWS_AS(client::Cloud(account_of("a@b.c", "")), std::invalid_argument);
  CHECK_THROWS_AS(client::Cloud(account_of("a@b.c", "x", "host:notaport")), std::invalid_argument);
}

TEST_CASE("command_body: the envelope of protocol.md for each command") {
  client::Command set;
  set.action = client::Command::Action::SetTarget;
  set.device_id = "dev1";
  set.model = "WT09";
  set.probe = 2;
  set.cook_uuid = "abc";
  set.start_client = "device";
  set.cooking_mode = "smart";
  set.target_tenths = 2030;
  CHECK(
      client::command_body(set, "00ff") ==
      R"({"deviceId":"dev1","deviceType":"thermometer","cmdType":"WT09:cooking:action",)"
      R"("cmdId":"00ff","cmdData":{"probeColor":"probe2","cookingAction":1,"cookingMode":"smart",)"
      R"("cookUuid":"abc","startClient":"device","setParams":[{"setTemperature":2030}],)"
      R"("cookingData":null}})");
  client::Command stop = set;
  stop.action = client::Command::Action::Stop;
  CHECK(client::command_data(stop) ==
        R"({"probeColor":"probe2","cookingAction":2,"cookUuid":"abc"})");
  stop.cook_uuid.clear();  // protocol.md: stop carries the running cook's uuid
  CHECK_THROWS_AS(client::command_data(stop), std::invalid_argument);
  client::Command volume;
  volume.action = client::Command::Action::Volume;
  volume.device_id = "dev1";
  volume.model = "WT11";
  volume.volume = "quiet";
  CHECK(client::command_body(volume, "01") ==
        R"({"deviceId":"dev1","deviceType":"thermometer","cmdType":"WT11:setting:modify",)"
        R"("cmdId":"01","cmdData":{"volume":"quiet"}})");
}

TEST_CASE("Session: the unit is read again while running; later reports carry the new one") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--no-offline"});
  client::Cloud cloud(sim_account(sim, dir));
  client::SessionOptions options;
  options.backoff_base_ms = 200;
  options.unit_refresh_ms = 500;
  client::Session session(cloud, options);
  Received received;
  received.attach(session);
  std::vector<thermomaven::TemperatureUnit> units;  // on the control thread
  session.on_unit([&](thermomaven::TemperatureUnit unit) {
    std::lock_guard lock(received.mutex);
    units.push_back(unit);
  });
  session.start();
  REQUIRE(wait_until([&] { return received.report_count() >= 5; }, 30));
  CHECK(session.unit() == thermomaven::TemperatureUnit::Fahrenheit);
  sim.control("unit?to=C");
  REQUIRE(wait_until([&] { return session.unit() == thermomaven::TemperatureUnit::Celsius; }, 20));
  const std::size_t at_change = received.report_count();
  REQUIRE(wait_until([&] { return received.report_count() >= at_change + 5; }, 30));
  session.stop();
  CHECK(session.wait() == 0);
  CHECK(cloud.unit() == thermomaven::TemperatureUnit::Celsius);
  std::lock_guard lock(received.mutex);
  CHECK(received.reports.front().unit == thermomaven::TemperatureUnit::Fahrenheit);
  CHECK(received.reports.back().unit == thermomaven::TemperatureUnit::Celsius);
  // Read at login, then every half second: F first, C last.
  REQUIRE(units.size() >= 3);
  CHECK(units.front() == thermomaven::TemperatureUnit::Fahrenheit);
  CHECK(units.back() == thermomaven::TemperatureUnit::Celsius);
  // A direct read agrees.
  CHECK(cloud.refresh_unit() == thermomaven::TemperatureUnit::Celsius);
}
