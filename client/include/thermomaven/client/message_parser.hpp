// Turns capture lines and MQTT payloads into Messages with simdjson On-Demand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "thermomaven/client/message.hpp"

namespace thermomaven::client {

struct ParserOptions {
  TemperatureUnit unit = TemperatureUnit::Fahrenheit;  // of the raw tenths
  std::size_t max_message_bytes = 1 << 20;             // larger input is rejected unparsed
};

// Why an input was refused. `reason` is a short stable label (for counters),
// `detail` a human sentence.
struct ParseError {
  std::string reason;
  std::string detail;
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
