// One capture line / MQTT payload through the parser and into a database in
// memory: whatever the bytes, no crash, no leak, no undefined behaviour.
#include <cstdint>
#include <memory>
#include <string>

#include "thermomaven/collector/ingestor.hpp"
#include "thermomaven/storage/reading_writer.hpp"

namespace {

struct Pipeline {
  thermomaven::storage::Database db{":memory:"};
  thermomaven::storage::ReadingWriter writer{db, {.batch_size = 64}};
  thermomaven::collector::Ingestor ingestor{writer};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static auto pipeline = std::make_unique<Pipeline>();
  static int inputs = 0;
  if (++inputs % 20000 == 0) pipeline = std::make_unique<Pipeline>();  // bound memory

  // As a capture line (parsed in place, so padded) ...
  std::string line(reinterpret_cast<const char*>(data), size);
  line.resize(size + thermomaven::client::parser_padding());
  thermomaven::client::ParseError error;
  pipeline->ingestor.ingest_line(std::string_view(line.data(), size), line.size(), 1, error);
  // ... and as an MQTT payload on a device topic.
  pipeline->ingestor.ingest_payload("device/WT09/199298835195806964/pub",
                                    std::string_view(reinterpret_cast<const char*>(data), size), 2, error);
  return 0;
}
