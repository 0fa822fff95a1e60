// One cloud session per state directory, end to end: the real `thermomaven
// run` holds it, and `thermomaven command` and `doctor` on the same state
// directory go through the logger's control socket instead of logging in
// (which would knock the logger off the broker: one clientId per
// installation). Checked against thermomaven-sim with a real Mosquitto: no
// reading lost, no reconnection, no login; the audit row names the caller's
// uid; a second logger, another uid and garbage on the socket are refused.
#include <sys/socket.h>
#include <sys/un.h>

#include <catch2/catch.hpp>
#include <regex>

#include "live_sim_support.hpp"
#include "thermomaven/storage/command_log.hpp"

using namespace live_test;

namespace {

constexpr const char* kDeviceSubscribed = "subscribed to device/";

std::string read_file_or_empty(const std::string& path) {
  try {
    return read_file(path);
  } catch (const std::exception&) {
    return "";
  }
}

// Sends `bytes` on the logger's control socket (then shuts the writing side
// when `close_after`), and returns what it answers within 10 s.
std::string raw_exchange(const std::string& socket_path, const std::string& bytes,
                         bool close_after = true) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof address.sun_path);
  std::strcpy(address.sun_path, socket_path.c_str());
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the logger may close on an over-long request
    sent += static_cast<std::size_t>(n);
  }
  if (close_after) ::shutdown(fd, SHUT_WR);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
    answer.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return answer;
}

// `thermomaven <verb>` on the logger's state directory, with no account in
// the environment at all: beside a running logger none is needed.
int beside(const TempDir& dir, const std::vector<std::string>& args, std::string& output,
           const std::vector<std::string>& prefix = {}) {
  std::vector<std::string> argv = prefix;
  argv.insert(argv.end(), {TM_BINARY});
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--state-dir", dir.file("state")});
  const int code = run(argv, output);
  UNSCOPED_INFO("thermomaven " << args.front() << " exit " << code << ":\n" << output);
  return code;
}

}  // namespace

TEST_CASE(
    "command and doctor beside `run` go through it: no reading lost, no reconnection, "
    "no login; the audit row names the caller's uid") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--no-offline"});
  Collector logger(dir.path().string(), sim_env(sim.info()), {"--listen", "127.0.0.1:0"}, "run");
  REQUIRE(logger.wait_log(kDeviceSubscribed, 60));
  REQUIRE(wait_until([&] { return readings_in(dir.file("collector.db")).size() >= 10; }, 60));
  // The first run (no saved session) tells the user about a second account.
  CHECK(logger.count_lines("a second ThermoMaven account") == 1);
  const std::int64_t from_ms = now_ms();
  const std::int64_t logins = sim.status_number("logins");
  const std::int64_t cert_applies = sim.status_number("cert_applies");
  const int connections = sim.connections();
  REQUIRE(connections >= 1);

  // 90 °C is 194.0 °F (the account's unit).
  std::string output;
  const int code = beside(
      dir, {"command", "--device", "kitchen GRILL", "--probe", "1", "set-target", "90C"}, output);
  CHECK(code == 0);
  CHECK_THAT(output, Catch::Contains("through the running logger"));
  CHECK_THAT(output, Catch::Contains("194.0F"));
  CHECK(logger.count_lines("control: uid " + std::to_string(::getuid()) + " asks: set-target") ==
        1);

  // doctor: the logger's live state, and the steps it did not run itself.
  const int doctor_code = beside(dir, {"doctor", "--wait", "5"}, output);
  CHECK(doctor_code == 0);
  CHECK_THAT(output,
             Catch::Contains("ok   logger running: pid " + std::to_string(logger.process().pid())));
  CHECK_THAT(output, Catch::Contains("ok   connected: state connected, 0 reconnect(s)"));
  CHECK_THAT(output, Catch::Contains("ok   subscribed: 4 topic(s): ") &&
                         Catch::Contains("app/user/" + sim.info().user_id + "/sub"));
  CHECK_THAT(output, Catch::Contains("ok   device list received: 3 device(s)"));
  CHECK(
      std::regex_search(output, std::regex("ok   status report: WT09 \"Kitchen grill\" \\(\\d+\\): "
                                           "last report \\d+ s ago: probe 1 ")));
  CHECK_THAT(output, Catch::Contains("skip api reachable, login, certificate granted"));
  CHECK_THAT(output, Catch::Contains("a second ThermoMaven account"));

  // Neither logged in nor applied for a certificate, nor connected to the broker.
  CHECK(sim.status_number("logins") == logins);
  CHECK(sim.status_number("cert_applies") == cert_applies);

  // Readings keep coming; then everything published since is in the database.
  const std::int64_t commanded_ms = now_ms();
  REQUIRE(wait_until(
      [&] { return filter_capture(sim.published_file(), dir.file("n.jsonl"), commanded_ms) >= 10; },
      30));
  sim.control("devices/pause");
  const std::int64_t paused_ms = now_ms();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const std::string base = logger.exporter_url();
  REQUIRE(!base.empty());
  const std::string metrics = http_get(base + "/metrics").body;
  CHECK_THAT(metrics, Catch::Contains("thermomaven_mqtt_reconnects_total 0"));
  CHECK(sim.connections() == connections);
  CHECK(logger.count_lines("connection lost") == 0);
  CHECK(logger.process().stop() == 0);

  const std::string capture = dir.file("during.jsonl");
  REQUIRE(filter_capture(sim.published_file(), capture, from_ms, paused_ms) >= 10);
  const std::string imported = dir.file("imported.db");
  run_ok({TM_BINARY, "import", "--db", imported, capture});
  const auto live = readings_in(dir.file("collector.db"));
  for (const ReadingKey& reading : readings_in(imported)) CHECK(live.count(reading) == 1);

  // The audit row: sent through the logger, for this uid.
  thermomaven::storage::Database db(dir.file("collector.db"));
  const auto rows = thermomaven::storage::CommandLog(db).latest();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].who == sim.info().email);
  CHECK(rows[0].caller_uid == static_cast<std::int64_t>(::getuid()));
  CHECK(rows[0].result == "success");
  CHECK(rows[0].what.find("194.0F") != std::string::npos);
  CHECK(std::regex_match(rows[0].cmd_id, std::regex("[0-9a-f]{32}")));
}

TEST_CASE(
    "beside a running logger: a second logger, another uid and garbage are refused, "
    "and the logger carries on") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--no-offline"});
  Collector logger(dir.path().string(), sim_env(sim.info()));
  REQUIRE(logger.wait_log(kDeviceSubscribed, 60));
  const int connections = sim.connections();
  const std::string socket = dir.file("state/control.sock");

  {
    INFO("a second logger on the same state directory: exit 2, one line naming the first");
    std::string output;
    const int code =
        run({TM_BINARY, "collect", "--db", dir.file("second.db"), "--state-dir", dir.file("state")},
            output, sim_env(sim.info()));
    INFO(output);
    CHECK(code == 2);
    CHECK_THAT(output, Catch::Contains("a running logger (run or collect) (pid " +
                                       std::to_string(logger.process().pid()) +
                                       ") holds the cloud session of state directory"));
    CHECK_THAT(output, Catch::Contains("one cloud session per state directory"));
  }

  {
    INFO("another uid: the 0700 state directory keeps it out");
    std::string output;
    ::chmod(dir.path().c_str(), 0755);
    const int code =
        beside(dir, {"doctor"}, output,
               {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"});
    CHECK(code == 2);
    CHECK_THAT(output, Catch::Contains("cannot look for a running logger"));
  }
  {
    INFO("another uid that can reach the socket: the logger refuses it (SO_PEERCRED)");
    ::chmod(dir.file("state").c_str(), 0755);
    ::chmod(socket.c_str(), 0666);
    std::string output;
    const int code =
        beside(dir, {"command", "--device", "kitchen GRILL", "volume", "quiet"}, output,
               {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"});
    ::chmod(socket.c_str(), 0600);
    ::chmod(dir.file("state").c_str(), 0700);
    CHECK(code == 2);
    CHECK_THAT(output, Catch::Contains("uid 65534 may not use this logger"));
    CHECK(logger.count_lines("control: refused a request from uid 65534") == 1);
  }

  {
    INFO("garbage: each gets a one-line error, and the logger carries on");
    CHECK_THAT(raw_exchange(socket, "not json at all\n"),
               Catch::Contains("\"ok\":false") && Catch::Contains("not a request"));
    CHECK_THAT(raw_exchange(socket, std::string("\x00\xff\xfe{\n", 5)),
               Catch::Contains("not a request"));
    CHECK_THAT(raw_exchange(socket, "{\"op\":\"reboot\"}\n"), Catch::Contains("unknown op"));
    CHECK_THAT(raw_exchange(socket, "{\"op\":\"command\",\"verb\":\"explode\"}\n"),
               Catch::Contains("bad command: unknown verb"));
    CHECK_THAT(raw_exchange(
                   socket, "{\"op\":\"command\",\"verb\":\"stop\",\"device\":\"x\",\"probe\":9}\n"),
               Catch::Contains("probe must be 0 to 4"));
    CHECK_THAT(raw_exchange(socket, std::string(100000, 'x')),
               Catch::Contains("request longer than 4096 bytes"));
    CHECK(raw_exchange(socket, "").empty());  // connected and closed: nothing to answer
    // More idle connections than the logger serves at once: the extra ones
    // are told it is busy, and all are let go after the request timeout.
    std::vector<std::thread> idle;
    std::vector<std::string> answers(12);
    for (std::size_t i = 0; i < answers.size(); ++i)
      idle.emplace_back([&, i] { answers[i] = raw_exchange(socket, "{\"op\":", false); });
    for (std::thread& t : idle) t.join();
    int busy = 0, timed_out = 0;
    for (const std::string& a : answers) {
      busy += a.find("busy") != std::string::npos;
      timed_out += a.find("no request line within 5 s") != std::string::npos;
    }
    CHECK(busy + timed_out == 12);
    CHECK(timed_out >= 1);
  }

  // Still connected, still the one connection, still answering.
  std::string output;
  CHECK(beside(dir, {"doctor"}, output) == 0);
  CHECK_THAT(output, Catch::Contains("ok   connected: state connected, 0 reconnect(s)"));
  CHECK(logger.process().poll() == -1);
  CHECK(sim.connections() == connections);

  // A logger that lost its broker: doctor says so from its live state.
  sim.control("broker/stop");
  REQUIRE(logger.wait_log("connection lost", 30));
  // (The session reports the loss once it has closed the old connection.)
  int code = -1;
  wait_until(
      [&] {
        code = beside(dir, {"doctor"}, output);
        return output.find("FAIL connected") != std::string::npos;
      },
      30);
  CHECK(code == 1);
  CHECK_THAT(output, Catch::Contains("FAIL connected: no: state "));
  CHECK_THAT(output, Catch::Contains("the logger keeps retrying"));
  CHECK(logger.process().stop() == 0);
  // The socket goes with the logger; the lock file stays, unheld.
  CHECK_FALSE(fs::exists(socket));
  CHECK(fs::exists(dir.file("state/lock")));
}

TEST_CASE(
    "without a logger, command holds the state directory's session itself, and a logger "
    "started meanwhile waits for it") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--no-offline"});
  sim.fault("drop_receipts", true);  // the command waits its whole --timeout
  ChildProcess command(
      {TM_BINARY, "command", "--db", dir.file("collector.db"), "--state-dir", dir.file("state"),
       "--device", "kitchen GRILL", "volume", "quiet", "--timeout", "8"},
      dir.file("command.log"), sim_env(sim.info()));
  REQUIRE(wait_until(
      [&] {
        return read_file_or_empty(dir.file("state/lock")).find(" command") != std::string::npos;
      },
      60));
  Collector logger(dir.path().string(), sim_env(sim.info()));
  REQUIRE(logger.wait_log(
      "waiting for a running `thermomaven command` (pid " + std::to_string(command.pid()) + ")",
      30));
  CHECK(logger.count_lines(kDeviceSubscribed) == 0);
  CHECK(command.wait_exit(90) == 3);  // no receipt: the sim dropped it
  sim.fault("drop_receipts", false);
  REQUIRE(logger.wait_log(kDeviceSubscribed, 60));
  // The command saved the session: not a first run, no advice in the log.
  CHECK(logger.count_lines("a second ThermoMaven account") == 0);
  CHECK(logger.process().stop() == 0);
}
