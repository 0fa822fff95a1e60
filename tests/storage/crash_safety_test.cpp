#include <SQLiteCpp/SQLiteCpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "report_builder.hpp"
#include "test_support.hpp"
#include "thermomaven/storage/reading_writer.hpp"

using namespace thermomaven::storage;

namespace {

constexpr int kProbes = 4;

// The child: writes 4-probe reports in batches of 50 from `first` on, and
// after each commit tells the parent how many reports are durable.
[[noreturn]] void write_until_killed(const std::string& path, int first, int report_pipe) {
  Database db(path);
  ReadingWriter writer(db, {.batch_size = 50});
  for (int i = first;; ++i) {
    std::vector<thermomaven::ProbeSample> probes;
    for (int p = 1; p <= kProbes; ++p)
      probes.push_back(tm_test::cooking_probe(p, "cook" + std::to_string(p), 400 + i % 100));
    writer.write(tm_test::report("dev", 1'000'000 + i * 1000LL, probes));
    if (writer.pending_reports() == 0) {  // the batch just committed
      const int durable = i + 1;
      if (write(report_pipe, &durable, sizeof durable) != sizeof durable) _exit(3);
    }
  }
}

}  // namespace

TEST_CASE(
    "Killed with SIGKILL mid-batch, over and over, the database stays whole and keeps every "
    "commit") {
  tm_test::TempDir dir;
  const std::string path = dir.file("crash.db");
  { Database create(path); }  // the schema exists before the first kill
  int acknowledged = 0;
  for (int round = 0; round < 12; ++round) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      close(fds[0]);
      write_until_killed(path, acknowledged, fds[1]);
    }
    close(fds[1]);
    // Let it commit a few batches, then kill it wherever it is.
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + 17 * round));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    int durable = 0;
    while (read(fds[0], &durable, sizeof durable) == sizeof durable)
      acknowledged = std::max(acknowledged, durable);
    close(fds[0]);

    SQLite::Database db(path, SQLite::OPEN_READONLY);
    REQUIRE(db.execAndGet("PRAGMA integrity_check").getString() == "ok");
    const int reports = db.execAndGet("SELECT count(*) FROM reports").getInt();
    CHECK(reports >= acknowledged);
    // The cook aggregates were committed with their readings, never apart.
    CHECK(db.execAndGet("SELECT coalesce(sum(readings), 0) FROM cooks").getInt() ==
          reports * kProbes);
    acknowledged = reports;
  }
  CHECK(acknowledged > 0);
}
