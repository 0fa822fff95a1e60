// Page API benchmark: /api/cooks/{uuid}/series of a 12-hour cook at one
// report every 2 s (21,600 reports of 4 probes, written through the real
// ReadingWriter), rendered in process at the default max_points: the median
// time (target 30 ms) and the size of the answer (target 200 KB). Also the
// whole series (every reading) and /api/devices, for scale.
//
//   api_bench [RUNS=50]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "api_test_support.hpp"
#include "bench_timing.hpp"
#include "exporter_test_support.hpp"
#include "thermomaven/core/time.hpp"
#include "thermomaven/exporter/api.hpp"
#include "thermomaven/storage/cook_reader.hpp"
#include "thermomaven/storage/reading_writer.hpp"

using namespace thermomaven;
using Clock = std::chrono::steady_clock;
namespace api = thermomaven::exporter::api;

namespace {

using tm_bench::median_ms;

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 50;
  exporter_test::TempDir dir;
  const std::string path = dir / "cook.db";
  constexpr int kReports = 12 * 3600 / 2;
  {
    storage::Database db(path);
    storage::ReadingWriter writer(db);
    const auto start = Clock::now();
    api_test::write_heating_cook(writer, "bench", 4, kReports, 2000);
    std::printf("wrote %d reports of 4 probes in %.0f ms\n", kReports,
                std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  storage::Database db(path, storage::OpenMode::ReadOnly);
  storage::CookReader reader(db);
  const auto cook = reader.find_cook("benchc1");
  if (!cook || cook->readings != kReports) {
    std::fprintf(stderr, "the cook was not written as expected\n");
    return 1;
  }
  std::string body;
  // What the series cannot avoid: reading and decoding the cook's reports.
  std::int64_t visited = 0;
  const double read_ms =
      median_ms(runs, [&] { reader.for_each_reading(*cook, [&](const auto&) { ++visited; }); });
  std::printf("reading the cook alone: median %.2f ms (%lld readings per run)\n", read_ms,
              static_cast<long long>(visited / runs));
  const double series_ms = median_ms(runs, [&] { body = api::series_json(reader, *cook, {}); });
  std::printf("series, default max_points (%d): median %.2f ms, %zu bytes\n",
              api::kDefaultSeriesPoints, series_ms, body.size());
  const double all_ms = median_ms(std::max(1, runs / 5), [&] {
    body = api::series_json(reader, *cook, {.max_points = api::kMaxSeriesPoints, .unit = {}});
  });
  std::printf("series, max_points %d (every reading): median %.2f ms, %zu bytes\n",
              api::kMaxSeriesPoints, all_ms, body.size());
  const double devices_ms = median_ms(
      runs, [&] { body = api::devices_json(reader.latest_state(), std::nullopt, now_ms(), 0); });
  std::printf("/api/devices (1 device, 4 probes): median %.3f ms, %zu bytes\n", devices_ms,
              body.size());
  return 0;
}
