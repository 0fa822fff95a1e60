// The log lines of core/log.hpp and the sink they go to.
#include "thermomaven/core/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "thermomaven/core/time.hpp"

namespace thermomaven {
namespace {

std::atomic<LogLevel> g_level{LogLevel::Info};
std::mutex g_write_mutex;  // guards g_sink and the writing
LogSink g_sink;

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
  std::string line;
  line.reserve(40 + component.size() + message.size());
  line.append(format_utc(epoch_ms, UtcStyle::Millis)).append(" ").append(level_label(level)).append(" ");
  line.append(component).append(": ");
  for (char c : message) line.push_back(c == '\n' || c == '\r' ? ' ' : c);
  return line;
}

void set_log_sink(LogSink sink) {
  std::lock_guard lock(g_write_mutex);
  g_sink = std::move(sink);
}

void log(LogLevel level, std::string_view component, std::string_view message) {
  if (!log_enabled(level)) return;
  std::lock_guard lock(g_write_mutex);
  if (g_sink) {
    g_sink(level, component, message);
    return;
  }
  std::string line = format_log_line(now_ms(), level, component, message);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace thermomaven
