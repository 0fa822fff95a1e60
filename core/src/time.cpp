// The clock and UTC formatting of core/time.hpp.
#include "thermomaven/core/time.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace thermomaven {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t now_s() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_utc(std::int64_t epoch_ms, UtcStyle style) {
  // Floor division: -1 ms is 1969-12-31T23:59:59.999Z.
  std::int64_t seconds = epoch_ms / 1000;
  int millis = static_cast<int>(epoch_ms % 1000);
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[64];
  const int year = utc.tm_year + 1900, month = utc.tm_mon + 1;
  switch (style) {
    case UtcStyle::Seconds:
      std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month,
                    utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
      break;
    case UtcStyle::Millis:
      std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, month,
                    utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
      break;
    case UtcStyle::Readable:
      std::snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d UTC", year, month,
                    utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
      break;
  }
  return text;
}

}  // namespace thermomaven
