// Import benchmark: generates a capture of N status reports of 4 probes each
// (realistic envelopes, ~2.4 KB), then runs `thermomaven import` on it
// several times into a fresh database and reports the median rate, peak
// memory and bytes per reading.
//
//   import_bench [REPORTS=100000] [RUNS=5]
//   import_bench --generate FILE [REPORTS]   (only write the capture, e.g. for perf)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

constexpr int kDevices = 8;
constexpr int kProbes = 4;

std::string hex(unsigned long long v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", v * 0x9E3779B97F4A7C15ull, v ^ 0xA5A5A5A5ull);
  return buf;
}

void generate(const std::string& path, int reports) {
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (!out) std::exit(2);
  std::string line;
  const long long base = 1777779654000;
  for (int i = 0; i < reports; ++i) {
    const int device = i % kDevices;
    const long long t = base + (i / kDevices) * 2000LL + device * 37;
    const int step = i / kDevices;
    char head[512];
    std::snprintf(
        head, sizeof head,
        R"({"cmdId":"%s","cmdSeqNo":"%d","cmdType":"WT09:status:report","cmdData":{"globalStatus":"online",)"
        R"("batteryStatus":"normal","batteryValue":%d,"wifiRssi":%d,"hasWifiConfig":true,"connectStatus":"both","volume":"high","probes":[)",
        hex(static_cast<unsigned long long>(i)).c_str(), i, 100 - step / 1000 % 100, -40 - i % 30);
    line = head;
    for (int p = 1; p <= kProbes; ++p) {
      const int temp = 380 + (step % 3000) / 2 + p * 13 + (i % 7);
      char probe[1024];
      std::snprintf(
          probe, sizeof probe,
          R"(%s{"deviceSn":"WPTB%012d","probeColor":"probe%d","cookingState":"cooking","cookingMode":"smart",)"
          R"("cookUuid":"%s","startClient":"device","setParams":[{"setTemperature":%d}],"curTemperature":%d,)"
          R"("areaTemperature":[%d,%d,%d,%d,%d],"curAmbientTemperature":%d,"temperaturePercentile":[5,0,7,9,5,0,0],)"
          R"("batteryValue":%d,"totalCookSec":%d,"curCookSec":%d,"curRemainedSec":%d,"cooking":true,"overheat":false,"probeNotes":"Probe %d"})",
          p == 1 ? "" : ",", device * 10 + p, p,
          hex(static_cast<unsigned long long>(device * 10 + p)).c_str(), 1650 + p * 100, temp, temp,
          temp + 8, temp + 35, temp + 90, temp + 150, 2450 + (i % 50), 100 - step / 500 % 100,
          step * 2, step * 2, 20000 - step, p);
      line += probe;
    }
    char tail[512];
    std::snprintf(
        tail, sizeof tail,
        R"(]},"serverTime":%lld,"serverTimeSecond":%lld,"deviceTime":%lld,"deviceTimeSecond":%lld,)"
        R"("deviceId":"1992988351958069%02d","deviceType":"thermometer","deviceModel":"WT09","userId":"","appVersion":"10","controlBoardVersion":"10"})",
        t, t / 1000, t - 180, (t - 180) / 1000, device);
    line += tail;
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out);
  }
  std::fclose(out);
}

struct Run {
  double seconds;      // wall clock
  double cpu_seconds;  // user + system: less sensitive to a busy machine
  long max_rss_kb;
};

Run run_import(const std::string& capture, const std::string& db) {
  std::filesystem::remove(db);
  std::filesystem::remove(db + "-wal");
  std::filesystem::remove(db + "-shm");
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    std::freopen("/dev/null", "w", stderr);
    execl(TM_BINARY, TM_BINARY, "import", "--db", db.c_str(), capture.c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "import failed\n");
    std::exit(1);
  }
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return {seconds, secs(usage.ru_utime) + secs(usage.ru_stime), usage.ru_maxrss};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 && std::string(argv[1]) == "--generate") {
    generate(argv[2], argc > 3 ? std::atoi(argv[3]) : 100000);
    return 0;
  }
  const int reports = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  const auto dir =
      std::filesystem::temp_directory_path() / ("tm-import-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string capture = (dir / "capture.jsonl").string();
  const std::string small = (dir / "small.jsonl").string();
  const std::string db = (dir / "bench.db").string();
  generate(capture, reports);
  generate(small, reports / 10);
  const auto capture_bytes = std::filesystem::file_size(capture);

  std::vector<double> seconds;
  std::vector<double> cpu;
  std::vector<double> rss;
  for (int i = 0; i < runs; ++i) {
    const Run r = run_import(capture, db);
    seconds.push_back(r.seconds);
    cpu.push_back(r.cpu_seconds);
    rss.push_back(static_cast<double>(r.max_rss_kb));
  }
  // Size on disk once the WAL is folded into the main file.
  std::string checkpoint = "sqlite3 '" + db + "' 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null";
  if (std::system(checkpoint.c_str()) != 0)
    std::fprintf(stderr, "(sqlite3 missing: size includes WAL)\n");
  std::uintmax_t db_bytes = std::filesystem::file_size(db);
  if (std::filesystem::exists(db + "-wal")) db_bytes += std::filesystem::file_size(db + "-wal");
  const Run small_run = run_import(small, db);

  const double t = median(seconds);
  const double readings = static_cast<double>(reports) * kProbes;
  std::printf("capture: %d reports x %d probes, %.1f MB (%.0f B per report)\n", reports, kProbes,
              capture_bytes / 1e6, static_cast<double>(capture_bytes) / reports);
  std::printf("import:  median %.3f s of %d runs -> %.0f reports/s (%.0f MB/s)\n", t, runs,
              reports / t, capture_bytes / 1e6 / t);
  std::printf("cpu:     median %.3f s of CPU time -> %.0f reports per CPU-second\n", median(cpu),
              reports / median(cpu));
  std::printf("memory:  peak RSS %.1f MB for %d reports, %.1f MB for %d reports\n",
              median(rss) / 1024.0, reports, small_run.max_rss_kb / 1024.0, reports / 10);
  std::printf("disk:    %.1f MB, %.1f B per reading\n", db_bytes / 1e6,
              static_cast<double>(db_bytes) / readings);
  std::filesystem::remove_all(dir);
  return 0;
}
