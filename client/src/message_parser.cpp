#include "thermomaven/client/message_parser.hpp"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace thermomaven::client {

using namespace simdjson;

const char* kind_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::StatusReport:
      return "status_report";
    case MessageKind::DeviceList:
      return "device_list";
    case MessageKind::CommandReceipt:
      return "command_receipt";
    case MessageKind::Unknown:
      break;
  }
  return "unknown";
}

void Message::clear() {
  kind = MessageKind::Unknown;
  cmd_type.clear();
  cmd_id.clear();
  topic.clear();
  // report.probes keeps its storage: the parser reuses it and sets its size.
  devices.clear();
  latest_reports.clear();
  receipt = CommandReceipt{};
}

std::size_t parser_padding() { return SIMDJSON_PADDING; }

namespace {

// Bounds on what one message can make us keep.
constexpr std::size_t kMaxText = 256;                         // names, notes, ids
constexpr std::size_t kMaxProbes = 8;                         // real devices have 1 to 4
constexpr std::size_t kMaxDevices = 1000;                     // per device list
constexpr std::size_t kMaxTopics = 16;                        // per device
constexpr std::int64_t kMaxEpochSeconds = 9'000'000'000'000;  // keeps seconds * 1000 in range

// Cuts at a UTF-8 character boundary so that a bounded string stays valid.
void assign_bounded(std::string& out, std::string_view s) {
  if (s.size() > kMaxText) {
    std::size_t cut = kMaxText;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut);
  }
  out.assign(s);
}

bool read_text(ondemand::value v, std::string& out) {
  std::string_view s;
  if (v.get_string().get(s) != SUCCESS) return false;
  assign_bounded(out, s);
  return true;
}

// A deviceId: a string of digits in every capture, but one client converts
// it from a number (protocol.md), so a whole JSON number reads as its digits.
bool read_id(ondemand::value v, std::string& out) {
  if (read_text(v, out)) return true;
  std::uint64_t n;
  if (v.get_uint64().get(n) != SUCCESS) return false;
  out = std::to_string(n);
  return true;
}

// A number, when the value is one that fits; a string, object or array is
// the wrong type and reads as absent. Fractions are rounded: tenths are
// integers on every device seen, but a rounded value beats a lost one.
std::optional<std::int64_t> read_int(ondemand::value v) {
  std::int64_t i;
  if (v.get_int64().get(i) == SUCCESS) return i;  // the common case, parsed once
  double d;
  if (v.get_double().get(d) == SUCCESS && std::isfinite(d) && std::fabs(d) < 9e15)
    return static_cast<std::int64_t>(std::llround(d));
  return std::nullopt;  // not a number, or unsigned beyond int64
}

// Always inlined, around an out-of-line read_int: a dozen fields of every
// probe read through it, and once the report grew more callers the compiler
// put it out of line too, making each read two calls (perf: ~2 % of an
// import).
[[gnu::always_inline]] inline std::optional<std::int32_t> read_int32(ondemand::value v) {
  auto i = read_int(v);
  if (!i || *i < std::numeric_limits<std::int32_t>::min() ||
      *i > std::numeric_limits<std::int32_t>::max())
    return std::nullopt;
  return static_cast<std::int32_t>(*i);
}

std::optional<bool> read_bool(ondemand::value v) {
  bool b;
  if (v.get_bool().get(b) != SUCCESS) return std::nullopt;
  return b;
}

bool has_trailing_content(ondemand::document& doc) {
  const char* location = nullptr;
  return doc.current_location().get(location) == SUCCESS;  // OUT_OF_BOUNDS at the end
}

// After get_object() failed: is the document some other valid JSON value?
bool is_valid_non_object(ondemand::document& doc) {
  ondemand::json_type type;
  if (doc.type().get(type) != SUCCESS) return false;
  bool valid = false;
  switch (type) {
    case ondemand::json_type::array: {
      ondemand::array a;
      std::string_view raw;
      valid = doc.get_array().get(a) == SUCCESS && a.raw_json().get(raw) == SUCCESS;
      break;
    }
    case ondemand::json_type::string: {
      std::string_view s;
      valid = doc.get_string().get(s) == SUCCESS;
      break;
    }
    case ondemand::json_type::number: {
      double d;
      valid = doc.get_double().get(d) == SUCCESS;
      break;
    }
    case ondemand::json_type::boolean: {
      bool b;
      valid = doc.get_bool().get(b) == SUCCESS;
      break;
    }
    case ondemand::json_type::null: {
      bool null = false;
      valid = doc.is_null().get(null) == SUCCESS && null;
      break;
    }
    default:
      break;
  }
  return valid && !has_trailing_content(doc);
}

bool is_object(ondemand::value& v) {
  ondemand::json_type t;
  return v.type().get(t) == SUCCESS && t == ondemand::json_type::object;
}

// An object key, compared in place against the names we know. Every parse
// buffer is padded, so reading a name's length past the key's start is
// safe; a key containing escapes never equals a name, and unknown keys are
// ignored anyway.
//
// The comparison is spelled as word loads rather than memcmp: with more
// names to try per report, GCC stopped expanding memcmp inline in the
// parser and called the library for each of them (measured: about 3 % of
// an import in perf).
class Key {
 public:
  explicit Key(const char* raw) : raw_(raw) {}
  template <std::size_t N>
  bool is(const char (&name)[N]) const {
    return same<N - 1>(raw_, name) && raw_[N - 1] == '"';
  }
  char operator[](std::size_t i) const { return raw_[i]; }

 private:
  template <typename Word>
  static Word load(const char* p) {
    Word w;
    std::memcpy(&w, p, sizeof w);  // a single load
    return w;
  }

  // The first n bytes of a and b are equal; words may overlap at the end.
  template <std::size_t n>
  static bool same(const char* a, const char* b) {
    if constexpr (n >= 8) {
      for (std::size_t i = 0; i + 8 < n; i += 8)
        if (load<std::uint64_t>(a + i) != load<std::uint64_t>(b + i)) return false;
      return load<std::uint64_t>(a + n - 8) == load<std::uint64_t>(b + n - 8);
    } else if constexpr (n >= 4) {
      return load<std::uint32_t>(a) == load<std::uint32_t>(b) &&
             load<std::uint32_t>(a + n - 4) == load<std::uint32_t>(b + n - 4);
    } else {
      for (std::size_t i = 0; i < n; ++i)
        if (a[i] != b[i]) return false;
      return true;
    }
  }

  const char* raw_;
};

// Iterates the fields of an object, calling visit(key, value). Returns the
// first structural error (truncated or malformed JSON), SUCCESS otherwise.
template <typename Visit>
error_code for_each_field(ondemand::object object, Visit&& visit) {
  for (auto result : object) {
    ondemand::field field;
    if (auto e = std::move(result).get(field)) return e;
    if (auto e = visit(Key(field.key().raw()), field.value())) return e;
  }
  return SUCCESS;
}

template <typename Visit>
error_code for_each_element(ondemand::value v, Visit&& visit) {
  ondemand::array array;
  if (v.get_array().get(array) != SUCCESS) return SUCCESS;  // wrong type: absent
  for (auto element : array) {
    ondemand::value value;
    if (auto e = element.get(value)) return e;
    if (auto e = visit(value)) return e;
  }
  return SUCCESS;
}

int probe_number(std::string_view color) {
  // "probe1".."probe4"; anything else is not a probe we can place.
  if (color.size() == 6 && color.substr(0, 5) == "probe" && color[5] >= '1' && color[5] <= '4')
    return color[5] - '0';
  return 0;
}

enum class ProbeField {
  Other,
  Temperature,
  Zones,
  Ambient,
  SetParams,
  StartClient,
  Color,
  State,
  Mode,
  CookUuid,
  Notes,
  Serial,
  Battery,
  Elapsed,
  Total,
  Remaining,
  Cooking,
  Overheat,
};

// Probe entries are the bulk of every report: dispatch on the key's first
// letter so that each key costs one or two comparisons, not twenty.
ProbeField probe_field(Key key) {
  switch (key[0]) {
    case 'a':
      return key.is("areaTemperature") ? ProbeField::Zones : ProbeField::Other;
    case 'b':
      return key.is("batteryValue") ? ProbeField::Battery : ProbeField::Other;
    case 'c':
      if (key[1] == 'u') {
        if (key.is("curTemperature")) return ProbeField::Temperature;
        if (key.is("curAmbientTemperature")) return ProbeField::Ambient;
        if (key.is("curCookSec")) return ProbeField::Elapsed;
        if (key.is("curRemainedSec")) return ProbeField::Remaining;
        return ProbeField::Other;
      }
      if (key.is("cookingState")) return ProbeField::State;
      if (key.is("cookingMode")) return ProbeField::Mode;
      if (key.is("cookUuid")) return ProbeField::CookUuid;
      if (key.is("cooking")) return ProbeField::Cooking;
      return ProbeField::Other;
    case 'd':
      return key.is("deviceSn") ? ProbeField::Serial : ProbeField::Other;
    case 'o':
      return key.is("overheat") ? ProbeField::Overheat : ProbeField::Other;
    case 'p':
      if (key.is("probeColor")) return ProbeField::Color;
      return key.is("probeNotes") ? ProbeField::Notes : ProbeField::Other;
    case 's':
      if (key.is("setParams")) return ProbeField::SetParams;
      return key.is("startClient") ? ProbeField::StartClient : ProbeField::Other;
    case 't':
      return key.is("totalCookSec") ? ProbeField::Total : ProbeField::Other;
    default:
      return ProbeField::Other;
  }
}

constexpr std::size_t kMaxSetParams = 2048;  // bytes of setParams kept as received

// A number in raw JSON text as read_int reads one: an integer, or a
// fraction rounded; anything else is absent.
std::optional<std::int32_t> raw_int32(std::string_view text) {
  std::int64_t i = 0;
  const char* end = text.data() + text.size();
  auto [after, error] = std::from_chars(text.data(), end, i);
  if (error != std::errc() || after == text.data()) return std::nullopt;
  if (after < end && (*after == '.' || *after == 'e' || *after == 'E')) {
    double d = 0;
    auto [after_d, error_d] = std::from_chars(text.data(), end, d);
    if (error_d != std::errc() || !std::isfinite(d) || std::fabs(d) >= 9e15) return std::nullopt;
    after = after_d;
    i = static_cast<std::int64_t>(std::llround(d));
  }
  if (i < std::numeric_limits<std::int32_t>::min() || i > std::numeric_limits<std::int32_t>::max())
    return std::nullopt;
  return static_cast<std::int32_t>(i);
}

// Stage 0's setTemperature, found in the raw text of setParams (an array of
// stage objects) by a small scan: reports carry setParams on every probe,
// and a second parse of it would cost more than the rest of the probe.
std::optional<std::int32_t> first_stage_target(std::string_view raw) {
  // Every device seen sends stage 0 with setTemperature first and no
  // spaces: read the number straight after that prefix, which gives what
  // the scan below would and costs a fraction of it (the scan was about
  // 1.5 % of an import in perf).
  constexpr std::string_view kUsualStart = R"([{"setTemperature":)";
  if (raw.starts_with(kUsualStart)) return raw_int32(raw.substr(kUsualStart.size()));
  constexpr std::string_view kSpace = " \t\r\n";
  std::size_t i = raw.find_first_not_of(kSpace, 1);  // after '['
  if (i == std::string_view::npos || raw[i] != '{') return std::nullopt;
  int depth = 0;
  for (; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '"') {
      std::size_t end = i + 1;
      while (end < raw.size() && raw[end] != '"') end += raw[end] == '\\' ? 2 : 1;
      if (end >= raw.size()) return std::nullopt;
      const bool wanted = depth == 1 && raw.substr(i + 1, end - i - 1) == "setTemperature";
      i = end;
      if (!wanted) continue;
      const std::size_t colon = raw.find_first_not_of(kSpace, i + 1);
      if (colon == std::string_view::npos || raw[colon] != ':') continue;  // a value, not a key
      const std::size_t number = raw.find_first_not_of(kSpace, colon + 1);
      if (number == std::string_view::npos) return std::nullopt;
      return raw_int32(raw.substr(number));
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return std::nullopt;  // stage 0 ended without a setTemperature
    }
  }
  return std::nullopt;
}

// setParams: the target (stage 0's setTemperature) and the whole array as
// received, which a command that changes the target sends back with only
// that value replaced.
error_code parse_set_params(ondemand::value v, ProbeSample& p) {
  ondemand::array array;
  std::string_view raw;
  if (v.get_array().get(array) != SUCCESS) return SUCCESS;  // wrong type: absent
  if (auto e = array.raw_json().get(raw)) return e;
  while (!raw.empty() &&
         (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\t' || raw.back() == '\r'))
    raw.remove_suffix(1);
  p.target = first_stage_target(raw);
  if (raw.size() <= kMaxSetParams) p.set_params_json.assign(raw);
  return SUCCESS;
}

error_code parse_probe(ondemand::object object, ProbeSample& p) {
  return for_each_field(object, [&](Key key, ondemand::value v) -> error_code {
    switch (probe_field(key)) {
      case ProbeField::Temperature:
        p.temperature = read_int32(v);
        break;
      case ProbeField::Zones: {
        std::size_t i = 0;
        return for_each_element(v, [&](ondemand::value zone) -> error_code {
          if (i < p.zones.size()) p.zones[i] = read_int32(zone);
          ++i;
          return SUCCESS;
        });
      }
      case ProbeField::Ambient:
        p.ambient = read_int32(v);
        break;
      case ProbeField::SetParams:
        return parse_set_params(v, p);
      case ProbeField::StartClient:
        read_text(v, p.start_client);
        break;
      case ProbeField::Color: {
        std::string_view color;
        if (v.get_string().get(color) == SUCCESS) p.probe = probe_number(color);
        break;
      }
      case ProbeField::State:
        read_text(v, p.state);
        break;
      case ProbeField::Mode:
        read_text(v, p.mode);
        break;
      case ProbeField::CookUuid:
        read_text(v, p.cook_uuid);
        break;
      case ProbeField::Notes:
        p.has_notes = read_text(v, p.notes);
        break;
      case ProbeField::Serial:
        read_text(v, p.serial);
        break;
      case ProbeField::Battery:
        p.battery_pct = read_int32(v);
        break;
      case ProbeField::Elapsed:
        p.elapsed_s = read_int32(v);
        break;
      case ProbeField::Total:
        p.total_s = read_int32(v);
        break;
      case ProbeField::Remaining:
        p.remaining_s = read_int32(v);
        break;
      case ProbeField::Cooking:
        p.cooking = read_bool(v);
        break;
      case ProbeField::Overheat:
        p.overheat = read_bool(v);
        break;
      case ProbeField::Other:
        break;
    }
    return SUCCESS;
  });
}

// Clears a probe for reuse, keeping its strings' storage: reports arrive
// many times a second and should not allocate.
void reset_probe(ProbeSample& p) {
  p.probe = 0;
  p.state.clear();
  p.mode.clear();
  p.start_client.clear();
  p.set_params_json.clear();
  p.cook_uuid.clear();
  p.notes.clear();
  p.has_notes = false;
  p.serial.clear();
  p.temperature = p.ambient = p.target = p.elapsed_s = p.total_s = p.remaining_s = p.battery_pct =
      std::nullopt;
  p.zones = {};
  p.cooking = p.overheat = std::nullopt;
}

// The base station's report-level fields (protocol.md, "Status report"),
// dispatched on the key like the probe's.
enum class ReportField {
  Other,
  Probes,
  GlobalStatus,
  Battery,
  BatteryStatus,
  Rssi,
  HasWifiConfig,
  ConnectStatus,
  Volume,
};

ReportField report_field(Key key) {
  switch (key[0]) {
    case 'b':
      if (key.is("batteryValue")) return ReportField::Battery;
      return key.is("batteryStatus") ? ReportField::BatteryStatus : ReportField::Other;
    case 'c':
      return key.is("connectStatus") ? ReportField::ConnectStatus : ReportField::Other;
    case 'g':
      return key.is("globalStatus") ? ReportField::GlobalStatus : ReportField::Other;
    case 'h':
      return key.is("hasWifiConfig") ? ReportField::HasWifiConfig : ReportField::Other;
    case 'p':
      return key.is("probes") ? ReportField::Probes : ReportField::Other;
    case 'v':
      return key.is("volume") ? ReportField::Volume : ReportField::Other;
    case 'w':
      return key.is("wifiRssi") ? ReportField::Rssi : ReportField::Other;
    default:
      return ReportField::Other;
  }
}

// A short word the base reports ("normal", "both", "high"): kept as sent,
// unknown values included, but only when it is a string of a sane length
// (it becomes a metric label).
constexpr std::size_t kMaxWord = 32;
void read_word(ondemand::value v, std::string& out) {
  std::string_view s;
  if (v.get_string().get(s) == SUCCESS && !s.empty() && s.size() <= kMaxWord) out.assign(s);
}

void reset_report_fields(StatusReport& r) {
  r.online = std::nullopt;
  r.battery_pct = r.wifi_rssi_dbm = std::nullopt;
  r.battery_status.clear();
  r.connect_status.clear();
  r.volume.clear();
  r.has_wifi_config = std::nullopt;
}

// A report-level field other than the probes. Out of line: the probes are
// the hot path, and inlining this next to them made the compiler stop
// inlining parse_probe (measured: import 15 % slower).
[[gnu::noinline]] void read_report_field(Key key, ondemand::value v, StatusReport& r) {
  switch (report_field(key)) {
    case ReportField::GlobalStatus: {
      std::string_view s;
      if (v.get_string().get(s) == SUCCESS) {
        if (s == "online")
          r.online = true;
        else if (s == "offline")
          r.online = false;
      }
      break;
    }
    case ReportField::Battery:
      r.battery_pct = read_int32(v);
      break;
    case ReportField::BatteryStatus:
      read_word(v, r.battery_status);
      break;
    case ReportField::Rssi:
      r.wifi_rssi_dbm = read_int32(v);
      break;
    case ReportField::HasWifiConfig:
      r.has_wifi_config = read_bool(v);
      break;
    case ReportField::ConnectStatus:
      read_word(v, r.connect_status);
      break;
    case ReportField::Volume:
      read_word(v, r.volume);
      break;
    case ReportField::Probes:  // read by parse_status itself
    case ReportField::Other:
      break;
  }
}

error_code parse_status(ondemand::object object, StatusReport& r) {
  reset_report_fields(r);
  std::size_t count = 0;
  error_code e = for_each_field(object, [&](Key key, ondemand::value v) -> error_code {
    if (key.is("probes")) {
      return for_each_element(v, [&](ondemand::value entry) -> error_code {
        ondemand::object o;
        if (entry.get_object().get(o) != SUCCESS || count >= kMaxProbes) return SUCCESS;
        if (count == r.probes.size()) r.probes.emplace_back();
        ProbeSample& p = r.probes[count];
        reset_probe(p);
        if (auto err = parse_probe(o, p)) return err;
        // Without a readable probeColor, the position in the list places it.
        if (p.probe == 0) p.probe = static_cast<int>(count + 1);
        if (p.probe <= 4) ++count;
        return SUCCESS;
      });
    }
    read_report_field(key, v, r);
    return SUCCESS;
  });
  r.probes.resize(count);
  return e;
}

error_code parse_receipt(ondemand::object object, CommandReceipt& r) {
  return for_each_field(object, [&](Key key, ondemand::value v) -> error_code {
    if (key.is("cmdId"))
      read_text(v, r.cmd_id);
    else if (key.is("cmdType"))
      read_text(v, r.cmd_type);
    else if (key.is("executeResult"))
      read_text(v, r.execute_result);
    else if (key.is("errorCode"))
      r.error_code = read_int(v);
    else if (key.is("cmdError"))
      r.cmd_error = read_int(v);
    return SUCCESS;
  });
}

// "device/WT09/199298835195806964/pub" -> "199298835195806964"
std::string_view device_from_topic(std::string_view topic) {
  if (topic.substr(0, 7) != "device/") return {};
  const auto model_end = topic.find('/', 7);
  if (model_end == std::string_view::npos) return {};
  const auto id_end = topic.find('/', model_end + 1);
  return topic.substr(model_end + 1, id_end == std::string_view::npos ? std::string_view::npos
                                                                      : id_end - model_end - 1);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

MessageKind kind_of(std::string_view cmd_type) {
  if (ends_with(cmd_type, ":status:report")) return MessageKind::StatusReport;
  if (cmd_type == "user:device:list") return MessageKind::DeviceList;
  if (cmd_type == "device:cmd:receipt") return MessageKind::CommandReceipt;
  return MessageKind::Unknown;
}

// The envelope's fields (protocol.md, "Topics and messages"), dispatched on the key's
// first letter like the probe's: every report has about fourteen of them,
// and a chain of comparisons made the unknown ones (cmdSeqNo, userId, ...)
// and the times pay for every receipt field tried before them.
enum class EnvelopeField {
  Other,
  CmdType,
  CmdId,
  CmdData,
  CmdError,
  DeviceId,
  DeviceModel,
  DeviceTime,
  DeviceTimeSecond,
  ServerTime,
  ServerTimeSecond,
  ExecuteResult,
  ErrorCode,
};

EnvelopeField envelope_field(Key key) {
  switch (key[0]) {
    case 'c':
      if (key.is("cmdId")) return EnvelopeField::CmdId;
      if (key.is("cmdType")) return EnvelopeField::CmdType;
      if (key.is("cmdData")) return EnvelopeField::CmdData;
      return key.is("cmdError") ? EnvelopeField::CmdError : EnvelopeField::Other;
    case 'd':
      if (key.is("deviceTime")) return EnvelopeField::DeviceTime;
      if (key.is("deviceTimeSecond")) return EnvelopeField::DeviceTimeSecond;
      if (key.is("deviceId")) return EnvelopeField::DeviceId;
      return key.is("deviceModel") ? EnvelopeField::DeviceModel : EnvelopeField::Other;
    case 'e':
      if (key.is("executeResult")) return EnvelopeField::ExecuteResult;
      return key.is("errorCode") ? EnvelopeField::ErrorCode : EnvelopeField::Other;
    case 's':
      if (key.is("serverTime")) return EnvelopeField::ServerTime;
      return key.is("serverTimeSecond") ? EnvelopeField::ServerTimeSecond : EnvelopeField::Other;
    default:
      return EnvelopeField::Other;
  }
}

}  // namespace

class MessageParser::Impl {
 public:
  explicit Impl(ParserOptions options) : options_(options) {}

  bool parse_line(std::string_view line, std::size_t capacity, std::int64_t receive_ms,
                  Message& out, ParseError& error) {
    out.clear();
    if (line.size() > options_.max_message_bytes)
      return refuse(error, RejectReason::TooLarge, too_large(line));
    ondemand::document doc;
    if (auto e = outer_.iterate(line.data(), line.size(), capacity).get(doc))
      return refuse(error, RejectReason::NotJson, error_message(e));
    ondemand::object object;
    if (auto e = doc.get_object().get(object)) {
      if (e == INCORRECT_TYPE && is_valid_non_object(doc))
        return refuse(error, RejectReason::NotObject, "valid JSON, but not an object");
      return refuse(error, RejectReason::NotJson,
                    e == INCORRECT_TYPE ? "not valid JSON" : error_message(e));
    }

    // The line is a wrapper when it has a payload; its other fields then
    // belong to the wrapper, and otherwise to a bare envelope.
    Envelope& bare = bare_;
    Envelope& wrapped = wrapped_;
    bare.reset(&out.report);
    wrapped.reset(&out.report);
    bool has_payload = false;
    std::optional<std::int64_t> wrapper_ts;
    error_code e = for_each_field(object, [&](Key key, ondemand::value v) -> error_code {
      if (key.is("payload")) {
        has_payload = true;
        return read_payload(v, wrapped, error);
      }
      if (key.is("topic"))
        read_text(v, out.topic);
      else if (key.is("ts"))
        wrapper_ts = read_int(v);
      return bare.field(key, v, *this);
    });
    if (!e && has_trailing_content(doc)) e = TRAILING_CONTENT;
    if (e) return refuse(error, RejectReason::NotJson, error_message(e));
    if (has_payload && error.reason) return false;
    return finish(has_payload ? wrapped : bare, wrapper_ts, receive_ms, out, error);
  }

  bool parse_payload(std::string_view topic, std::string_view payload, std::int64_t receive_ms,
                     Message& out, ParseError& error) {
    out.clear();
    assign_bounded(out.topic, topic);
    if (payload.size() > options_.max_message_bytes)
      return refuse(error, RejectReason::TooLarge, too_large(payload));
    padded_.assign(payload);
    padded_.resize(payload.size() + SIMDJSON_PADDING);
    Envelope& envelope = wrapped_;
    envelope.reset(&out.report);
    if (auto e = parse_envelope_document(inner_, padded_.data(), payload.size(), padded_.size(),
                                         envelope, error))
      // A top-level INCORRECT_TYPE comes with its reason filled in; one from
      // deeper in the document may not: never refuse without a reason.
      return e == INCORRECT_TYPE && error.reason
                 ? false
                 : refuse(error, RejectReason::NotJson, error_message(e));
    return finish(envelope, std::nullopt, receive_ms, out, error);
  }

  void set_unit(TemperatureUnit unit) { options_.unit = unit; }
  const ParserOptions& options() const { return options_; }

 private:
  // What one envelope said; its cmdData is parsed in place when cmdType came
  // first (the usual order) and otherwise kept as raw JSON for a second pass.
  struct Envelope {
    std::string cmd_type, cmd_id, device_id, device_model;
    std::optional<std::int64_t> server_time, device_time;
    std::optional<std::int64_t> server_time_s, device_time_s;  // the seconds fields
    bool has_cmd_type = false;
    bool data_parsed = false;
    bool data_wrong_type = false;
    bool deferred_wrong_type = false;
    std::string deferred_data;       // raw cmdData, when it came before cmdType
    StatusReport* report = nullptr;  // where a status report's data goes
    std::vector<DeviceInfo> devices;
    std::vector<StatusReport> latest_reports;
    CommandReceipt receipt;
    // A receipt's fields at the envelope's own level (one description's
    // layout), used only when cmdData lacks them.
    CommandReceipt top_level_receipt;
    bool has_top_level_receipt = false;
    bool has_receipt_fields = false;  // receipt or top_level_receipt written

    void reset(StatusReport* target) {
      cmd_type.clear();
      cmd_id.clear();
      device_id.clear();
      device_model.clear();
      server_time = device_time = server_time_s = device_time_s = std::nullopt;
      has_cmd_type = data_parsed = data_wrong_type = deferred_wrong_type = false;
      deferred_data.clear();
      report = target;
      devices.clear();
      latest_reports.clear();
      // Only a receipt fills these; cleared in place, not rebuilt, as every
      // report resets two envelopes.
      if (has_receipt_fields) {
        receipt = CommandReceipt{};
        top_level_receipt = CommandReceipt{};
      }
      has_receipt_fields = has_top_level_receipt = false;
    }

    error_code field(Key key, ondemand::value v, Impl& parser) {
      switch (envelope_field(key)) {
        case EnvelopeField::CmdType:
          has_cmd_type = read_text(v, cmd_type);
          break;
        case EnvelopeField::CmdId:
          read_text(v, cmd_id);
          break;
        case EnvelopeField::DeviceId:
          read_id(v, device_id);
          break;
        case EnvelopeField::DeviceModel:
          read_text(v, device_model);
          break;
        case EnvelopeField::ExecuteResult:
          has_receipt_fields = true;
          has_top_level_receipt |= read_text(v, top_level_receipt.execute_result);
          break;
        case EnvelopeField::CmdError:
          has_receipt_fields = true;
          top_level_receipt.cmd_error = read_int(v);
          has_top_level_receipt |= top_level_receipt.cmd_error.has_value();
          break;
        case EnvelopeField::ErrorCode:
          has_receipt_fields = true;
          top_level_receipt.error_code = read_int(v);
          break;
        case EnvelopeField::ServerTime:
          server_time = read_int(v);
          break;
        case EnvelopeField::DeviceTime:
          device_time = read_int(v);
          break;
        case EnvelopeField::ServerTimeSecond:
          server_time_s = read_int(v);
          break;
        case EnvelopeField::DeviceTimeSecond:
          device_time_s = read_int(v);
          break;
        case EnvelopeField::CmdData:
          return cmd_data(v, parser);
        case EnvelopeField::Other:
          break;
      }
      return SUCCESS;
    }

    error_code cmd_data(ondemand::value v, Impl& parser) {
      if (has_cmd_type) return parser.parse_data(v, *this);
      // Only an object can be kept for later; anything else is the wrong
      // type for every kind that has a cmdData we read.
      ondemand::object object;
      std::string_view raw;
      if (v.get_object().get(object) != SUCCESS) {
        deferred_wrong_type = true;
        return SUCCESS;
      }
      if (auto e = object.raw_json().get(raw)) return e;
      deferred_data.assign(raw);
      return SUCCESS;
    }
  };

  error_code parse_data(ondemand::value v, Envelope& env) {
    env.data_parsed = true;
    const MessageKind kind = kind_of(env.cmd_type);
    if (kind == MessageKind::Unknown) return SUCCESS;  // kept only as a count
    ondemand::object object;
    if (v.get_object().get(object) != SUCCESS) {
      env.data_wrong_type = true;
      return SUCCESS;
    }
    switch (kind) {
      case MessageKind::StatusReport:
        return parse_status(object, *env.report);
      case MessageKind::CommandReceipt:
        env.has_receipt_fields = true;
        return parse_receipt(object, env.receipt);
      case MessageKind::DeviceList:
        return parse_device_list(object, env);
      case MessageKind::Unknown:
        break;
    }
    return SUCCESS;
  }

  error_code parse_device_list(ondemand::object object, Envelope& env) {
    return for_each_field(object, [&](Key key, ondemand::value v) -> error_code {
      if (!key.is("devices")) return SUCCESS;
      return for_each_element(v, [&](ondemand::value entry) -> error_code {
        ondemand::object o;
        if (entry.get_object().get(o) != SUCCESS || env.devices.size() >= kMaxDevices)
          return SUCCESS;
        return parse_listed_device(o, env);
      });
    });
  }

  error_code parse_listed_device(ondemand::object object, Envelope& env) {
    DeviceInfo& d = env.devices.emplace_back();
    StatusReport latest_report;
    Envelope latest;
    latest.reset(&latest_report);
    bool has_latest = false;
    error_code e = for_each_field(object, [&](Key key, ondemand::value v) -> error_code {
      if (key.is("deviceId"))
        read_id(v, d.device_id);
      else if (key.is("deviceName"))
        read_text(v, d.name);
      else if (key.is("deviceModel"))
        read_text(v, d.model);
      else if (key.is("deviceSn"))
        read_text(v, d.serial);
      else if (key.is("subTopics")) {
        return for_each_element(v, [&](ondemand::value t) -> error_code {
          std::string topic;
          if (d.topics.size() < kMaxTopics && read_text(t, topic)) d.topics.push_back(topic);
          return SUCCESS;
        });
      } else if (key.is("lastStatusCmd") && is_object(v)) {
        has_latest = true;
        ondemand::object o;
        if (auto err = v.get_object().get(o)) return err;
        return for_each_field(
            o, [&](Key k, ondemand::value f) -> error_code { return latest.field(k, f, *this); });
      }
      return SUCCESS;
    });
    if (e) return e;
    if (d.device_id.empty()) {
      env.devices.pop_back();
      return SUCCESS;
    }
    if (has_latest) {
      if (latest.device_id.empty()) latest.device_id = d.device_id;
      if (latest.device_model.empty()) latest.device_model = d.model;
      Message copy;
      ParseError ignored;
      // The cloud's copy of the latest report; anything else there is ignored.
      if (finish_deferred(latest, ignored, /*nested=*/true) == SUCCESS && latest.data_parsed &&
          !latest.data_wrong_type && kind_of(latest.cmd_type) == MessageKind::StatusReport &&
          resolve_report(latest, std::nullopt, 0, copy, ignored))
        env.latest_reports.push_back(std::move(copy.report));
    }
    return SUCCESS;
  }

  error_code read_payload(ondemand::value v, Envelope& env, ParseError& error) {
    ondemand::json_type type;
    if (auto e = v.type().get(type)) return e;
    if (type == ondemand::json_type::object) {
      ondemand::object o;
      if (auto e = v.get_object().get(o)) return e;
      return for_each_field(
          o, [&](Key k, ondemand::value f) -> error_code { return env.field(k, f, *this); });
    }
    if (type == ondemand::json_type::string) {
      std::string_view text;
      if (auto e = v.get_string().get(text)) return e;
      if (text.size() > options_.max_message_bytes) {
        refuse(error, RejectReason::TooLarge, too_large(text));
        return SUCCESS;
      }
      padded_.assign(text);
      padded_.resize(text.size() + SIMDJSON_PADDING);
      if (auto e = parse_envelope_document(inner_, padded_.data(), text.size(), padded_.size(), env,
                                           error)) {
        if (e != INCORRECT_TYPE)
          refuse(error, RejectReason::NotJson, std::string("payload string: ") + error_message(e));
      }
      return SUCCESS;
    }
    refuse(error, RejectReason::NotObject, "payload is neither an object nor a JSON string");
    return SUCCESS;
  }

  // Parses a whole document as an envelope. INCORRECT_TYPE means `error`
  // is already filled in.
  error_code parse_envelope_document(ondemand::parser& parser, const char* data, std::size_t size,
                                     std::size_t capacity, Envelope& env, ParseError& error) {
    ondemand::document doc;
    if (auto e = parser.iterate(data, size, capacity).get(doc)) return e;
    ondemand::object object;
    if (auto e = doc.get_object().get(object)) {
      if (e == INCORRECT_TYPE)
        refuse(error, RejectReason::NotObject, "payload is not a JSON object");
      return e;
    }
    error_code e = for_each_field(
        object, [&](Key k, ondemand::value f) -> error_code { return env.field(k, f, *this); });
    if (!e && has_trailing_content(doc)) e = TRAILING_CONTENT;
    if (e) return e;
    return finish_deferred(env, error);
  }

  error_code finish_deferred(Envelope& env, ParseError&, bool nested = false) {
    if (env.deferred_wrong_type && !env.data_parsed) {
      env.data_parsed = true;
      env.data_wrong_type = kind_of(env.cmd_type) != MessageKind::Unknown;
    }
    if (env.deferred_data.empty() || !env.has_cmd_type) return SUCCESS;
    std::string raw = std::move(env.deferred_data);
    env.deferred_data.clear();
    raw.resize(raw.size() + SIMDJSON_PADDING);
    // A lastStatusCmd is read while its device list may still be using the
    // deferred parser, so it gets its own.
    ondemand::parser& parser = nested ? nested_parser_ : deferred_parser_;
    ondemand::document doc;
    if (auto e = parser.iterate(raw.data(), raw.size() - SIMDJSON_PADDING, raw.size()).get(doc))
      return e;
    ondemand::value v;
    if (auto e = doc.get_value().get(v)) return e;
    return parse_data(v, env);
  }

  bool finish(Envelope& env, std::optional<std::int64_t> wrapper_ts, std::int64_t receive_ms,
              Message& out, ParseError& error) {
    if (auto e = finish_deferred(env, error))
      return refuse(error, RejectReason::NotJson, error_message(e));
    if (!env.has_cmd_type)
      return refuse(error, RejectReason::NoCmdType, "no cmdType: not a ThermoMaven message");
    out.cmd_type = env.cmd_type;
    out.cmd_id = env.cmd_id;
    out.kind = kind_of(env.cmd_type);
    if (out.kind == MessageKind::CommandReceipt) return resolve_receipt(env, out, error);
    if (out.kind != MessageKind::Unknown && (!env.data_parsed || env.data_wrong_type))
      return refuse(error, RejectReason::BadCmdData,
                    "cmdData of " + env.cmd_type + " is missing or not an object");
    switch (out.kind) {
      case MessageKind::StatusReport:
        return resolve_report(env, wrapper_ts, receive_ms, out, error);
      case MessageKind::DeviceList:
        out.devices = std::move(env.devices);
        out.latest_reports = std::move(env.latest_reports);
        for (auto& r : out.latest_reports) r.unit = options_.unit;
        return true;
      case MessageKind::CommandReceipt:  // resolve_receipt
      case MessageKind::Unknown:
        return true;
    }
    return true;
  }

  // protocol.md: the receipt's fields are in cmdData, whose cmdId is the
  // command's (the envelope's own cmdId is a new one); only when cmdData
  // lacks them, a layout with executeResult at the top level answers the
  // envelope's cmdId.
  bool resolve_receipt(Envelope& env, Message& out, ParseError& error) {
    const bool data_usable = env.data_parsed && !env.data_wrong_type;
    const bool data_has_result = data_usable && !env.receipt.cmd_id.empty() &&
                                 (!env.receipt.execute_result.empty() || env.receipt.cmd_error);
    if (data_has_result) {
      out.receipt = std::move(env.receipt);
    } else if (env.has_top_level_receipt) {
      out.receipt = std::move(env.top_level_receipt);
      out.receipt.cmd_id = env.cmd_id;
      out.receipt.cmd_type = data_usable ? env.receipt.cmd_type : std::string();
    } else if (!data_usable) {
      return refuse(error, RejectReason::BadCmdData,
                    "cmdData of " + env.cmd_type + " is missing or not an object");
    } else {
      out.receipt = std::move(env.receipt);  // answers nothing we can match
    }
    out.receipt.device_id =
        env.device_id.empty() ? std::string(device_from_topic(out.topic)) : env.device_id;
    return true;
  }

  bool resolve_report(Envelope& env, std::optional<std::int64_t> wrapper_ts,
                      std::int64_t receive_ms, Message& out, ParseError& error) {
    StatusReport& r = out.report;
    if (env.report != &r) r = std::move(*env.report);
    // Assigned from views, not from a conditional's temporary string: the
    // ids are longer than the small-string buffer, and a temporary would
    // allocate and free once per report.
    const std::string_view cmd_type = env.cmd_type;
    r.device_id.assign(env.device_id.empty() ? device_from_topic(out.topic)
                                             : std::string_view(env.device_id));
    if (r.device_id.empty())
      return refuse(error, RejectReason::NoDevice, "status report without a deviceId");
    r.model.assign(env.device_model.empty() ? cmd_type.substr(0, cmd_type.find(':'))
                                            : std::string_view(env.device_model));
    r.unit = options_.unit;
    auto positive = [](std::optional<std::int64_t> t) { return t && *t > 0 ? t : std::nullopt; };
    // The seconds fields serve when the milliseconds are missing (protocol.md).
    auto from_seconds = [&](std::optional<std::int64_t> s) -> std::optional<std::int64_t> {
      if (!positive(s) || *s > kMaxEpochSeconds) return std::nullopt;
      return *s * 1000;
    };
    const std::optional<std::int64_t> candidates[] = {
        positive(env.server_time), from_seconds(env.server_time_s), positive(env.device_time),
        from_seconds(env.device_time_s), positive(wrapper_ts)};
    r.time_ms = receive_ms;
    for (const auto& t : candidates)
      if (t) {
        r.time_ms = *t;
        break;
      }
    if (r.time_ms <= 0)
      return refuse(error, RejectReason::NoTime, "status report without a usable time");
    return true;
  }

  static bool refuse(ParseError& error, RejectReason reason, std::string detail) {
    error.reason = reason;
    error.detail = std::move(detail);
    return false;
  }

  std::string too_large(std::string_view input) const {
    return "message of " + std::to_string(input.size()) + " bytes exceeds the limit of " +
           std::to_string(options_.max_message_bytes);
  }

  ParserOptions options_;
  ondemand::parser outer_, inner_, deferred_parser_, nested_parser_;
  Envelope bare_, wrapped_;
  std::string padded_;
};

MessageParser::MessageParser(ParserOptions options) : impl_(std::make_unique<Impl>(options)) {}
MessageParser::~MessageParser() = default;

bool MessageParser::parse_line(std::string_view line, std::size_t capacity, std::int64_t receive_ms,
                               Message& out, ParseError& error) {
  error = {};
  return impl_->parse_line(line, capacity, receive_ms, out, error);
}

bool MessageParser::parse_payload(std::string_view topic, std::string_view payload,
                                  std::int64_t receive_ms, Message& out, ParseError& error) {
  error = {};
  return impl_->parse_payload(topic, payload, receive_ms, out, error);
}

void MessageParser::set_unit(TemperatureUnit unit) { impl_->set_unit(unit); }
const ParserOptions& MessageParser::options() const { return impl_->options(); }

}  // namespace thermomaven::client
