// When will it be done: a physics-based forecast of one probe's cook,
// computed incrementally from its own readings. Newton's law of heating says
// the gap between the air and the food closes exponentially, so
// ln(ambient - food) falls linearly in time; a weighted straight-line fit over
// a recent window of that log gap gives the heating rate, and from it the
// moment the food reaches the target. How the rise fell off with the gap over
// the last half hour bends that law towards a straight line while the food's
// core still lags its surface (a thick cut). The stall (food barely rising
// for a while) and an ambient below the target are reported as such instead
// of being extrapolated to days. Pure arithmetic: no I/O, no clock, no
// allocation after construction, deterministic. docs/forecast.md describes
// the method, its thresholds and its states.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "thermomaven/core/records.hpp"

namespace thermomaven::forecast {

// The unit of a reading's tenths: the records' own.
using Unit = TemperatureUnit;

// One reading of one probe, as the device reports it.
struct ForecastInput {
  std::int64_t time_ms = 0;                    // when it was measured (ms since the epoch)
  std::int32_t food_tenths = 0;                // curTemperature, tenths of `unit`
  std::optional<std::int32_t> ambient_tenths;  // curAmbientTemperature (the 6th sensor)
  std::optional<std::int32_t> target_tenths;   // setParams[0].setTemperature
  Unit unit = Unit::Fahrenheit;
};

enum class State {
  collecting,   // not enough data yet (or no target): nothing to show
  estimating,   // a forecast from the Newton fit
  stalled,      // the food has barely risen for a while (evaporative stall)
  unreachable,  // the smoothed ambient has stayed below the target
  done,         // the food has reached the target
};

// Every state with its name, in this order: the one table behind
// state_name(), state_from_name() and the metrics that list each state.
inline constexpr std::pair<State, std::string_view> kStateNames[] = {
    {State::collecting, "collecting"},
    {State::estimating, "estimating"},
    {State::stalled, "stalled"},
    {State::unreachable, "unreachable"},
    {State::done, "done"},
};
// "collecting", "estimating", "stalled", "unreachable", "done".
std::string_view state_name(State state);
// The state of a stored name; nullopt for any other text.
std::optional<State> state_from_name(std::string_view name);

struct Forecast {
  State state = State::collecting;
  // When the food is expected to reach the target (ms since the epoch).
  // Absent while collecting, when unreachable, and when the fit gives no
  // finite answer within a day. While stalled: when it would be done if
  // heating resumed now at the rate seen before the stall (a lower bound).
  std::optional<std::int64_t> predicted_done_ms;
  // 0..1, from how well the recent estimates agree; present with the time.
  std::optional<double> confidence;
  bool stalled = false;
};

// The estimator of one probe's cook: make one per cook (a new cookUuid) and
// feed it that cook's readings in time order. A reading older than the
// previous one is ignored (the previous forecast is returned).
class ProbeForecaster {
 public:
  Forecast update(const ForecastInput& input);
  const Forecast& last() const { return last_; }

  // The thresholds (docs/forecast.md).
  static constexpr std::int64_t kBinMs = 30'000;  // readings averaged per sample
  static constexpr std::size_t kWindowBins = 60;  // fit window: 30 minutes
  static constexpr std::size_t kMinFitBins = 6;   // 3 minutes of samples
  static constexpr double kFitRiseC = 2.5;  // the window reaches back until the food rose this
  static constexpr std::int64_t kCollectMs = 10 * 60'000;      // nothing shown before
  static constexpr int kCollectReadings = 20;                  // ... and before this many
  static constexpr double kAmbientTauS = 300;                  // ambient EMA time constant
  static constexpr std::int64_t kUnreachableMs = 10 * 60'000;  // ambient below target this long
  static constexpr std::size_t kStallBins = 40;                // stall judged over 20 minutes
  static constexpr std::size_t kStallExitBins = 20;   // the fit restarts from 10 minutes back
  static constexpr double kStallEnterCPerHour = 2.0;  // 0.5 °C per 15 minutes
  static constexpr double kStallExitCPerHour = 4.0;
  static constexpr double kStallMinFoodC = 60.0;
  static constexpr double kStallKRatio = 0.5;       // ... or heating at < 50 % of its peak rate
  static constexpr std::size_t kStallKBins = 20;    // ... for 10 minutes
  static constexpr std::size_t kAccelBins = 10;     // rate now vs 5 minutes before: accelerating?
  static constexpr std::size_t kShapeMinBins = 30;  // rate-law shape: from 15 minutes
  static constexpr std::size_t kShapeEndBins = 10;  // ... rates over the window's two ends
  static constexpr double kShapeMinLogGap = 0.03;   // ... whose gaps differ this much
  static constexpr std::size_t kSmoothK = 5;        // the rate is the median of 5 fits
  static constexpr std::size_t kSmoothPredictions = 3;   // median of the last 3 (1.5 min)
  static constexpr std::size_t kSpreadPredictions = 10;  // agreement over the last 10 (5 min)
  static constexpr double kMaxRemainingS = 86'400;       // no time further out than a day

 private:
  struct Sample {
    double t_s = 0;  // seconds since the cook's first reading
    double food_c = 0;
    double ambient_c = 0;  // the smoothed ambient at that time
    bool has_ambient = false;
  };
  // A fixed-capacity ring of the newest values.
  template <typename T, std::size_t N>
  struct Ring {
    std::array<T, N> items{};
    std::size_t head = 0, count = 0;
    void push(const T& v) {
      items[(head + count) % N] = v;
      if (count < N)
        ++count;
      else
        head = (head + 1) % N;
    }
    const T& at(std::size_t i) const { return items[(head + i) % N]; }  // 0 = oldest
    const T& newest() const { return at(count - 1); }
    void clear() { head = count = 0; }
  };
  struct Fit {
    bool ok = false;
    double k = 0;            // 1/s (Newton) or °C/s (linear, without ambient)
    double remaining_s = 0;  // from the newest sample's time
    double gap_c = 0;        // the fitted ambient - food at the newest sample (Newton)
  };

  void add_to_bin(double t_s, double food_c);
  void close_bin();
  Fit fit(double target_c) const;
  double slope_c_per_hour(std::size_t bins, std::size_t skip = 0) const;
  double mean_food(std::size_t bins, std::size_t skip) const;
  std::optional<double> shaped_remaining(const Fit& f, double target_c) const;
  std::optional<double> rate_law_power() const;
  bool stall_zone_ahead(double food_c, double target_c) const;
  void judge_stall(double target_c);
  void record_prediction(double predicted_s);
  Forecast make_forecast(double now_s, double food_c, std::optional<double> target_c);

  bool started_ = false;
  std::int64_t first_ms_ = 0, last_ms_ = 0;
  int readings_ = 0;
  std::optional<double> ambient_ema_c_;
  std::optional<double> target_c_;
  bool done_ = false;
  std::int64_t done_ms_ = 0;
  std::optional<std::int64_t> below_since_ms_;  // smoothed ambient below target since
  // The open bin.
  double bin_start_s_ = 0, bin_t_sum_ = 0, bin_food_sum_ = 0;
  int bin_n_ = 0;
  Ring<Sample, kWindowBins> samples_;
  double regime_start_s_ = 0;  // the fit uses no sample before (reset when a stall ends)
  bool stalled_ = false, stall_seen_ = false;
  Ring<double, kSmoothK> recent_k_;  // the fit's k, one per sample
  double k_ = 0;                     // their median: the current heating rate
  double peak_k_ = 0;                // the highest rate since the regime started
  std::size_t slow_bins_ = 0;        // consecutive samples heating below kStallKRatio
  bool newton_mode_ = false;         // the fits use the ambient (else the food's own line)
  double stall_k_ = 0;               // the heating rate before the stall
  Ring<double, kSpreadPredictions> predictions_;  // predicted done, s since the first reading
  std::optional<double> predicted_s_;             // the smoothed prediction
  Forecast last_;
};

}  // namespace thermomaven::forecast
