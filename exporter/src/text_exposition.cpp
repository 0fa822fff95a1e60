// The text exposition format written into one string; see the header for
// why this exists beside prometheus-cpp's TextSerializer and how its output
// compares.
#include "text_exposition.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <string_view>

namespace thermomaven::exporter {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// `text` with each `\` and newline escaped, and `"` too when `quote` is set
// (label values; HELP text leaves quotes alone). Whole runs of ordinary
// characters are appended at once.
void append_escaped(std::string& out, std::string_view text, bool quote) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '\\' && c != '\n' && (c != '"' || !quote)) continue;
    out.append(text.data() + run, i - run);
    out += '\\';
    out += c == '\n' ? 'n' : c;
    run = i + 1;
  }
  out.append(text.data() + run, text.size() - run);
}

template <typename Integer>
void append_integer(std::string& out, Integer value) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
}

// Where the digits of TextSerializer's "%.16g" switch to d.ddde+XX.
constexpr int kPlainExponentLimit = 16;

// `name{labels}` and the space before the value. `extra_name` adds one
// more label (a summary's quantile, a histogram's le) after the metric's.
void append_head(std::string& out, const MetricFamily& family, const ClientMetric& metric,
                 std::string_view suffix = {}, std::string_view extra_name = {},
                 std::string_view extra_value = {}) {
  out += family.name;
  out += suffix;
  if (!metric.label.empty() || !extra_name.empty()) {
    char separator = '{';
    for (const ClientMetric::Label& label : metric.label) {
      out += separator;
      out += label.name;
      out += "=\"";
      append_escaped(out, label.value, true);
      out += '"';
      separator = ',';
    }
    if (!extra_name.empty()) {
      out += separator;
      out += extra_name;
      out += "=\"";
      append_escaped(out, extra_value, true);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

// The timestamp, when there is one, and the end of the line.
void append_tail(std::string& out, const ClientMetric& metric) {
  if (metric.timestamp_ms != 0) {
    out += ' ';
    append_integer(out, metric.timestamp_ms);
  }
  out += '\n';
}

std::string value_text(double value) {
  std::string text;
  append_sample_value(text, value);
  return text;
}

void append_simple(std::string& out, const MetricFamily& family, const ClientMetric& metric,
                   double value) {
  append_head(out, family, metric);
  append_sample_value(out, value);
  append_tail(out, metric);
}

void append_summary(std::string& out, const MetricFamily& family, const ClientMetric& metric) {
  const ClientMetric::Summary& summary = metric.summary;
  append_head(out, family, metric, "_count");
  append_integer(out, summary.sample_count);
  append_tail(out, metric);
  append_head(out, family, metric, "_sum");
  append_sample_value(out, summary.sample_sum);
  append_tail(out, metric);
  for (const ClientMetric::Quantile& q : summary.quantile) {
    append_head(out, family, metric, {}, "quantile", value_text(q.quantile));
    append_sample_value(out, q.value);
    append_tail(out, metric);
  }
}

void append_histogram(std::string& out, const MetricFamily& family, const ClientMetric& metric) {
  const ClientMetric::Histogram& histogram = metric.histogram;
  append_head(out, family, metric, "_count");
  append_integer(out, histogram.sample_count);
  append_tail(out, metric);
  append_head(out, family, metric, "_sum");
  append_sample_value(out, histogram.sample_sum);
  append_tail(out, metric);
  bool has_inf_bucket = false;
  for (const ClientMetric::Bucket& bucket : histogram.bucket) {
    append_head(out, family, metric, "_bucket", "le", value_text(bucket.upper_bound));
    append_integer(out, bucket.cumulative_count);
    append_tail(out, metric);
    has_inf_bucket = std::isinf(bucket.upper_bound) && bucket.upper_bound > 0;
  }
  if (!has_inf_bucket) {
    append_head(out, family, metric, "_bucket", "le", "+Inf");
    append_integer(out, histogram.sample_count);
    append_tail(out, metric);
  }
}

constexpr std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Summary:
      return "summary";
    case MetricType::Untyped:
      return "untyped";
    case MetricType::Histogram:
      return "histogram";
  }
  return "untyped";
}

void append_family(std::string& out, const MetricFamily& family) {
  if (!family.help.empty()) {
    out += "# HELP ";
    out += family.name;
    out += ' ';
    append_escaped(out, family.help, false);
    out += '\n';
  }
  out += "# TYPE ";
  out += family.name;
  out += ' ';
  out += type_name(family.type);
  out += '\n';
  for (const ClientMetric& metric : family.metric) {
    switch (family.type) {
      case MetricType::Counter:
        append_simple(out, family, metric, metric.counter.value);
        break;
      case MetricType::Gauge:
        append_simple(out, family, metric, metric.gauge.value);
        break;
      case MetricType::Untyped:
        append_simple(out, family, metric, metric.untyped.value);
        break;
      case MetricType::Summary:
        append_summary(out, family, metric);
        break;
      case MetricType::Histogram:
        append_histogram(out, family, metric);
        break;
    }
  }
}

// Significant `digits` times 10^(exponent - digits + 1) without an
// exponent, as "%g" writes -4 <= exponent < 16: 0.000ddd, ddd000, dd.ddd.
void append_plain(std::string& out, std::string_view digits, int exponent) {
  if (exponent < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exponent - 1), '0');
    out += digits;
    return;
  }
  const auto integer_digits = static_cast<std::size_t>(exponent) + 1;
  if (integer_digits >= digits.size()) {
    out += digits;
    out.append(integer_digits - digits.size(), '0');
    return;
  }
  out += digits.substr(0, integer_digits);
  out += '.';
  out += digits.substr(integer_digits);
}

// A generous guess of the page's size, so that the string grows once.
std::size_t estimated_size(const std::vector<MetricFamily>& families) {
  constexpr std::size_t kPerLine = 48;  // value, quotes, separators, suffixes
  std::size_t size = 0;
  for (const MetricFamily& family : families) {
    size += 2 * family.name.size() + family.help.size() + 32;
    for (const ClientMetric& metric : family.metric) {
      size += family.name.size() + kPerLine;
      for (const ClientMetric::Label& label : metric.label)
        size += label.name.size() + label.value.size() + 4;
    }
  }
  return size + size / 8;
}

}  // namespace

void append_sample_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "Nan";
    return;
  }
  if (std::isinf(value)) {
    out += value < 0 ? "-Inf" : "+Inf";
    return;
  }
  // The shortest digits that read back as `value`: [-]d[.ddd]e±XX.
  char sci[32];
  const char* const end =
      std::to_chars(sci, sci + sizeof sci, value, std::chars_format::scientific).ptr;
  const char* const e = std::find(static_cast<const char*>(sci), end, 'e');
  int exponent = 0;
  std::from_chars(e + 1 + (e[1] == '+'), end, exponent);
  if (exponent < -4 || exponent >= kPlainExponentLimit) {
    out.append(sci, static_cast<std::size_t>(end - sci));  // as "%g" writes these
    return;
  }
  const char* p = sci;
  if (*p == '-') out += *p++;
  char digits[20];
  std::size_t count = 0;
  for (; p != e; ++p)
    if (*p != '.') digits[count++] = *p;
  append_plain(out, std::string_view(digits, count), exponent);
}

void TextExposition::append(std::string& out, const std::vector<MetricFamily>& families) {
  out.reserve(out.size() + estimated_size(families));
  for (const MetricFamily& family : families) append_family(out, family);
}

std::string TextExposition::Serialize(const std::vector<MetricFamily>& families) const {
  std::string out;
  append(out, families);
  return out;
}

void TextExposition::Serialize(std::ostream& out, const std::vector<MetricFamily>& families) const {
  const std::string text = Serialize(families);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

}  // namespace thermomaven::exporter
