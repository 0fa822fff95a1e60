// Benchmark of the live collector (not a test): the real `thermomaven
// collect` against thermomaven-sim.
//   1. publish -> committed latency at 50 reports/s (10 devices every 200 ms):
//      from each report's serverTime (set by the sim when it publishes) to the
//      log line the writer prints right after the commit that made it durable;
//   2. steady-state RSS with 8 devices reporting every 2 s, and CPU use while
//      they report and while they are paused (idle).
// Usage: live_collector_bench [SECONDS (default 30)]
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "live_sim_support.hpp"

using namespace live_test;

namespace {

double percentile(std::vector<std::int64_t> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t index =
      std::min(values.size() - 1, static_cast<std::size_t>(p * values.size()));
  return static_cast<double>(values[index]);
}

// A "Name:   123 kB" field of a /proc file.
long proc_kb(pid_t pid, const char* file, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + ":", 0) == 0) return std::stol(line.substr(name.size() + 1));
  return 0;
}
long rss_kb(pid_t pid) { return proc_kb(pid, "status", "VmRSS"); }

// utime + stime of the process, in clock ticks.
long cpu_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(stat, text);
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) {
      stime = std::stol(field);
      break;
    }
  }
  return utime + stime;
}

void latency_phase(int seconds) {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--devices", "10", "--models", "WT09,WT11,WT02,WT06,WT07"});
  Collector collector(dir.path().string(), sim_env(sim.info()), {"--log-level", "debug"});
  if (!collector.wait_log("subscribed to device/", 30)) throw std::runtime_error("no subscription");
  const std::int64_t start = now_ms() + 2000;  // after the first burst
  std::this_thread::sleep_for(std::chrono::seconds(seconds + 2));
  collector.process().stop();

  std::vector<std::int64_t> committed, received, pending_time, pending_received;
  std::istringstream lines(collector.log());
  std::string line;
  while (std::getline(lines, line)) {
    if (auto at = line.find("ingest: status_report "); at != std::string::npos) {
      long long time_ms = 0, received_ms = 0;
      const auto t = line.find(" time_ms ");
      const auto r = line.find(" received_ms ");
      if (t == std::string::npos || r == std::string::npos) continue;
      time_ms = std::stoll(line.substr(t + 9));
      received_ms = std::stoll(line.substr(r + 13));
      if (time_ms < start) continue;
      pending_time.push_back(time_ms);
      pending_received.push_back(received_ms);
    } else if (line.find("store: committed ") != std::string::npos) {
      const std::int64_t at_ms = log_line_ms(line);
      for (std::size_t i = 0; i < pending_time.size(); ++i) {
        committed.push_back(at_ms - pending_time[i]);
        received.push_back(pending_received[i] - pending_time[i]);
      }
      pending_time.clear();
      pending_received.clear();
    }
  }
  std::printf("publish -> committed at 50 reports/s (%zu reports over %d s):\n", committed.size(),
              seconds);
  std::printf("  committed: p50 %.0f ms  p90 %.0f ms  p99 %.0f ms  max %.0f ms\n",
              percentile(committed, 0.5), percentile(committed, 0.9), percentile(committed, 0.99),
              percentile(committed, 1.0));
  std::printf("  received (broker delivery only): p50 %.0f ms  p99 %.0f ms\n",
              percentile(received, 0.5), percentile(received, 0.99));
}

void footprint_phase(int seconds) {
  TempDir dir;
  Sim sim(dir.file("sim"),
          {"--devices", "8", "--interval-ms", "2000", "--models", "WT09,WT11,WT02,WT06,WT07,WT10"});
  Collector collector(dir.path().string(), sim_env(sim.info()));
  if (!collector.wait_log("subscribed to device/", 30)) throw std::runtime_error("no subscription");
  const pid_t pid = collector.process().pid();
  std::this_thread::sleep_for(std::chrono::seconds(5));  // warm up
  std::vector<std::int64_t> rss;
  const long ticks_before = cpu_ticks(pid);
  for (int i = 0; i < seconds; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    rss.push_back(rss_kb(pid));
  }
  const long active_ticks = cpu_ticks(pid) - ticks_before;
  // RSS counts every resident page of the shared libraries (OpenSSL, libstdc++,
  // SQLite, curl's dependencies), shared with other processes; PSS splits
  // those fairly, and the anonymous part is the process's own memory.
  const long pss = proc_kb(pid, "smaps_rollup", "Pss");
  const long anon = proc_kb(pid, "status", "RssAnon");
  const long file = proc_kb(pid, "status", "RssFile");
  sim.control("devices/pause");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long idle_before = cpu_ticks(pid);
  const int idle_seconds = 10;
  std::this_thread::sleep_for(std::chrono::seconds(idle_seconds));
  const long idle_ticks = cpu_ticks(pid) - idle_before;
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::printf("8 devices, one report each every 2 s, over %d s:\n", seconds);
  std::printf("  RSS: median %.1f MB, max %.1f MB\n", percentile(rss, 0.5) / 1024.0,
              percentile(rss, 1.0) / 1024.0);
  std::printf("  of which anonymous %.1f MB, shared library files %.1f MB; PSS %.1f MB\n",
              anon / 1024.0, file / 1024.0, pss / 1024.0);
  std::printf("  CPU while reporting: %.2f %% of one core\n", 100.0 * active_ticks / hz / seconds);
  std::printf("  CPU idle (devices paused, connected): %.2f %% of one core (%ld ticks in %d s)\n",
              100.0 * idle_ticks / hz / idle_seconds, idle_ticks, idle_seconds);
  collector.process().stop();
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::max(5, std::atoi(argv[1])) : 30;
  try {
    latency_phase(seconds);
    footprint_phase(seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "live_collector_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
