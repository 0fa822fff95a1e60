// The forecast of a probe's cook (core/forecast.hpp) on synthetic curves:
// an exact Newton curve gives the right time, so do a straight rise and one
// between the two (the rate law's shape is measured), but not a straight rise
// below a low-and-slow stall zone; nothing is shown while collecting, a
// plateau is a stall, a cold pit is unreachable, reaching the target is done,
// °F equals °C, the same input gives the same output, whole-degree steps stay
// within a bound, and hostile input gives no NaN.
#include "thermomaven/core/forecast.hpp"

#include <catch2/catch.hpp>
#include <climits>
#include <cmath>
#include <functional>
#include <vector>

using namespace thermomaven::forecast;

namespace {

constexpr std::int64_t kStartMs = 1'780'000'000'000;  // 2026-05-28

// Newton heating: food from `start_c` towards `ambient_c` with rate `k` (1/s).
double newton(double t_s, double start_c, double ambient_c, double k) {
  return ambient_c - (ambient_c - start_c) * std::exp(-k * t_s);
}
// When that curve reaches `target_c`, s.
double newton_time(double start_c, double ambient_c, double target_c, double k) {
  return std::log((ambient_c - start_c) / (ambient_c - target_c)) / k;
}

std::int32_t tenths(double v) { return static_cast<std::int32_t>(std::lround(v * 10)); }

// Readings every `step_s` from 0 to `end_s`; `food` and `ambient` in °C.
struct Cook {
  std::function<double(double)> food, ambient;
  double target_c = 70;
  double step_s = 2;
};

// Feeds the cook up to `until_s` and returns every forecast with its time (s).
std::vector<std::pair<double, Forecast>> run(ProbeForecaster& f, const Cook& c, double until_s,
                                             double from_s = 0) {
  std::vector<std::pair<double, Forecast>> out;
  for (double t = from_s; t <= until_s + 1e-9; t += c.step_s) {
    ForecastInput in;
    in.time_ms = kStartMs + static_cast<std::int64_t>(std::llround(t * 1000));
    in.food_tenths = tenths(c.food(t));
    in.ambient_tenths = tenths(c.ambient(t));
    in.target_tenths = tenths(c.target_c);
    in.unit = Unit::Celsius;
    out.emplace_back(t, f.update(in));
  }
  return out;
}

double predicted_s(const Forecast& f) {
  REQUIRE(f.predicted_done_ms.has_value());
  return static_cast<double>(*f.predicted_done_ms - kStartMs) / 1000.0;
}

void check_sane(const Forecast& f) {
  if (f.confidence) {
    CHECK(std::isfinite(*f.confidence));
    CHECK(*f.confidence >= 0.0);
    CHECK(*f.confidence <= 1.0);
  }
  CHECK(f.stalled == (f.state == State::stalled));
  if (f.state == State::collecting || f.state == State::unreachable)
    CHECK_FALSE(f.predicted_done_ms.has_value());
}

// A rise whose rate goes as gap^p while the gap shrinks (p = 1 is Newton, p
// = 0 a straight line): food from `start_c` towards `ambient_c` at `rate0`
// °C/s to begin with. Closed form, and when it reaches `target_c`.
struct PowerLawCook {
  double start_c, ambient_c, rate0, p;
  double gap0() const { return ambient_c - start_c; }
  double food(double t_s) const {
    const double q = 1 - p;  // d(gap^q)/dt = -q * rate0 * gap0^-p
    return ambient_c -
           std::pow(std::pow(gap0(), q) - q * rate0 * std::pow(gap0(), -p) * t_s, 1 / q);
  }
  double time_to(double target_c) const {
    const double q = 1 - p;
    return (std::pow(gap0(), q) - std::pow(ambient_c - target_c, q)) /
           (q * rate0 * std::pow(gap0(), -p));
  }
};

// The errors of the forecasts from `from_s` until 5 minutes before `truth_s`.
std::vector<double> errors_from(const std::vector<std::pair<double, Forecast>>& forecasts,
                                double from_s, double truth_s) {
  std::vector<double> out;
  for (const auto& [t, fc] : forecasts) {
    check_sane(fc);
    if (t < from_s || t > truth_s - 300) continue;
    INFO("at " << t << " s");
    REQUIRE(fc.state == State::estimating);
    out.push_back(predicted_s(fc) - truth_s);
  }
  return out;
}

}  // namespace

TEST_CASE("forecast: an exact Newton curve gives the right finish time") {
  const double k = 1.0 / 6000, ambient = 120, start = 4, target = 70;
  const double truth = newton_time(start, ambient, target, k);  // ~84 minutes
  Cook c{[&](double t) { return newton(t, start, ambient, k); }, [&](double) { return ambient; },
         target};
  ProbeForecaster f;
  const auto forecasts = run(f, c, truth - 60);
  for (const auto& [t, fc] : forecasts) {
    check_sane(fc);
    if (t < 20 * 60) continue;
    INFO("at " << t << " s");
    REQUIRE(fc.state == State::estimating);
    CHECK(std::abs(predicted_s(fc) - truth) < 60);  // within a minute of ~84
    CHECK(*fc.confidence > 0.9);
  }
}

TEST_CASE("forecast: sparse readings (one a minute) give the right time too") {
  const double k = 1.0 / 6000, ambient = 120, start = 4, target = 70;
  const double truth = newton_time(start, ambient, target, k);
  Cook c{[&](double t) { return newton(t, start, ambient, k); }, [&](double) { return ambient; },
         target, 60};
  ProbeForecaster f;
  for (const auto& [t, fc] : run(f, c, truth - 120)) {
    check_sane(fc);
    if (t < 19 * 60) CHECK(fc.state == State::collecting);  // 20 readings take 19 minutes
    if (t < 30 * 60) continue;
    INFO("at " << t << " s");
    REQUIRE(fc.state == State::estimating);
    CHECK(std::abs(predicted_s(fc) - truth) < 90);
  }
}

TEST_CASE("forecast: a rise that keeps its rate as the gap shrinks is not taken for Newton's") {
  // A thick cut's core in a hot oven: its rise falls off more slowly than the
  // gap to the air while the core still lags the surface. Newton's constant
  // k would be minutes late here. p = 0: a straight line (69 minutes; Newton
  // is 3.6 minutes late at 40); p = 0.5: the rate falls as the square root of
  // the gap (~78 minutes; Newton and a straight line are both ~1.3 minutes
  // off at 50).
  const double ambient = 180, target = 74;
  for (const double p : {0.0, 0.5}) {
    INFO("p = " << p);
    const PowerLawCook cook{5, ambient, 1.0 / 60, p};
    const double truth = cook.time_to(target);
    Cook c{[&](double t) { return cook.food(t); }, [&](double) { return ambient; }, target};
    ProbeForecaster f;
    const std::vector<double> errors = errors_from(run(f, c, truth), 30 * 60, truth);
    REQUIRE(errors.size() > 900);  // every 2 s from 30 minutes to 5 before the end
    for (double e : errors) CHECK(std::abs(e) < 30);
  }
}

TEST_CASE("forecast: before the stall zone of a low-and-slow pit a straight rise stays Newton's") {
  // Evaporation may yet slow the rise there: the time is not shortened.
  const double ambient = 120, target = 93;
  const PowerLawCook cook{5, ambient, 1.0 / 120, 0.0};  // 0.5 °C a minute
  Cook c{[&](double t) { return cook.food(t); }, [&](double) { return ambient; }, target};
  ProbeForecaster f;
  for (const auto& [t, fc] : run(f, c, cook.time_to(70))) {
    check_sane(fc);
    if (t < 40 * 60) continue;
    INFO("at " << t << " s");
    REQUIRE(fc.state == State::estimating);
    const double straight = cook.time_to(target) - t;
    CHECK(predicted_s(fc) - t > 1.3 * straight);
  }
}

TEST_CASE("forecast: nothing is shown before 10 minutes and 20 readings") {
  const double k = 1.0 / 3000;
  Cook c{[&](double t) { return newton(t, 4, 150, k); }, [](double) { return 150.0; }, 70};
  SECTION("before 10 minutes") {
    ProbeForecaster f;
    for (const auto& [t, fc] : run(f, c, 9.9 * 60)) {
      CHECK(fc.state == State::collecting);
      CHECK_FALSE(fc.predicted_done_ms.has_value());
      CHECK_FALSE(fc.confidence.has_value());
    }
    CHECK(run(f, c, 11 * 60, 10 * 60).back().second.state == State::estimating);
  }
  SECTION("before 20 readings, even after 10 minutes") {
    c.step_s = 40;  // 19 readings in 12 minutes
    ProbeForecaster f;
    const auto forecasts = run(f, c, 12 * 60);
    REQUIRE(forecasts.size() == 19);
    for (const auto& [t, fc] : forecasts) CHECK(fc.state == State::collecting);
    CHECK(run(f, c, 14 * 60, 12 * 60 + 40).back().second.state == State::estimating);
  }
  SECTION("without a target") {
    ProbeForecaster f;
    ForecastInput in{kStartMs, 400, 1500, std::nullopt, Unit::Celsius};
    for (int i = 0; i < 600; ++i, in.time_ms += 2000, in.food_tenths += 1)
      CHECK(f.update(in).state == State::collecting);
  }
}

TEST_CASE("forecast: a plateau is a stall, without a time days out, and heating resumes") {
  const double k = 1.0 / 5000, ambient = 120, target = 95;
  const double stall_at = newton_time(4, ambient, 68, k);  // food reaches 68 °C
  const double stall_s = 2 * 3600;
  auto food = [&](double t) {
    if (t < stall_at) return newton(t, 4, ambient, k);
    if (t < stall_at + stall_s) return 68.0 + 0.3 * (t - stall_at) / stall_s;  // 0.15 °C/h
    return newton(t - stall_at - stall_s, 68.3, ambient, k);
  };
  Cook c{food, [&](double) { return ambient; }, target};
  ProbeForecaster f;
  const auto forecasts = run(f, c, stall_at + stall_s + 3600);
  bool stalled_seen = false, resumed = false;
  for (const auto& [t, fc] : forecasts) {
    check_sane(fc);
    INFO("at " << t << " s, state " << state_name(fc.state));
    if (t < stall_at) {
      CHECK(fc.state != State::stalled);
      // A 95 °C target in a 120 °C pit: a stall may still come.
      if (fc.confidence) CHECK(*fc.confidence <= 0.5);
    }
    if (t > stall_at + 25 * 60 && t < stall_at + stall_s) {
      CHECK(fc.state == State::stalled);
      CHECK(fc.stalled);
    }
    if (fc.state == State::stalled) {
      stalled_seen = true;
      // The time if heating resumed now: after now, and not days out.
      REQUIRE(fc.predicted_done_ms.has_value());
      CHECK(predicted_s(fc) > t);
      CHECK(predicted_s(fc) < t + 4 * 3600);
      CHECK(*fc.confidence <= 0.2);
    }
    if (t > stall_at + stall_s + 30 * 60 && fc.state == State::estimating) resumed = true;
  }
  CHECK(stalled_seen);
  CHECK(resumed);
}

TEST_CASE("forecast: an ambient below the target is unreachable") {
  const double k = 1.0 / 3000;
  Cook c{[&](double t) { return newton(t, 4, 80, k); },
         [](double t) { return 80.0 + 5 * std::sin(t / 100); }, 95};
  ProbeForecaster f;
  const auto forecasts = run(f, c, 3600);
  for (const auto& [t, fc] : forecasts) {
    check_sane(fc);
    if (t >= 20 * 60) CHECK(fc.state == State::unreachable);
  }
  // The pit is turned up: no longer unreachable.
  c.ambient = [](double) { return 160.0; };
  CHECK(run(f, c, 3600 + 120, 3602).back().second.state != State::unreachable);
}

TEST_CASE("forecast: food rising above a low-reading ambient sensor is not unreachable") {
  // The sensor reads 60 °C, below the 90 °C target, but the food climbs past
  // it at 36 °C/h: the sensor is not the heat, so the food's own rise counts.
  Cook c{[](double t) { return 40 + 0.01 * t; }, [](double) { return 60.0; }, 90};
  ProbeForecaster f;
  for (const auto& [t, fc] : run(f, c, 4000)) {
    check_sane(fc);
    INFO("at " << t << " s, state " << state_name(fc.state));
    if (t >= 20 * 60 && t < 2000) CHECK(fc.state == State::unreachable);  // food below it
    if (t >= 2400) {
      REQUIRE(fc.state == State::estimating);
      CHECK(std::abs(predicted_s(fc) - 5000) < 120);  // (90 - 40) / 0.01
    }
  }
}

TEST_CASE("forecast: the first reading at or above the target is done") {
  const double k = 1.0 / 2000;
  const double truth = newton_time(4, 150, 70, k);
  Cook c{[&](double t) { return newton(t, 4, 150, k); }, [](double) { return 150.0; }, 70};
  ProbeForecaster f;
  std::optional<double> first_at;
  for (const auto& [t, fc] : run(f, c, truth + 600)) {
    check_sane(fc);
    if (!first_at && tenths(c.food(t)) >= 700) first_at = t;
    if (first_at) {
      REQUIRE(fc.state == State::done);
      CHECK(predicted_s(fc) == Approx(*first_at));
      CHECK(fc.confidence == 1.0);
    } else {
      CHECK(fc.state != State::done);
    }
  }
  REQUIRE(first_at.has_value());
  // Carry-over and resting below the target: still done.
  ForecastInput in{kStartMs + static_cast<std::int64_t>((truth + 700) * 1000), 650, 1500, 700,
                   Unit::Celsius};
  CHECK(f.update(in).state == State::done);
  // A higher target set afterwards is not done.
  in.time_ms += 2000;
  in.target_tenths = 800;
  CHECK(f.update(in).state != State::done);
}

TEST_CASE("forecast: °F input gives the same forecast as °C input") {
  // Food in half degrees C, exactly representable in tenths of °F (0.9 °F).
  const double k = 1.0 / 4000;
  auto half = [](double v) { return std::round(v * 2) / 2; };
  ProbeForecaster in_c, in_f;
  auto to_f = [](double c) {
    return static_cast<std::int32_t>(std::lround((c * 9 / 5 + 32) * 10));
  };
  for (double t = 0; t < 3 * 3600; t += 2) {
    const double food = half(newton(t, 4, 120 + 10 * std::sin(t / 90), k));
    const double ambient = half(120 + 10 * std::sin(t / 90));
    const std::int64_t ms = kStartMs + static_cast<std::int64_t>(t * 1000);
    const Forecast c = in_c.update({ms, tenths(food), tenths(ambient), 750, Unit::Celsius});
    const Forecast f = in_f.update({ms, to_f(food), to_f(ambient), to_f(75), Unit::Fahrenheit});
    INFO("at " << t << " s");
    REQUIRE(c.state == f.state);
    REQUIRE(c.predicted_done_ms.has_value() == f.predicted_done_ms.has_value());
    if (c.predicted_done_ms) CHECK(std::llabs(*c.predicted_done_ms - *f.predicted_done_ms) <= 1000);
    if (c.confidence) CHECK(*c.confidence == Approx(*f.confidence).margin(1e-6));
  }
  CHECK(in_c.last().state == State::done);
}

TEST_CASE("forecast: the same readings give the same forecasts") {
  const double k = 1.0 / 4000;
  Cook c{[&](double t) { return std::floor(newton(t, 4, 110, k) + 0.3 * std::sin(t)); },
         [](double t) { return 110 + 10 * std::sin(t / 200); }, 90};
  ProbeForecaster a, b;
  const auto first = run(a, c, 4 * 3600);
  const auto second = run(b, c, 4 * 3600);
  REQUIRE(first.size() == second.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    CHECK(first[i].second.state == second[i].second.state);
    CHECK(first[i].second.predicted_done_ms == second[i].second.predicted_done_ms);
    CHECK(first[i].second.confidence == second[i].second.confidence);
  }
}

TEST_CASE("forecast: whole-degree steps and a cycling pit stay within a bound") {
  // Food in whole °F, the pit cycling by ±10 °C every 10 minutes.
  const double k = 1.0 / 5000, ambient = 135, start = 3, target = 74;
  const double truth = newton_time(start, ambient, target, k);  // ~1.7 h
  ProbeForecaster f;
  std::optional<double> previous;
  double worst_jump = 0;
  for (double t = 0; t < truth - 120; t += 2) {
    const double food_f = std::round(newton(t, start, ambient, k) * 9 / 5 + 32);
    const double pit_c = ambient + 10 * std::sin(2 * M_PI * t / 600);
    const Forecast fc = f.update(
        {kStartMs + static_cast<std::int64_t>(t * 1000), static_cast<std::int32_t>(food_f * 10),
         tenths(pit_c * 9 / 5 + 32), tenths(target * 9 / 5 + 32), Unit::Fahrenheit});
    check_sane(fc);
    if (t < truth * 0.25) continue;
    INFO("at " << t << " s of " << truth);
    REQUIRE(fc.state == State::estimating);
    const double p = predicted_s(fc);
    // Within 5 % of the whole cook from a quarter of the way on.
    CHECK(std::abs(p - truth) < 0.05 * truth);
    if (previous) worst_jump = std::max(worst_jump, std::abs(p - *previous));
    previous = p;
  }
  CHECK(worst_jump < 120);  // never jumps by more than two minutes between readings
}

TEST_CASE("forecast: hostile input gives no NaN, no infinity and no crash") {
  auto feed = [](ProbeForecaster& f, std::int64_t ms, std::int32_t food,
                 std::optional<std::int32_t> ambient, std::optional<std::int32_t> target) {
    const Forecast fc = f.update({ms, food, ambient, target, Unit::Celsius});
    check_sane(fc);
    return fc;
  };
  SECTION("food equal to the ambient") {
    ProbeForecaster f;
    for (int i = 0; i < 2000; ++i) feed(f, kStartMs + i * 2000, 500, 500, 700);
    CHECK(f.last().state == State::unreachable);
  }
  SECTION("ambient below the food, target below both") {
    ProbeForecaster f;
    for (int i = 0; i < 2000; ++i) feed(f, kStartMs + i * 2000, 600 - (i % 3), 300, 650);
    CHECK_FALSE(f.last().predicted_done_ms.has_value());
  }
  SECTION("time going backwards is ignored") {
    ProbeForecaster f;
    for (int i = 0; i < 900; ++i) feed(f, kStartMs + i * 2000, 40 + i / 2, 1500, 900);
    const Forecast before = f.last();
    const Forecast back = feed(f, kStartMs, 2000, 100, 900);
    CHECK(back.state == before.state);
    CHECK(back.predicted_done_ms == before.predicted_done_ms);
    CHECK(f.update({kStartMs + 900 * 2000, 490, 1500, 900, Unit::Celsius}).state ==
          State::estimating);
  }
  SECTION("huge gaps and extreme values") {
    ProbeForecaster f;
    std::int64_t ms = kStartMs;
    for (int i = 0; i < 3000; ++i) {
      ms += (i % 97 == 0) ? std::int64_t{1'000'000'000'000} : 2000;
      const std::int32_t food = (i % 7 == 0) ? INT32_MAX : (i % 11 == 0) ? INT32_MIN : 400 + i;
      const std::optional<std::int32_t> ambient =
          (i % 5 == 0) ? std::nullopt : std::optional<std::int32_t>(i % 13 == 0 ? INT32_MIN : 1500);
      feed(f, ms, food, ambient, i % 17 == 0 ? INT32_MAX : 900);
    }
    ProbeForecaster g;
    feed(g, INT64_MIN, 0, 0, 0);
    feed(g, INT64_MAX, 1, 1, 1);
  }
  SECTION("no ambient sensor: a straight line of the food") {
    ProbeForecaster f;
    Forecast fc;
    for (int i = 0; i < 900; ++i) fc = feed(f, kStartMs + i * 2000, 400 + i / 3, std::nullopt, 900);
    REQUIRE(fc.state == State::estimating);
    // 0.1 °C per 6 s: 69.9 °C to 90 °C is ~1206 s after the last reading.
    CHECK(predicted_s(fc) == Approx(1798 + 1206).margin(60));
  }
}
