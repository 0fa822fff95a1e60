// Exporter benchmark: the server time of a /metrics scrape of 100 devices ×
// 4 probes, and the CSV export of a 12-hour cook at one report every 2 s.
// Both are measured in process (the server's own work: read transaction,
// rendering) and over HTTP through a real HttpServer with libcurl
// (keep-alive, as Prometheus scrapes). The scrape is measured side by side
// with the exporter's own serializer and with prometheus-cpp's
// TextSerializer over the same MetricFamily vector, interleaved run by run
// so that both see the same load, and split into its parts (read, build,
// serialize) to show where the time goes.
//
//   exporter_bench [RUNS=200] [in-process]
//
// `in-process` times only the in-process scrape, for profiling:
//   perf record -g exporter_bench 500 in-process
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "exporter_test_support.hpp"
#include "thermomaven/exporter/cook_export.hpp"
#include "thermomaven/exporter/http_server.hpp"
#include "thermomaven/exporter/metrics.hpp"
#include "thermomaven/storage/reading_writer.hpp"

using namespace thermomaven;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t kStartMs = 1'777'779'654'000;

ProbeSample probe_at(int number, int step, const std::string& cook) {
  ProbeSample p;
  p.probe = number;
  p.state = "cooking";
  p.mode = "smart";
  p.cook_uuid = cook;
  p.notes = "Probe " + std::to_string(number);
  p.has_notes = true;
  const int t = 380 + step / 20 + number * 13;
  p.temperature = t;
  p.zones = {t, t + 8, t + 35, t + 90, t + 150};
  p.ambient = 2450 + step % 50;
  p.target = 2030;
  p.elapsed_s = step * 2;
  p.total_s = step * 2;
  p.remaining_s = 40000 - step;
  p.battery_pct = 100 - step / 1000;
  p.cooking = true;
  p.overheat = false;
  return p;
}

StatusReport report_at(const std::string& device, int step, std::int64_t time_ms) {
  StatusReport r;
  r.device_id = device;
  r.model = "WT09";
  r.time_ms = time_ms;
  r.online = true;
  r.battery_pct = 90;
  r.wifi_rssi_dbm = -55;
  for (int p = 1; p <= 4; ++p)
    r.probes.push_back(probe_at(p, step, device + "c" + std::to_string(p)));
  return r;
}

double seconds_ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

double median(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

using tm_bench::median_ms;

void bench_scrape(const exporter_test::TempDir& dir, int runs, std::int64_t now_ms,
                  bool in_process_only) {
  const std::string path = dir / "fleet.db";
  {
    storage::Database db(path);
    storage::ReadingWriter writer(db);
    for (int d = 0; d < 100; ++d) {
      const std::string id = std::to_string(100000000000000000LL + d);
      writer.write(DeviceInfo{id, "Grill \"" + std::to_string(d) + "\"", "WT09", "SN", {}});
      // A few minutes of history, so that "latest" has something to skip.
      for (int step = 0; step < 60; ++step)
        writer.write(report_at(id, step, now_ms - (60 - step) * 2000));
    }
    CollectorStatus status;
    status.updated_ms = now_ms;
    status.state = "connected";
    status.mqtt_connected = true;
    status.counters.messages.status_report = 6000;
    status.counters.readings_stored = 24000;
    writer.write(status);
    writer.commit();
  }
  storage::Database db(path, storage::OpenMode::ReadOnly);
  storage::CookReader reader(db);

  // Each way of scraping is timed in blocks of runs/10, blocks of the two
  // serializers alternating, so that both see the same load over the run
  // and each block sees the heap as a server doing only that would. (Run
  // by run alternation costs each ~300 extra page faults per scrape, as the
  // other's megabytes are returned to the system and taken back.)
  enum Way { kOurs, kTheirs, kRead, kBuild, kSerializeOurs, kSerializeTheirs, kWays };
  struct Timing {
    std::vector<double> ms;
    long faults = 0;
  };
  std::array<Timing, kWays> timing;
  std::size_t ours_bytes = 0, theirs_bytes = 0;
  const storage::LatestState state = reader.latest_state();
  const auto families = exporter::metric_families(state, now_ms, {});
  const auto run_way = [&](Way way) {
    switch (way) {
      case kOurs:
        ours_bytes = exporter::scrape_metrics(reader, now_ms, {}).size();
        break;
      case kTheirs:
        theirs_bytes = prometheus::TextSerializer()
                           .Serialize(exporter::metric_families(reader.latest_state(), now_ms, {}))
                           .size();
        break;
      case kRead:
        reader.latest_state();
        break;
      case kBuild:
        exporter::metric_families(state, now_ms, {});
        break;
      case kSerializeOurs:
        exporter::exposition_text(families);
        break;
      case kSerializeTheirs:
        prometheus::TextSerializer().Serialize(families);
        break;
      case kWays:
        break;
    }
  };
  const auto time_block = [&](Way way, int count) {
    for (int i = 0; i < count; ++i) {
      const long faults = minor_faults();
      const auto start = Clock::now();
      run_way(way);
      timing[way].ms.push_back(seconds_ms(Clock::now() - start));
      timing[way].faults += minor_faults() - faults;
    }
  };
  const int block = std::max(1, runs / 10);
  const std::vector<Way> ways =
      in_process_only
          ? std::vector<Way>{kOurs}
          : std::vector<Way>{kOurs, kTheirs, kRead, kBuild, kSerializeOurs, kSerializeTheirs};
  for (int done = 0, round = 0; done < runs; done += block, ++round) {
    const int count = std::min(block, runs - done);
    for (std::size_t w = 0; w < ways.size(); w += 2) {  // ours/theirs pairs, order alternating
      const bool swap = round % 2 == 1 && w + 1 < ways.size();
      time_block(ways[swap ? w + 1 : w], count);
      if (w + 1 < ways.size()) time_block(ways[swap ? w : w + 1], count);
    }
  }
  const auto report = [&](const char* what, Way way) {
    const Timing& t = timing[way];
    std::printf("  %-32s %7.3f ms  (%.0f page faults per run)\n", what, median(t.ms),
                static_cast<double>(t.faults) / static_cast<double>(t.ms.size()));
  };
  std::size_t samples = 0;
  for (const auto& family : families) samples += family.metric.size();
  if (in_process_only) {
    report("in process, our serializer:", kOurs);
    return;
  }

  exporter::ServerOptions options;
  options.listen = "127.0.0.1:0";
  exporter::HttpServer server(path, options);
  server.start();
  const std::string url = server.url() + "/metrics";
  const double over_http = median_ms(runs, [&] {
    if (exporter_test::http_request(url).status != 200) std::exit(1);
  });
  std::printf(
      "scrape, 100 devices x 4 probes (%zu samples, %zu bytes; TextSerializer %zu bytes), median "
      "of %d:\n",
      samples, ours_bytes, theirs_bytes, runs);
  report("in process, our serializer:", kOurs);
  report("in process, TextSerializer:", kTheirs);
  report("  read (latest_state):", kRead);
  report("  build (metric_families):", kBuild);
  report("  serialize, ours:", kSerializeOurs);
  report("  serialize, TextSerializer:", kSerializeTheirs);
  std::printf("  %-32s %7.3f ms\n", "over HTTP, our serializer:", over_http);
}

void bench_csv(const exporter_test::TempDir& dir, int runs) {
  const std::string path = dir / "cook.db";
  constexpr int kReports = 12 * 3600 / 2;
  {
    storage::Database db(path);
    storage::ReadingWriter writer(db);
    writer.write(DeviceInfo{"42", "Offset smoker", "WT09", "SN", {}});
    for (int step = 0; step < kReports; ++step)
      writer.write(report_at("42", step, kStartMs + step * 2000LL));
    writer.commit();
  }
  storage::Database db(path, storage::OpenMode::ReadOnly);
  storage::CookReader reader(db);
  const auto cook = reader.find_cook("42c1");
  if (!cook || cook->readings != kReports) {
    std::fprintf(stderr, "exporter_bench: the generated cook is missing\n");
    std::exit(1);
  }
  std::size_t bytes = 0;
  const double in_process = median_ms(runs, [&] {
    std::ostringstream out;
    exporter::write_cook_csv(reader, *cook, std::nullopt, out);
    bytes = out.str().size();
  });
  exporter::ServerOptions options;
  options.listen = "127.0.0.1:0";
  exporter::HttpServer server(path, options);
  server.start();
  const std::string url = server.url() + "/cooks/42c1.csv?unit=C";
  const double over_http = median_ms(runs, [&] {
    if (exporter_test::http_request(url).status != 200) std::exit(1);
  });
  std::printf(
      "CSV, 12-hour cook at 2 s (%d rows, %zu bytes): in process %.2f ms, over HTTP %.2f ms "
      "(median of %d)\n",
      kReports, bytes, in_process, over_http, runs);
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 200;
  exporter_test::TempDir dir;
  if (std::getenv("KEEP")) std::printf("dir %s\n", dir.path().c_str()), std::fflush(stdout);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const bool in_process_only = argc > 2 && std::string(argv[2]) == "in-process";
  bench_scrape(dir, runs, now_ms, in_process_only);
  if (!in_process_only) bench_csv(dir, std::max(5, runs / 10));
  return 0;
}
