#include "thermomaven/collector/ingestor.hpp"

namespace thermomaven::collector {

std::uint64_t IngestStats::rejected_total() const {
  std::uint64_t total = 0;
  for (const auto& [reason, count] : rejected) total += count;
  return total;
}

Ingestor::Ingestor(storage::ReadingWriter& writer, ParserOptions options)
    : writer_(writer), parser_(options) {}

namespace {
bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}
}  // namespace

const Message* Ingestor::ingest_line(std::string_view line, std::size_t capacity,
                                     std::int64_t receive_ms, ParseError& error) {
  ++stats_.lines;
  if (is_blank(line)) {
    ++stats_.blank_lines;
    error = {};
    return nullptr;
  }
  return store(parser_.parse_line(line, capacity, receive_ms, message_, error), error);
}

const Message* Ingestor::ingest_payload(std::string_view topic, std::string_view payload,
                                        std::int64_t receive_ms, ParseError& error) {
  return store(parser_.parse_payload(topic, payload, receive_ms, message_, error), error);
}

void Ingestor::count_rejected_line(const std::string& reason) {
  ++stats_.lines;
  ++stats_.rejected[reason];
}

const Message* Ingestor::store(bool parsed, const ParseError& error) {
  if (!parsed) {
    ++stats_.rejected[error.reason];
    return nullptr;
  }
  auto count = [&](const storage::WriteOutcome& o) {
    stats_.readings_stored += o.readings_stored;
    stats_.readings_duplicate += o.readings_duplicate;
  };
  switch (message_.kind) {
    case MessageKind::StatusReport: count(writer_.write(message_.report)); break;
    case MessageKind::DeviceList:
      for (const DeviceInfo& device : message_.devices) writer_.write(device);
      for (const StatusReport& report : message_.latest_reports) count(writer_.write(report));
      break;
    case MessageKind::CommandReceipt:
    case MessageKind::Unknown: break;
  }
  ++stats_.messages[kind_name(message_.kind)];
  return &message_;
}

}  // namespace thermomaven::collector
