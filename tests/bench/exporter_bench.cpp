// Exporter benchmark: the server time of a /metrics scrape of 100 devices ×
// 4 probes, and the CSV export of a 12-hour cook at one report every 2 s.
// Both are measured in process (the server's own work: read transaction,
// rendering) and over HTTP through a real HttpServer with libcurl
// (keep-alive, as Prometheus scrapes).
//
//   exporter_bench [RUNS=200]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

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

template <typename F>
double median_ms(int runs, F&& body) {
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    body();
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

void bench_scrape(const exporter_test::TempDir& dir, int runs, std::int64_t now_ms) {
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
  std::size_t bytes = 0;
  const double in_process =
      median_ms(runs, [&] { bytes = exporter::scrape_metrics(reader, now_ms, {}).size(); });

  exporter::ServerOptions options;
  options.listen = "127.0.0.1:0";
  exporter::HttpServer server(path, options);
  server.start();
  const std::string url = server.url() + "/metrics";
  const double over_http = median_ms(runs, [&] {
    if (exporter_test::http_request(url).status != 200) std::exit(1);
  });
  std::printf(
      "scrape, 100 devices x 4 probes (%zu bytes): in process %.3f ms, over HTTP %.3f ms (median "
      "of %d)\n",
      bytes, in_process, over_http, runs);
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
  bench_scrape(dir, runs, now_ms);
  bench_csv(dir, std::max(5, runs / 10));
  return 0;
}
