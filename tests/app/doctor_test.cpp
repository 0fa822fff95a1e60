// `thermomaven doctor`, the real binary, against the real simulated cloud:
// every step passes on a healthy account, and each failure the simulator can
// produce is named at the right step, in plain words with its fix, with no
// later step claiming success. One simulator per group; faults are switched
// through its control API.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "live_sim_support.hpp"
#include "test_support.hpp"

namespace {

using namespace live_test;

// Every step doctor reports, in order.
const std::vector<std::string> kAllSteps = {"api reachable",
                                            "login",
                                            "certificate granted",
                                            "keystore downloaded",
                                            "keystore MD5",
                                            "keystore opened",
                                            "broker reachable",
                                            "connected and authorised",
                                            "subscribed",
                                            "device list received",
                                            "device topics subscribed",
                                            "status report"};

struct DoctorRun {
  int exit_code = -1;
  std::vector<std::string> lines;  // stdout and stderr
  std::string text;

  // The line "<mark> <step>: ...", or empty.
  std::string line(const std::string& mark, const std::string& step) const {
    const std::string start = mark + " " + step + ":";
    for (const std::string& l : lines)
      if (l.rfind(start, 0) == 0) return l;
    return "";
  }
  std::string failed(const std::string& step) const { return line("FAIL", step); }
  bool passed(const std::string& step) const { return !line("ok  ", step).empty(); }
  int count(const std::string& mark) const {
    int n = 0;
    for (const std::string& l : lines) n += l.rfind(mark + " ", 0) == 0;
    return n;
  }
  // No "ok" line comes after the first FAIL line.
  bool nothing_ok_after_failure() const {
    bool failed_yet = false;
    for (const std::string& l : lines) {
      if (l.rfind("FAIL ", 0) == 0) failed_yet = true;
      if (failed_yet && l.rfind("ok   ", 0) == 0) return false;
    }
    return true;
  }
};

DoctorRun doctor(const std::map<std::string, std::string>& env, int wait_s = 4) {
  DoctorRun run;
  std::vector<std::string> argv = {TM_BINARY, "doctor", "--wait", std::to_string(wait_s)};
  run.exit_code = live_test::run(argv, run.text, env);
  std::istringstream in(run.text);
  for (std::string l; std::getline(in, l);) run.lines.push_back(l);
  UNSCOPED_INFO("doctor exit " << run.exit_code << ", output:\n" << run.text);
  return run;
}

// A failure at `step`: exit 1, the step's FAIL line holds `reason` and
// `fix`, every step before it passed and none after it is claimed.
void check_blocking_failure(const DoctorRun& run, const std::string& step,
                            const std::string& reason, const std::string& fix) {
  CHECK(run.exit_code == 1);
  const std::string line = run.failed(step);
  REQUIRE_FALSE(line.empty());
  CHECK_THAT(line, Catch::Contains(reason));
  CHECK_THAT(line, Catch::Contains(fix));
  CHECK(run.count("FAIL") == 1);
  CHECK(run.nothing_ok_after_failure());
  for (const std::string& s : kAllSteps) {
    if (s == step) break;
    CHECK(run.passed(s));
  }
  if (step != kAllSteps.back()) CHECK_THAT(run.text, Catch::Contains("skip "));
}

std::string private_file(const tm_test::TempDir& dir, const std::string& name,
                         const std::string& text) {
  const std::string path = dir / name;
  tm_test::write_file(path, text);
  ::chmod(path.c_str(), 0600);
  return path;
}

// One simulated cloud for the cases below (two devices that never drop off
// line on their own); each case switches its fault on and off again.
Sim& shared_sim() {
  static tm_test::TempDir dir;
  static Sim sim(dir / "sim", {"--devices", "2", "--no-offline"});
  return sim;
}

// A fault switched on for one case.
class Fault {
 public:
  Fault(Sim& sim, std::string name) : sim_(sim), name_(std::move(name)) { sim_.fault(name_, true); }
  ~Fault() { sim_.fault(name_, false); }

 private:
  Sim& sim_;
  std::string name_;
};

}  // namespace

TEST_CASE("doctor: every step passes on a healthy account: exit 0, one ok line each, no secret",
          "[doctor]") {
  Sim& sim = shared_sim();
  const DoctorRun run = doctor(sim_env(sim.info()));
  CHECK(run.exit_code == 0);
  for (const std::string& step : kAllSteps) CHECK(run.passed(step));
  CHECK(run.count("FAIL") == 0);
  CHECK_THAT(run.line("ok  ", "api reachable"),
             Catch::Contains(sim.info().api_url + " (TLS verified)"));
  CHECK_THAT(run.line("ok  ", "device list received"), Catch::Contains("2 device(s)"));
  CHECK_THAT(run.line("ok  ", "status report"), Catch::Contains("°F"));
  std::string password = tm_test::read_file(sim.info().password_file);
  password = password.substr(0, password.find('\n'));
  REQUIRE(password.size() >= 8);
  CHECK_THAT(run.text, !Catch::Contains(password));
}

// No refusal code is known to mean one cause, and the real cloud answers a
// wrong region like a wrong password (protocol.md): doctor quotes the
// cloud's code and msg and names every likely cause, the region in use too.
void check_login_refused(const DoctorRun& run, const std::string& email,
                         const std::string& region) {
  check_blocking_failure(run, "login", "refused for " + email, "THERMOMAVEN_PASSWORD_FILE");
  const std::string line = run.failed("login");
  CHECK_THAT(line, Catch::Contains("the cloud refused (code "));
  CHECK_THAT(line, Catch::Contains("THERMOMAVEN_EMAIL"));
  CHECK_THAT(line, Catch::Contains("the region (" + region + " is in use"));
}

TEST_CASE("doctor: a wrong password: the cloud's answer quoted, every likely cause named",
          "[doctor]") {
  Sim& sim = shared_sim();
  tm_test::TempDir dir;
  auto env = sim_env(sim.info());
  env["THERMOMAVEN_PASSWORD_FILE"] = private_file(dir, "wrong-password", "not-the-password\n");
  const DoctorRun run = doctor(env);
  check_login_refused(run, sim.info().email, "US");
  // The simulator's own code and message, as it sent them.
  CHECK_THAT(run.failed("login"), Catch::Contains("code 1003: password error"));
}

TEST_CASE("doctor: an unknown account: quoted, with the same causes", "[doctor]") {
  auto env = sim_env(shared_sim().info());
  env["THERMOMAVEN_EMAIL"] = "nobody@example.com";
  const DoctorRun run = doctor(env);
  check_login_refused(run, "nobody@example.com", "US");
  CHECK_THAT(run.failed("login"), Catch::Contains("account does not exist"));
}

TEST_CASE("doctor: the wrong region for this account names the region in use", "[doctor]") {
  auto env = sim_env(shared_sim().info());
  env["THERMOMAVEN_REGION"] = "DE";  // the simulated account is in US
  const DoctorRun run = doctor(env);
  check_login_refused(run, shared_sim().info().email, "DE");
  CHECK_THAT(run.failed("login"), Catch::Contains("region US"));  // the cloud's msg, quoted
}

TEST_CASE("doctor: a region code outside protocol.md's list is refused before any request",
          "[doctor]") {
  Sim& sim = shared_sim();
  const std::int64_t rejected = sim.status_number("rejected");
  const std::int64_t logins = sim.status_number("logins");
  auto env = sim_env(sim.info());
  env["THERMOMAVEN_REGION"] = "GB";
  const DoctorRun run = doctor(env);
  CHECK(run.exit_code == 2);
  CHECK_THAT(run.text, Catch::Contains("unknown region 'GB' (the United Kingdom is UK)"));
  CHECK_THAT(run.text, Catch::Contains("US NZ CA AU (https://api.iot.thermomaven.com"));
  CHECK_THAT(run.text, Catch::Contains("a2ubmaqm3a642j-ats.iot.eu-central-1.amazonaws.com"));
  CHECK(sim.status_number("rejected") == rejected);
  CHECK(sim.status_number("logins") == logins);
}

TEST_CASE("doctor: an API whose TLS certificate is not trusted", "[doctor]") {
  Sim& sim = shared_sim();
  auto env = sim_env(sim.info());
  env.erase("THERMOMAVEN_CA_FILE");
  check_blocking_failure(doctor(env), "api reachable", sim.info().api_url,
                         "the API's TLS certificate is not trusted");
}

TEST_CASE("doctor: an API that answers, but not as the cloud (HTTP 503)", "[doctor]") {
  Sim& sim = shared_sim();
  Fault fault(sim, "api_5xx");
  check_blocking_failure(doctor(sim_env(sim.info())), "api reachable",
                         "answers, but not as the ThermoMaven API", "down for maintenance");
}

TEST_CASE("doctor: a keystore whose MD5 is wrong", "[doctor]") {
  Sim& sim = shared_sim();
  Fault fault(sim, "bad_md5");
  check_blocking_failure(doctor(sim_env(sim.info())), "keystore MD5", "MD5 mismatch",
                         "damaged or altered on the way");
}

TEST_CASE("doctor: a keystore that does not open", "[doctor]") {
  Sim& sim = shared_sim();
  Fault fault(sim, "bad_p12_password");
  check_blocking_failure(doctor(sim_env(sim.info())), "keystore opened", "keystore",
                         "the password the cloud sent does not open it");
}

TEST_CASE("doctor: a closed broker port, with the port-443 advice", "[doctor]") {
  Sim& sim = shared_sim();
  sim.control("broker/stop");
  const DoctorRun run = doctor(sim_env(sim.info()));
  sim.control("broker/start");
  check_blocking_failure(run, "broker reachable", sim.info().mqtt_endpoint,
                         "seems blocked (a firewall?)");
  CHECK_THAT(run.failed("broker reachable"), Catch::Contains("refused"));
  CHECK_THAT(run.failed("broker reachable"),
             Catch::Contains("try THERMOMAVEN_MQTT_ENDPOINT=127.0.0.1:443"));
  // A US account's broker is the verified one: no other broker is suggested.
  CHECK_THAT(run.failed("broker reachable"), !Catch::Contains("worth a try"));
}

TEST_CASE("doctor: a European account that cannot connect is told to try the other broker",
          "[doctor]") {
  tm_test::TempDir dir;
  Sim sim(dir / "sim-de", {"--region", "DE", "--devices", "1"});
  sim.control("broker/stop");
  auto env = sim_env(sim.info());
  env["THERMOMAVEN_REGION"] = "de";  // any case
  const DoctorRun run = doctor(env);
  check_blocking_failure(run, "broker reachable", sim.info().mqtt_endpoint,
                         "the other broker is worth a try: THERMOMAVEN_MQTT_ENDPOINT="
                         "a2ubmaqm3a642j-ats.iot.us-west-2.amazonaws.com:8883");
}

TEST_CASE("doctor: a broker port that takes connections and never answers (a connection timeout)",
          "[doctor]") {
  Sim& sim = shared_sim();
  Fault fault(sim, "blackhole_broker");  // a listener that never accepts: no RST, no TLS
  const DoctorRun run = doctor(sim_env(sim.info()));
  check_blocking_failure(run, "connected and authorised", "never answers",
                         "try THERMOMAVEN_MQTT_ENDPOINT=127.0.0.1:443");
  CHECK_THAT(run.failed("connected and authorised"), Catch::Contains("timeout"));
}

TEST_CASE("doctor: a broker whose TLS certificate is not trusted", "[doctor]") {
  Sim& sim = shared_sim();
  Fault fault(sim, "untrusted_broker");
  check_blocking_failure(doctor(sim_env(sim.info())), "connected and authorised",
                         "the broker's TLS certificate is not trusted",
                         "check THERMOMAVEN_MQTT_ENDPOINT and THERMOMAVEN_REGION");
}

TEST_CASE("doctor: a broker that refuses the client (CONNACK 5, not authorised)", "[doctor]") {
  Sim& sim = shared_sim();
  Fault fault(sim, "refuse_clients");
  const DoctorRun run = doctor(sim_env(sim.info()));
  check_blocking_failure(run, "connected and authorised", "the broker refused this client",
                         "not allowed in");
  CHECK_THAT(run.failed("connected and authorised"), Catch::Contains("CONNACK 5"));
}

TEST_CASE("doctor: a broker that refuses the device topics", "[doctor]") {
  Sim& sim = shared_sim();
  Fault fault(sim, "refuse_subscriptions");
  check_blocking_failure(doctor(sim_env(sim.info())), "device topics subscribed",
                         "the broker refused 2", "policy does not cover these devices");
}

TEST_CASE("doctor: every device offline, each named with the time it was last heard of",
          "[doctor]") {
  Sim& sim = shared_sim();
  REQUIRE(doctor(sim_env(sim.info())).exit_code == 0);  // each device reports: the cloud keeps it
  Fault fault(sim, "devices_offline");
  const DoctorRun run = doctor(sim_env(sim.info()), 2);
  check_blocking_failure(run, "status report", "none within 2 s", "the likely reasons");
  int offline = 0;
  for (const std::string& l : run.lines)
    offline += l.rfind("why  ", 0) == 0 && l.find("is offline since 20") != std::string::npos &&
               l.find("check its power and Wi-Fi") != std::string::npos;
  CHECK(offline == 2);
}

TEST_CASE("doctor: every probe docked passes, with a warning per device", "[doctor]") {
  Sim& sim = shared_sim();
  Fault fault(sim, "probes_docked");
  const DoctorRun run = doctor(sim_env(sim.info()));
  CHECK(run.exit_code == 0);
  for (const std::string& step : kAllSteps) CHECK(run.passed(step));
  CHECK_THAT(run.line("ok  ", "status report"), Catch::Contains("without temperatures"));
  CHECK(run.count("warn") == 2);
  CHECK_THAT(run.line("warn", "status report"), Catch::Contains("is in its charger"));
}

TEST_CASE("doctor on an account without devices says so", "[doctor]") {
  tm_test::TempDir dir;
  Sim sim(dir / "sim", {"--devices", "0"});
  const DoctorRun run = doctor(sim_env(sim.info()));
  check_blocking_failure(run, "status report", "none: the device list is empty",
                         "the likely reasons");
  CHECK_THAT(run.line("ok  ", "device list received"), Catch::Contains("0 device(s)"));
  CHECK_THAT(run.text, Catch::Contains("why  no device on this account"));
}

TEST_CASE("doctor refuses a bad --wait and a password flag", "[doctor]") {
  std::string output;
  CHECK(live_test::run({TM_BINARY, "doctor", "--wait", "soon"}, output) == 2);
  CHECK_THAT(output, Catch::Contains("--wait must be a number of seconds"));
  CHECK(live_test::run({TM_BINARY, "doctor", "--password", "x"}, output) == 2);
  CHECK_THAT(output, Catch::Contains("there is no --password flag"));
}

TEST_CASE("doctor takes its configuration like collect: a --config file, overridden by flags",
          "[doctor]") {
  Sim& sim = shared_sim();
  tm_test::TempDir dir;
  std::string config;
  for (const auto& [name, value] : sim_env(sim.info())) config += name + "=" + value + "\n";
  const std::string config_file = private_file(dir, "thermomaven.conf", config);
  std::string output;
  CHECK(live_test::run({TM_BINARY, "doctor", "--wait", "4", "--config", config_file}, output) == 0);
  CHECK_THAT(output, Catch::Contains("ok   status report:"));
  CHECK(
      live_test::run({TM_BINARY, "doctor", "--config", config_file, "--email", "flag@example.com"},
                     output) == 1);
  CHECK_THAT(output, Catch::Contains("FAIL login: refused for flag@example.com"));
}

TEST_CASE("doctor interrupted: exit 128+SIGINT, its temporary state (a session token) removed",
          "[doctor]") {
  Sim& sim = shared_sim();
  Fault fault(sim, "devices_offline");  // doctor waits for a report that never comes
  tm_test::TempDir dir, tmp;
  auto env = sim_env(sim.info());
  env["TMPDIR"] = tmp.path().string();
  Collector doctor_process(dir.path().string(), env, {"--wait", "60"}, "doctor");
  REQUIRE(doctor_process.wait_log("ok   device topics subscribed", 20));
  CHECK(!fs::is_empty(tmp.path()));  // the state directory, while it runs
  CHECK(doctor_process.process().signal_and_wait(SIGINT) == 128 + SIGINT);
  CHECK(fs::is_empty(tmp.path()));
}
