// The one path from raw message bytes to stored readings, shared by the
// capture import and the live MQTT collector.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "thermomaven/client/message.hpp"
#include "thermomaven/client/message_parser.hpp"
#include "thermomaven/storage/reading_writer.hpp"

namespace thermomaven::collector {

// The collector stores what the client's parser decodes.
using client::kind_name;
using client::Message;
using client::MessageKind;
using client::MessageParser;
using client::ParseError;
using client::parser_padding;
using client::ParserOptions;
using client::reject_reason_name;
using client::RejectReason;

struct IngestStats {
  std::uint64_t lines = 0;                         // capture lines read, blank ones included
  std::uint64_t blank_lines = 0;                   // skipped, not refused
  std::map<MessageKind, std::uint64_t> messages;   // accepted, by kind
  std::map<RejectReason, std::uint64_t> rejected;  // refused, by ParseError::reason
  std::uint64_t readings_stored = 0;
  std::uint64_t readings_duplicate = 0;

  std::uint64_t rejected_total() const;
};

// Parsing and storing are two stages. ingest_* run both; a caller with two
// cores can run parse_line on one thread and store on another (they touch
// disjoint state: the parser and line counts, the writer and store counts).
class Ingestor {
 public:
  Ingestor(storage::ReadingWriter& writer, ParserOptions options = {});

  // Each returns the accepted message (valid until the next call), or
  // nullptr with `error` filled in. Storage failures throw StorageError.
  const Message* ingest_line(std::string_view line, std::size_t capacity, std::int64_t receive_ms,
                             ParseError& error);
  const Message* ingest_payload(std::string_view topic, std::string_view payload,
                                std::int64_t receive_ms, ParseError& error);

  // The parse stage of ingest_line: true when `out` holds a message to
  // store; false for a blank line (error.reason empty) or a refused one.
  bool parse_line(std::string_view line, std::size_t capacity, std::int64_t receive_ms,
                  Message& out, ParseError& error);
  // Counts a capture line refused before parsing (e.g. over-long).
  void count_rejected_line(RejectReason reason);
  // Adds line counts (lines, blank_lines, rejected) made by a parser that
  // ran elsewhere, e.g. on another thread.
  void add_line_counts(const IngestStats& parsed);
  // The store stage: writes what the message carries and counts it.
  void store(const Message& message);

  const IngestStats& stats() const { return stats_; }
  MessageParser& parser() { return parser_; }

 private:
  storage::ReadingWriter& writer_;
  MessageParser parser_;
  Message message_;
  IngestStats stats_;
};

}  // namespace thermomaven::collector
