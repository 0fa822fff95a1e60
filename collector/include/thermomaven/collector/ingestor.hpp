// The one path from raw message bytes to stored readings, shared by the
// capture import and the live MQTT collector.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "thermomaven/collector/message.hpp"
#include "thermomaven/collector/message_parser.hpp"
#include "thermomaven/storage/reading_writer.hpp"

namespace thermomaven::collector {

struct IngestStats {
  std::uint64_t lines = 0;        // capture lines read, blank ones included
  std::uint64_t blank_lines = 0;  // skipped, not refused
  std::map<std::string, std::uint64_t> messages;  // accepted, by kind_name()
  std::map<std::string, std::uint64_t> rejected;  // refused, by ParseError::reason
  std::uint64_t readings_stored = 0;
  std::uint64_t readings_duplicate = 0;

  std::uint64_t rejected_total() const;
};

class Ingestor {
 public:
  Ingestor(storage::ReadingWriter& writer, ParserOptions options = {});

  // Each returns the accepted message (valid until the next call), or
  // nullptr with `error` filled in. Storage failures throw StorageError.
  const Message* ingest_line(std::string_view line, std::size_t capacity, std::int64_t receive_ms,
                             ParseError& error);
  const Message* ingest_payload(std::string_view topic, std::string_view payload,
                                std::int64_t receive_ms, ParseError& error);

  // Counts a capture line refused before parsing (e.g. over-long).
  void count_rejected_line(const std::string& reason);

  const IngestStats& stats() const { return stats_; }
  MessageParser& parser() { return parser_; }

 private:
  const Message* store(bool parsed, const ParseError& error);

  storage::ReadingWriter& writer_;
  MessageParser parser_;
  Message message_;
  IngestStats stats_;
};

}  // namespace thermomaven::collector
