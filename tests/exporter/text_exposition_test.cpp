// The exporter's own text serializer (exporter/src/text_exposition.hpp)
// against prometheus-cpp's TextSerializer over the same families, and the
// temperatures /metrics prints: exact conversions, no float noise.
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "exporter_test_support.hpp"
#include "exposition_parser.hpp"
#include "thermomaven/exporter/metrics.hpp"
#include "thermomaven/storage/cook_reader.hpp"
#include "thermomaven/storage/reading_writer.hpp"

using namespace thermomaven;
using exporter_test::ExpositionFamily;
using exporter_test::parse_exposition;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

namespace {

constexpr std::int64_t kNowMs = 1'777'779'660'000;

std::string ours(const std::vector<MetricFamily>& families) {
  return exporter::exposition_text(families);
}

std::string theirs(const std::vector<MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

// What TextSerializer prints for a finite value: 16 significant digits.
std::string sixteen_digits(double value) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.16g", value);
  return buf;
}

MetricFamily gauge_of(const std::vector<double>& values) {
  MetricFamily family{"test_value", "Values to print.", MetricType::Gauge, {}};
  for (double v : values) {
    ClientMetric& m = family.metric.emplace_back();
    m.label = {{"i", std::to_string(family.metric.size())}};
    m.gauge.value = v;
  }
  return family;
}

// Every value of `values` printed by both serializers: ours reads back as
// the value itself; TextSerializer's is ours rounded to 16 digits.
void check_values_side_by_side(const std::vector<double>& values) {
  const std::vector<MetricFamily> families = {gauge_of(values)};
  const auto mine = parse_exposition(ours(families));
  const auto reference = parse_exposition(theirs(families));
  REQUIRE(mine.size() == 1);
  REQUIRE(reference.size() == 1);
  REQUIRE(mine[0].samples.size() == values.size());
  REQUIRE(reference[0].samples.size() == values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto& a = mine[0].samples[i];
    const auto& b = reference[0].samples[i];
    INFO("value " << sixteen_digits(values[i]) << ": ours " << a.value_text << ", theirs "
                  << b.value_text);
    REQUIRE(a.labels == b.labels);
    if (std::isnan(values[i])) {
      CHECK(a.value_text == b.value_text);
      continue;
    }
    CHECK(a.value == values[i]);
    if (std::isfinite(values[i]))
      CHECK(sixteen_digits(a.value) == b.value_text);
    else
      CHECK(a.value_text == b.value_text);
  }
}

// Whether `x` is a double nearest to num / den. Exact: x has 53 significant
// bits and den < 2^7, so x × den fits a long double's 64.
bool nearest_double(double x, std::int64_t num, int den) {
  static_assert(std::numeric_limits<long double>::digits >= 60);
  const auto error = [&](double y) {
    return std::fabs(static_cast<long double>(y) * den - static_cast<long double>(num));
  };
  const double below = std::nextafter(x, -std::numeric_limits<double>::infinity());
  const double above = std::nextafter(x, std::numeric_limits<double>::infinity());
  return error(x) <= error(below) && error(x) <= error(above);
}

// A digit run that betrays binary noise: 2.999999999999999, 9.800000000000001.
bool has_noise(const std::string& printed) {
  const std::size_t point = printed.find('.');
  if (point == std::string::npos) return false;
  const std::string fraction = printed.substr(point + 1);
  return fraction.find("000000") != std::string::npos ||
         fraction.find("999999") != std::string::npos;
}

}  // namespace

TEST_CASE(
    "integers, NaN, infinities and short decimals print exactly as TextSerializer prints them") {
  const std::vector<double> values = {0,
                                      -0.0,
                                      1,
                                      -1,
                                      42,
                                      -61,
                                      24000,
                                      1'000'000,
                                      1'777'779'660,
                                      1'777'779'654.123,
                                      1'800'000'000,
                                      9'007'199'254'740'991.0,  // 2^53 - 1
                                      1e15,
                                      1e16,
                                      1.5e300,
                                      0.5,
                                      0.8,
                                      0.9,
                                      0.01,
                                      1e-4,
                                      1e-5,
                                      2.5e-7,
                                      -45.5,
                                      std::numeric_limits<double>::quiet_NaN(),
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity()};
  const std::vector<MetricFamily> families = {gauge_of(values)};
  CHECK(ours(families) == theirs(families));
  CHECK(ours(families).find("test_value{i=\"24\"} Nan\n") != std::string::npos);
  CHECK(ours(families).find("test_value{i=\"25\"} +Inf\n") != std::string::npos);
}

TEST_CASE(
    "any double reads back exactly, and is TextSerializer's output once rounded to 16 digits") {
  std::vector<double> values;
  std::mt19937_64 random(20261201);
  // Every bit pattern is a double; NaN payloads aside, all of them.
  while (values.size() < 20000) {
    const std::uint64_t bits = random();
    double v = 0;
    std::memcpy(&v, &bits, sizeof v);
    if (!std::isnan(v)) values.push_back(v);
  }
  // And numbers of the sizes /metrics shows: ratios, temperatures, seconds.
  std::uniform_real_distribution<double> small(-100, 1000);
  for (int i = 0; i < 20000; ++i) values.push_back(small(random));
  for (int i = 0; i < 100; ++i) values.push_back(1'777'779'660 + i / 1000.0);
  values.push_back(std::numeric_limits<double>::denorm_min());
  check_values_side_by_side(values);

  // The largest double: TextSerializer's 16 digits overflow (no parser
  // accepts 1.797693134862316e+308); ours reads back.
  const double max = std::numeric_limits<double>::max();
  const auto page = parse_exposition(ours({gauge_of({max, -max})}));
  CHECK(page.at(0).samples.at(0).value == max);
  CHECK(page.at(0).samples.at(1).value == -max);
  CHECK_THROWS(parse_exposition(theirs({gauge_of({max})})));
}

TEST_CASE(
    "summaries, histograms, timestamps and labels are written as TextSerializer writes them") {
  std::vector<MetricFamily> families;
  {
    MetricFamily& f = families.emplace_back(
        MetricFamily{"test_latency_seconds", "Latency.", MetricType::Histogram, {}});
    ClientMetric& m = f.metric.emplace_back();
    m.label = {{"path", "/metrics"}, {"odd", "a\"b\\c\nd ü🔥"}};
    m.histogram.sample_count = 7;
    m.histogram.sample_sum = 0.25;
    m.histogram.bucket = {{2, 0.005}, {5, 0.1}, {7, 1.5}};
    m.timestamp_ms = kNowMs;
    ClientMetric& with_inf = f.metric.emplace_back();
    with_inf.histogram.sample_count = 1;
    with_inf.histogram.bucket = {{0, 1}, {1, std::numeric_limits<double>::infinity()}};
  }
  {
    MetricFamily& f =
        families.emplace_back(MetricFamily{"test_size_bytes", "", MetricType::Summary, {}});
    ClientMetric& m = f.metric.emplace_back();
    m.summary.sample_count = 3;
    m.summary.sample_sum = 4096;
    m.summary.quantile = {{0.5, 1024}, {0.99, 2048}};
  }
  {
    MetricFamily& f = families.emplace_back(
        MetricFamily{"test_events_total", "Events.", MetricType::Counter, {}});
    ClientMetric& m = f.metric.emplace_back();
    m.label = {{"kind", ""}, {"trailing", "ends in \\"}};
    m.counter.value = 12;
    m.timestamp_ms = -5;
  }
  {
    MetricFamily& f =
        families.emplace_back(MetricFamily{"test_thing", "Untyped.", MetricType::Untyped, {}});
    f.metric.emplace_back().untyped.value = 3;
  }
  CHECK(ours(families) == theirs(families));
  const auto parsed = parse_exposition(ours(families));
  REQUIRE(parsed.size() == 4);
  CHECK(parsed[0].samples[0].labels[1].second == "a\"b\\c\nd ü🔥");
  CHECK(parsed[0].samples[0].timestamp_ms == kNowMs);
  CHECK(parsed[0].samples.size() == 6 + 4);  // +Inf added to the first only
  CHECK(parsed[2].samples[0].labels[1].second == "ends in \\");
}

TEST_CASE("HELP text escapes backslash and newline, as the format requires") {
  // TextSerializer writes HELP raw, which breaks the page on a newline; our
  // families' help never has either character, so the pages still agree.
  const std::vector<MetricFamily> families = {
      {"test_help", "a \\ b\nc \"q\"", MetricType::Gauge, {ClientMetric{}}}};
  const std::string text = ours(families);
  CHECK(text.find("# HELP test_help a \\\\ b\\nc \"q\"\n") != std::string::npos);
  CHECK(parse_exposition(text).at(0).help == "a \\ b\nc \"q\"");
  CHECK_THROWS(parse_exposition(theirs(families)));
}

namespace {

const std::string kHostileName = "Dad's \"big\" smoker \\ 2\nline two \\n not a newline 🔥";
const std::string kHostileNotes = "Rib\"s\\\n🍖 crème brûlée\\";

ProbeSample hostile_probe(int number, int step) {
  ProbeSample p;
  p.probe = number;
  p.state = number == 3 ? "smo\"king\\" : "cooking";  // an unknown state is listed while current
  p.mode = "smart";
  p.cook_uuid = "c-" + std::to_string(number) + "-\"uuid\"";
  p.start_client = "app\nv2";
  p.notes = kHostileNotes + std::to_string(number);
  p.has_notes = true;
  const int t = 374 + step * 7 + number * 13;  // 37.4 °F: 3 °C
  p.temperature = t;
  p.zones = {t, t + 8, t + 35, std::nullopt, t + 150};
  p.ambient = 2450 + step;
  p.target = 2030;
  p.elapsed_s = 5400 + step;
  p.total_s = 5400 + step;
  p.remaining_s = 1800 - step;
  p.battery_pct = 93;
  p.cooking = true;
  p.overheat = number == 2;
  return p;
}

// A database of five devices, Fahrenheit and Celsius, hostile names and
// notes, a running collector with a hostile label, read back whole.
storage::LatestState hostile_state(const exporter_test::TempDir& dir) {
  {
    storage::Database db(dir / "hostile.db");
    storage::ReadingWriter writer(db);
    for (int d = 0; d < 5; ++d) {
      const std::string id = "10000000000000000" + std::to_string(d);
      writer.write(DeviceInfo{id, kHostileName + " #" + std::to_string(d), "WT09", "SN", {}});
      for (int step = 0; step < 3; ++step) {
        StatusReport r;
        r.device_id = id;
        r.model = "WT09";
        r.time_ms = kNowMs - (3 - step) * 2000;
        r.unit = d % 2 ? TemperatureUnit::Celsius : TemperatureUnit::Fahrenheit;
        r.online = true;
        r.battery_pct = 77;
        r.wifi_rssi_dbm = -61;
        r.battery_status = d == 4 ? "odd \"status\"" : "normal";
        r.connect_status = "wifi";
        r.volume = "quiet\\";
        r.has_wifi_config = true;
        for (int p = 1; p <= 4; ++p) r.probes.push_back(hostile_probe(p, step));
        writer.write(r);
      }
    }
    CollectorStatus c;
    c.updated_ms = kNowMs;
    c.state = "connected";
    c.mqtt_connected = true;
    c.mqtt_reconnects = 2;
    c.cert_expiry_s = 1'800'000'000;
    c.counters.messages.status_report = 6000;
    c.counters.rejected.not_json = 3;
    c.counters.readings_stored = 24000;
    c.last_error = "broker said \"no\" \\ at\nall é";
    writer.write(c);
    writer.write_account_unit(TemperatureUnit::Celsius, kNowMs);
    writer.commit();
  }
  storage::Database db(dir / "hostile.db", storage::OpenMode::ReadOnly);
  storage::CookReader reader(db);
  return reader.latest_state();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("a realistic page with hostile labels reads the same through both serializers") {
  exporter_test::TempDir dir;
  const storage::LatestState state = hostile_state(dir);
  const auto families = exporter::metric_families(state, kNowMs, {});
  const std::string mine = ours(families);
  const std::string reference = theirs(families);
  CHECK(mine == exporter::render_metrics(state, kNowMs, {}));  // what /metrics serves

  const std::vector<ExpositionFamily> a = parse_exposition(mine);
  const std::vector<ExpositionFamily> b = parse_exposition(reference);
  REQUIRE(a.size() == families.size());
  REQUIRE(b.size() == families.size());
  std::size_t samples = 0, digits_differ = 0;
  for (std::size_t f = 0; f < families.size(); ++f) {
    INFO(families[f].name);
    CHECK(a[f].name == families[f].name);
    CHECK(a[f].name == b[f].name);
    CHECK(a[f].help == b[f].help);
    CHECK(a[f].type == b[f].type);
    REQUIRE(a[f].samples.size() == families[f].metric.size());
    REQUIRE(a[f].samples.size() == b[f].samples.size());
    for (std::size_t s = 0; s < a[f].samples.size(); ++s) {
      const ClientMetric& source = families[f].metric[s];
      const double value =
          families[f].type == MetricType::Counter ? source.counter.value : source.gauge.value;
      const auto& x = a[f].samples[s];
      const auto& y = b[f].samples[s];
      INFO(x.name << " " << x.value_text << " / " << y.value_text);
      CHECK(x.name == y.name);
      CHECK(x.labels == y.labels);
      REQUIRE(x.labels.size() == source.label.size());
      for (std::size_t l = 0; l < x.labels.size(); ++l) {
        CHECK(x.labels[l].first == source.label[l].name);
        CHECK(x.labels[l].second == source.label[l].value);
      }
      CHECK(x.value == value);                         // ours: exact
      CHECK(sixteen_digits(x.value) == y.value_text);  // theirs: rounded to 16 digits
      ++samples;
      if (x.value_text != y.value_text) ++digits_differ;
    }
  }
  CHECK(samples > 400);
  // Line for line the same, up to the value: names, label order, escaping.
  const auto mine_lines = lines_of(mine);
  const auto reference_lines = lines_of(reference);
  REQUIRE(mine_lines.size() == reference_lines.size());
  for (std::size_t i = 0; i < mine_lines.size(); ++i) {
    const std::string& m = mine_lines[i];
    const std::string& r = reference_lines[i];
    INFO(m << "\n" << r);
    CHECK(m.substr(0, m.rfind(' ')) == r.substr(0, r.rfind(' ')));
  }
  INFO(digits_differ << " of " << samples << " values printed with other digits");

  // The hostile strings come back exactly.
  bool saw_name = false, saw_notes = false, saw_reason = false;
  for (const auto& family : a)
    for (const auto& sample : family.samples)
      for (const auto& [label, value] : sample.labels) {
        saw_name |= label == "device_name" && value == kHostileName + " #3";
        saw_notes |= label == "notes" && value == kHostileNotes + "2";
        saw_reason |= label == "reason" && value == "not \"json\" \\ at\nall é";
      }
  CHECK(saw_name);
  CHECK(saw_notes);
  CHECK(saw_reason);

  // And Prometheus's own linter accepts our page.
  exporter_test::write_file(dir / "metrics.txt", mine);
  std::string output;
  const int status =
      exporter_test::run({TM_PROMTOOL, "check", "metrics"}, output, dir / "metrics.txt");
  INFO(output);
  CHECK(status == 0);
  CHECK(output.empty());
}

namespace {

// The metrics page of one fresh device per unit whose probe n reads
// tenths = first + n, food temperature only.
std::string page_of_tenths(int first, int last) {
  storage::LatestState state;
  for (TemperatureUnit unit : {TemperatureUnit::Fahrenheit, TemperatureUnit::Celsius}) {
    storage::DeviceSnapshot& d = state.devices.emplace_back();
    d.device_id = unit == TemperatureUnit::Fahrenheit ? "F" : "C";
    d.name = d.device_id;
    d.model = "WT09";
    d.report_ms = kNowMs;
    d.unit = unit;
    d.online = true;
    for (int t = first; t <= last; ++t) {
      storage::DeviceSnapshot::Probe& p = d.probes.emplace_back();
      p.values.probe = t - first;
      p.values.temperature = t;
    }
  }
  return exporter::render_metrics(state, kNowMs, {.stale_after_ms = 0});
}

// The food temperatures of `page` by device id and tenths.
std::map<std::pair<std::string, int>, exporter_test::ExpositionSample> food_by_tenths(
    const std::string& page, int first) {
  std::map<std::pair<std::string, int>, exporter_test::ExpositionSample> out;
  for (const auto& family : parse_exposition(page)) {
    if (family.name != "thermomaven_probe_temperature_celsius") continue;
    for (const auto& sample : family.samples) {
      std::string device;
      int probe = 0;
      for (const auto& [label, value] : sample.labels) {
        if (label == "device_id") device = value;
        if (label == "probe") probe = std::stoi(value);
      }
      out[{device, first + probe}] = sample;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("temperatures convert with one exact division and print without float noise") {
  SECTION("the examples") {
    const auto food = food_by_tenths(page_of_tenths(374, 374), 374);
    CHECK(food.at({"F", 374}).value_text == "3");  // 37.4 °F
    CHECK(food.at({"C", 374}).value_text == "37.4");
    const auto boiling = food_by_tenths(page_of_tenths(2120, 2120), 2120);
    CHECK(boiling.at({"F", 2120}).value_text == "100");  // 212.0 °F
    CHECK(to_celsius(374, TemperatureUnit::Fahrenheit) == 3.0);
    CHECK(to_celsius(2120, TemperatureUnit::Fahrenheit) == 100.0);
    CHECK(to_celsius(-400, TemperatureUnit::Fahrenheit) == -40.0);
    CHECK(to_fahrenheit(1000, TemperatureUnit::Celsius) == 212.0);
    CHECK(to_fahrenheit(30, TemperatureUnit::Celsius) == 37.4);
    CHECK(to_fahrenheit(-400, TemperatureUnit::Celsius) == -40.0);
    CHECK(to_fahrenheit(655, TemperatureUnit::Fahrenheit) == 65.5);
  }
  SECTION("every tenth from -50.0 to 500.0 in both units") {
    constexpr int kFirst = -500, kLast = 5000;
    const auto food = food_by_tenths(page_of_tenths(kFirst, kLast), kFirst);
    REQUIRE(food.size() == 2 * (kLast - kFirst + 1));
    int wrong = 0;
    for (int t = kFirst; t <= kLast && wrong < 10; ++t) {
      const auto& f = food.at({"F", t});
      const auto& c = food.at({"C", t});
      INFO("tenths " << t << ": from °F " << f.value_text << ", from °C " << c.value_text);
      const bool ok = nearest_double(f.value, (std::int64_t{t} - 320) * 5, 90) &&
                      nearest_double(c.value, t, 10) && !has_noise(f.value_text) &&
                      !has_noise(c.value_text) &&
                      nearest_double(to_fahrenheit(t, TemperatureUnit::Celsius),
                                     std::int64_t{t} * 9 + 1600, 50) &&
                      to_fahrenheit(t, TemperatureUnit::Fahrenheit) == c.value;
      CHECK(ok);
      wrong += !ok;
    }
  }
}
