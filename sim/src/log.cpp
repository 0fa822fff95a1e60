#include "thermomaven/sim/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace thermomaven::sim {
namespace {

std::mutex log_mutex;

void emit(const char* level, std::string_view line) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t seconds = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::lock_guard lock(log_mutex);
  std::fprintf(stderr, "%s.%03dZ %s sim: %.*s\n", stamp, static_cast<int>(ms), level,
               static_cast<int>(line.size()), line.data());
}

}  // namespace

void log_info(std::string_view line) { emit("info", line); }
void log_warn(std::string_view line) { emit("warn", line); }
void log_error(std::string_view line) { emit("error", line); }

}  // namespace thermomaven::sim
