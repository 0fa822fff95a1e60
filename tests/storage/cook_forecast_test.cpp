// The forecast kept on each cook by the writer (migration 006): computed on
// write from the cook's own readings, read back with the cook, and the same
// after a restart of the writer mid-cook as without one (the stored readings
// are replayed), and after a unit change of the account mid-cook.
#include <catch2/catch.hpp>
#include <cmath>

#include "report_builder.hpp"
#include "thermomaven/core/forecast.hpp"
#include "writer_fixture.hpp"

using namespace thermomaven;
using tm_test::cooking_probe;
using tm_test::report;

namespace {

constexpr std::int64_t kStartMs = 1'777'779'654'000;
constexpr std::int64_t kStepMs = 5'000;

// A brisket-like heating curve in °F tenths: food closing on a 250 °F pit.
ProbeSample probe_at(int step, TemperatureUnit unit) {
  const double minutes = step * kStepMs / 60000.0;
  const double food_f = 250 - (250 - 40) * std::exp(-minutes / 240.0);
  auto tenths = [&](double f) {
    const double v = unit == TemperatureUnit::Fahrenheit ? f : (f - 32) * 5 / 9;
    return static_cast<std::int32_t>(std::lround(v * 10));
  };
  ProbeSample p = cooking_probe(1, "cook-1", tenths(food_f), tenths(203));
  p.ambient = tenths(250);
  return p;
}

StatusReport report_at(int step, TemperatureUnit unit = TemperatureUnit::Fahrenheit) {
  StatusReport r = report("dev-1", kStartMs + step * kStepMs, {probe_at(step, unit)});
  r.unit = unit;
  return r;
}

}  // namespace

TEST_CASE("the writer keeps each cook's forecast after its newest reading") {
  tm_test::WriterFixture f;
  f.writer.write(report_at(0));
  auto first = f.cook("cook-1");
  REQUIRE(first.forecast);
  CHECK(first.forecast->state == forecast::State::collecting);
  CHECK_FALSE(first.forecast->predicted_done_ms);

  for (int step = 1; step <= 40 * 12; ++step) f.writer.write(report_at(step));  // 40 minutes
  const auto cook = f.cook("cook-1");
  REQUIRE(cook.forecast);
  CHECK(cook.forecast->state == forecast::State::estimating);
  REQUIRE(cook.forecast->predicted_done_ms);
  REQUIRE(cook.forecast->confidence);
  // 203 °F on this curve: t = 240 min × ln(210 / 47) ≈ 359 min after the start.
  const double expected_ms = kStartMs + 240.0 * std::log(210.0 / 47.0) * 60000;
  CHECK(std::abs(*cook.forecast->predicted_done_ms - expected_ms) < 20 * 60000.0);
  CHECK_FALSE(cook.forecast->stalled);
}

TEST_CASE("a restarted writer replays the cook's stored readings: the same forecast as without a restart") {
  tm_test::WriterFixture continuous;
  for (int step = 0; step <= 600; ++step) continuous.writer.write(report_at(step));
  const auto expected = continuous.cook("cook-1").forecast;
  REQUIRE(expected);
  REQUIRE(expected->predicted_done_ms);

  tm_test::TempDir dir;
  storage::Database db(dir.file("t.db"));
  {
    storage::ReadingWriter first(db, {.batch_size = 100, .cook_gap_ms = 60'000});
    for (int step = 0; step <= 300; ++step) first.write(report_at(step));
    first.commit();
  }
  storage::ReadingWriter second(db, {.batch_size = 100, .cook_gap_ms = 60'000});
  for (int step = 301; step <= 600; ++step) second.write(report_at(step));
  second.commit();
  storage::CookReader reader(db);
  const auto resumed = reader.find_cook("cook-1")->forecast;
  REQUIRE(resumed);
  CHECK(resumed->state == expected->state);
  CHECK(resumed->predicted_done_ms == expected->predicted_done_ms);
  CHECK(resumed->confidence == expected->confidence);
}

TEST_CASE("the forecast does not care in which unit each reading came") {
  tm_test::WriterFixture in_f, mixed;
  for (int step = 0; step <= 600; ++step) {
    in_f.writer.write(report_at(step));
    // The account switched to °C after 20 minutes.
    mixed.writer.write(report_at(step, step < 240 ? TemperatureUnit::Fahrenheit
                                                  : TemperatureUnit::Celsius));
  }
  const auto a = in_f.cook("cook-1").forecast;
  const auto b = mixed.cook("cook-1").forecast;
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(a->predicted_done_ms);
  REQUIRE(b->predicted_done_ms);
  CHECK(a->state == b->state);
  // Rounding to tenths in each unit differs a little, the answer hardly.
  CHECK(std::abs(*a->predicted_done_ms - *b->predicted_done_ms) < 5 * 60000);
}

TEST_CASE("a docked probe's cook keeps its last forecast") {
  tm_test::WriterFixture f;
  for (int step = 0; step <= 400; ++step) f.writer.write(report_at(step));
  const auto before = f.cook("cook-1").forecast;
  f.writer.write(report("dev-1", kStartMs + 401 * kStepMs, {tm_test::docked_probe(1)}));
  const auto after = f.cook("cook-1");
  CHECK(after.end_reason == "docked");
  REQUIRE(after.forecast);
  CHECK(after.forecast->predicted_done_ms == before->predicted_done_ms);
}
