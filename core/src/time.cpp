// The clock and UTC formatting of core/time.hpp. The calendar arithmetic is
// done here rather than with gmtime_r + snprintf: the CSV export writes one
// timestamp per row, and this is several times cheaper.
#include "thermomaven/core/time.hpp"

#include <chrono>
#include <cstdio>

namespace thermomaven {
namespace {

constexpr std::int64_t kMsPerDay = 86'400'000;

struct UtcFields {
  std::int64_t year;
  int month, day, hour, minute, second, millis;
};

// Floor division, for negative day counts.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Howard Hinnant's days_from_civil inverse ("civil_from_days"), valid for
// every day an int64 of milliseconds can name.
UtcFields utc_fields(std::int64_t epoch_ms) {
  // Split without multiplying back, which would overflow at int64's minimum.
  std::int64_t days = epoch_ms / kMsPerDay, rest = epoch_ms % kMsPerDay;
  if (rest < 0) rest += kMsPerDay, days -= 1;
  const auto in_day = static_cast<int>(rest);  // [0, 86,400,000)
  const std::int64_t z = days + 719'468;       // days since 0000-03-01
  const std::int64_t era = floor_div(z, 146'097);
  const auto doe = static_cast<unsigned>(z - era * 146'097);                     // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;  // [0, 399]
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                  // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                                       // [0, 11]
  UtcFields f{};
  f.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  f.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  f.year = static_cast<std::int64_t>(yoe) + era * 400 + (f.month <= 2 ? 1 : 0);
  f.hour = in_day / 3'600'000;
  f.minute = in_day / 60'000 % 60;
  f.second = in_day / 1000 % 60;
  f.millis = in_day % 1000;
  return f;
}

void put2(char* at, int value) {
  at[0] = static_cast<char>('0' + value / 10);
  at[1] = static_cast<char>('0' + value % 10);
}

void append_year(std::string& out, std::int64_t year) {
  if (year >= 0 && year <= 9999) {
    char text[4];
    put2(text, static_cast<int>(year / 100));
    put2(text + 2, static_cast<int>(year % 100));
    out.append(text, sizeof text);
    return;
  }
  char text[32];  // outside 0000..9999: rare, and ISO 8601 allows more digits and a sign
  const int n = std::snprintf(text, sizeof text, "%05lld", static_cast<long long>(year));
  out.append(text, static_cast<std::size_t>(n));
}

}  // namespace

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t now_s() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

void append_utc(std::string& out, std::int64_t epoch_ms, UtcStyle style) {
  const UtcFields f = utc_fields(epoch_ms);
  append_year(out, f.year);
  // "-MM-DDTHH:MM:SS", then the style's ending.
  char text[15] = {'-', 0, 0, '-', 0, 0, 'T', 0, 0, ':', 0, 0, ':', 0, 0};
  put2(text + 1, f.month);
  put2(text + 4, f.day);
  if (style == UtcStyle::Readable) text[6] = ' ';
  put2(text + 7, f.hour);
  put2(text + 10, f.minute);
  put2(text + 13, f.second);
  out.append(text, sizeof text);
  switch (style) {
    case UtcStyle::Seconds:
      out += 'Z';
      break;
    case UtcStyle::Millis: {
      const char millis[5] = {'.', static_cast<char>('0' + f.millis / 100),
                              static_cast<char>('0' + f.millis / 10 % 10),
                              static_cast<char>('0' + f.millis % 10), 'Z'};
      out.append(millis, sizeof millis);
      break;
    }
    case UtcStyle::Readable:
      out += " UTC";
      break;
  }
}

std::string format_utc(std::int64_t epoch_ms, UtcStyle style) {
  std::string text;
  text.reserve(32);
  append_utc(text, epoch_ms, style);
  return text;
}

}  // namespace thermomaven
