// A small reader of the Prometheus text exposition format (0.0.4), for tests
// that compare pages by meaning rather than by bytes: families with their
// HELP and TYPE, and each sample's name, label set and value as a double.
// Strict: anything it does not understand throws, with the line.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace exporter_test {

struct ExpositionSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // in page order, unescaped
  std::string value_text;                                   // as printed
  double value = 0;
  std::optional<std::int64_t> timestamp_ms;
};

struct ExpositionFamily {
  std::string name, help, type;
  std::vector<ExpositionSample> samples;
};

namespace detail {

[[noreturn]] inline void bad_line(std::string_view line, const char* why) {
  throw std::runtime_error(std::string("exposition: ") + why + ": " + std::string(line));
}

// `\\`, `\n` and, in label values (`quoted`), `\"` undone.
inline std::string unescape(std::string_view text, std::string_view line, bool quoted) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i == text.size()) bad_line(line, "escape at the end");
    switch (text[i]) {
      case '\\':
        out += '\\';
        break;
      case '"':
        if (!quoted) bad_line(line, "\\\" outside a label value");
        out += '"';
        break;
      case 'n':
        out += '\n';
        break;
      default:
        bad_line(line, "unknown escape");
    }
  }
  return out;
}

inline double parse_value(std::string_view text, std::string_view line) {
  if (text == "Nan" || text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "+Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    bad_line(line, "bad value");
  return value;
}

inline bool is_name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

inline std::string_view take_name(std::string_view& rest, std::string_view line) {
  std::size_t n = 0;
  while (n < rest.size() && is_name_char(rest[n], n == 0)) ++n;
  if (n == 0) bad_line(line, "expected a name");
  const std::string_view name = rest.substr(0, n);
  rest.remove_prefix(n);
  return name;
}

inline ExpositionSample parse_sample(std::string_view line) {
  ExpositionSample sample;
  std::string_view rest = line;
  sample.name = take_name(rest, line);
  if (!rest.empty() && rest.front() == '{') {
    rest.remove_prefix(1);
    while (!rest.empty() && rest.front() != '}') {
      std::string label(take_name(rest, line));
      if (rest.substr(0, 2) != "=\"") bad_line(line, "expected =\"");
      rest.remove_prefix(2);
      std::size_t end = 0;
      while (end < rest.size() && rest[end] != '"') end += rest[end] == '\\' ? 2 : 1;
      if (end >= rest.size()) bad_line(line, "unterminated label value");
      sample.labels.emplace_back(std::move(label), unescape(rest.substr(0, end), line, true));
      rest.remove_prefix(end + 1);
      if (!rest.empty() && rest.front() == ',') rest.remove_prefix(1);
    }
    if (rest.empty()) bad_line(line, "unterminated label set");
    rest.remove_prefix(1);
  }
  if (rest.empty() || rest.front() != ' ') bad_line(line, "expected a space before the value");
  rest.remove_prefix(1);
  const std::size_t space = rest.find(' ');
  sample.value_text = std::string(rest.substr(0, space));
  sample.value = parse_value(sample.value_text, line);
  if (space != std::string_view::npos) {
    const std::string_view stamp = rest.substr(space + 1);
    std::int64_t ms = 0;
    const auto [end, ec] = std::from_chars(stamp.data(), stamp.data() + stamp.size(), ms);
    if (ec != std::errc() || end != stamp.data() + stamp.size()) bad_line(line, "bad timestamp");
    sample.timestamp_ms = ms;
  }
  return sample;
}

// Whether a sample called `sample` belongs to family `family` of `type`.
inline bool belongs(std::string_view sample, const ExpositionFamily& family) {
  if (sample == family.name) return true;
  if (sample.substr(0, family.name.size()) != family.name) return false;
  const std::string_view suffix = sample.substr(family.name.size());
  if (family.type == "summary") return suffix == "_sum" || suffix == "_count";
  if (family.type == "histogram")
    return suffix == "_sum" || suffix == "_count" || suffix == "_bucket";
  return false;
}

}  // namespace detail

// The families of `text` in page order. A HELP or TYPE line opens a family
// (both must name it when both are given); samples must belong to the last.
inline std::vector<ExpositionFamily> parse_exposition(std::string_view text) {
  std::vector<ExpositionFamily> families;
  const auto family_named = [&](std::string_view name) -> ExpositionFamily& {
    if (families.empty() || families.back().name != name)
      families.push_back({std::string(name), {}, {}, {}});
    return families.back();
  };
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    if (newline == std::string_view::npos) detail::bad_line(text, "the last line has no newline");
    const std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline + 1);
    if (line.empty()) continue;
    if (line.substr(0, 7) == "# HELP " || line.substr(0, 7) == "# TYPE ") {
      std::string_view rest = line.substr(7);
      const std::string_view name = detail::take_name(rest, line);
      if (rest.empty() || rest.front() != ' ') detail::bad_line(line, "expected a space");
      rest.remove_prefix(1);
      ExpositionFamily& family = family_named(name);
      if (line[2] == 'H') {
        family.help = detail::unescape(rest, line, false);
      } else {
        if (!family.type.empty() || !family.samples.empty())
          detail::bad_line(line, "TYPE twice or after samples");
        family.type = std::string(rest);
      }
      continue;
    }
    if (line.front() == '#') continue;  // a comment
    ExpositionSample sample = detail::parse_sample(line);
    if (families.empty() || !detail::belongs(sample.name, families.back()))
      detail::bad_line(line, "a sample outside its family");
    families.back().samples.push_back(std::move(sample));
  }
  return families;
}

}  // namespace exporter_test
