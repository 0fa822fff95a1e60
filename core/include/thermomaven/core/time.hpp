// Wall-clock time as the logger keeps it (milliseconds since the epoch, UTC)
// and its UTC text forms. One definition for every part, so that a stored
// time, a log line, a CSV cell and a command's audit row agree.
#pragma once

#include <cstdint>
#include <string>

namespace thermomaven {

// Milliseconds since the epoch, from the system clock.
std::int64_t now_ms();
// Seconds since the epoch, from the system clock.
std::int64_t now_s();

// Which UTC text: "2026-11-27T10:00:00Z", "2026-11-27T10:00:00.123Z",
// "2026-11-27 10:00:00 UTC" (for people).
enum class UtcStyle { Seconds, Millis, Readable };

// The instant `epoch_ms` in UTC, in `style`. Negative times count back from
// 1970 correctly (the milliseconds are never negative).
std::string format_utc(std::int64_t epoch_ms, UtcStyle style = UtcStyle::Seconds);
// The same text appended to `out`, for writers of many rows (the CSV export):
// no allocation of its own, no snprintf.
void append_utc(std::string& out, std::int64_t epoch_ms, UtcStyle style = UtcStyle::Seconds);

}  // namespace thermomaven
