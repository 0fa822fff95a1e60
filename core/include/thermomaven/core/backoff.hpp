// Exponential reconnect backoff with jitter: base, 2*base, 4*base ... capped
// at max, each delay drawn uniformly from [delay/2, delay] so that many
// loggers restarting together do not hammer the cloud in step.
#pragma once

#include <cstdint>
#include <random>

namespace thermomaven {

class Backoff {
 public:
  Backoff(std::int64_t base_ms, std::int64_t max_ms, std::uint64_t seed = std::random_device{}());

  // The delay before the next attempt; each call doubles the next one.
  std::int64_t next_delay_ms();
  // After a success: the next failure waits the base delay again.
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  std::int64_t base_ms_, max_ms_;
  int attempt_ = 0;
  std::mt19937_64 random_;
};

}  // namespace thermomaven
