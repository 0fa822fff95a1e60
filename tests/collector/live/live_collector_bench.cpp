// Benchmark of the live collector (not a test): the real `thermomaven
// collect` against thermomaven-sim.
//   1. publish -> committed latency at 50 reports/s (10 devices every 200 ms):
//      from each report's serverTime (set by the sim when it publishes) to the
//      log line the writer prints right after the commit that made it durable;
//   2. steady-state RSS with 8 devices reporting every 2 s, and CPU use while
//      they report and while they are paused (idle).
// The `events` mode measures instead whether the page's live stream costs the
// writer anything: the same 50 reports/s into `thermomaven run` (collector
// and exporter in one process), publish -> committed in blocks with no
// client and with 20 clients streaming GET /events (libcurl, each on a
// thread of this process, reading everything), the two kinds of block
// alternating so that both see the same machine.
// Usage: live_collector_bench [SECONDS (default 30)]
//        live_collector_bench events [BLOCK_SECONDS (default 20)] [ROUNDS (default 3)]
#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>

#include "event_stream.hpp"
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

// One report's way from the sim into the database.
struct ReportLatency {
  std::int64_t published_ms = 0;  // serverTime, set by the sim when it publishes
  std::int64_t committed = 0;     // ms until the commit that made it durable
  std::int64_t received = 0;      // ms until the collector had it (broker delivery)
};

// The reports published from `from_ms` on, from the collector's debug log:
// each "ingest: status_report" line, and the next "store: committed" line.
std::vector<ReportLatency> report_latencies(const std::string& log, std::int64_t from_ms) {
  std::vector<ReportLatency> done, pending;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("ingest: status_report ") != std::string::npos) {
      const auto t = line.find(" time_ms ");
      const auto r = line.find(" received_ms ");
      if (t == std::string::npos || r == std::string::npos) continue;
      const std::int64_t time_ms = std::stoll(line.substr(t + 9));
      if (time_ms < from_ms) continue;
      pending.push_back({time_ms, 0, std::stoll(line.substr(r + 13)) - time_ms});
    } else if (line.find("store: committed ") != std::string::npos) {
      const std::int64_t at_ms = log_line_ms(line);
      for (auto& report : pending) {
        report.committed = at_ms - report.published_ms;
        done.push_back(report);
      }
      pending.clear();
    }
  }
  return done;
}

std::vector<std::int64_t> committed_of(const std::vector<ReportLatency>& reports) {
  std::vector<std::int64_t> out;
  for (const auto& r : reports) out.push_back(r.committed);
  return out;
}

void latency_phase(int seconds) {
  TempDir dir;
  Sim sim(dir.file("sim"), {"--devices", "10", "--models", "WT09,WT11,WT02,WT06,WT07"});
  Collector collector(dir.path().string(), sim_env(sim.info()), {"--log-level", "debug"});
  if (!collector.wait_log("subscribed to device/", 30)) throw std::runtime_error("no subscription");
  const std::int64_t start = now_ms() + 2000;  // after the first burst
  std::this_thread::sleep_for(std::chrono::seconds(seconds + 2));
  collector.process().stop();

  const auto reports = report_latencies(collector.log(), start);
  const auto committed = committed_of(reports);
  std::vector<std::int64_t> received;
  for (const auto& r : reports) received.push_back(r.received);
  std::printf("publish -> committed at 50 reports/s (%zu reports over %d s):\n", committed.size(),
              seconds);
  std::printf("  committed: p50 %.0f ms  p90 %.0f ms  p99 %.0f ms  max %.0f ms\n",
              percentile(committed, 0.5), percentile(committed, 0.9), percentile(committed, 0.99),
              percentile(committed, 1.0));
  std::printf("  received (broker delivery only): p50 %.0f ms  p99 %.0f ms\n",
              percentile(received, 0.5), percentile(received, 0.99));
}

constexpr std::string_view kStateEvent = "event: state\n";

// A span of the events phase: with or without the streams.
struct Block {
  int clients = 0;
  std::int64_t from_ms = 0, to_ms = 0;
  std::size_t state_events = 0;  // received by all the block's streams
  std::size_t bytes = 0;
  std::vector<std::int64_t> committed;
};

// `seconds` of 50 reports/s while `clients` streams read /events.
Block run_block(const std::string& events_url, int clients, int seconds) {
  Block block;
  block.clients = clients;
  std::vector<std::unique_ptr<tm_test::EventStream>> streams;
  for (int i = 0; i < clients; ++i)
    streams.push_back(std::make_unique<tm_test::EventStream>(events_url));
  const bool all_streaming = std::all_of(streams.begin(), streams.end(), [](const auto& s) {
    return s->wait_for(kStateEvent, 15) && s->status() == 200;
  });
  if (!all_streaming) throw std::runtime_error("not every /events client got a state event");
  block.from_ms = now_ms();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  block.to_ms = now_ms();
  for (auto& s : streams) {
    block.state_events += s->count(kStateEvent);
    block.bytes += s->received().size();
  }
  streams.clear();  // stops and joins them
  return block;
}

void events_phase(int block_seconds, int rounds) {
  constexpr int kClients = 20;
  TempDir dir;
  Sim sim(dir.file("sim"), {"--devices", "10", "--models", "WT09,WT11,WT02,WT06,WT07"});
  Collector logger(dir.path().string(), sim_env(sim.info()),
                   {"--listen", "127.0.0.1:0", "--log-level", "debug"}, "run");
  if (!logger.wait_log("subscribed to device/", 30)) throw std::runtime_error("no subscription");
  const std::string url = logger.exporter_url();
  if (url.empty()) throw std::runtime_error("run did not say where it serves");
  std::this_thread::sleep_for(std::chrono::seconds(2));  // after the first burst
  std::vector<Block> blocks;
  for (int round = 0; round < rounds; ++round)
    for (int clients :
         round % 2 == 0 ? std::vector<int>{0, kClients} : std::vector<int>{kClients, 0})
      blocks.push_back(run_block(url + "/events", clients, block_seconds));
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the last block's commits
  logger.process().stop();

  const auto reports = report_latencies(logger.log(), blocks.front().from_ms);
  for (auto& block : blocks)
    for (const auto& r : reports)
      if (r.published_ms >= block.from_ms && r.published_ms < block.to_ms)
        block.committed.push_back(r.committed);
  std::printf(
      "publish -> committed at 50 reports/s into `run`, %d-s blocks, with 0 and %d "
      "/events clients alternating:\n",
      block_seconds, kClients);
  std::map<int, std::vector<std::int64_t>> p50s, p99s;
  for (const auto& block : blocks) {
    const double p50 = percentile(block.committed, 0.5), p99 = percentile(block.committed, 0.99);
    std::printf(
        "  %2d clients: %4zu reports  p50 %3.0f ms  p99 %4.0f ms  max %4.0f ms  "
        "(%zu state events, %.1f MB streamed)\n",
        block.clients, block.committed.size(), p50, p99, percentile(block.committed, 1.0),
        block.state_events, static_cast<double>(block.bytes) / 1e6);
    if (block.committed.empty()) throw std::runtime_error("a block without reports");
    p50s[block.clients].push_back(static_cast<std::int64_t>(p50));
    p99s[block.clients].push_back(static_cast<std::int64_t>(p99));
  }
  for (const auto& [clients, p99] : p99s)
    std::printf("  %2d clients, median of %zu blocks: p50 %.0f ms  p99 %.0f ms\n", clients,
                p99.size(), percentile(p50s[clients], 0.5), percentile(p99, 0.5));
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

// The number in argv[index], at least `least`, or `fallback` when absent.
int number_arg(int argc, char** argv, int index, int fallback, int least) {
  return argc > index ? std::max(least, std::atoi(argv[index])) : fallback;
}

int main(int argc, char** argv) {
  const bool events_mode = argc > 1 && std::strcmp(argv[1], "events") == 0;
  try {
    if (events_mode) {
      curl_global_init(CURL_GLOBAL_DEFAULT);
      events_phase(number_arg(argc, argv, 2, 20, 5), number_arg(argc, argv, 3, 3, 1));
      return 0;
    }
    const int seconds = number_arg(argc, argv, 1, 30, 5);
    latency_phase(seconds);
    footprint_phase(seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "live_collector_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
