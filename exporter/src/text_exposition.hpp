// The Prometheus text exposition format (0.0.4) of prometheus-cpp's data
// model, written into one std::string. Private to the exporter.
//
// Why not prometheus-cpp's TextSerializer: a scrape of 100 devices × 4
// probes (8,000 samples, ~1.1 MB) took 25–40 ms, two thirds of it in
// TextSerializer, which writes every label value one character at a time
// through std::ostream (a sentry and a virtual call per character). This
// class implements the same `prometheus::Serializer` interface and appends
// whole runs of a label value between the characters that need escaping;
// exporter_bench measures both in one run (docs/performance.md).
//
// The output is TextSerializer's, line for line, with two deliberate
// differences, both where TextSerializer's output is wrong or lossy:
// - Sample values are the shortest decimal that reads back as the same
//   double (std::to_chars), laid out as TextSerializer's "%.16g" lays them
//   out (plain up to 16 integer digits, else d.ddde+XX). TextSerializer's 16
//   significant digits print 9.8 (98 tenths of a degree) as
//   9.800000000000001 and cannot represent a third of the Fahrenheit
//   conversions (they need 17 digits). Integers, NaN ("Nan"), +Inf and -Inf
//   come out exactly as TextSerializer writes them.
// - HELP text escapes `\` and newline as the format requires;
//   TextSerializer writes it raw (a newline there would break the page).
#pragma once

#include <prometheus/metric_family.h>
#include <prometheus/serializer.h>

#include <iosfwd>
#include <string>
#include <vector>

namespace thermomaven::exporter {

class TextExposition final : public prometheus::Serializer {
 public:
  // The whole page in one string, built without a stream.
  std::string Serialize(const std::vector<prometheus::MetricFamily>& families) const override;
  void Serialize(std::ostream& out,
                 const std::vector<prometheus::MetricFamily>& families) const override;

  // Appends the page to `out`.
  static void append(std::string& out, const std::vector<prometheus::MetricFamily>& families);
};

// A sample value as TextExposition writes it (see above), appended to `out`.
void append_sample_value(std::string& out, double value);

}  // namespace thermomaven::exporter
