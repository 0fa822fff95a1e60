#include "thermomaven/exporter/cook_export.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "thermomaven/core/forecast.hpp"
#include "thermomaven/core/json_text.hpp"
#include "thermomaven/core/time.hpp"

namespace thermomaven::exporter {
namespace {

// One decimal, and never "-0.0" for a value that rounds to zero.
void append_tenths(std::string& out, double degrees) {
  char buf[32];
  double rounded = std::round(degrees * 10.0) / 10.0;
  if (rounded == 0.0) rounded = 0.0;
  // to_chars, not snprintf: the same correctly rounded digits at a fraction
  // of the cost, which matters at eight temperatures per CSV row.
  const auto end = std::to_chars(buf, buf + sizeof buf, rounded, std::chars_format::fixed, 1).ptr;
  out.append(buf, end);
}

// Up to three decimals, as JSON: 23.167, 95.0
std::string json_degrees(double degrees) {
  char buf[32];
  double rounded = std::round(degrees * 1000.0) / 1000.0;
  if (rounded == 0.0) rounded = 0.0;
  std::snprintf(buf, sizeof buf, "%.3f", rounded);
  std::string s = buf;
  while (s.size() > 1 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
  return s;
}

double in_unit(std::int32_t tenths, TemperatureUnit recorded, TemperatureUnit wanted) {
  return wanted == TemperatureUnit::Celsius ? to_celsius(tenths, recorded)
                                            : to_fahrenheit(tenths, recorded);
}

bool needs_quotes(std::string_view s) {
  return s.find_first_of(",\"\r\n") != std::string_view::npos;
}

void append_text_cell(std::string& out, std::string_view text) {
  // A cell starting with one of these runs as a formula in spreadsheets.
  const bool formula =
      !text.empty() && std::string_view("=+-@\t\r").find(text[0]) != std::string_view::npos;
  const bool quoted = formula || needs_quotes(text);
  if (quoted) out += '"';
  if (formula) out += '\'';
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  if (quoted) out += '"';
}

// A ratio 0..1 with two decimals: 0.83
void append_ratio(std::string& out, double ratio) {
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, ratio, std::chars_format::fixed, 2).ptr;
  out.append(buf, end);
}

template <typename T>
void append_number(std::string& out, const std::optional<T>& v) {
  if (v) out += std::to_string(*v);
}

std::string json_number_or_null(const std::optional<std::int32_t>& tenths, TemperatureUnit unit) {
  return tenths ? json_degrees(to_celsius(*tenths, unit)) : "null";
}

std::size_t display_width(std::string_view s) {
  std::size_t width = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++width;  // count code points, not bytes
  return width;
}

}  // namespace

std::string cook_status(const storage::CookSession& cook, std::int64_t now_ms,
                        std::int64_t gap_ms) {
  if (!cook.end_reason.empty()) return cook.end_reason;
  if (gap_ms > 0 && now_ms - cook.last_ms > gap_ms) return "timed_out";
  return "running";
}

const char* const kCsvHeader =
    "timestamp,elapsed_s,device_id,device_name,probe,state,target,temperature,t1,t2,t3,t4,t5,"
    "ambient,remaining_s,probe_battery,unit,predicted_done_at,prediction_confidence";

void write_cook_csv(storage::CookReader& reader, const storage::CookSession& cook,
                    std::optional<TemperatureUnit> unit, std::ostream& out) {
  std::string row;
  row.reserve(256);
  out << kCsvHeader << "\r\n";
  // The text cells are the same on every row: escape them once.
  std::string device_cells;
  append_text_cell(device_cells, cook.device_id);
  device_cells += ',';
  append_text_cell(device_cells, cook.device_name);
  device_cells += ',' + std::to_string(cook.probe) + ',';
  std::string state_cell;
  std::string last_state;
  // The forecast as it stood at each row: fed the readings up to that row
  // only, so a finished cook shows how the forecast moved while it ran.
  forecast::ProbeForecaster forecaster;
  std::int64_t predicted_ms = 0;
  std::string predicted_cell;

  reader.for_each_reading(cook, [&](const storage::CookReading& r) {
    const TemperatureUnit shown = unit.value_or(r.unit);
    const ProbeSample& v = r.values;
    auto temp = [&](const std::optional<std::int32_t>& t) {
      if (t) append_tenths(row, in_unit(*t, r.unit, shown));
      row += ',';
    };
    row.clear();
    append_utc(row, r.time_ms, UtcStyle::Millis);
    row += ',';
    append_number(row, v.elapsed_s);
    row += ',';
    row += device_cells;
    if (r.state != last_state) {
      last_state = r.state;
      state_cell.clear();
      append_text_cell(state_cell, r.state);
    }
    row += state_cell;
    row += ',';
    temp(v.target);
    temp(v.temperature);
    for (const auto& zone : v.zones) temp(zone);
    temp(v.ambient);
    append_number(row, v.remaining_s);
    row += ',';
    append_number(row, v.battery_pct);
    row += ',';
    row += unit_letter(shown);
    row += ',';
    if (v.temperature) {
      const forecast::Forecast f =
          forecaster.update({r.time_ms, *v.temperature, v.ambient, v.target, r.unit});
      if (f.predicted_done_ms) {
        if (*f.predicted_done_ms != predicted_ms) {  // it changes once per 30 s sample
          predicted_ms = *f.predicted_done_ms;
          predicted_cell = format_utc(predicted_ms, UtcStyle::Millis);
        }
        row += predicted_cell;
      }
      row += ',';
      if (f.confidence) append_ratio(row, *f.confidence);
    } else {
      row += ',';
    }
    row += "\r\n";
    out << row;
  });
}

std::string cook_json(const storage::CookSession& c, std::int64_t now_ms, std::int64_t gap_ms) {
  auto text_or_null = [](const std::string& s) { return s.empty() ? "null" : json_quoted(s); };
  std::string out = "{\"cook_uuid\": " + json_quoted(c.cook_uuid);
  out += ", \"device_id\": " + json_quoted(c.device_id);
  out += ", \"device_name\": " + text_or_null(c.device_name);
  out += ", \"model\": " + text_or_null(c.model);
  out += ", \"probe\": " + std::to_string(c.probe);
  out += ", \"started_at\": " + json_quoted(format_utc(c.first_ms, UtcStyle::Millis));
  out += ", \"ended_at\": " + json_quoted(format_utc(c.last_ms, UtcStyle::Millis));
  out += ", \"readings\": " + std::to_string(c.readings);
  out += ", \"max_temperature_c\": " + json_number_or_null(c.max_tenths, c.unit);
  out += ", \"target_temperature_c\": " + json_number_or_null(c.target_tenths, c.unit);
  out += ", \"notes\": " + (c.notes ? json_quoted(*c.notes) : std::string("null"));
  out += ", \"mode\": " + text_or_null(c.mode);
  out += ", \"unit\": \"" + std::string(1, unit_letter(c.unit)) + "\"";
  out += ", \"status\": " + json_quoted(cook_status(c, now_ms, gap_ms));
  return out + "}";
}

std::string cooks_json(const std::vector<storage::CookSession>& cooks, std::int64_t now_ms,
                       std::int64_t gap_ms) {
  std::string out = "[";
  for (std::size_t i = 0; i < cooks.size(); ++i) {
    out += i ? ",\n  " : "\n  ";
    out += cook_json(cooks[i], now_ms, gap_ms);
  }
  out += cooks.empty() ? "]\n" : "\n]\n";
  return out;
}

std::string cooks_table(const std::vector<storage::CookSession>& cooks, std::int64_t now_ms,
                        std::int64_t gap_ms) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"STARTED (UTC)", "ENDED (UTC)", "DEVICE", "PROBE", "READINGS", "MAX °C",
                  "TARGET °C", "STATUS", "NOTES", "COOK"});
  auto degrees = [](const std::optional<std::int32_t>& t, TemperatureUnit u) {
    std::string s;
    if (t)
      append_tenths(s, to_celsius(*t, u));
    else
      s = "-";
    return s;
  };
  for (const storage::CookSession& c : cooks) {
    std::string notes = c.notes.value_or("");
    for (char& ch : notes)
      if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';  // one row per cook
    rows.push_back({format_utc(c.first_ms, UtcStyle::Millis).substr(0, 19),
                    format_utc(c.last_ms, UtcStyle::Millis).substr(0, 19),
                    c.device_name.empty() ? c.device_id : c.device_name, std::to_string(c.probe),
                    std::to_string(c.readings), degrees(c.max_tenths, c.unit),
                    degrees(c.target_tenths, c.unit), cook_status(c, now_ms, gap_ms), notes,
                    c.cook_uuid});
  }
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], display_width(row[i]));
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(widths[i] - display_width(row[i]) + 2, ' ');
    }
    out += '\n';
  }
  if (cooks.empty()) out += "(no cooks yet)\n";
  return out;
}

}  // namespace thermomaven::exporter
