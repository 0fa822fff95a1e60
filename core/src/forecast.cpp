// The forecast of one probe's cook (forecast.hpp): readings are averaged
// into 30-second samples; at each new sample a weighted line is fitted to
// ln(ambient - food) over the last 30 minutes, its extrapolation is shaped by
// how the rise fell off with the gap over that half hour, the stall is judged
// from the food's slope, and the predicted finish is smoothed and scored for
// agreement. Per reading the work is constant; per sample it is bounded by
// the window.
#include "thermomaven/core/forecast.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace thermomaven::forecast {
namespace {

// The log gap is taken no closer than this, so food at or above the
// ambient gives a finite (flat) value.
constexpr double kMinGapC = 0.5;
// The fit never reaches back further than the window's 30 minutes, also
// when readings are sparse (then a sample holds one reading).
constexpr double kMaxWindowS = ProbeForecaster::kWindowBins * ProbeForecaster::kBinMs / 1000.0;
// Confidence: the spread of the recent predictions, relative to the time
// still to go (at least 10 minutes), maps linearly from 1 (no spread) to 0
// (spread of half the time to go or more); while stalled it is capped.
constexpr double kMinSpreadBaseS = 600;
constexpr double kZeroConfidenceSpread = 0.5;
constexpr double kStalledConfidenceCap = 0.2;
// A stall may still come: in a low-and-slow pit (smoothed ambient below
// kLowAndSlowPitC) with the food below the stall zone's top and the target
// above it, and no stall seen yet in this cook, the confidence is capped,
// since nothing in the curve so far can tell when the stall starts or ends.
constexpr double kLowAndSlowPitC = 150;
constexpr double kStallZoneTopC = 77;
constexpr double kStallAheadConfidenceCap = 0.5;
// The rise accelerates when the last 5 minutes' rate beats the 5 before by this.
constexpr double kAccelRatio = 1.1;
// Food this far above the smoothed ambient: the ambient is not the heat.
constexpr double kAboveAmbientC = 1.0;
// A change of target smaller than this (°C) is the same target in another unit.
constexpr double kSameTargetC = 0.2;

bool finite(double v) { return std::isfinite(v); }

// ms since the epoch from seconds since `origin_ms`, when it fits.
std::optional<std::int64_t> to_epoch_ms(std::int64_t origin_ms, double seconds) {
  const double ms = static_cast<double>(origin_ms) + seconds * 1000.0;
  if (!finite(ms) || ms >= 9.0e18 || ms <= -9.0e18) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(ms));
}

}  // namespace

std::string_view state_name(State state) {
  for (const auto& [s, name] : kStateNames)
    if (s == state) return name;
  return "collecting";
}

std::optional<State> state_from_name(std::string_view name) {
  for (const auto& [s, n] : kStateNames)
    if (n == name) return s;
  return std::nullopt;
}

Forecast ProbeForecaster::update(const ForecastInput& in) {
  if (started_ && in.time_ms < last_ms_) return last_;  // time went backwards: ignore
  const double food_c = to_celsius(in.food_tenths, in.unit);
  if (!started_) {
    started_ = true;
    first_ms_ = last_ms_ = in.time_ms;
  }
  const double now_s = (static_cast<double>(in.time_ms) - static_cast<double>(first_ms_)) / 1000.0;
  const double dt_s = (static_cast<double>(in.time_ms) - static_cast<double>(last_ms_)) / 1000.0;
  last_ms_ = in.time_ms;
  ++readings_;

  if (in.ambient_tenths) {
    const double ambient_c = to_celsius(*in.ambient_tenths, in.unit);
    if (!ambient_ema_c_)
      ambient_ema_c_ = ambient_c;
    else
      *ambient_ema_c_ += (1.0 - std::exp(-dt_s / kAmbientTauS)) * (ambient_c - *ambient_ema_c_);
  }

  std::optional<double> target_c;
  if (in.target_tenths) target_c = to_celsius(*in.target_tenths, in.unit);
  if (target_c.has_value() != target_c_.has_value() ||
      (target_c && std::abs(*target_c - *target_c_) > kSameTargetC)) {
    done_ = false;  // a new target: what was done is not done for it
    below_since_ms_.reset();
    predictions_.clear();  // they were for the old one
    predicted_s_.reset();
  }
  target_c_ = target_c;
  if (target_c && !done_ && in.food_tenths >= *in.target_tenths) {
    done_ = true;
    done_ms_ = in.time_ms;
  }

  if (bin_n_ > 0 && now_s - bin_start_s_ >= kBinMs / 1000.0) close_bin();
  add_to_bin(now_s, food_c);

  if (target_c && ambient_ema_c_ && *ambient_ema_c_ < *target_c &&
      food_c <= *ambient_ema_c_ + kAboveAmbientC) {
    if (!below_since_ms_) below_since_ms_ = in.time_ms;
  } else {
    below_since_ms_.reset();
  }
  last_ = make_forecast(now_s, food_c, target_c);
  return last_;
}

void ProbeForecaster::add_to_bin(double t_s, double food_c) {
  if (bin_n_ == 0) bin_start_s_ = t_s;
  bin_t_sum_ += t_s;
  bin_food_sum_ += food_c;
  ++bin_n_;
}

void ProbeForecaster::close_bin() {
  Sample s;
  s.t_s = bin_t_sum_ / bin_n_;
  s.food_c = bin_food_sum_ / bin_n_;
  // Food clearly above the ambient while heating means the sensor reads
  // low (or is not in the heat): the fit then uses the food alone.
  s.has_ambient = ambient_ema_c_.has_value() && s.food_c <= *ambient_ema_c_ + kAboveAmbientC;
  s.ambient_c = ambient_ema_c_.value_or(0.0);
  samples_.push(s);
  bin_n_ = 0;
  bin_t_sum_ = bin_food_sum_ = 0;
  if (!target_c_) return;
  if (s.has_ambient != newton_mode_) {  // rates of the other model do not compare
    newton_mode_ = s.has_ambient;
    recent_k_.clear();
    peak_k_ = stall_k_ = 0;
    slow_bins_ = 0;
  }

  const Fit f = fit(*target_c_);
  if (f.ok) {
    recent_k_.push(f.k);
    std::array<double, kSmoothK> ks{};
    for (std::size_t i = 0; i < recent_k_.count; ++i) ks[i] = recent_k_.at(i);
    std::sort(ks.begin(), ks.begin() + static_cast<std::ptrdiff_t>(recent_k_.count));
    k_ = ks[recent_k_.count / 2];
    if (recent_k_.count == kSmoothK) peak_k_ = std::max(peak_k_, k_);
  }
  judge_stall(*target_c_);

  std::optional<double> remaining;
  if (stalled_) {
    // If heating resumed now at the rate before the stall.
    if (s.has_ambient && stall_k_ > 0 && s.ambient_c > *target_c_) {
      const double gap = std::max(s.ambient_c - s.food_c, kMinGapC);
      remaining = std::max(0.0, std::log(gap / (s.ambient_c - *target_c_)) / stall_k_);
    } else if (!s.has_ambient && stall_k_ > 0) {
      remaining = std::max(0.0, (*target_c_ - s.food_c) / stall_k_);
    }
  } else if (f.ok) {
    remaining = f.remaining_s;
    if (const auto shaped = shaped_remaining(f, *target_c_)) remaining = *shaped;
    // While the food's rise still accelerates (the core lagging the surface
    // early in a cook) Newton's law, which assumes a slowing rise, runs late;
    // a straight line at the current rate is then the nearer bound.
    const std::size_t span = 2 * kAccelBins;
    if (samples_.count >= span && samples_.at(samples_.count - span).t_s >= regime_start_s_) {
      const double now_rate = slope_c_per_hour(kAccelBins);
      const double before_rate = slope_c_per_hour(kAccelBins, kAccelBins);
      if (now_rate > 0 && now_rate > kAccelRatio * before_rate)
        remaining = std::min(*remaining, std::max(0.0, (*target_c_ - s.food_c) / now_rate * 3600));
    }
  }
  if (!remaining || !finite(*remaining) || *remaining > kMaxRemainingS) {
    predicted_s_.reset();
    return;
  }
  record_prediction(s.t_s + *remaining);
}

// Weighted least squares of ln(A - food) against time over the window, A the
// smoothed ambient now; each point weighted by the square of its gap (the
// log's noise grows as 1/gap). Without an ambient, a straight line of the
// food itself (and k is then its slope in °C/s).
ProbeForecaster::Fit ProbeForecaster::fit(double target_c) const {
  Fit out;
  if (samples_.count == 0) return out;
  const Sample& newest = samples_.newest();
  const bool newton = newest.has_ambient && ambient_ema_c_.has_value();
  const double ambient = ambient_ema_c_.value_or(0.0);
  if (newton && ambient <= target_c) return out;  // unreachable: no Newton answer
  double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  std::size_t n = 0;
  // From the newest sample back: at least kMinFitBins, then until the food
  // rose kFitRiseC (so that whole-degree steps average out) or the window
  // or the regime ends. The recent heating rate, not the cook's average.
  for (std::size_t back = 0; back < samples_.count; ++back) {
    const Sample& s = samples_.at(samples_.count - 1 - back);
    if (s.t_s < regime_start_s_ || newest.t_s - s.t_s > kMaxWindowS) break;
    if (n >= kMinFitBins && newest.food_c - s.food_c > kFitRiseC) break;
    const double x = s.t_s - newest.t_s;
    double y = s.food_c, w = 1.0;
    if (newton) {
      const double gap = std::max(ambient - s.food_c, kMinGapC);
      y = std::log(gap);
      w = gap * gap;
    }
    sw += w;
    sx += w * x;
    sy += w * y;
    sxx += w * x * x;
    sxy += w * x * y;
    ++n;
  }
  if (n < kMinFitBins) return out;
  const double det = sw * sxx - sx * sx;
  if (!(det > 1e-12 * sw * sw) || !finite(det)) return out;
  const double slope = (sw * sxy - sx * sy) / det;
  const double at_newest = (sy - slope * sx) / sw;  // the fitted value at x = 0
  if (!finite(slope) || !finite(at_newest)) return out;
  if (newton) {
    out.k = -slope;
    if (!(out.k > 1e-8)) return out;
    out.remaining_s = std::max(0.0, (at_newest - std::log(ambient - target_c)) / out.k);
  } else {
    out.k = slope;
    if (!(out.k > 1e-7)) return out;
    out.remaining_s = std::max(0.0, (target_c - at_newest) / out.k);
  }
  out.ok = finite(out.remaining_s);
  out.gap_c = newton ? std::exp(at_newest) : 0.0;
  return out;
}

// Newton's law with the rate law's shape measured: the food's rate taken to
// go as gap^p (p = 1 Newton; p = 0 a straight line), so the time for the
// fitted gap to close to the target's at rate k*gap0*(gap/gap0)^p. The core
// of a thick cut lags its surface, and its rise falls off more slowly than
// the gap until that lag has settled: Newton alone runs late then.
std::optional<double> ProbeForecaster::shaped_remaining(const Fit& f, double target_c) const {
  const Sample& newest = samples_.newest();
  if (!(f.gap_c > 0) || !ambient_ema_c_ || !newest.has_ambient) return std::nullopt;
  // Evaporation in the stall zone ahead may slow the rise again (a stall
  // can come back): no shorter time than Newton's before it.
  if (stall_zone_ahead(newest.food_c, target_c)) return std::nullopt;
  const std::optional<double> p = rate_law_power();
  const double ratio = (*ambient_ema_c_ - target_c) / f.gap_c;  // target gap / gap now
  if (!p || !(ratio > 0) || ratio >= 1) return std::nullopt;
  if (1 - *p < 1e-6) return std::log(1 / ratio) / f.k;
  return (1 - std::pow(ratio, 1 - *p)) / ((1 - *p) * f.k);
}

// p in rate ~ gap^p, from the food's slope and mean gap over the first and the
// last kShapeEndBins samples of the regime's part of the window, clamped to
// 0..1 (neither faster than a straight line nor slower than Newton); none
// with less than kShapeMinBins samples or gaps too alike to tell.
std::optional<double> ProbeForecaster::rate_law_power() const {
  std::size_t span = 0;  // samples in the regime and the window, newest back
  while (span < samples_.count && samples_.at(samples_.count - 1 - span).t_s >= regime_start_s_)
    ++span;
  if (span < kShapeMinBins) return std::nullopt;
  const std::size_t old_end = span - kShapeEndBins;  // samples skipped after the first span
  const double rate_new = slope_c_per_hour(kShapeEndBins);
  const double rate_old = slope_c_per_hour(kShapeEndBins, old_end);
  const double gap_new = *ambient_ema_c_ - mean_food(kShapeEndBins, 0);
  const double gap_old = *ambient_ema_c_ - mean_food(kShapeEndBins, old_end);
  if (!(rate_new > 0) || !(rate_old > 0) || !(gap_new > 0) || !(gap_old > gap_new))
    return std::nullopt;
  const double log_gaps = std::log(gap_old / gap_new);
  if (log_gaps < kShapeMinLogGap) return std::nullopt;
  return std::clamp(std::log(rate_old / rate_new) / log_gaps, 0.0, 1.0);
}

// In a low-and-slow pit with the food below the stall zone's top and the
// target above it: evaporation may yet slow the rise.
bool ProbeForecaster::stall_zone_ahead(double food_c, double target_c) const {
  const bool low_and_slow_pit = ambient_ema_c_ && *ambient_ema_c_ < kLowAndSlowPitC;
  return low_and_slow_pit && food_c < kStallZoneTopC && target_c > kStallZoneTopC;
}

// The food's mean over `bins` samples ending `skip` before the newest.
double ProbeForecaster::mean_food(std::size_t bins, std::size_t skip) const {
  double sum = 0;
  for (std::size_t i = samples_.count - bins - skip; i < samples_.count - skip; ++i)
    sum += samples_.at(i).food_c;
  return sum / static_cast<double>(bins);
}

// The food's slope over `bins` samples ending `skip` before the newest, °C
// per hour (0 when there are too few).
double ProbeForecaster::slope_c_per_hour(std::size_t bins, std::size_t skip) const {
  if (samples_.count < bins + skip || bins < 2) return 0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double t0 = samples_.newest().t_s;
  for (std::size_t i = samples_.count - bins - skip; i < samples_.count - skip; ++i) {
    const Sample& s = samples_.at(i);
    const double x = s.t_s - t0;
    sx += x;
    sy += s.food_c;
    sxx += x * x;
    sxy += x * s.food_c;
  }
  const double n = static_cast<double>(bins);
  const double det = n * sxx - sx * sx;
  if (!(det > 0) || !finite(det)) return 0;
  const double slope = (n * sxy - sx * sy) / det * 3600.0;
  return finite(slope) ? slope : 0;
}

// In, with the food at or above kStallMinFoodC and below the target:
// rising less than kStallEnterCPerHour over the last 20 minutes, or heating
// at less than kStallKRatio of the regime's peak rate for 10 minutes (Newton
// heating keeps its rate; a stall loses it to evaporation). Out: rising more
// than kStallExitCPerHour over the last 20 minutes (or at the target); the
// fit then starts afresh from the last 10 minutes.
void ProbeForecaster::judge_stall(double target_c) {
  const Sample& newest = samples_.newest();
  const bool slow = peak_k_ > 0 && k_ < kStallKRatio * peak_k_;
  slow_bins_ = slow ? slow_bins_ + 1 : 0;
  if (!stalled_) {
    if (samples_.count < kStallBins || newest.food_c < kStallMinFoodC || newest.food_c >= target_c)
      return;
    if (samples_.at(samples_.count - kStallBins).t_s < regime_start_s_) return;
    if (slope_c_per_hour(kStallBins) >= kStallEnterCPerHour && slow_bins_ < kStallKBins) return;
    stalled_ = stall_seen_ = true;
    // The best heating rate seen before: kept across a stall that ends and
    // comes back, whose regime only saw the slow rate.
    stall_k_ = std::max(stall_k_, peak_k_ > 0 ? peak_k_ : k_);
    predictions_.clear();
    return;
  }
  if (newest.food_c >= target_c || slope_c_per_hour(kStallBins) > kStallExitCPerHour) {
    stalled_ = false;
    regime_start_s_ = newest.t_s - kStallExitBins * (kBinMs / 1000.0);
    predictions_.clear();
    recent_k_.clear();
    peak_k_ = 0;
    slow_bins_ = 0;
  }
}

void ProbeForecaster::record_prediction(double predicted_s) {
  predictions_.push(predicted_s);
  std::array<double, kSmoothPredictions> recent{};
  const std::size_t n = std::min(kSmoothPredictions, predictions_.count);
  for (std::size_t i = 0; i < n; ++i) recent[i] = predictions_.at(predictions_.count - n + i);
  std::sort(recent.begin(), recent.begin() + static_cast<std::ptrdiff_t>(n));
  predicted_s_ = n % 2 == 1 ? recent[n / 2] : (recent[n / 2 - 1] + recent[n / 2]) / 2;
}

Forecast ProbeForecaster::make_forecast(double now_s, double food_c,
                                        std::optional<double> target_c) {
  Forecast f;
  if (done_) {
    f.state = State::done;
    f.predicted_done_ms = done_ms_;
    f.confidence = 1.0;
    return f;
  }
  if (!target_c || readings_ < kCollectReadings || now_s * 1000.0 < kCollectMs) return f;
  if (below_since_ms_) {
    const std::int64_t counted_from = std::max(*below_since_ms_, first_ms_ + kCollectMs);
    if (last_ms_ - counted_from >= kUnreachableMs) {
      f.state = State::unreachable;
      return f;
    }
  }
  if (stalled_) {
    f.state = State::stalled;
    f.stalled = true;
  } else if (predictions_.count > 0) {
    f.state = State::estimating;
  } else {
    return f;  // no usable fit yet
  }
  if (!predicted_s_) return f;
  f.predicted_done_ms = to_epoch_ms(first_ms_, *predicted_s_);
  if (!f.predicted_done_ms) return f;
  // Agreement: the spread of the recent predictions against the time to go.
  double lo = predictions_.at(0), hi = lo;
  for (std::size_t i = 1; i < predictions_.count; ++i) {
    lo = std::min(lo, predictions_.at(i));
    hi = std::max(hi, predictions_.at(i));
  }
  const double to_go = std::max(*predicted_s_ - now_s, kMinSpreadBaseS);
  const double rel = (hi - lo) / to_go;
  double confidence = std::clamp(1.0 - rel / kZeroConfidenceSpread, 0.0, 1.0) *
                      static_cast<double>(predictions_.count) / kSpreadPredictions;
  if (stalled_) confidence = std::min(confidence, kStalledConfidenceCap);
  if (!stall_seen_ && stall_zone_ahead(food_c, *target_c))
    confidence = std::min(confidence, kStallAheadConfidenceCap);
  f.confidence = finite(confidence) ? confidence : 0.0;
  return f;
}

}  // namespace thermomaven::forecast
