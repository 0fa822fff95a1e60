#include "thermomaven/core/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace thermomaven {
namespace {

std::atomic<LogLevel> g_level{LogLevel::Info};
std::mutex g_write_mutex;

const char* level_label(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return "DEBUG";
    case LogLevel::Info:
      return "INFO ";
    case LogLevel::Warn:
      return "WARN ";
    case LogLevel::Error:
      return "ERROR";
  }
  return "?    ";
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "debug") return LogLevel::Debug;
  if (text == "info") return LogLevel::Info;
  if (text == "warn" || text == "warning") return LogLevel::Warn;
  if (text == "error") return LogLevel::Error;
  return std::nullopt;
}

void set_log_level(LogLevel level) { g_level.store(level); }
bool log_enabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

std::string format_log_line(std::int64_t epoch_ms, LogLevel level, std::string_view component,
                            std::string_view message) {
  const std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(epoch_ms % 1000));
  std::string line;
  line.reserve(40 + component.size() + message.size());
  line.append(stamp).append(" ").append(level_label(level)).append(" ");
  line.append(component).append(": ");
  for (char c : message) line.push_back(c == '\n' || c == '\r' ? ' ' : c);
  return line;
}

void log(LogLevel level, std::string_view component, std::string_view message) {
  if (!log_enabled(level)) return;
  using namespace std::chrono;
  const auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  std::string line = format_log_line(now, level, component, message);
  line.push_back('\n');
  std::lock_guard lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace thermomaven
