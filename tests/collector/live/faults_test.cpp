// Storage and process faults against the real parts: the real `thermomaven`
// binary as a child process, thermomaven-sim (real HTTPS, a real Mosquitto
// over mutual TLS), real SQLite files on real (tmpfs) mounts. Needs root for
// mount(2), as CI has. docs/reliability.md lists what each test shows.
#include <SQLiteCpp/SQLiteCpp.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>

#include "live_sim_support.hpp"

using namespace live_test;

namespace {

constexpr const char* kDeviceSubscribed = "subscribed to device/";

// A small tmpfs of its own: "disk full" and "read-only" for real.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, const std::string& size) : dir_(dir) {
    fs::create_directories(dir);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size + ",mode=0755").c_str()) != 0)
      throw std::runtime_error("cannot mount a tmpfs on " + dir +
                               " (faults_test needs root): " + std::strerror(errno));
  }
  ~TmpfsMount() { ::umount2(dir_.c_str(), MNT_DETACH); }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  void remount(const std::string& options) {
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) != 0)
      throw std::runtime_error("cannot remount " + dir_ + " with " + options + ": " +
                               std::strerror(errno));
  }
  void read_only() {
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) != 0)
      throw std::runtime_error("cannot remount " + dir_ + " read-only: " + std::strerror(errno));
  }
  // Takes every free byte with one file; returns how many it got.
  std::size_t fill() {
    const std::string path = file("filler");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + path);
    std::size_t total = 0;
    const std::string chunk(4096, 'x');
    while (::write(fd, chunk.data(), chunk.size()) > 0) total += chunk.size();
    ::close(fd);
    return total;
  }

 private:
  std::string dir_;
};

std::string integrity_of(const std::string& db_path) {
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  return db.execAndGet("PRAGMA integrity_check").getString();
}

thermomaven::CollectorCounters counters_in(const std::string& db) {
  thermomaven::storage::Database open(db, thermomaven::storage::OpenMode::ReadOnly);
  auto status = thermomaven::storage::CookReader(open).collector_status();
  if (!status) throw std::runtime_error("no collector status in " + db);
  return status->counters;
}

// The readings of every report the sim published after `from_ms` (through
// `thermomaven import` of those lines) that `live_db` lacks.
std::vector<ReadingKey> missing_readings(const TempDir& dir, const Sim& sim,
                                         const std::string& live_db, std::int64_t from_ms,
                                         int at_least = 20) {
  const int reports = filter_capture(sim.published_file(), dir.file("expected.jsonl"), from_ms);
  REQUIRE(reports >= at_least);
  fs::remove(dir.file("expected.db"));
  run_ok({TM_BINARY, "import", "--db", dir.file("expected.db"), dir.file("expected.jsonl")});
  const auto live = readings_in(live_db);
  std::vector<ReadingKey> missing;
  for (const auto& r : readings_in(dir.file("expected.db")))
    if (!live.count(r)) missing.push_back(r);
  return missing;
}

// The sim was paused before the collector started: once subscribed, the
// devices resume and the collector stores at least `readings`.
void start_storing(Collector& collector, Sim& sim, const std::string& db, std::size_t readings) {
  REQUIRE(collector.wait_log(kDeviceSubscribed, 30));
  sim.control("devices/resume");
  REQUIRE(wait_until([&] { return readings_in(db).size() >= readings; }, 30));
}

// After a storage episode: storing again, then the devices paused and the
// collector stopped cleanly, with everything received committed.
void storing_again_then_stop(Collector& collector, Sim& sim, const std::string& db,
                             std::size_t more) {
  REQUIRE(collector.wait_log("storage: writing " + db + " again after", 20));
  const auto stored_after = readings_in(db).size();
  REQUIRE(wait_until([&] { return readings_in(db).size() > stored_after + more; }, 20));
  sim.control("devices/pause");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(collector.process().stop() == 0);
}

// A configuration whose cloud is unreachable: for faults found before any login.
std::map<std::string, std::string> offline_env(const TempDir& dir) {
  write_private_file(dir.file("password"), "not-used\n");
  return {{"THERMOMAVEN_EMAIL", "cook@example.com"},
          {"THERMOMAVEN_PASSWORD_FILE", dir.file("password")},
          {"THERMOMAVEN_API_URL", "https://127.0.0.1:1"},
          {"THERMOMAVEN_MQTT_ENDPOINT", "127.0.0.1:1"}};
}

// How many readings `db` holds; 0 while the collector is still creating it.
std::size_t readings_so_far(const std::string& db) {
  try {
    return readings_in(db).size();
  } catch (const thermomaven::storage::StorageError&) {
    return 0;
  }
}

// /usr/lib/<multiarch triplet>/faketime/libfaketimeMT.so.1, or "".
std::string faketime_library() {
  for (const auto& entry : fs::directory_iterator("/usr/lib")) {
    const fs::path library = entry.path() / "faketime" / "libfaketimeMT.so.1";
    if (fs::exists(library)) return library.string();
  }
  return "";
}

int lines_of(const std::string& text) {
  int n = 0;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) n += !line.empty();
  return n;
}

}  // namespace

TEST_CASE("disk full while collecting: one line, the session kept, counted, nothing lost") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--interval-ms", "50"});
  TmpfsMount disk(dir.file("disk"), "8m");
  const std::string db = disk.file("collector.db");
  sim.control("devices/pause");
  const std::int64_t paused_at = now_ms();
  Collector collector(dir.path().string(), sim_env(sim.info()), {"--db", db});
  start_storing(collector, sim, db, 20);

  REQUIRE(disk.fill() > 0);
  REQUIRE(collector.wait_log("storage: cannot write " + db + " (disk full)", 20));
  // Messages keep arriving and are kept while the disk stays full.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(collector.process().poll() < 0);
  disk.remount("size=64m");
  storing_again_then_stop(collector, sim, db, 20);

  INFO(collector.log());
  CHECK(collector.count_lines("storage: cannot write") == 1);  // once per episode
  CHECK(collector.count_lines("keeping ") == 1);
  CHECK(collector.count_lines("mqtt: connected to") == 1);  // the session was kept
  CHECK(collector.count_lines("connection lost") == 0);
  CHECK(integrity_of(db) == "ok");
  const auto counters = counters_in(db);
  CHECK(counters.storage_errors.disk_full >= 1);
  CHECK(counters.dropped.storage_error == 0);
  CHECK(counters.dropped.queue_full == 0);
  // Nothing dropped, so every reading published while the disk was full is stored.
  CHECK(missing_readings(dir, sim, db, paused_at + 1).empty());
}

TEST_CASE("the database locked by another writer past the busy timeout: retried, nothing lost") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  const std::string db = dir.file("collector.db");
  sim.control("devices/pause");
  const std::int64_t paused_at = now_ms();
  Collector collector(dir.path().string(), sim_env(sim.info()));
  start_storing(collector, sim, db, 10);
  {
    SQLite::Database other(db, SQLite::OPEN_READWRITE, 5000);
    other.exec("BEGIN EXCLUSIVE");
    // Longer than the collector's 5 s busy timeout plus its 1 s batch wait.
    REQUIRE(collector.wait_log("storage: cannot write " + db + " (locked by another writer)", 15));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    other.exec("COMMIT");
  }
  storing_again_then_stop(collector, sim, db, 5);

  INFO(collector.log());
  CHECK(collector.count_lines("storage: cannot write") == 1);
  CHECK(collector.count_lines("mqtt: connected to") == 1);
  CHECK(integrity_of(db) == "ok");
  const auto counters = counters_in(db);
  CHECK(counters.storage_errors.locked >= 1);
  CHECK(counters.dropped.storage_error == 0);
  CHECK(missing_readings(dir, sim, db, paused_at + 1).empty());
}

TEST_CASE(
    "a batch the database refuses for a reason of its own is dropped and counted, not retried") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  const std::string db = dir.file("collector.db");
  sim.control("devices/pause");
  Collector collector(dir.path().string(), sim_env(sim.info()));
  start_storing(collector, sim, db, 10);
  // A refusal that retrying cannot cure (as a batch that always breaks a
  // constraint would): it must not hold up the messages behind it.
  {
    SQLite::Database other(db, SQLite::OPEN_READWRITE, 5000);
    other.exec(
        "CREATE TRIGGER refuse BEFORE INSERT ON reports BEGIN SELECT RAISE(ABORT, 'refused'); "
        "END");
  }
  REQUIRE(collector.wait_log("of this batch lost", 20));
  {
    SQLite::Database other(db, SQLite::OPEN_READWRITE, 5000);
    other.exec("DROP TRIGGER refuse");
  }
  const std::int64_t dropped_at = now_ms();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto stored = readings_in(db).size();
  REQUIRE(wait_until([&] { return readings_in(db).size() > stored + 5; }, 20));
  sim.control("devices/pause");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(collector.process().stop() == 0);

  INFO(collector.log());
  CHECK(collector.count_lines("keeping ") == 0);  // not kept for a retry
  CHECK(collector.count_lines("storage: cannot write " + db + " (error): could not store report") >=
        1);
  const auto counters = counters_in(db);
  CHECK(counters.storage_errors.other >= 1);
  CHECK(counters.dropped.storage_error >= 1);
  CHECK(integrity_of(db) == "ok");
  CHECK(missing_readings(dir, sim, db, dropped_at + 300, 3).empty());
}

TEST_CASE("a damaged database: collect, import, serve and cooks say so in one line and leave it") {
  TempDir dir;
  const std::string capture = tm_test::data_file("sample-capture.jsonl");
  const std::string good = dir.file("good.db");
  run_ok({TM_BINARY, "import", "--db", good, capture});
  const std::string whole = read_file(good);
  REQUIRE(whole.size() > 8 * 4096);
  // A valid first page (header and schema), garbage in every table after it.
  const std::string damaged_page = whole.substr(0, 4096) + std::string(whole.size() - 4096, 'Z');
  const std::vector<std::pair<std::string, std::string>> files = {
      {"garbage.db", std::string(8192, 'z')},
      {"truncated.db", whole.substr(0, 60)},
      {"damaged.db", damaged_page},
  };
  const auto env = offline_env(dir);
  for (const auto& [name, bytes] : files) {
    const std::string path = dir.file(name);
    tm_test::write_file(path, bytes);
    std::vector<std::vector<std::string>> commands = {
        {TM_BINARY, "collect", "--db", path, "--state-dir", dir.file("state")},
        {TM_BINARY, "import", "--db", path, capture},
        {TM_BINARY, "cooks", "--db", path}};
    // serve reads lazily: a damaged page deep in the file shows on the
    // requests that touch it, not at the start (docs/reliability.md).
    if (name != "damaged.db")
      commands.push_back({TM_BINARY, "serve", "--db", path, "--listen", "127.0.0.1:0"});
    for (const auto& command : commands) {
      INFO(name << ": thermomaven " << command[1]);
      std::string output;
      CHECK(run(command, output, env) == 2);
      CHECK(lines_of(output) == 1);
      CHECK_THAT(output, Catch::Contains(path) &&
                             (Catch::Contains("not a database") || Catch::Contains("malformed") ||
                              Catch::Contains("is damaged")));
      CHECK(read_file(path) == bytes);
      // A reader may leave an empty write-ahead log beside it, nothing in it.
      CHECK((!fs::exists(path + "-wal") || fs::file_size(path + "-wal") == 0));
    }
  }
}

TEST_CASE("a read-only database path: a clear error and exit status 2, nothing written") {
  TempDir dir;
  TmpfsMount disk(dir.file("disk"), "4m");
  const std::string capture = tm_test::data_file("sample-capture.jsonl");
  const std::string db = disk.file("t.db");
  run_ok({TM_BINARY, "import", "--db", db, capture});
  const std::string before = read_file(db);
  disk.read_only();
  const auto env = offline_env(dir);
  const std::vector<std::vector<std::string>> commands = {
      {TM_BINARY, "collect", "--db", db, "--state-dir", dir.file("state")},
      {TM_BINARY, "import", "--db", db, capture},
      {TM_BINARY, "import", "--db", disk.file("new.db"), capture},
      {TM_BINARY, "cooks", "--db", db},
      {TM_BINARY, "serve", "--db", db, "--listen", "127.0.0.1:0"}};
  for (const auto& command : commands) {
    INFO("thermomaven " << command[1] << " " << command[3]);
    std::string output;
    CHECK(run(command, output, env) == 2);
    CHECK(lines_of(output) == 1);
    CHECK_THAT(output, Catch::Contains("read-only file system"));
  }
  CHECK(read_file(db) == before);
  CHECK(!fs::exists(disk.file("new.db")));
}

TEST_CASE("a state directory of ours with a loose mode is made 0700; another user's is refused") {
  TempDir dir;
  const auto env = offline_env(dir);
  const std::string loose = dir.file("loose");
  fs::create_directory(loose);
  REQUIRE(::chmod(loose.c_str(), 0755) == 0);
  {
    Collector collector(dir.path().string(), env, {"--state-dir", loose});
    REQUIRE(collector.wait_log("collector: starting", 10));
    CHECK(collector.count_lines("state directory " + loose + " had mode 0755; made it 0700") == 1);
    struct stat st {};
    REQUIRE(::stat(loose.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    CHECK(collector.process().stop() == 0);
  }
  {
    Collector fresh(dir.path().string(), env, {"--state-dir", dir.file("new/state")});
    REQUIRE(fresh.wait_log("collector: starting", 10));
    CHECK(fresh.count_lines("state directory") == 0);  // created 0700, nothing to warn about
    struct stat st {};
    REQUIRE(::stat(dir.file("new/state").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    CHECK(fresh.process().stop() == 0);
  }
  const std::string foreign = dir.file("foreign");
  fs::create_directory(foreign);
  REQUIRE(::chmod(foreign.c_str(), 0700) == 0);
  REQUIRE(::chown(foreign.c_str(), 65534, 65534) == 0);
  std::string output;
  CHECK(run(Collector::args(dir.path().string(), {"--state-dir", foreign}, "collect"), output,
            env) == 2);
  CHECK(lines_of(output) == 1);
  CHECK_THAT(output, Catch::Contains("state directory " + foreign + " is owned by uid 65534"));
  CHECK(fs::is_empty(foreign));  // no session, no install id left in it
}

TEST_CASE("the collector's clock jumping back: every reading still stored") {
  const std::string libfaketime = faketime_library();
  REQUIRE(!libfaketime.empty());  // Debian package faketime, in scripts/lib.sh
  TempDir dir;
  Sim sim(dir.file("sim"));
  const std::string db = dir.file("collector.db");
  tm_test::write_file(dir.file("faketime"), "+0\n");
  auto env = sim_env(sim.info());
  env["LD_PRELOAD"] = libfaketime;
  env["FAKETIME_TIMESTAMP_FILE"] = dir.file("faketime");
  env["FAKETIME_NO_CACHE"] = "1";
  env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1";
  // Under ASan the preload comes before the sanitizer's runtime.
  const char* asan = std::getenv("ASAN_OPTIONS");
  env["ASAN_OPTIONS"] = std::string(asan ? asan : "") + ":verify_asan_link_order=0";
  sim.control("devices/pause");
  const std::int64_t paused_at = now_ms();
  Collector collector(dir.path().string(), env);
  start_storing(collector, sim, db, 10);
  // Two minutes back: within the cloud's five-minute tolerance for requests.
  tm_test::write_file(dir.file("faketime"), "-120\n");
  const auto jumped_at = now_ms();
  const auto stored_before = readings_in(db).size();
  REQUIRE(wait_until([&] { return readings_in(db).size() >= stored_before + 15; }, 30));
  sim.control("devices/pause");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(collector.process().stop() == 0);
  INFO(collector.log());
  // The jump took effect: the collector's last line is stamped two minutes back.
  const std::int64_t stopped_at = collector.last_log_ms("collector: stopped");
  CHECK(stopped_at < jumped_at - 100 * 1000);
  CHECK(collector.count_lines("mqtt: connected to") == 1);
  CHECK(missing_readings(dir, sim, db, paused_at + 1).empty());
  CHECK(integrity_of(db) == "ok");
}

TEST_CASE("a report older than the last stored one is stored and counted in its cook") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--devices", "1", "--models", "WT11"});
  const std::string db = dir.file("collector.db");
  Collector collector(dir.path().string(), sim_env(sim.info()));
  REQUIRE(collector.wait_log(kDeviceSubscribed, 30));
  REQUIRE(wait_until([&] { return readings_in(db).size() >= 10; }, 30));
  sim.control("devices/pause");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  // The last published report, sent again by the device with a server time
  // 10 minutes before it (a clock that jumped back) and its own temperature.
  std::string last, line;
  {
    std::ifstream in(sim.published_file());
    while (std::getline(in, line))
      if (line.find(":status:report") != std::string::npos) last = line;
  }
  REQUIRE(!last.empty());
  const auto topic_at = last.find("\"topic\":\"") + 9;
  const std::string topic = last.substr(topic_at, last.find('"', topic_at) - topic_at);
  const auto payload_at = last.find("\"payload\":") + 10;
  std::string payload = last.substr(payload_at, last.rfind(",\"ts\":") - payload_at);
  const auto time_at = payload.find("\"serverTime\":") + 13;
  const std::int64_t last_ms = std::stoll(payload.substr(time_at, 13));
  const std::int64_t earlier_ms = last_ms - 10 * 60 * 1000;
  payload.replace(time_at, 13, std::to_string(earlier_ms));
  const auto temp_at = payload.find("\"curTemperature\":") + 17;
  payload.replace(temp_at, payload.find(',', temp_at) - temp_at, "1234");
  const auto uuid_at = payload.find("\"cookUuid\":\"") + 12;
  const std::string cook_uuid = payload.substr(uuid_at, 32);

  const auto before = readings_in(db);
  std::string output;
  const std::string sim_dir = sim.dir();
  const std::string endpoint = sim.info().mqtt_endpoint;
  REQUIRE(run({"/usr/bin/mosquitto_pub", "-h", endpoint.substr(0, endpoint.rfind(':')), "-p",
               endpoint.substr(endpoint.rfind(':') + 1), "--cafile", sim_dir + "/ca.pem", "--cert",
               sim_dir + "/publisher.pem", "--key", sim_dir + "/publisher.key", "-q", "1", "-t",
               topic, "-m", payload},
              output) == 0);
  INFO(output);
  REQUIRE(wait_until([&] { return readings_in(db).size() > before.size(); }, 10));
  CHECK(collector.process().stop() == 0);

  const auto after = readings_in(db);
  std::vector<ReadingKey> added;
  for (const auto& r : after)
    if (!before.count(r)) added.push_back(r);
  REQUIRE(added.size() == 1);
  CHECK(std::get<2>(added[0]) == earlier_ms);
  CHECK(std::get<3>(added[0]) == 1234);
  CHECK(std::get<4>(added[0]) == cook_uuid);
  for (const auto& r : before) CHECK(after.count(r) == 1);  // nothing replaced or merged
  // The cook now starts at the late report and counts it once.
  thermomaven::storage::Database open(db, thermomaven::storage::OpenMode::ReadOnly);
  for (const auto& cook : thermomaven::storage::CookReader(open).list_cooks()) {
    if (cook.cook_uuid != cook_uuid) continue;
    CHECK(cook.first_ms == earlier_ms);
    CHECK(cook.last_ms > earlier_ms);
    const auto in_cook = std::count_if(after.begin(), after.end(), [&](const ReadingKey& r) {
      return std::get<4>(r) == cook_uuid;
    });
    CHECK(cook.readings == in_cook);
  }
}

TEST_CASE("collect killed with SIGKILL mid-batch, 8 times: whole, every committed reading kept") {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--interval-ms", "20"});
  const std::string db = dir.file("collector.db");
  std::mt19937 random(std::random_device{}());
  std::set<ReadingKey> committed;
  for (int round = 0; round < 8; ++round) {
    INFO("round " << round);
    Collector collector(dir.path().string(), sim_env(sim.info()));
    // Storing again, then killed somewhere in the stream of batches.
    REQUIRE(wait_until([&] { return readings_so_far(db) > committed.size() + 20; }, 30));
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 400));
    const auto before_kill = readings_in(db);
    CHECK(collector.process().signal_and_wait(SIGKILL) == 128 + SIGKILL);
    REQUIRE(integrity_of(db) == "ok");
    const auto after_kill = readings_in(db);
    std::size_t lost = 0;
    for (const auto& r : before_kill) lost += !after_kill.count(r);
    CHECK(lost == 0);
    CHECK(after_kill.size() >= before_kill.size());
    committed = after_kill;
  }
  CHECK(committed.size() > 8 * 20);
}
