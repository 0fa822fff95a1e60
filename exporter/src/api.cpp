// The page API's JSON (api.hpp): query parsing, the device entries, the
// cook listing and the downsampled series with its replayed forecast.
#include "thermomaven/exporter/api.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <ctime>
#include <vector>

#include "thermomaven/core/forecast.hpp"
#include "thermomaven/core/json_text.hpp"
#include "thermomaven/core/numbers.hpp"
#include "thermomaven/core/time.hpp"
#include "thermomaven/exporter/cook_export.hpp"

namespace thermomaven::exporter::api {
namespace {

// ---- writing JSON ----------------------------------------------------------

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// The shortest text that reads back as the same double: the value /metrics
// shows for the same reading.
void append_double(std::string& out, double v) {
  if (v == 0.0) v = 0.0;  // never "-0"
  char buf[32];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// Rounded to `decimals` places, never "-0.0".
void append_fixed(std::string& out, double v, int decimals) {
  const double scale = decimals == 1 ? 10.0 : 100.0;
  double rounded = std::round(v * scale) / scale;
  if (rounded == 0.0) rounded = 0.0;
  char buf[32];
  out.append(buf,
             std::to_chars(buf, buf + sizeof buf, rounded, std::chars_format::fixed, decimals).ptr);
}

void append_string(std::string& out, std::string_view text) {
  out += '"';
  append_json_escaped(out, text);
  out += '"';
}

void append_bool(std::string& out, bool v) { out += v ? "true" : "false"; }

// Appends `, "key": ` (or `"key": ` first in an object).
void key(std::string& out, std::string_view name) {
  if (out.back() != '{') out += ", ";
  out += '"';
  out += name;
  out += "\": ";
}

template <typename T>
void field(std::string& out, std::string_view name, const std::optional<T>& v) {
  key(out, name);
  if (!v)
    out += "null";
  else if constexpr (std::is_same_v<T, bool>)
    append_bool(out, *v);
  else
    append_int(out, *v);
}

void text_field(std::string& out, std::string_view name, std::string_view v) {
  key(out, name);
  if (v.empty())
    out += "null";
  else
    append_string(out, v);
}

void time_field(std::string& out, std::string_view name, std::optional<std::int64_t> ms) {
  field(out, std::string(name) + "_ms", ms);
  key(out, std::string(name) + "_at");
  if (ms)
    append_string(out, format_utc(*ms, UtcStyle::Millis));
  else
    out += "null";
}

void celsius_field(std::string& out, std::string_view name,
                   const std::optional<std::int32_t>& tenths, TemperatureUnit unit) {
  key(out, name);
  if (tenths)
    append_double(out, to_celsius(*tenths, unit));
  else
    out += "null";
}

// ---- /api/devices ----------------------------------------------------------

void append_forecast(std::string& out, const std::optional<storage::CookForecast>& f) {
  if (!f) {
    out += "null";
    return;
  }
  out += '{';
  key(out, "state");
  append_string(out, forecast::state_name(f->state));
  time_field(out, "predicted_done", f->predicted_done_ms);
  key(out, "confidence");
  if (f->confidence)
    append_fixed(out, *f->confidence, 2);
  else
    out += "null";
  key(out, "stalled");
  append_bool(out, f->stalled);
  out += '}';
}

void append_cook(std::string& out, const std::optional<storage::CookSession>& cook) {
  if (!cook) {
    out += "null";
    return;
  }
  out += '{';
  key(out, "cook_uuid");
  append_string(out, cook->cook_uuid);
  key(out, "notes");
  if (cook->notes)
    append_string(out, *cook->notes);
  else
    out += "null";
  text_field(out, "mode", cook->mode);
  text_field(out, "start_client", cook->start_client);
  time_field(out, "started", cook->first_ms);
  out += '}';
}

void append_probe(std::string& out, const storage::DeviceSnapshot::Probe& probe,
                  TemperatureUnit unit) {
  const ProbeSample& v = probe.values;
  out += '{';
  key(out, "probe");
  append_int(out, v.probe);
  text_field(out, "state", v.state);
  field(out, "cooking", v.cooking);
  field(out, "overheat", v.overheat);
  field(out, "battery_pct", v.battery_pct);
  celsius_field(out, "food_c", v.temperature, unit);
  key(out, "zones_c");
  out += '[';
  for (std::size_t i = 0; i < v.zones.size(); ++i) {
    if (i) out += ", ";
    if (v.zones[i])
      append_double(out, to_celsius(*v.zones[i], unit));
    else
      out += "null";
  }
  out += ']';
  celsius_field(out, "ambient_c", v.ambient, unit);
  celsius_field(out, "target_c", v.target, unit);
  field(out, "elapsed_s", v.elapsed_s);
  field(out, "total_s", v.total_s);
  field(out, "device_remaining_s", v.remaining_s);
  key(out, "cook");
  append_cook(out, probe.cook);
  key(out, "forecast");
  append_forecast(out, probe.cook ? probe.cook->forecast : std::nullopt);
  out += '}';
}

// ---- query strings ---------------------------------------------------------

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view text, std::string_view parameter) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      const int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(text[i + 2]) : -1;
      if (lo < 0) throw ApiError(400, std::string(parameter) + ": bad percent-encoding");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// name -> value for the names in `known`; an unknown or repeated name is a 400.
template <std::size_t N>
std::array<std::optional<std::string>, N> parse_query(
    std::string_view query, const std::array<std::string_view, N>& known) {
  std::array<std::optional<std::string>, N> values;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const std::string name = url_decode(pair.substr(0, eq), "parameter name");
    const auto it = std::find(known.begin(), known.end(), name);
    if (it == known.end())
      throw ApiError(400, "unknown parameter " + json_quoted(name).substr(0, 80));
    auto& slot = values[static_cast<std::size_t>(it - known.begin())];
    if (slot) throw ApiError(400, name + ": given more than once");
    slot = eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1), name);
  }
  return values;
}

std::int64_t whole_number(const std::optional<std::string>& text, std::string_view name,
                          std::int64_t fallback, std::int64_t min, std::int64_t max) {
  if (!text) return fallback;
  const auto v = parse_int64_in(*text, min, max);
  if (!v)
    throw ApiError(400, std::string(name) + ": a whole number from " + std::to_string(min) +
                            " to " + std::to_string(max) + " expected");
  return *v;
}

// ---- the series ------------------------------------------------------------

// One reading as the series keeps it until it is written.
struct SeriesRow {
  std::int64_t time_ms = 0;
  TemperatureUnit unit = TemperatureUnit::Fahrenheit;
  // food, t1..t5, ambient, target in tenths of `unit`
  std::array<std::optional<std::int32_t>, 8> values{};
  std::optional<std::int64_t> predicted_done_ms;
  std::optional<double> confidence;
};

// The indexes of the rows to return, in time order: all of them when they
// fit, else per time bucket the lowest and the highest food reading.
std::vector<std::size_t> pick_rows(const std::vector<SeriesRow>& rows, int max_points) {
  std::vector<std::size_t> picked;
  if (rows.size() <= static_cast<std::size_t>(max_points)) {
    picked.resize(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) picked[i] = i;
    return picked;
  }
  const std::int64_t buckets = max_points / 2;
  const std::int64_t first = rows.front().time_ms;
  const std::int64_t span = rows.back().time_ms - first + 1;
  picked.reserve(static_cast<std::size_t>(max_points));
  std::size_t i = 0;
  while (i < rows.size()) {
    const std::int64_t bucket = (rows[i].time_ms - first) * buckets / span;
    std::size_t lo = i, hi = i;
    std::size_t j = i;
    for (; j < rows.size() && (rows[j].time_ms - first) * buckets / span == bucket; ++j) {
      // Food is always present (readings carry it), in the row's own unit:
      // compare in one unit so that a unit change mid-cook compares right.
      const double food = to_celsius(*rows[j].values[0], rows[j].unit);
      if (food < to_celsius(*rows[lo].values[0], rows[lo].unit)) lo = j;
      if (food > to_celsius(*rows[hi].values[0], rows[hi].unit)) hi = j;
    }
    picked.push_back(std::min(lo, hi));
    if (lo != hi) picked.push_back(std::max(lo, hi));
    i = j;
  }
  return picked;
}

void append_temperature(std::string& out, const std::optional<std::int32_t>& tenths,
                        TemperatureUnit recorded, TemperatureUnit shown) {
  if (!tenths) {
    out += "null";
    return;
  }
  append_fixed(out,
               shown == TemperatureUnit::Celsius ? to_celsius(*tenths, recorded)
                                                 : to_fahrenheit(*tenths, recorded),
               1);
}

}  // namespace

std::string error_json(std::string_view message) {
  std::string out = "{\"error\": ";
  append_string(out, message);
  return out + "}\n";
}

bool device_fresh(const storage::DeviceSnapshot& d, std::int64_t now_ms,
                  std::int64_t stale_after_ms) {
  return d.report_ms > 0 && (stale_after_ms <= 0 || now_ms - d.report_ms <= stale_after_ms);
}

bool device_up(const storage::DeviceSnapshot& d, std::int64_t now_ms, std::int64_t stale_after_ms) {
  // A report without globalStatus still shows the device is talking.
  return device_fresh(d, now_ms, stale_after_ms) && d.online.value_or(true);
}

std::string device_json(const storage::DeviceSnapshot& d, std::int64_t now_ms,
                        std::int64_t stale_after_ms) {
  const bool fresh = device_fresh(d, now_ms, stale_after_ms);
  std::string out = "{";
  key(out, "device_id");
  append_string(out, d.device_id);
  text_field(out, "name", d.name);
  text_field(out, "model", d.model);
  key(out, "up");
  append_bool(out, device_up(d, now_ms, stale_after_ms));
  key(out, "stale");
  append_bool(out, d.report_ms > 0 && !fresh);
  time_field(out, "last_report", d.report_ms > 0 ? std::optional(d.report_ms) : std::nullopt);
  // Like /metrics: a stale device shows only that it is down and since when.
  field(out, "online", fresh ? d.online : std::nullopt);
  field(out, "battery_pct", fresh ? d.battery_pct : std::nullopt);
  text_field(out, "battery_status", fresh ? d.battery_status : std::string());
  field(out, "wifi_rssi_dbm", fresh ? d.wifi_rssi_dbm : std::nullopt);
  text_field(out, "connect_status", d.connect_status);
  text_field(out, "volume", d.volume);
  field(out, "wifi_configured", d.has_wifi_config);
  key(out, "probes");
  out += '[';
  if (fresh) {
    for (std::size_t i = 0; i < d.probes.size(); ++i) {
      if (i) out += ", ";
      append_probe(out, d.probes[i], d.unit);
    }
  }
  out += "]}";
  return out;
}

std::string logger_json(const std::optional<CollectorStatus>& c) {
  std::string out = "{";
  key(out, "version");
  append_string(out, TM_VERSION);
  key(out, "broker_connected");
  if (c)
    append_bool(out, c->mqtt_connected);
  else
    out += "null";
  key(out, "collector");
  if (!c) {
    out += "null}";
    return out;
  }
  out += '{';
  key(out, "state");
  append_string(out, c->state);
  key(out, "running");
  append_bool(out, c->state != "stopped");
  time_field(out, "updated", c->updated_ms);
  text_field(out, "last_error", c->last_error);
  out += "}}";
  return out;
}

std::string devices_json(const storage::LatestState& state,
                         const std::optional<CollectorStatus>& collector, std::int64_t now_ms,
                         std::int64_t stale_after_ms) {
  std::string out = "{";
  time_field(out, "generated", now_ms);
  key(out, "unit");
  if (state.account_unit)
    append_string(out, std::string(1, unit_letter(state.account_unit->unit)));
  else
    out += "null";
  key(out, "stale_after_s");
  append_int(out, stale_after_ms / 1000);
  key(out, "logger");
  out += logger_json(collector ? collector : state.collector);
  key(out, "devices");
  out += '[';
  for (std::size_t i = 0; i < state.devices.size(); ++i) {
    out += i ? ",\n  " : "\n  ";
    out += device_json(state.devices[i], now_ms, stale_after_ms);
  }
  out += state.devices.empty() ? "]}\n" : "\n]}\n";
  return out;
}

std::optional<std::int64_t> parse_utc(std::string_view text, bool end_of_day) {
  // YYYY-MM-DD[THH:MM:SS[.fff]Z]
  auto digits = [&](std::size_t at, std::size_t count) -> std::optional<int> {
    if (at + count > text.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = at; i < at + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  if (!year || !month || !day || text[4] != '-' || text[7] != '-') return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *year < 1970) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  int millis = 0;
  bool date_only = text.size() == 10;
  if (!date_only) {
    const auto hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
    if (text[10] != 'T' || !hour || !minute || !second || text[13] != ':' || text[16] != ':' ||
        *hour > 23 || *minute > 59 || *second > 59)
      return std::nullopt;
    tm.tm_hour = *hour;
    tm.tm_min = *minute;
    tm.tm_sec = *second;
    std::size_t at = 19;
    if (at < text.size() && text[at] == '.') {
      const auto fraction = digits(at + 1, 3);
      if (!fraction) return std::nullopt;
      millis = *fraction;
      at += 4;
    }
    if (at + 1 != text.size() || text[at] != 'Z') return std::nullopt;
  }
  const std::time_t seconds = timegm(&tm);
  // timegm normalises 2026-02-31 to March: refuse what is not a real date.
  std::tm check{};
  gmtime_r(&seconds, &check);
  if (check.tm_mday != *day || check.tm_mon != *month - 1) return std::nullopt;
  const std::int64_t ms = static_cast<std::int64_t>(seconds) * 1000 + millis;
  return date_only && end_of_day ? ms + 86'400'000 - 1 : ms;
}

storage::CookQuery parse_cooks_query(std::string_view query_string) {
  static constexpr std::array<std::string_view, 5> kNames = {"device", "from", "to", "limit",
                                                             "before"};
  const auto v = parse_query(query_string, kNames);
  storage::CookQuery q;
  if (v[0]) {
    if (v[0]->empty()) throw ApiError(400, "device: a device id expected");
    q.device_id = *v[0];
  }
  auto time = [&](const std::optional<std::string>& text, const char* name, bool end_of_day) {
    std::optional<std::int64_t> ms;
    if (text) {
      ms = parse_utc(*text, end_of_day);
      if (!ms)
        throw ApiError(400, std::string(name) +
                                ": a UTC time like 2026-11-27T10:00:00Z or a date like "
                                "2026-11-27 expected");
    }
    return ms;
  };
  q.from_ms = time(v[1], "from", false);
  q.to_ms = time(v[2], "to", true);
  q.limit = static_cast<int>(whole_number(v[3], "limit", kDefaultCookLimit, 1, kMaxCookLimit));
  if (v[4]) {
    if (v[4]->empty()) throw ApiError(400, "before: a cook uuid expected");
    q.before = *v[4];
  }
  return q;
}

std::string cooks_page_json(const std::vector<storage::CookSession>& cooks, std::int64_t now_ms,
                            std::int64_t gap_ms) {
  return cooks_json(cooks, now_ms, gap_ms);
}

SeriesOptions parse_series_query(std::string_view query_string) {
  static constexpr std::array<std::string_view, 2> kNames = {"max_points", "unit"};
  const auto v = parse_query(query_string, kNames);
  SeriesOptions o;
  o.max_points = static_cast<int>(
      whole_number(v[0], "max_points", kDefaultSeriesPoints, kMinSeriesPoints, kMaxSeriesPoints));
  if (v[1]) {
    if (*v[1] == "C" || *v[1] == "c")
      o.unit = TemperatureUnit::Celsius;
    else if (*v[1] == "F" || *v[1] == "f")
      o.unit = TemperatureUnit::Fahrenheit;
    else
      throw ApiError(400, "unit: C or F expected");
  }
  return o;
}

std::string series_json(storage::CookReader& reader, const storage::CookSession& cook,
                        const SeriesOptions& options) {
  std::vector<SeriesRow> rows;
  rows.reserve(static_cast<std::size_t>(std::max<std::int64_t>(cook.readings, 0)));
  forecast::ProbeForecaster forecaster;
  reader.for_each_reading(cook, [&](const storage::CookReading& r) {
    const ProbeSample& v = r.values;
    SeriesRow& row = rows.emplace_back();
    row.time_ms = r.time_ms;
    row.unit = r.unit;
    row.values = {v.temperature, v.zones[0], v.zones[1], v.zones[2],
                  v.zones[3],    v.zones[4], v.ambient,  v.target};
    // The forecast as it stood after this reading: the one the live cook showed.
    const forecast::Forecast f =
        forecaster.update({r.time_ms, v.temperature.value_or(0), v.ambient, v.target, r.unit});
    row.predicted_done_ms = f.predicted_done_ms;
    row.confidence = f.confidence;
  });
  const TemperatureUnit shown = options.unit.value_or(cook.unit);
  const std::vector<std::size_t> picked = pick_rows(rows, options.max_points);

  std::string out;
  out.reserve(picked.size() * 100 + 128);
  out += "{\"cook_uuid\": ";
  append_string(out, cook.cook_uuid);
  out += ", \"unit\": \"";
  out += unit_letter(shown);
  out += "\", \"points\": [";
  for (std::size_t n = 0; n < picked.size(); ++n) {
    const SeriesRow& row = rows[picked[n]];
    out += n ? ",\n[" : "\n[";
    append_int(out, row.time_ms);
    for (const auto& value : row.values) {
      out += ',';
      append_temperature(out, value, row.unit, shown);
    }
    out += ']';
  }
  // One row per returned point with an estimate; a row of nulls where the
  // estimate goes away, so that a band drawn from them breaks there.
  out += "],\n\"forecast\": [";
  bool any = false, had = false;
  for (const std::size_t i : picked) {
    const SeriesRow& row = rows[i];
    if (!row.predicted_done_ms && !had) continue;
    out += any ? ",\n[" : "\n[";
    any = true;
    append_int(out, row.time_ms);
    out += ',';
    if (row.predicted_done_ms) {
      append_int(out, *row.predicted_done_ms);
      out += ',';
      if (row.confidence)
        append_fixed(out, *row.confidence, 2);
      else
        out += "null";
    } else {
      out += "null,null";
    }
    out += ']';
    had = row.predicted_done_ms.has_value();
  }
  out += "]}\n";
  return out;
}

}  // namespace thermomaven::exporter::api
