// How good is the forecast: runs many simulated cooks in virtual time (the
// simulator's own stations, stepped every 2 s, no network), feeds each
// probe's reported readings to ProbeForecaster, and prints the median
// absolute error of the predicted finish at 25 %, 50 % and 75 % of the time
// to target, ours next to the station's curRemainedSec, for normal and
// low-and-slow cooks and overall. "Done" is the first reading at or above the
// target. Also prints the normal cooks' 75 % error by the time still to go
// (short steaks against thick roasts), what the simulated cooks look like
// (length, stall, pit swing), how our error goes with our confidence, and the
// forecaster's cost per reading. Deterministic: the same figures every run.
//
//   forecast_bench [devices]   (4 probes each; default 100)
//   FORECAST_TRACE=N forecast_bench ...   also prints scored cook N every 5 minutes
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "thermomaven/core/forecast.hpp"
#include "thermomaven/sim/device.hpp"

namespace fc = thermomaven::forecast;
using thermomaven::sim::SimDevice;

namespace {

constexpr double kStepS = 2;
constexpr std::int64_t kStartMs = 1'780'000'000'000;
constexpr double kMaxCookH = 40;  // a cook still running after this is dropped
// Low-and-slow cooks are told apart by their target: the simulator's
// low-and-slow foods are the ones cooked to 195 °F and above.
constexpr double kLowAndSlowTargetC = 88;

double to_c(std::int64_t tenths, char unit) {
  const double v = static_cast<double>(tenths) / 10.0;
  return unit == 'F' ? (v - 32) * 5 / 9 : v;
}

struct Reading {
  std::int64_t t_ms;
  std::optional<std::int64_t> ours_ms, device_ms;  // predicted done
  double food_c, ambient_c;
  fc::State state = fc::State::collecting;
  double confidence = 0;
};

struct Cook {
  std::string uuid;
  char unit = 'F';
  double target_c = 0;
  fc::ProbeForecaster forecaster;
  std::vector<Reading> readings;
  std::optional<std::int64_t> done_ms;
  bool stalled_seen = false;
};

struct Result {
  bool low_and_slow;
  double hours, stall_h, pit_swing_c;
  bool stalled_seen;
  // Per checkpoint: absolute error in minutes, when there was an estimate.
  std::optional<double> ours[3], device[3];
  fc::State state[3]{};
  double to_go_min[3]{};  // the time still to go at each checkpoint
};

constexpr double kFractions[3] = {0.25, 0.5, 0.75};

// Is the confidence worth anything: the error of every estimate (once a
// minute), relative to the time still to go, by confidence band.
constexpr double kConfidenceBands[] = {0, 0.25, 0.5, 0.75, 0.9, 1.01};
std::vector<double> g_relative_error_by_band[2][5];  // [low-and-slow][band]

void calibrate(const Cook& c) {
  const std::int64_t done = *c.done_ms;
  for (const Reading& x : c.readings) {
    if (!x.ours_ms || x.confidence < 0 || x.t_ms >= done || (x.t_ms - c.readings[0].t_ms) % 60'000)
      continue;
    const double to_go = static_cast<double>(done - x.t_ms);
    for (int b = 0; b < 5; ++b)
      if (x.confidence >= kConfidenceBands[b] && x.confidence < kConfidenceBands[b + 1])
        g_relative_error_by_band[c.target_c >= kLowAndSlowTargetC][b].push_back(
            std::abs(static_cast<double>(*x.ours_ms - done)) / to_go * 100);
  }
}

Result score(const Cook& c) {
  Result r{};
  const std::int64_t t0 = c.readings.front().t_ms, done = *c.done_ms;
  r.low_and_slow = c.target_c >= kLowAndSlowTargetC;
  r.hours = static_cast<double>(done - t0) / 3.6e6;
  r.stalled_seen = c.stalled_seen;
  // Time the food spent within 63-77 °C, and the pit's swing (the 5th to 95th
  // percentile of the ambient after the first 10 minutes).
  double in_band_s = 0;
  std::vector<double> ambient;
  for (std::size_t i = 1; i < c.readings.size(); ++i) {
    const Reading& x = c.readings[i];
    if (x.food_c >= 63 && x.food_c <= 77)
      in_band_s += static_cast<double>(x.t_ms - c.readings[i - 1].t_ms) / 1000;
    if (x.t_ms - t0 > 10 * 60'000) ambient.push_back(x.ambient_c);
  }
  r.stall_h = in_band_s / 3600;
  if (ambient.size() > 20) {
    std::sort(ambient.begin(), ambient.end());
    r.pit_swing_c = ambient[ambient.size() * 95 / 100] - ambient[ambient.size() * 5 / 100];
  }
  for (int k = 0; k < 3; ++k) {
    const double at = static_cast<double>(t0) + kFractions[k] * static_cast<double>(done - t0);
    const Reading* last = nullptr;
    for (const Reading& x : c.readings)
      if (static_cast<double>(x.t_ms) <= at) last = &x;
    if (!last) continue;
    auto error = [&](std::optional<std::int64_t> predicted) -> std::optional<double> {
      if (!predicted) return std::nullopt;
      return std::abs(static_cast<double>(*predicted - done)) / 60'000;
    };
    r.ours[k] = error(last->ours_ms);
    r.to_go_min[k] = static_cast<double>(done - last->t_ms) / 60'000;
    r.state[k] = last->state;
    r.device[k] = error(last->device_ms);
  }
  return r;
}

// FORECAST_TRACE=N prints the Nth scored cook every 5 minutes (for tuning by eye).
void trace(const Cook& c, std::size_t index) {
  const char* wanted = std::getenv("FORECAST_TRACE");
  if (!wanted || std::strtoul(wanted, nullptr, 10) != index) return;
  const std::int64_t t0 = c.readings.front().t_ms, done = *c.done_ms;
  std::printf("cook %zu: target %.1f C, %.2f h\n", index, c.target_c,
              static_cast<double>(done - t0) / 3.6e6);
  for (const Reading& x : c.readings) {
    if ((x.t_ms - t0) % 300'000 != 0) continue;
    auto left = [&](std::optional<std::int64_t> p) {
      return p ? static_cast<double>(*p - x.t_ms) / 60'000 : -1.0;
    };
    std::printf(
        "%6.1f min food %5.1f amb %5.1f %-11s conf %.2f ours %7.1f device %7.1f truth %7.1f\n",
        static_cast<double>(x.t_ms - t0) / 60'000, x.food_c, x.ambient_c,
        std::string(fc::state_name(x.state)).c_str(), x.confidence, left(x.ours_ms),
        left(x.device_ms), static_cast<double>(done - x.t_ms) / 60'000);
  }
}

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// `relative`: the error as a percentage of the cook's time to target.
void row(const char* name, const std::vector<Result>& results, bool (*pick)(const Result&),
         bool relative = false) {
  std::vector<const Result*> chosen;
  for (const Result& r : results)
    if (pick(r)) chosen.push_back(&r);
  std::printf("| %s (%zu) |", name, chosen.size());
  for (int k = 0; k < 3; ++k) {
    std::vector<double> ours, device;
    for (const Result* r : chosen) {
      const double scale = relative ? 100 / (r->hours * 60) : 1;
      if (r->ours[k]) ours.push_back(*r->ours[k] * scale);
      if (r->device[k]) device.push_back(*r->device[k] * scale);
    }
    std::printf(" %.1f (%zu) | %.1f (%zu) |", median(ours), ours.size(), median(device),
                device.size());
  }
  std::printf("\n");
}

// Normal cooks at 75 %, split by the time still to go there (short steaks
// and fish against thick roasts), minutes.
void by_time_to_go(const std::vector<Result>& results) {
  constexpr double kBounds[] = {0, 4, 10, 1e9};
  std::printf(
      "\nNormal cooks at 75 %%, by the time still to go: median absolute error, minutes\n\n"
      "| to go | ours | device |\n|---|---|---|\n");
  for (int b = 0; b < 3; ++b) {
    std::vector<double> ours, device;
    for (const Result& r : results) {
      if (r.low_and_slow || r.to_go_min[2] < kBounds[b] || r.to_go_min[2] >= kBounds[b + 1] ||
          !r.ours[2] || !r.device[2])
        continue;
      ours.push_back(*r.ours[2]);
      device.push_back(*r.device[2]);
    }
    std::printf("| %s | %.2f (%zu) | %.2f (%zu) |\n",
                b == 0   ? "under 4 min"
                : b == 1 ? "4-10 min"
                         : "10 min and more",
                median(ours), ours.size(), median(device), device.size());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int devices = argc > 1 ? std::atoi(argv[1]) : 100;
  if (devices < 1) {
    std::fprintf(stderr, "usage: forecast_bench [devices]\n");
    return 2;
  }
  std::vector<Result> results;
  std::size_t updates = 0, dropped = 0;
  double forecast_s = 0;
  simdjson::dom::parser parser;
  for (int d = 0; d < devices; ++d) {
    const char unit = d % 2 ? 'C' : 'F';
    SimDevice device(static_cast<std::uint64_t>(9000 + d), 0, "WT09", unit, false);
    std::map<std::string, Cook> running;  // by probeColor: each probe's first cook
    std::map<std::string, bool> finished;
    std::int64_t now = kStartMs;
    for (; finished.size() < 4 && now - kStartMs < kMaxCookH * 3.6e6; now += 2000) {
      device.step(kStepS);
      const std::string json = device.status_data();
      for (simdjson::dom::element p : parser.parse(json)["probes"].get_array()) {
        const std::string color{std::string_view(p["probeColor"])};
        std::string_view uuid;
        std::int64_t food, ambient, target;
        if (finished.count(color) || p["cookUuid"].get(uuid) || p["curTemperature"].get(food) ||
            p["curAmbientTemperature"].get(ambient) ||
            p["setParams"].at(0)["setTemperature"].get(target))
          continue;
        Cook& c = running[color];
        if (c.uuid.empty()) {
          c.uuid = std::string(uuid);
          c.unit = unit;
          c.target_c = to_c(target, unit);
        }
        Reading x{now, std::nullopt, std::nullopt, to_c(food, unit), to_c(ambient, unit)};
        std::int64_t remaining;
        if (!p["curRemainedSec"].get(remaining)) x.device_ms = now + remaining * 1000;
        const fc::ForecastInput in{now, static_cast<std::int32_t>(food),
                                   static_cast<std::int32_t>(ambient),
                                   static_cast<std::int32_t>(target),
                                   unit == 'F' ? fc::Unit::Fahrenheit : fc::Unit::Celsius};
        const auto started = std::chrono::steady_clock::now();
        const fc::Forecast f = c.forecaster.update(in);
        forecast_s +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        ++updates;
        x.ours_ms = f.predicted_done_ms;
        x.state = f.state;
        x.confidence = f.confidence.value_or(-1);
        if (f.stalled) c.stalled_seen = true;
        c.readings.push_back(x);
        if (food >= target) {
          c.done_ms = now;
          results.push_back(score(c));
          trace(c, results.size() - 1);
          calibrate(c);
          finished[color] = true;
        }
      }
    }
    dropped += 4 - finished.size();
  }

  std::printf("cooks: %zu scored, %zu not done within %.0f h\n\n", results.size(), dropped,
              kMaxCookH);
  std::printf(
      "Median absolute error of the predicted finish, minutes (cooks with an estimate)\n\n");
  std::printf(
      "| cooks | 25 %% ours | 25 %% device | 50 %% ours | 50 %% device | 75 %% ours | 75 %% "
      "device |\n|---|---|---|---|---|---|---|\n");
  row("normal", results, [](const Result& r) { return !r.low_and_slow; });
  row("low-and-slow", results, [](const Result& r) { return r.low_and_slow; });
  row("all", results, [](const Result&) { return true; });
  std::printf("\nThe same, as a percentage of each cook's time to target\n\n");
  std::printf(
      "| cooks | 25 %% ours | 25 %% device | 50 %% ours | 50 %% device | 75 %% ours | 75 %% "
      "device |\n|---|---|---|---|---|---|---|\n");
  row(
      "normal", results, [](const Result& r) { return !r.low_and_slow; }, true);
  row(
      "low-and-slow", results, [](const Result& r) { return r.low_and_slow; }, true);
  row(
      "all", results, [](const Result&) { return true; }, true);

  by_time_to_go(results);

  std::printf("\nWhat the simulated cooks look like (medians)\n\n");
  std::printf(
      "| cooks | time to target h | food 63-77 °C h | pit swing (p5-p95) °C | stall "
      "flagged |\n|---|---|---|---|---|\n");
  for (bool slow : {false, true}) {
    std::vector<double> hours, stall, swing;
    std::size_t flagged = 0, n = 0;
    for (const Result& r : results) {
      if (r.low_and_slow != slow) continue;
      ++n;
      hours.push_back(r.hours);
      stall.push_back(r.stall_h);
      swing.push_back(r.pit_swing_c);
      flagged += r.stalled_seen;
    }
    std::printf("| %s | %.1f | %.1f | %.1f | %zu of %zu |\n", slow ? "low-and-slow" : "normal",
                median(hours), median(stall), median(swing), flagged, n);
  }
  std::printf(
      "\nOur error relative to the time still to go, by confidence (every minute of every "
      "cook): median %% (estimates)\n\n| confidence | normal | low-and-slow |\n|---|---|---|\n");
  for (int b = 0; b < 5; ++b)
    std::printf("| %.2f-%.2f | %.1f (%zu) | %.1f (%zu) |\n", kConfidenceBands[b],
                std::min(1.0, kConfidenceBands[b + 1]), median(g_relative_error_by_band[0][b]),
                g_relative_error_by_band[0][b].size(), median(g_relative_error_by_band[1][b]),
                g_relative_error_by_band[1][b].size());
  std::printf("\nOur state at each point, low-and-slow (collecting/estimating/stalled):");
  for (int k = 0; k < 3; ++k) {
    int counts[5] = {};
    for (const Result& r : results)
      if (r.low_and_slow) ++counts[static_cast<int>(r.state[k])];
    std::printf(" %.0f %%: %d/%d/%d;", kFractions[k] * 100, counts[0], counts[1], counts[2]);
  }
  std::printf("\n");
  std::printf(
      "\nforecaster: %zu readings, %.0f ns per reading (a 12-hour cook of 21,600 "
      "readings: %.2f ms)\n",
      updates, forecast_s / static_cast<double>(updates) * 1e9,
      forecast_s / static_cast<double>(updates) * 21600 * 1e3);
  return 0;
}
