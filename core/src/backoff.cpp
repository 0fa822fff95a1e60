#include "thermomaven/core/backoff.hpp"

#include <algorithm>

namespace thermomaven {

Backoff::Backoff(std::int64_t base_ms, std::int64_t max_ms, std::uint64_t seed)
    : base_ms_(std::max<std::int64_t>(1, base_ms)),
      max_ms_(std::max(base_ms_, max_ms)),
      random_(seed) {}

std::int64_t Backoff::next_delay_ms() {
  std::int64_t ceiling = base_ms_;
  for (int i = 0; i < attempt_ && ceiling < max_ms_; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, max_ms_);
  ++attempt_;
  std::uniform_int_distribution<std::int64_t> pick(ceiling / 2, ceiling);
  return pick(random_);
}

}  // namespace thermomaven
