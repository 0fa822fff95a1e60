// Turns capture lines and MQTT payloads into Messages with simdjson On-Demand.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "thermomaven/client/message.hpp"

namespace thermomaven::client {

struct ParserOptions {
  TemperatureUnit unit = TemperatureUnit::Fahrenheit;  // of the raw tenths
  std::size_t max_message_bytes = 1 << 20;             // larger input is rejected unparsed
};

// Why an input was refused, as a type: counters are kept per reason, and a
// reason added here is a compile error wherever reasons are counted.
enum class RejectReason : std::uint8_t {
  TooLarge,    // over ParserOptions::max_message_bytes
  NotJson,     // not valid JSON
  NotObject,   // valid JSON, but not an object
  NoCmdType,   // no cmdType: not a ThermoMaven message
  BadCmdData,  // cmdData of the wrong shape for its cmdType
  NoDevice,    // a status report without a deviceId
  NoTime,      // a status report without a usable time
};

// The one table of the reasons' stable labels (logs, import reports,
// counters), in the enum's order.
inline constexpr std::array<std::string_view, 7> kRejectReasonNames = {
    "too_large", "not_json", "not_object", "no_cmdtype", "bad_cmddata", "no_device", "no_time"};
inline constexpr std::size_t kRejectReasonCount = kRejectReasonNames.size();

constexpr std::string_view reject_reason_name(RejectReason reason) {
  return kRejectReasonNames[static_cast<std::size_t>(reason)];
}

// Why an input was refused: `reason` typed (empty when nothing was refused,
// e.g. a blank line), `detail` a human sentence.
struct ParseError {
  std::optional<RejectReason> reason;
  std::string detail;

  // The reason's label, "" when there is none.
  std::string_view reason_name() const { return reason ? reject_reason_name(*reason) : ""; }
};

// simdjson reads up to this many bytes past the end of its input.
std::size_t parser_padding();

class MessageParser {
 public:
  explicit MessageParser(ParserOptions options = {});
  ~MessageParser();
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  // One capture line: a bare envelope or {"topic", "payload", "ts"}. The
  // `capacity` bytes from line.data() must be readable, and capacity must be
  // at least line.size() + parser_padding(): the input is parsed in place.
  // A field of the wrong type is treated as absent. Returns false and fills
  // `error` when the whole line must be refused.
  bool parse_line(std::string_view line, std::size_t capacity, std::int64_t receive_ms,
                  Message& out, ParseError& error);

  // One MQTT payload as received on `topic` (copied once into padding).
  bool parse_payload(std::string_view topic, std::string_view payload, std::int64_t receive_ms,
                     Message& out, ParseError& error);

  void set_unit(TemperatureUnit unit);
  const ParserOptions& options() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace thermomaven::client
