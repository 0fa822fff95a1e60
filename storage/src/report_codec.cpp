#include "report_codec.hpp"

#include "thermomaven/storage/database.hpp"

// Layout (version 1), all integers LEB128 varints, signed ones zigzagged:
//   u8 version, u8 report flags, [battery], [rssi], u8 probe count, probes...
// and per probe: u8 probe number, state id, presence mask, then the present
// values in mask order. Zones and ambient are stored as differences from the
// food temperature, and total cook time as a difference from elapsed, since
// those are close to each other and so fit in one or two bytes.

namespace thermomaven::storage {
namespace {

constexpr std::uint8_t kVersion = 1;

enum ReportFlag : std::uint8_t {
  kCelsius = 1 << 0,
  kOnlineKnown = 1 << 1,
  kOnline = 1 << 2,
  kBattery = 1 << 3,
  kRssi = 1 << 4,
};

// Presence bits, most common first so that a typical probe needs two bytes.
enum ProbeBit : std::uint32_t {
  kTemp = 1u << 0,
  kZone0 = 1u << 1,  // .. 1 << 5
  kAmbient = 1u << 6,
  kTarget = 1u << 7,
  kElapsed = 1u << 8,
  kTotal = 1u << 9,
  kRemaining = 1u << 10,
  kProbeBattery = 1u << 11,
  kCookingKnown = 1u << 12,
  kOverheatKnown = 1u << 13,
  kCooking = 1u << 14,
  kOverheat = 1u << 15,
};

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_signed(std::string& out, std::int64_t v) {
  put_varint(out, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  std::uint8_t byte() {
    if (pos_ >= data_.size()) fail();
    return static_cast<std::uint8_t>(data_[pos_++]);
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = byte();
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail();
  }
  std::int64_t signed_varint() {
    const std::uint64_t z = varint();
    return static_cast<std::int64_t>(z >> 1) ^ -static_cast<std::int64_t>(z & 1);
  }
  std::int32_t int32() { return static_cast<std::int32_t>(signed_varint()); }
  bool at_end() const { return pos_ == data_.size(); }

 private:
  [[noreturn]] void fail() { throw StorageError("stored report is truncated or damaged"); }
  std::string_view data_;
  std::size_t pos_ = 0;
};

std::uint32_t presence(const StoredProbe& p) {
  std::uint32_t mask = 0;
  if (p.temperature) mask |= kTemp;
  for (int i = 0; i < 5; ++i)
    if (p.zones[i]) mask |= kZone0 << i;
  if (p.ambient) mask |= kAmbient;
  if (p.target) mask |= kTarget;
  if (p.elapsed_s) mask |= kElapsed;
  if (p.total_s) mask |= kTotal;
  if (p.remaining_s) mask |= kRemaining;
  if (p.battery_pct) mask |= kProbeBattery;
  if (p.cooking) mask |= kCookingKnown | (*p.cooking ? kCooking : 0u);
  if (p.overheat) mask |= kOverheatKnown | (*p.overheat ? kOverheat : 0u);
  return mask;
}

void encode_probe(const StoredProbe& p, std::string& out) {
  out.push_back(static_cast<char>(p.probe));
  put_varint(out, p.state_id);
  put_varint(out, presence(p));
  const std::int64_t base = p.temperature.value_or(0);
  if (p.temperature) put_signed(out, *p.temperature);
  for (const auto& zone : p.zones)
    if (zone) put_signed(out, *zone - base);
  if (p.ambient) put_signed(out, *p.ambient - base);
  if (p.target) put_signed(out, *p.target);
  if (p.elapsed_s) put_signed(out, *p.elapsed_s);
  if (p.total_s) put_signed(out, std::int64_t{*p.total_s} - p.elapsed_s.value_or(0));
  if (p.remaining_s) put_signed(out, *p.remaining_s);
  if (p.battery_pct) put_signed(out, *p.battery_pct);
}

void decode_probe(Reader& in, StoredProbe& p) {
  p = StoredProbe{};
  p.probe = in.byte();
  p.state_id = static_cast<std::uint32_t>(in.varint());
  const std::uint64_t mask = in.varint();
  if (mask & kTemp) p.temperature = in.int32();
  const std::int32_t base = p.temperature.value_or(0);
  for (int i = 0; i < 5; ++i)
    if (mask & (kZone0 << i)) p.zones[i] = base + in.int32();
  if (mask & kAmbient) p.ambient = base + in.int32();
  if (mask & kTarget) p.target = in.int32();
  if (mask & kElapsed) p.elapsed_s = in.int32();
  if (mask & kTotal) p.total_s = p.elapsed_s.value_or(0) + in.int32();
  if (mask & kRemaining) p.remaining_s = in.int32();
  if (mask & kProbeBattery) p.battery_pct = in.int32();
  if (mask & kCookingKnown) p.cooking = (mask & kCooking) != 0;
  if (mask & kOverheatKnown) p.overheat = (mask & kOverheat) != 0;
}

}  // namespace

void encode_report(const StoredReport& r, std::string& out) {
  out.clear();
  std::uint8_t flags = r.unit == TemperatureUnit::Celsius ? kCelsius : 0;
  if (r.online) flags |= kOnlineKnown | (*r.online ? kOnline : 0);
  if (r.battery_pct) flags |= kBattery;
  if (r.wifi_rssi_dbm) flags |= kRssi;
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(flags));
  if (r.battery_pct) put_signed(out, *r.battery_pct);
  if (r.wifi_rssi_dbm) put_signed(out, *r.wifi_rssi_dbm);
  out.push_back(static_cast<char>(r.probes.size()));
  for (const StoredProbe& p : r.probes) encode_probe(p, out);
}

void decode_report(std::string_view blob, StoredReport& r) {
  Reader in(blob);
  if (in.byte() != kVersion) throw StorageError("stored report has an unknown format version");
  const std::uint8_t flags = in.byte();
  r.unit = (flags & kCelsius) ? TemperatureUnit::Celsius : TemperatureUnit::Fahrenheit;
  r.online = (flags & kOnlineKnown) ? std::optional<bool>((flags & kOnline) != 0) : std::nullopt;
  r.battery_pct = (flags & kBattery) ? std::optional<std::int32_t>(in.int32()) : std::nullopt;
  r.wifi_rssi_dbm = (flags & kRssi) ? std::optional<std::int32_t>(in.int32()) : std::nullopt;
  r.probes.resize(in.byte());
  for (StoredProbe& p : r.probes) decode_probe(in, p);
  if (!in.at_end()) throw StorageError("stored report has trailing bytes");
}

}  // namespace thermomaven::storage
