// The shared helpers of core/ that every part uses instead of a copy of its
// own: UTC text in its three styles (negative times and millisecond edges
// included), JSON string escaping, strict integer parsing, the log sink, and
// the stop-signal thread receiving a real SIGTERM sent to this process.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "thermomaven/core/json_text.hpp"
#include "thermomaven/core/log.hpp"
#include "thermomaven/core/numbers.hpp"
#include "thermomaven/core/stop_signals.hpp"
#include "thermomaven/core/time.hpp"

using namespace thermomaven;

// ---- format_utc -------------------------------------------------------------

TEST_CASE("format_utc writes the three styles") {
  const std::int64_t t = 1777779659987;  // 2026-05-03T03:40:59.987Z
  CHECK(format_utc(t) == "2026-05-03T03:40:59Z");
  CHECK(format_utc(t, UtcStyle::Seconds) == "2026-05-03T03:40:59Z");
  CHECK(format_utc(t, UtcStyle::Millis) == "2026-05-03T03:40:59.987Z");
  CHECK(format_utc(t, UtcStyle::Readable) == "2026-05-03 03:40:59 UTC");
}

TEST_CASE("format_utc at the epoch and at the millisecond edges") {
  CHECK(format_utc(0, UtcStyle::Millis) == "1970-01-01T00:00:00.000Z");
  CHECK(format_utc(0, UtcStyle::Readable) == "1970-01-01 00:00:00 UTC");
  CHECK(format_utc(999, UtcStyle::Millis) == "1970-01-01T00:00:00.999Z");
  CHECK(format_utc(999, UtcStyle::Seconds) == "1970-01-01T00:00:00Z");  // truncated, not rounded
  CHECK(format_utc(1000, UtcStyle::Millis) == "1970-01-01T00:00:01.000Z");
  CHECK(format_utc(1709251199999, UtcStyle::Millis) == "2024-02-29T23:59:59.999Z");  // leap day
  CHECK(format_utc(1709251200000, UtcStyle::Millis) == "2024-03-01T00:00:00.000Z");
  CHECK(format_utc(253402300799999, UtcStyle::Millis) == "9999-12-31T23:59:59.999Z");
}

TEST_CASE("format_utc counts negative times back from 1970 with positive milliseconds") {
  CHECK(format_utc(-1, UtcStyle::Millis) == "1969-12-31T23:59:59.999Z");
  CHECK(format_utc(-1, UtcStyle::Seconds) == "1969-12-31T23:59:59Z");
  CHECK(format_utc(-1, UtcStyle::Readable) == "1969-12-31 23:59:59 UTC");
  CHECK(format_utc(-999, UtcStyle::Millis) == "1969-12-31T23:59:59.001Z");
  CHECK(format_utc(-1000, UtcStyle::Millis) == "1969-12-31T23:59:59.000Z");
  CHECK(format_utc(-1001, UtcStyle::Millis) == "1969-12-31T23:59:58.999Z");
  CHECK(format_utc(-2208988800000, UtcStyle::Seconds) == "1900-01-01T00:00:00Z");
  CHECK(format_utc(-62167219200000, UtcStyle::Millis) == "0000-01-01T00:00:00.000Z");
}

TEST_CASE("format_utc outside the years 0000 to 9999 keeps a sign and every digit") {
  CHECK(format_utc(253402300800000, UtcStyle::Seconds) == "10000-01-01T00:00:00Z");
  CHECK(format_utc(-62167219200001, UtcStyle::Millis) == "-0001-12-31T23:59:59.999Z");
  // The extremes of int64 are formatted, not undefined behaviour.
  const std::string min = format_utc(std::numeric_limits<std::int64_t>::min(), UtcStyle::Millis);
  const std::string max = format_utc(std::numeric_limits<std::int64_t>::max(), UtcStyle::Millis);
  CHECK(min.front() == '-');
  CHECK(min.substr(min.size() - 5) == ".192Z");  // floor: -...808 ms is ...192 ms into its second
  CHECK(max.substr(max.size() - 5) == ".807Z");
}

TEST_CASE("append_utc appends what format_utc returns") {
  for (const std::int64_t t : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1777779659987}}) {
    for (const UtcStyle style : {UtcStyle::Seconds, UtcStyle::Millis, UtcStyle::Readable}) {
      std::string out = "at ";
      append_utc(out, t, style);
      CHECK(out == "at " + format_utc(t, style));
    }
  }
}

TEST_CASE("now_ms and now_s read the same clock") {
  const std::int64_t before = now_ms();
  const std::int64_t seconds = now_s();
  const std::int64_t after = now_ms();
  CHECK(before <= after);
  CHECK(seconds >= before / 1000);
  CHECK(seconds <= after / 1000);
  CHECK(before > 1'700'000'000'000);  // after 2023: a clock in milliseconds, not seconds
}

// ---- JSON text --------------------------------------------------------------

TEST_CASE("json_escape escapes the quote and the backslash") {
  CHECK(json_escape("") == "");
  CHECK(json_escape("plain text") == "plain text");
  CHECK(json_escape("say \"hi\"") == "say \\\"hi\\\"");
  CHECK(json_escape("C:\\temp\\") == "C:\\\\temp\\\\");
  CHECK(json_escape("\\\"") == "\\\\\\\"");
  CHECK(json_escape("/") == "/");  // allowed as it is
}

TEST_CASE("json_escape escapes every control character") {
  for (int c = 0; c < 0x20; ++c) {
    const std::string in(1, static_cast<char>(c));
    char expected[8];
    std::snprintf(expected, sizeof expected, "\\u%04x", c);
    const std::string want = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : expected;
    INFO("control character " << c);
    CHECK(json_escape(in) == want);
  }
  CHECK(json_escape(std::string("a\0b", 3)) == "a\\u0000b");
  CHECK(json_escape("\x1f") == "\\u001f");
  CHECK(json_escape("line 1\nline 2\r\n\tend") == "line 1\\nline 2\\r\\n\\tend");
  CHECK(json_escape("\x7f") == "\x7f");  // DEL is not a control character to JSON
}

TEST_CASE("json_escape passes UTF-8 through byte for byte") {
  const std::string text =
      "37.4 \xC2\xB0"
      "F, Br\xC3\xBC"
      "ckner \xF0\x9F\x94\xA5 \xE2\x80\xA8";
  CHECK(json_escape(text) == text);
  CHECK(json_escape("\"\xC3\xBC\"") == "\\\"\xC3\xBC\\\"");
}

TEST_CASE("json_quoted and append_json_escaped agree with json_escape") {
  CHECK(json_quoted("") == "\"\"");
  CHECK(json_quoted("a\"b\n") == "\"a\\\"b\\n\"");
  std::string out = "{\"k\":\"";
  append_json_escaped(out, "x\\y\x01");
  CHECK(out == "{\"k\":\"x\\\\y\\u0001");
  std::string appended = "prefix:";
  append_json_escaped(appended, "");
  CHECK(appended == "prefix:");
}

// ---- parse_int64 ------------------------------------------------------------

TEST_CASE("parse_int64 takes whole base-10 numbers and nothing else") {
  CHECK(parse_int64("0") == 0);
  CHECK(parse_int64("-0") == 0);
  CHECK(parse_int64("42") == 42);
  CHECK(parse_int64("-17") == -17);
  CHECK(parse_int64("007") == 7);
  for (const char* bad :
       {"", "+1", " 1", "1 ", "1x", "x1", "-", "--1", "1.5", "1e3", "0x10", "\t1", "1\n"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(parse_int64(bad).has_value());
  }
}

TEST_CASE("parse_int64 reaches int64's limits and refuses beyond them") {
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  CHECK(parse_int64("9223372036854775807") == max);
  CHECK(parse_int64("-9223372036854775808") == min);
  CHECK_FALSE(parse_int64("9223372036854775808").has_value());
  CHECK_FALSE(parse_int64("-9223372036854775809").has_value());
  CHECK_FALSE(parse_int64("99999999999999999999999").has_value());
}

TEST_CASE("parse_int64_in keeps its bounds, both inclusive") {
  CHECK(parse_int64_in("0", 0, 64) == 0);
  CHECK(parse_int64_in("64", 0, 64) == 64);
  CHECK_FALSE(parse_int64_in("65", 0, 64).has_value());
  CHECK_FALSE(parse_int64_in("-1", 0, 64).has_value());
  CHECK_FALSE(parse_int64_in("", 0, 64).has_value());
  CHECK_FALSE(parse_int64_in("+5", 0, 64).has_value());
  CHECK(parse_int64_in("-9223372036854775808", std::numeric_limits<std::int64_t>::min(), 0) ==
        std::numeric_limits<std::int64_t>::min());
}

// ---- log --------------------------------------------------------------------

namespace {

struct Event {
  LogLevel level;
  std::string component, message;
};

// Runs `body` with stderr written to `path`, then puts stderr back.
template <typename F>
void with_stderr_to(const std::string& path, F&& body) {
  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  std::FILE* file = std::fopen(path.c_str(), "w");
  REQUIRE(file);
  ::dup2(::fileno(file), STDERR_FILENO);
  body();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::fclose(file);
}

}  // namespace

TEST_CASE("a log sink receives the level, the component and the message") {
  std::vector<Event> events;
  set_log_level(LogLevel::Info);
  set_log_sink([&](LogLevel level, std::string_view component, std::string_view message) {
    events.push_back({level, std::string(component), std::string(message)});
  });
  log_info("mqtt", "connected to 127.0.0.1:8883");
  log_warn("rest", "login refused");
  log_error("storage", "disk full");
  log_debug("mqtt", "below the level: not delivered");
  set_log_sink({});

  REQUIRE(events.size() == 3);
  CHECK(events[0].level == LogLevel::Info);
  CHECK(events[0].component == "mqtt");
  CHECK(events[0].message == "connected to 127.0.0.1:8883");
  CHECK(events[1].level == LogLevel::Warn);
  CHECK(events[1].component == "rest");
  CHECK(events[2].level == LogLevel::Error);
  CHECK(events[2].message == "disk full");
}

TEST_CASE("resetting the log sink writes to stderr again, and only there") {
  tm_test::TempDir dir;
  int sink_calls = 0;
  set_log_level(LogLevel::Info);
  set_log_sink([&](LogLevel, std::string_view, std::string_view) { ++sink_calls; });
  set_log_sink({});
  with_stderr_to(dir / "stderr.txt", [] { log_warn("sim", "the broker\nrestarted"); });
  CHECK(sink_calls == 0);

  const std::string text = tm_test::read_file(dir / "stderr.txt");
  INFO(text);
  REQUIRE(text.size() > 25);
  CHECK(text.back() == '\n');
  CHECK(text.find('\n') == text.size() - 1);  // one event, one line
  CHECK(text.substr(25) == "WARN  sim: the broker restarted\n");
  CHECK(text[10] == 'T');
  CHECK(text[23] == 'Z');
  CHECK(text[24] == ' ');
}

TEST_CASE("format_log_line: UTC with milliseconds, a padded level, one line") {
  CHECK(format_log_line(1777779659987, LogLevel::Info, "mqtt", "up") ==
        "2026-05-03T03:40:59.987Z INFO  mqtt: up");
  CHECK(format_log_line(0, LogLevel::Error, "db", "a\r\nb") ==
        "1970-01-01T00:00:00.000Z ERROR db: a  b");
}

// ---- stop signals -----------------------------------------------------------

TEST_CASE("StopSignalThread receives a SIGTERM sent to the process") {
  std::mutex mutex;
  std::condition_variable received;
  std::vector<int> signals;
  {
    StopSignalThread thread([&](int signal) {
      std::lock_guard lock(mutex);
      signals.push_back(signal);
      received.notify_all();
    });
    REQUIRE(::kill(::getpid(), SIGTERM) == 0);
    std::unique_lock lock(mutex);
    // A generous wait: the machine is shared and slow.
    REQUIRE(received.wait_for(lock, std::chrono::seconds(30), [&] { return !signals.empty(); }));
  }
  REQUIRE(signals.size() == 1);  // the destructor's wake-up is not reported
  CHECK(signals[0] == SIGTERM);
  CHECK(std::string(stop_signal_name(SIGTERM)) == "SIGTERM");
  CHECK(std::string(stop_signal_name(SIGINT)) == "SIGINT");
}
