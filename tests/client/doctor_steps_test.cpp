// The doctor's judgements (thermomaven/doctor.hpp), without a network: the
// step order and what a failure skips, which cloud error fails which step,
// the advice for a blocked or refusing broker (port 443, the other European
// broker), and the reasons given for a silent device. The whole doctor runs
// against the simulated cloud in tests/app/doctor_test.cpp.
#include <catch2/catch.hpp>

#include "thermomaven/doctor.hpp"

namespace {

using namespace thermomaven;
using namespace thermomaven::client;

const std::string kApi = "https://api.example:8443";

std::vector<std::string> steps_of(const std::vector<StepResult>& results) {
  std::vector<std::string> steps;
  for (const StepResult& r : results) steps.push_back(r.step);
  return steps;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

StepResult step_result(const std::string& step, StepStatus status) {
  StepResult r;
  r.step = step;
  r.status = status;
  return r;
}

DeviceInfo device(const std::string& id, const std::string& name) {
  return DeviceInfo{.device_id = id, .name = name, .model = "WT09", .serial = "", .topics = {}};
}

}  // namespace

TEST_CASE("doctor steps: in order, and a failure skips exactly the steps after it") {
  const auto& steps = doctor_steps();
  REQUIRE(steps.size() == 12);
  CHECK(steps.front() == "api reachable");
  CHECK(steps.back() == "status report");

  const auto skipped = skipped_after("broker reachable", "not tried");
  CHECK(steps_of(skipped) == std::vector<std::string>(steps.begin() + 7, steps.end()));
  for (const StepResult& r : skipped) {
    CHECK(r.status == StepStatus::Skipped);
    CHECK(r.detail == "not tried");
  }
  CHECK(skipped_after("status report", "x").empty());
  CHECK(skipped_after("api reachable", "x").size() == 11);
}

TEST_CASE("doctor_passed: any failed step fails the whole; warnings and skips do not") {
  std::vector<StepResult> results = {step_result("login", StepStatus::Passed),
                                     step_result("status report", StepStatus::Warning),
                                     step_result("subscribed", StepStatus::Skipped)};
  CHECK(doctor_passed(results));
  CHECK(doctor_passed({}));
  results.push_back(step_result("keystore MD5", StepStatus::Failed));
  CHECK_FALSE(doctor_passed(results));
}

TEST_CASE("login failure: the network, a foreign answer and a refusal fail different steps") {
  SECTION("no answer: api reachable fails, with TLS advice for a certificate problem") {
    const auto tls = login_failure(CloudError(CloudError::Kind::Network, "",
                                              "SSL certificate problem: unable to get local "
                                              "issuer certificate"),
                                   kApi, "a@b.c", "US");
    REQUIRE(tls.size() == 1);
    CHECK(tls[0].step == "api reachable");
    CHECK(tls[0].status == StepStatus::Failed);
    CHECK(contains(tls[0].detail, kApi + ": SSL certificate problem"));
    CHECK(contains(tls[0].advice, "TLS certificate is not trusted"));

    const auto dns = login_failure(
        CloudError(CloudError::Kind::Network, "", "Could not resolve host"), kApi, "a@b.c", "US");
    REQUIRE(dns.size() == 1);
    CHECK(contains(dns[0].advice, "check the network, a firewall"));
  }
  SECTION("an answer that is not the cloud's") {
    const auto r = login_failure(CloudError(CloudError::Kind::BadResponse, "", "HTTP 502"), kApi,
                                 "a@b.c", "US");
    REQUIRE(r.size() == 1);
    CHECK(r[0].step == "api reachable");
    CHECK(contains(r[0].detail, "not as the ThermoMaven API (HTTP 502)"));
  }
  SECTION("a refusal: the API passed, login failed with the cloud's words and every cause") {
    const auto r =
        login_failure(CloudError(CloudError::Kind::LoginRefused, "1001",
                                 "login refused (code 1001, msg \"bad\"); likely causes: a, b"),
                      kApi, "a@b.c", "DE");
    REQUIRE(r.size() == 2);
    CHECK(r[0].step == "api reachable");
    CHECK(r[0].status == StepStatus::Passed);
    CHECK(r[1].step == "login");
    CHECK(r[1].status == StepStatus::Failed);
    CHECK(r[1].detail == "refused for a@b.c (login refused (code 1001, msg \"bad\"))");
    CHECK(contains(r[1].advice, "the password"));
    CHECK(contains(r[1].advice, "DE is in use"));
  }
}

TEST_CASE("certificate failure: the error's code names the failed step, earlier ones pass") {
  auto statuses = [](const std::vector<StepResult>& results) {
    std::vector<StepStatus> s;
    for (const StepResult& r : results) s.push_back(r.status);
    return s;
  };
  const auto refused =
      certificate_failure(CloudError(CloudError::Kind::Refused, "500", "apply refused"));
  CHECK(steps_of(refused) == std::vector<std::string>{"certificate granted"});
  CHECK(statuses(refused) == std::vector<StepStatus>{StepStatus::Failed});

  const auto download =
      certificate_failure(CloudError(CloudError::Kind::Certificate, "keystore_download", "x"));
  CHECK(steps_of(download) ==
        std::vector<std::string>{"certificate granted", "keystore downloaded"});
  CHECK(statuses(download) == std::vector<StepStatus>{StepStatus::Passed, StepStatus::Failed});

  const auto md5 = certificate_failure(
      CloudError(CloudError::Kind::Certificate, "keystore_md5", "MD5 abc is not the cloud's def"));
  CHECK(steps_of(md5).back() == "keystore MD5");
  CHECK(md5.back().detail == "wrong (MD5 abc is not the cloud's def)");

  const auto expired =
      certificate_failure(CloudError(CloudError::Kind::Certificate, "certificate_expired", "x"));
  CHECK(steps_of(expired) == std::vector<std::string>{"certificate granted", "keystore downloaded",
                                                      "keystore MD5", "keystore opened"});
  CHECK(contains(expired.back().advice, "system clock"));
  const auto unreadable =
      certificate_failure(CloudError(CloudError::Kind::Certificate, "keystore_unreadable", "x"));
  CHECK(contains(unreadable.back().advice, "does not open it"));
}

TEST_CASE("broker advice: port 443 unless in use, the other broker only for Europe") {
  CHECK(port_443_advice("broker.example", 443).empty());
  CHECK(contains(port_443_advice("broker.example", 8883),
                 "THERMOMAVEN_MQTT_ENDPOINT=broker.example:443"));

  CHECK(other_broker_advice("US", region_mqtt_host("US")).empty());
  const std::string eu = region_mqtt_host("DE");
  const std::string other = other_region_broker("DE", eu);
  REQUIRE_FALSE(other.empty());
  CHECK(other != eu);
  CHECK(contains(other_broker_advice("DE", eu), "THERMOMAVEN_MQTT_ENDPOINT=" + other + ":8883"));
}

TEST_CASE("connect failure: each kind its own words and fix") {
  const Endpoint broker{.host = "broker.example", .port = 8883};
  SessionStats stats;
  stats.last_error = "CONNACK 5";
  stats.connect_failure = ConnectFailure::NotAuthorised;
  StepResult r = connect_failure(stats, broker, "US", 60);
  CHECK(r.step == "connected and authorised");
  CHECK(r.status == StepStatus::Failed);
  CHECK(r.detail == "the broker refused this client (CONNACK 5)");
  CHECK(contains(r.advice, "log in once with the ThermoMaven app"));

  stats.connect_failure = ConnectFailure::Unreachable;
  r = connect_failure(stats, broker, "US", 60);
  CHECK(contains(r.detail, "never answers"));
  CHECK(contains(r.advice, "broker.example:443"));

  stats.connect_failure = ConnectFailure::None;
  stats.last_error.clear();
  r = connect_failure(stats, broker, "US", 42);
  CHECK(r.detail == "no connection within 42 s");
  CHECK(r.advice.empty());

  // A European account: the other broker is the advice, without its "; ".
  const Endpoint eu{.host = region_mqtt_host("DE"), .port = 8883};
  r = connect_failure(stats, eu, "DE", 42);
  CHECK(r.advice.rfind("no client is confirmed", 0) == 0);
}

TEST_CASE("silence reasons: from the device list and each device's last report") {
  const std::int64_t now = 1'800'000'000'000;
  CHECK(contains(silence_reasons({}, {}, 5, now).at(0), "no device on this account"));
  CHECK(contains(silence_reasons({}, {device("1", "a"), device("2", "b")}, 5, now).at(0),
                 "lists 2 device(s) over REST but none over MQTT"));

  DeviceList list;
  list.devices = {device("never", "Grill"), device("off", "Smoker"), device("on", "Oven")};
  StatusReport offline;
  offline.device_id = "off";
  offline.time_ms = now - 3 * 3600 * 1000;
  offline.online = false;
  StatusReport online;
  online.device_id = "on";
  online.time_ms = now - 90 * 1000;
  online.online = true;
  list.latest_reports = {offline, online};
  const auto reasons = silence_reasons(list, {}, 7, now);
  REQUIRE(reasons.size() == 3);
  CHECK(reasons[0] ==
        "WT09 \"Grill\" (never) has never reported to the cloud: switch it on and "
        "connect it to Wi-Fi in the app");
  CHECK(contains(reasons[1], "WT09 \"Smoker\" (off) is offline since 2027-01-15 05:00:00 UTC"));
  CHECK(contains(reasons[1], "(3 h ago)"));
  CHECK(contains(reasons[2], "was online at its last report"));
  CHECK(contains(reasons[2], "sent nothing in 7 s"));
}
