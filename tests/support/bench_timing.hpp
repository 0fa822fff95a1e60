// Timing for the benchmarks in tests/bench: the median of repeated runs,
// the figure docs/performance.md quotes (2 noisy cores: never the mean).
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace tm_bench {

// The median wall time of `runs` calls of `body`, in milliseconds.
template <typename F>
double median_ms(int runs, F&& body) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    body();
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace tm_bench
