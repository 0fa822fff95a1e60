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
// The cooks heat by Newton's law in a cycling pit, long enough that the
// forecast estimates: the benchmark stops unless every probe of the scrape
// has thermomaven_probe_predicted_done_timestamp_seconds and the CSV's rows
// carry predicted_done_at.
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

#include "api_test_support.hpp"
#include "bench_timing.hpp"
#include "exporter_test_support.hpp"
#include "thermomaven/exporter/cook_export.hpp"
#include "thermomaven/exporter/http_server.hpp"
#include "thermomaven/exporter/metrics.hpp"
#include "thermomaven/storage/reading_writer.hpp"

using namespace thermomaven;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kProbes = 4;
constexpr std::int64_t kEveryMs = 2000;
// The scrape's devices have reported for 20 minutes: past the forecast's
// 10 minutes (and 20 readings) of collecting and its first fits
// (docs/forecast.md), so that every probe has an estimate to expose.
constexpr int kScrapeDevices = 100;
constexpr int kScrapeReports = 20 * 60 * 1000 / kEveryMs;
// The CSV's 12-hour cook heats slowly enough (a 12.5-hour time constant)
// to reach its target only near the end, so that the export's forecaster
// estimates for most of the cook instead of idling in `done`.
constexpr int kCsvReports = 12 * 3600 * 1000 / kEveryMs;
constexpr double kSlowCookTimeConstantS = 45'000;

// Report `step` of a cook started at `start_ms`: Newton heating in a cycling
// pit (tests/support/api_test_support.hpp), each probe with a note.
StatusReport report_at(const std::string& device, int step, std::int64_t start_ms,
                       double time_constant_s = api_test::kTimeConstantS) {
  StatusReport r = api_test::heating_report(device, kProbes, start_ms + step * kEveryMs,
                                            static_cast<double>(step * kEveryMs) / 1000.0,
                                            TemperatureUnit::Fahrenheit, time_constant_s);
  for (auto& p : r.probes) {
    p.notes = "Probe " + std::to_string(p.probe);
    p.has_notes = true;
  }
  return r;
}

// Stops the benchmark when a figure would not measure what it claims.
void require(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "exporter_bench: %s\n", what.c_str());
  std::exit(1);
}

// How many lines of `text` start with `prefix`.
std::size_t lines_starting(const std::string& text, const std::string& prefix) {
  std::size_t count = 0;
  for (std::size_t at = 0; at < text.size();) {
    count += text.compare(at, prefix.size(), prefix) == 0;
    const std::size_t end = text.find('\n', at);
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return count;
}

// Every probe of the scrape carries its forecast's predicted finish.
void require_predictions(const std::string& scrape, const char* where) {
  const std::size_t found =
      lines_starting(scrape, "thermomaven_probe_predicted_done_timestamp_seconds{");
  require(found == kScrapeDevices * kProbes,
          std::string("the scrape ") + where + " has " + std::to_string(found) +
              " predicted_done samples, not one for each of the " +
              std::to_string(kScrapeDevices * kProbes) + " probes");
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
    const std::int64_t start_ms = now_ms - kScrapeReports * kEveryMs;
    for (int d = 0; d < kScrapeDevices; ++d) {
      const std::string id = std::to_string(100000000000000000LL + d);
      writer.write(DeviceInfo{id, "Grill \"" + std::to_string(d) + "\"", "WT09", "SN", {}});
      for (int step = 0; step < kScrapeReports; ++step) writer.write(report_at(id, step, start_ms));
    }
    CollectorStatus status;
    status.updated_ms = now_ms;
    status.state = "connected";
    status.mqtt_connected = true;
    status.counters.messages.status_report = kScrapeDevices * kScrapeReports;
    status.counters.readings_stored = kScrapeDevices * kScrapeReports * kProbes;
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
  require_predictions(exporter::scrape_metrics(reader, now_ms, {}), "in process");
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
  require_predictions(exporter_test::http_request(url).body, "over HTTP");
  const double over_http = median_ms(runs, [&] {
    if (exporter_test::http_request(url).status != 200) std::exit(1);
  });
  std::printf(
      "scrape, %d devices x %d probes, %d reports each (%zu samples, %zu bytes; TextSerializer %zu "
      "bytes), median "
      "of %d:\n",
      kScrapeDevices, kProbes, kScrapeReports, samples, ours_bytes, theirs_bytes, runs);
  report("in process, our serializer:", kOurs);
  report("in process, TextSerializer:", kTheirs);
  report("  read (latest_state):", kRead);
  report("  build (metric_families):", kBuild);
  report("  serialize, ours:", kSerializeOurs);
  report("  serialize, TextSerializer:", kSerializeTheirs);
  std::printf("  %-32s %7.3f ms\n", "over HTTP, our serializer:", over_http);
}

// The CSV rows whose predicted_done_at (the next-to-last column, after
// which only numbers follow) is filled in.
std::size_t rows_with_prediction(const std::string& csv) {
  std::size_t rows = 0;
  std::size_t line = csv.find("\r\n") + 2;  // after the header
  while (line < csv.size()) {
    const std::size_t end = csv.find("\r\n", line);
    const std::size_t last_comma = csv.rfind(',', end - 1);
    rows += csv[last_comma - 1] != ',';
    line = end + 2;
  }
  return rows;
}

void bench_csv(const exporter_test::TempDir& dir, int runs) {
  const std::string path = dir / "cook.db";
  {
    storage::Database db(path);
    storage::ReadingWriter writer(db);
    writer.write(DeviceInfo{"42", "Offset smoker", "WT09", "SN", {}});
    for (int step = 0; step < kCsvReports; ++step)
      writer.write(report_at("42", step, api_test::kStartMs, kSlowCookTimeConstantS));
    writer.commit();
  }
  storage::Database db(path, storage::OpenMode::ReadOnly);
  storage::CookReader reader(db);
  const auto cook = reader.find_cook("42c1");
  require(cook && cook->readings == kCsvReports, "the generated cook is missing");
  std::string csv;
  const double in_process = median_ms(runs, [&] {
    std::ostringstream out;
    exporter::write_cook_csv(reader, *cook, std::nullopt, out);
    csv = std::move(out).str();
  });
  // Every row after the forecast's first half hour carries a predicted finish.
  const std::size_t predicted = rows_with_prediction(csv);
  constexpr std::size_t kFirstHalfHour = 30 * 60 * 1000 / kEveryMs;
  require(predicted >= kCsvReports - kFirstHalfHour,
          "only " + std::to_string(predicted) + " of the CSV's " + std::to_string(kCsvReports) +
              " rows carry predicted_done_at");
  exporter::ServerOptions options;
  options.listen = "127.0.0.1:0";
  exporter::HttpServer server(path, options);
  server.start();
  const std::string url = server.url() + "/cooks/42c1.csv?unit=C";
  require(rows_with_prediction(exporter_test::http_request(url).body) == predicted,
          "the CSV over HTTP differs in its predictions");
  const double over_http = median_ms(runs, [&] {
    if (exporter_test::http_request(url).status != 200) std::exit(1);
  });
  std::printf(
      "CSV, 12-hour cook at 2 s (%d rows, %zu with predicted_done_at, %zu bytes): in process "
      "%.2f ms, over HTTP %.2f ms (median of %d)\n",
      kCsvReports, predicted, csv.size(), in_process, over_http, runs);
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
