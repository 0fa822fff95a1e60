#include "report_codec.hpp"

#include "thermomaven/storage/database.hpp"

// Layout (version 1), all integers LEB128 varints, signed ones zigzagged:
//   u8 version, u8 report flags, [battery], [rssi], u8 probe count, probes...
// and per probe: u8 head (probe number and the two booleans), state id,
// presence mask, then the present values in mask order. Values that sit
// close to one another are stored as differences so that most take one
// byte: each zone from the one before it (the first from the food
// temperature), ambient from the food temperature, batteries from 50, and
// total cook time not at all when it equals the elapsed time.

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
  kRemaining = 1u << 9,
  kProbeBattery = 1u << 10,
  kTotalIsElapsed = 1u << 11,
  kTotal = 1u << 12,  // present and different from elapsed
};

// The head byte: probe number (1..4, bits 0-2) and the two booleans.
enum HeadBit : std::uint8_t {
  kCookingKnown = 1 << 3,
  kCooking = 1 << 4,
  kOverheatKnown = 1 << 5,
  kOverheat = 1 << 6,
};

constexpr std::int64_t kBatteryBase = 50;

// Appends to a buffer sized for the worst case up front, so that encoding
// a report is plain stores rather than a growth check per byte.
class Writer {
 public:
  // Grows the scratch buffer when needed and never shrinks it, so that
  // encoding neither allocates nor clears memory in the steady state.
  Writer(std::string& out, std::size_t max_bytes) : out_(out) {
    if (out_.size() < max_bytes) out_.resize(max_bytes);
  }
  std::string_view bytes() const { return {out_.data(), used_}; }
  void byte(std::uint8_t b) { out_[used_++] = static_cast<char>(b); }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      byte(static_cast<std::uint8_t>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    byte(static_cast<std::uint8_t>(v));
  }
  void signed_varint(std::int64_t v) {
    varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }

 private:
  std::string& out_;
  std::size_t used_ = 0;
};

constexpr std::size_t kMaxVarint = 10;
constexpr std::size_t kMaxProbeBytes = 2 + 3 * kMaxVarint + 12 * kMaxVarint;

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
  if (p.remaining_s) mask |= kRemaining;
  if (p.battery_pct) mask |= kProbeBattery;
  if (p.total_s) mask |= p.elapsed_s == p.total_s ? kTotalIsElapsed : kTotal;
  return mask;
}

std::uint8_t head(const StoredProbe& p) {
  std::uint8_t h = static_cast<std::uint8_t>(p.probe & 0x7);
  if (p.cooking) h |= kCookingKnown | (*p.cooking ? kCooking : 0);
  if (p.overheat) h |= kOverheatKnown | (*p.overheat ? kOverheat : 0);
  return h;
}

void encode_probe(const StoredProbe& p, Writer& out) {
  out.byte(head(p));
  out.varint(p.state_id);
  out.varint(presence(p));
  std::int64_t previous = p.temperature.value_or(0);
  if (p.temperature) out.signed_varint(*p.temperature);
  for (const auto& zone : p.zones) {
    if (!zone) continue;
    out.signed_varint(*zone - previous);
    previous = *zone;
  }
  if (p.ambient) out.signed_varint(std::int64_t{*p.ambient} - p.temperature.value_or(0));
  if (p.target) out.signed_varint(*p.target);
  if (p.elapsed_s) out.signed_varint(*p.elapsed_s);
  if (p.remaining_s) out.signed_varint(*p.remaining_s);
  if (p.battery_pct) out.signed_varint(*p.battery_pct - kBatteryBase);
  if (p.total_s && p.total_s != p.elapsed_s) out.signed_varint(*p.total_s);
}

void decode_probe(Reader& in, StoredProbe& p) {
  p = StoredProbe{};
  const std::uint8_t h = in.byte();
  p.probe = h & 0x7;
  if (h & kCookingKnown) p.cooking = (h & kCooking) != 0;
  if (h & kOverheatKnown) p.overheat = (h & kOverheat) != 0;
  p.state_id = static_cast<std::uint32_t>(in.varint());
  const std::uint64_t mask = in.varint();
  if (mask & kTemp) p.temperature = in.int32();
  std::int32_t previous = p.temperature.value_or(0);
  for (int i = 0; i < 5; ++i)
    if (mask & (kZone0 << i)) previous = *(p.zones[i] = previous + in.int32());
  if (mask & kAmbient) p.ambient = p.temperature.value_or(0) + in.int32();
  if (mask & kTarget) p.target = in.int32();
  if (mask & kElapsed) p.elapsed_s = in.int32();
  if (mask & kRemaining) p.remaining_s = in.int32();
  if (mask & kProbeBattery) p.battery_pct = static_cast<std::int32_t>(in.int32() + kBatteryBase);
  if (mask & kTotalIsElapsed) p.total_s = p.elapsed_s;
  if (mask & kTotal) p.total_s = in.int32();
}

}  // namespace

std::string_view encode_report(const StoredReport& r, std::string& scratch) {
  Writer w(scratch, 4 + 2 * kMaxVarint + r.probes.size() * kMaxProbeBytes);
  std::uint8_t flags = r.unit == TemperatureUnit::Celsius ? kCelsius : 0;
  if (r.online) flags |= kOnlineKnown | (*r.online ? kOnline : 0);
  if (r.battery_pct) flags |= kBattery;
  if (r.wifi_rssi_dbm) flags |= kRssi;
  w.byte(kVersion);
  w.byte(flags);
  if (r.battery_pct) w.signed_varint(*r.battery_pct);
  if (r.wifi_rssi_dbm) w.signed_varint(*r.wifi_rssi_dbm);
  w.byte(static_cast<std::uint8_t>(r.probes.size()));
  for (const StoredProbe& p : r.probes) encode_probe(p, w);
  return w.bytes();
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
