// The real `thermomaven collect` against thermomaven-sim: real HTTPS, a real
// Mosquitto over mutual TLS, real SQLite. Each test starts its own sim on
// free loopback ports in a temp dir and stops everything on every path.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <memory>

#include "live_sim_support.hpp"

using namespace live_test;

namespace {

constexpr const char* kDeviceSubscribed = "subscribed to device/";

void check_no_secret(const std::string& log, const Sim& sim) {
  const std::string password = read_file(sim.info().password_file);
  REQUIRE(password.size() >= 8);
  CHECK(log.find(password.substr(0, password.find('\n'))) == std::string::npos);
  CHECK(log.find("PRIVATE KEY") == std::string::npos);
  CHECK(log.find("p12Password") == std::string::npos);
}

// Every reading the collector stored, compared with `thermomaven import` of
// the same published messages: equal reading for reading, and equal cooks.
void compare_with_import(const TempDir& dir, const std::string& capture) {
  const std::string imported = dir.file("imported.db");
  run_ok({TM_BINARY, "import", "--db", imported, capture});
  const auto live = readings_in(dir.file("collector.db"));
  const auto expected = readings_in(imported);
  CHECK(expected.size() >= 10);
  CHECK(live.size() == expected.size());
  CHECK(live == expected);
  CHECK(run_ok({TM_BINARY, "cooks", "--db", dir.file("collector.db"), "--json"}) ==
        run_ok({TM_BINARY, "cooks", "--db", imported, "--json"}));
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("login, certificate, device list, per-device subscriptions: every reading stored") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  sim.control("devices/pause");
  const std::int64_t paused_at = now_ms();
  Collector collector(dir.path().string(), sim_env(sim.info()));
  REQUIRE(collector.wait_log(kDeviceSubscribed, 30));
  // Three devices of the sim, three device topics, all followed.
  CHECK(collector.count_lines("following new device topic device/") == 3);
  CHECK(collector.count_lines("device list: 3 device(s)") >= 1);
  // The private key reaches Paho through a memory file, not a file on disk.
  std::set<std::string> open_files;
  for (const auto& fd :
       fs::directory_iterator("/proc/" + std::to_string(collector.process().pid()) + "/fd")) {
    std::error_code ec;
    open_files.insert(fs::read_symlink(fd.path(), ec).string());
  }
  CHECK(open_files.count("/memfd:tm-key (deleted)") == 1);
  for (const std::string& file : open_files) CHECK(file.find(".key") == std::string::npos);
  sim.control("devices/resume");
  REQUIRE(wait_until([&] { return readings_in(dir.file("collector.db")).size() >= 30; }, 30));
  sim.control("devices/pause");
  // Everything published is received and committed before the stop.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(collector.process().stop() == 0);
  CHECK(collector.count_lines("collector: stopped") == 1);

  filter_capture(sim.published_file(), dir.file("after-pause.jsonl"), paused_at + 1);
  compare_with_import(dir, dir.file("after-pause.jsonl"));

  // The session is kept privately; the key never reached the disk.
  CHECK(mode_of(dir.file("state")) == 0700);
  CHECK(mode_of(dir.file("state/session")) == 0600);
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir.file("state")))
    files.insert(entry.path().filename().string());
  // The session lock stays (unheld); the control socket went with the logger.
  CHECK(files == std::set<std::string>{"install-id", "lock", "session"});
  check_no_secret(collector.log(), sim);

  // The collector's own status, for the exporter.
  thermomaven::storage::Database db(dir.file("collector.db"),
                                    thermomaven::storage::OpenMode::ReadOnly);
  auto status = thermomaven::storage::CookReader(db).collector_status();
  REQUIRE(status.has_value());
  CHECK(status->state == "stopped");
  CHECK(status->cert_expiry_s.value_or(0) > now_ms() / 1000 + 20 * 86400);
  CHECK(status->counters.messages.status_report >= 30);
  CHECK(status->counters.logins == 1);
  CHECK(status->counters.dropped.queue_full == 0);
}

TEST_CASE("broker stopped and restarted: reconnect, resubscribe, nothing after it is lost") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  Collector collector(dir.path().string(), sim_env(sim.info()));
  REQUIRE(collector.wait_log(kDeviceSubscribed, 30));
  REQUIRE(wait_until([&] { return readings_in(dir.file("collector.db")).size() >= 10; }, 30));
  sim.control("broker/stop");
  REQUIRE(collector.wait_log("connection lost", 30));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  sim.control("broker/start");
  // After a reconnect the user topic and every device topic go in one batch.
  REQUIRE(collector.wait_log("mqtt: subscribed to app/user/", 60, 2));
  const std::int64_t resubscribed = collector.last_log_ms("mqtt: subscribed to app/user/");
  CHECK(collector.count_lines("mqtt: subscribed to") == 3);
  CHECK(collector.count_lines("device/WT02/") >= 3);
  REQUIRE(resubscribed > 0);
  // Ten reports published after it, then a pause so that all are delivered.
  REQUIRE(wait_until(
      [&] {
        return filter_capture(sim.published_file(), dir.file("after.jsonl"), resubscribed + 100) >=
               10;
      },
      30));
  sim.control("devices/pause");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(collector.process().stop() == 0);

  // Every report published after the resubscription is stored.
  const int reports =
      filter_capture(sim.published_file(), dir.file("after.jsonl"), resubscribed + 100);
  CHECK(reports >= 10);
  run_ok({TM_BINARY, "import", "--db", dir.file("after.db"), dir.file("after.jsonl")});
  const auto live = readings_in(dir.file("collector.db"));
  const auto after = readings_in(dir.file("after.db"));
  REQUIRE(!after.empty());
  std::vector<ReadingKey> missing;
  for (const auto& r : after)
    if (!live.count(r)) missing.push_back(r);
  CHECK(missing.empty());
  CHECK(collector.count_lines("mqtt: connected to") == 2);
}

TEST_CASE("expired token: one new login, the collector carries on") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  {
    Collector first(dir.path().string(), sim_env(sim.info()));
    REQUIRE(first.wait_log(kDeviceSubscribed, 30));
    CHECK(first.process().stop() == 0);
  }
  CHECK(sim.status_number("logins") == 1);
  sim.control("expire-tokens");
  const auto before = readings_in(dir.file("collector.db")).size();
  Collector second(dir.path().string(), sim_env(sim.info()));
  REQUIRE(second.wait_log(kDeviceSubscribed, 30));
  INFO(second.log());
  CHECK(second.count_lines("reusing the stored session") == 1);
  CHECK(second.count_lines("logging in again") == 1);
  CHECK(sim.status_number("logins") == 2);
  REQUIRE(
      wait_until([&] { return readings_in(dir.file("collector.db")).size() >= before + 10; }, 30));
  CHECK(second.process().stop() == 0);
  check_no_secret(second.log(), sim);
}

TEST_CASE("SIGKILL and restart: the same token, nothing committed lost") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  std::set<ReadingKey> committed;
  {
    Collector first(dir.path().string(), sim_env(sim.info()));
    REQUIRE(first.wait_log(kDeviceSubscribed, 30));
    REQUIRE(wait_until([&] { return readings_in(dir.file("collector.db")).size() >= 15; }, 30));
    committed = readings_in(dir.file("collector.db"));
    CHECK(first.process().signal_and_wait(SIGKILL) == 128 + SIGKILL);
  }
  CHECK(sim.status_number("logins") == 1);
  Collector second(dir.path().string(), sim_env(sim.info()));
  REQUIRE(second.wait_log(kDeviceSubscribed, 30));
  CHECK(second.count_lines("reusing the stored session") == 1);
  CHECK(sim.status_number("logins") == 1);  // no new login
  CHECK(sim.status_number("cert_applies") == 2);
  REQUIRE(wait_until(
      [&] { return readings_in(dir.file("collector.db")).size() > committed.size() + 5; }, 30));
  CHECK(second.process().stop() == 0);
  const auto after = readings_in(dir.file("collector.db"));
  for (const auto& r : committed) CHECK(after.count(r) == 1);
}

TEST_CASE("wrong password: a clear error and exit status 1, the password never shown") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  write_private_file(dir.file("wrong-password"), "not-the-password\n");
  auto env = sim_env(sim.info());
  env.erase("THERMOMAVEN_PASSWORD_FILE");
  // Through a config file this time, with the env for the rest.
  write_private_file(dir.file("thermomaven.conf"),
                     "THERMOMAVEN_PASSWORD_FILE=" + dir.file("wrong-password") + "\n");
  Collector collector(dir.path().string(), env, {"--config", dir.file("thermomaven.conf")});
  CHECK(collector.process().wait_exit(30) == 1);
  CHECK(collector.count_lines("login failed") == 1);
  // The cloud's own code and message quoted, and every likely cause named.
  CHECK(collector.count_lines("the cloud refused (code 1003: password error)") == 1);
  CHECK(collector.count_lines("likely causes: a wrong password, the wrong region (US is in use") ==
        1);
  CHECK(collector.log().find("not-the-password") == std::string::npos);
}

TEST_CASE("a refused signature: the cloud's code and message quoted") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  auto env = sim_env(sim.info());
  env["THERMOMAVEN_APP_KEY"] = "00000000000000000000000000000000";
  Collector collector(dir.path().string(), env);
  CHECK(collector.process().wait_exit(30) == 1);
  CHECK(collector.count_lines("login failed") == 1);
  // Quoted as the cloud sent it; no cause is claimed from the code.
  CHECK(collector.count_lines("the cloud refused (code 1001: sign error)") == 1);
}

TEST_CASE("keystore MD5 mismatch: never used, retried until it matches") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  sim.fault("bad_md5", true);
  Collector collector(dir.path().string(), sim_env(sim.info()));
  REQUIRE(collector.wait_log("keystore MD5 mismatch", 30, 2));
  CHECK(collector.count_lines("connecting to") == 0);
  sim.fault("bad_md5", false);
  REQUIRE(collector.wait_log(kDeviceSubscribed, 30));
  CHECK(collector.process().stop() == 0);
}

TEST_CASE("untrusted broker certificate: a clear error, retried, no crash") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  Collector collector(dir.path().string(), sim_env(sim.info()));
  REQUIRE(collector.wait_log(kDeviceSubscribed, 30));
  sim.fault("untrusted_broker", true);
  REQUIRE(collector.wait_log("broker certificate not trusted", 30, 2));
  CHECK(collector.process().poll() < 0);
  sim.fault("untrusted_broker", false);
  REQUIRE(collector.wait_log("mqtt: subscribed to app/user/", 30, 2));
  CHECK(collector.process().stop() == 0);
}

TEST_CASE("refused subscriptions: a clear error, retried until granted") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  sim.fault("refuse_subscriptions", true);
  Collector collector(dir.path().string(), sim_env(sim.info()));
  REQUIRE(collector.wait_log("refused the subscription to device/", 30, 2));
  CHECK(collector.count_lines(kDeviceSubscribed) == 0);
  CHECK(collector.process().poll() < 0);
  sim.fault("refuse_subscriptions", false);
  REQUIRE(collector.wait_log(kDeviceSubscribed, 30));
  CHECK(collector.process().stop() == 0);
}

TEST_CASE("an API answering HTML or 5xx is reported and retried") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  sim.fault("api_html", true);
  Collector collector(dir.path().string(), sim_env(sim.info()));
  REQUIRE(collector.wait_log("something that is not JSON", 30));
  sim.fault("api_html", false);
  sim.fault("api_5xx", true);
  REQUIRE(collector.wait_log("HTTP 503", 30));
  sim.fault("api_5xx", false);
  REQUIRE(collector.wait_log(kDeviceSubscribed, 30));
  CHECK(collector.process().stop() == 0);
  // One line for each failed attempt, each followed by a backoff, and the
  // process never gave up.
  const int failures =
      collector.count_lines("something that is not JSON") + collector.count_lines("HTTP 503");
  CHECK(failures >= 2);
  CHECK(collector.count_lines("ERROR") == failures);
  CHECK(collector.count_lines("trying again in") == failures);
  CHECK(collector.count_lines("collector: stopped") == 1);
}

TEST_CASE("a new device is followed as soon as the device list names it") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--devices", "1"});
  Collector collector(dir.path().string(), sim_env(sim.info()));
  REQUIRE(collector.wait_log(kDeviceSubscribed, 30));
  sim.control("devices/add?model=WT02");
  REQUIRE(collector.wait_log("subscribed to device/WT02/", 30));
  CHECK(collector.count_lines("device list: 2 device(s)") >= 1);
  REQUIRE(wait_until(
      [&] {
        std::set<std::string> devices;
        for (const auto& r : readings_in(dir.file("collector.db"))) devices.insert(std::get<0>(r));
        return devices.size() == 2;
      },
      30));
  CHECK(collector.process().stop() == 0);
}

TEST_CASE("there is no --password flag") {
  std::string output;
  CHECK(run({TM_BINARY, "collect", "--password", "hunter2"}, output) == 2);
  CHECK_THAT(output, Catch::Contains("no --password flag"));
  CHECK(output.find("hunter2") == std::string::npos);
}

TEST_CASE("thermomaven run: the collector and the exporter in one process") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  Collector run(dir.path().string(), sim_env(sim.info()), {"--listen", "127.0.0.1:0"}, "run");
  REQUIRE(run.wait_log(kDeviceSubscribed, 30));
  const std::string base = run.exporter_url();
  REQUIRE(!base.empty());
  REQUIRE(wait_until([&] { return readings_in(dir.file("collector.db")).size() >= 10; }, 30));
  const auto health = http_get(base + "/healthz");
  CHECK(health.status == 200);
  CHECK_THAT(health.body, Catch::Contains("\"state\": \"connected\"") &&
                              Catch::Contains("\"mqtt_connected\": true"));
  REQUIRE(wait_until(
      [&] {
        return http_get(base + "/metrics").body.find("thermomaven_mqtt_connected 1") !=
               std::string::npos;
      },
      10));
  const auto metrics = http_get(base + "/metrics");
  CHECK_THAT(metrics.body, Catch::Contains("thermomaven_probe_temperature_celsius{"));
  CHECK_THAT(metrics.body, Catch::Contains("thermomaven_cloud_logins_total 1"));
  CHECK(run.process().stop() == 0);
}
