// One line per event on stderr: "2026-11-27T10:00:00.123Z INFO  mqtt: connected to host:port".
// Thread-safe. Messages must never carry a secret; callers pass only what is
// safe to show (no password, token, keystore password or key).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace thermomaven {

enum class LogLevel { Debug, Info, Warn, Error };

std::optional<LogLevel> parse_log_level(std::string_view text);  // debug|info|warn|error
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);

// The line as written, without its newline; newlines inside `message` become
// spaces so that one event is always one line.
std::string format_log_line(std::int64_t epoch_ms, LogLevel level, std::string_view component,
                            std::string_view message);

// Where lines go. The default writes each formatted line to stderr. An
// embedding program may route them elsewhere (its own logger, a file);
// the sink is called under a lock, one event at a time, with the level,
// the component and the message (no secret: callers never pass one).
using LogSink = std::function<void(LogLevel level, std::string_view component,
                                   std::string_view message)>;
// Replaces the sink; an empty function restores the stderr default.
void set_log_sink(LogSink sink);

void log(LogLevel level, std::string_view component, std::string_view message);
inline void log_debug(std::string_view c, std::string_view m) { log(LogLevel::Debug, c, m); }
inline void log_info(std::string_view c, std::string_view m) { log(LogLevel::Info, c, m); }
inline void log_warn(std::string_view c, std::string_view m) { log(LogLevel::Warn, c, m); }
inline void log_error(std::string_view c, std::string_view m) { log(LogLevel::Error, c, m); }

}  // namespace thermomaven
