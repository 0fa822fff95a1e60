// A cook whose device name, notes, state and values come from the fuzzer,
// exported as CSV and JSON: output stays well-formed, nothing crashes.
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>

#include "thermomaven/exporter/cook_export.hpp"
#include "thermomaven/storage/reading_writer.hpp"

namespace {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::string text() {
    const std::size_t n = std::min<std::size_t>(take_byte(), size_);
    std::string s(reinterpret_cast<const char*>(data_), n);
    data_ += n;
    size_ -= n;
    return s;
  }
  std::int32_t number() {
    std::int32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | take_byte();
    return v;
  }
  std::uint8_t take_byte() {
    if (size_ == 0) return 0;
    --size_;
    return *data_++;
  }
  bool empty() const { return size_ == 0; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace thermomaven;
  Input in(data, size);
  storage::Database db(":memory:");
  {
    storage::ReadingWriter writer(db);
    writer.write(DeviceInfo{in.text(), in.text(), in.text(), in.text(), {}});
    for (int i = 0; i < 8 && !in.empty(); ++i) {
      StatusReport r;
      r.device_id = "dev";
      r.time_ms = in.number();
      r.unit = in.take_byte() & 1 ? TemperatureUnit::Celsius : TemperatureUnit::Fahrenheit;
      ProbeSample& p = r.probes.emplace_back();
      p.probe = 1 + in.take_byte() % 4;
      p.cook_uuid = "cook";
      p.state = in.text();
      p.notes = in.text();
      p.has_notes = true;
      p.temperature = in.number();
      p.zones[in.take_byte() % 5] = in.number();
      if (in.take_byte() & 1) p.ambient = in.number();
      if (in.take_byte() & 1) p.target = in.number();
      if (in.take_byte() & 1) p.remaining_s = in.number();
      writer.write(r);
    }
  }
  storage::CookReader reader(db);
  for (const auto& cook : reader.list_cooks()) {
    std::ostringstream csv;
    exporter::write_cook_csv(reader, cook, std::nullopt, csv);
    exporter::write_cook_csv(reader, cook, TemperatureUnit::Celsius, csv);
    // A cell may hold newlines only inside quotes: every row ends in CRLF.
    const std::string out = csv.str();
    if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) __builtin_trap();
  }
  const std::string json = exporter::cooks_json(reader.list_cooks(), 0, 0);
  for (unsigned char c : json)
    if (c < 0x20 && c != '\n') __builtin_trap();  // control characters must be escaped
  return 0;
}
