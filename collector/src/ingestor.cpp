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

bool Ingestor::parse_line(std::string_view line, std::size_t capacity, std::int64_t receive_ms,
                          Message& out, ParseError& error) {
  ++stats_.lines;
  if (is_blank(line)) {
    ++stats_.blank_lines;
    error = {};
    return false;
  }
  if (parser_.parse_line(line, capacity, receive_ms, out, error)) return true;
  ++stats_.rejected[*error.reason];
  return false;
}

const Message* Ingestor::ingest_line(std::string_view line, std::size_t capacity,
                                     std::int64_t receive_ms, ParseError& error) {
  if (!parse_line(line, capacity, receive_ms, message_, error)) return nullptr;
  store(message_);
  return &message_;
}

const Message* Ingestor::ingest_payload(std::string_view topic, std::string_view payload,
                                        std::int64_t receive_ms, ParseError& error) {
  if (!parser_.parse_payload(topic, payload, receive_ms, message_, error)) {
    ++stats_.rejected[*error.reason];
    return nullptr;
  }
  store(message_);
  return &message_;
}

void Ingestor::count_rejected_line(RejectReason reason) {
  ++stats_.lines;
  ++stats_.rejected[reason];
}

void Ingestor::add_line_counts(const IngestStats& parsed) {
  stats_.lines += parsed.lines;
  stats_.blank_lines += parsed.blank_lines;
  for (const auto& [reason, count] : parsed.rejected) stats_.rejected[reason] += count;
}

void Ingestor::store(const Message& message) {
  auto count = [&](const storage::WriteOutcome& o) {
    stats_.readings_stored += o.readings_stored;
    stats_.readings_duplicate += o.readings_duplicate;
  };
  switch (message.kind) {
    case MessageKind::StatusReport:
      count(writer_.write(message.report));
      break;
    case MessageKind::DeviceList:
      for (const DeviceInfo& device : message.devices) writer_.write(device);
      for (const StatusReport& report : message.latest_reports) count(writer_.write(report));
      break;
    case MessageKind::CommandReceipt:
    case MessageKind::Unknown:
      break;
  }
  ++stats_.messages[message.kind];
}

}  // namespace thermomaven::collector
