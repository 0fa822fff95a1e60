// /metrics as rendered from real SQLite files written by ReadingWriter.
#include "thermomaven/exporter/metrics.hpp"

#include <catch2/catch.hpp>

#include "exporter_test_support.hpp"
#include "thermomaven/storage/cook_reader.hpp"
#include "thermomaven/storage/reading_writer.hpp"

using namespace thermomaven;

namespace {

constexpr std::int64_t kReportMs = 1'777'779'660'000;
const std::string kDevice = R"(device_id="42",device_name="Smoker",model="WT09")";

ProbeSample cooking_probe(int number) {
  ProbeSample p;
  p.probe = number;
  p.state = "cooking";
  p.mode = "smart";
  p.cook_uuid = "c00c" + std::to_string(number);
  p.start_client = "device";
  p.notes = "Brisket";
  p.has_notes = true;
  p.temperature = 1860;  // °F tenths
  p.zones = {1860, 1872, 1901, 1950, 2010};
  p.ambient = 2450;
  p.target = 2030;
  p.elapsed_s = 5400;
  p.total_s = 5400;
  p.remaining_s = 1800;
  p.battery_pct = 90;
  p.cooking = true;
  p.overheat = false;
  return p;
}

StatusReport report_of(std::vector<ProbeSample> probes,
                       TemperatureUnit unit = TemperatureUnit::Fahrenheit) {
  StatusReport r;
  r.device_id = "42";
  r.model = "WT09";
  r.time_ms = kReportMs;
  r.unit = unit;
  r.online = true;
  r.battery_pct = 80;
  r.wifi_rssi_dbm = -61;
  r.probes = std::move(probes);
  return r;
}

// A database holding `reports` for a device named `name`, scraped at `now_ms`.
struct Scrape {
  exporter_test::TempDir dir;
  std::string text;
  Scrape(const std::vector<StatusReport>& reports, std::int64_t now_ms,
         std::int64_t stale_after_ms = 180'000, const std::string& name = "Smoker",
         std::optional<CollectorStatus> collector = std::nullopt,
         std::optional<TemperatureUnit> account_unit = std::nullopt) {
    storage::Database db(dir / "t.db");
    {
      storage::ReadingWriter writer(db);
      writer.write(DeviceInfo{"42", name, "WT09", "SN1", {}});
      for (const auto& r : reports) writer.write(r);
      if (collector) writer.write(*collector);
      if (account_unit) writer.write_account_unit(*account_unit, now_ms);
      writer.commit();
    }
    storage::Database reading(dir / "t.db", storage::OpenMode::ReadOnly);
    storage::CookReader reader(reading);
    text = exporter::scrape_metrics(reader, now_ms, {.stale_after_ms = stale_after_ms});
  }

  // The value of the one sample line `series` (name and labels as exposed).
  std::optional<double> value(const std::string& series) const {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line))
      if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
          line[series.size()] == ' ')
        return std::stod(line.substr(series.size() + 1));
    return std::nullopt;
  }
  bool has_metric(const std::string& name) const {
    return text.find("\n" + name + "{") != std::string::npos ||
           text.find("\n" + name + " ") != std::string::npos;
  }
  std::string probe(int n, const std::string& extra = "") const {
    return "{" + kDevice + ",probe=\"" + std::to_string(n) + "\"" + extra + "}";
  }
};

double f_to_c(double f) { return (f - 32.0) * 5.0 / 9.0; }

}  // namespace

TEST_CASE("every device and probe metric carries its value and labels, in Celsius") {
  Scrape s({report_of({cooking_probe(1)})}, kReportMs + 1000);
  CHECK(s.value("thermomaven_device_up{" + kDevice + "}") == 1);
  CHECK(s.value("thermomaven_device_battery_ratio{" + kDevice + "}") == Approx(0.8));
  CHECK(s.value("thermomaven_device_wifi_rssi_dbm{" + kDevice + "}") == -61);
  CHECK(s.value("thermomaven_device_last_report_timestamp_seconds{" + kDevice + "}") ==
        Approx(kReportMs / 1000.0));
  const auto temp = [&](const char* sensor) {
    return s.value("thermomaven_probe_temperature_celsius" +
                   s.probe(1, std::string(",sensor=\"") + sensor + "\""));
  };
  CHECK(temp("food") == Approx(f_to_c(186.0)));
  CHECK(temp("t1") == Approx(f_to_c(186.0)));
  CHECK(temp("t2") == Approx(f_to_c(187.2)));
  CHECK(temp("t3") == Approx(f_to_c(190.1)));
  CHECK(temp("t4") == Approx(f_to_c(195.0)));
  CHECK(temp("t5") == Approx(f_to_c(201.0)));
  CHECK(temp("ambient") == Approx(f_to_c(245.0)));
  CHECK(s.value("thermomaven_probe_target_temperature_celsius" + s.probe(1)) == Approx(95.0));
  CHECK(s.value("thermomaven_probe_battery_ratio" + s.probe(1)) == Approx(0.9));
  CHECK(s.value("thermomaven_probe_cook_elapsed_seconds" + s.probe(1)) == 5400);
  CHECK(s.value("thermomaven_probe_cook_remaining_seconds" + s.probe(1)) == 1800);
  CHECK(s.value("thermomaven_probe_cooking" + s.probe(1)) == 1);
  CHECK(s.value("thermomaven_probe_overheat" + s.probe(1)) == 0);
  CHECK(s.value("thermomaven_probe_state" + s.probe(1, ",state=\"cooking\"")) == 1);
  for (const char* other : {"charged", "idle", "removed", "done", "resting"})
    CHECK(s.value("thermomaven_probe_state" +
                  s.probe(1, std::string(",state=\"") + other + "\"")) == 0);
  CHECK(s.value("thermomaven_probe_cook_info" +
                s.probe(1,
                        ",cook_uuid=\"c00c1\",notes=\"Brisket\",mode=\"smart\","
                        "start_client=\"device\"")) == 1);
  CHECK(s.value("thermomaven_build_info{version=\"" + std::string(exporter::logger_version()) +
                "\"}") == 1);
  INFO(s.text);
  CHECK(s.text.find("# TYPE thermomaven_probe_temperature_celsius gauge") != std::string::npos);
}

TEST_CASE("a Celsius account is exposed unconverted, overheat and not-cooking as flags") {
  ProbeSample p = cooking_probe(2);
  p.temperature = 655;
  p.zones = {655, 700, std::nullopt, std::nullopt, std::nullopt};
  p.target = 630;
  p.cooking = false;
  p.overheat = true;
  Scrape s({report_of({p}, TemperatureUnit::Celsius)}, kReportMs);
  CHECK(s.value("thermomaven_probe_temperature_celsius" + s.probe(2, ",sensor=\"food\"")) ==
        Approx(65.5));
  CHECK(s.value("thermomaven_probe_temperature_celsius" + s.probe(2, ",sensor=\"t2\"")) ==
        Approx(70.0));
  CHECK_FALSE(s.value("thermomaven_probe_temperature_celsius" + s.probe(2, ",sensor=\"t3\"")));
  CHECK(s.value("thermomaven_probe_target_temperature_celsius" + s.probe(2)) == Approx(63.0));
  CHECK(s.value("thermomaven_probe_cooking" + s.probe(2)) == 0);
  CHECK(s.value("thermomaven_probe_overheat" + s.probe(2)) == 1);
}

TEST_CASE("values never reported are absent, not zero") {
  ProbeSample docked;
  docked.probe = 3;
  docked.state = "charged";
  ProbeSample no_estimate = cooking_probe(1);
  no_estimate.remaining_s.reset();
  no_estimate.battery_pct.reset();
  no_estimate.ambient.reset();
  StatusReport r = report_of({no_estimate, docked});
  r.battery_pct.reset();
  r.wifi_rssi_dbm.reset();
  Scrape s({r}, kReportMs);
  CHECK_FALSE(s.has_metric("thermomaven_device_battery_ratio"));
  CHECK_FALSE(s.has_metric("thermomaven_device_wifi_rssi_dbm"));
  CHECK_FALSE(s.has_metric("thermomaven_probe_cook_remaining_seconds"));
  CHECK_FALSE(s.has_metric("thermomaven_probe_battery_ratio"));
  CHECK_FALSE(s.value("thermomaven_probe_temperature_celsius" + s.probe(1, ",sensor=\"ambient\"")));
  CHECK(s.value("thermomaven_probe_temperature_celsius" + s.probe(1, ",sensor=\"food\"")));
  // The docked probe: its state only.
  CHECK(s.value("thermomaven_probe_state" + s.probe(3, ",state=\"charged\"")) == 1);
  CHECK(s.text.find("probe=\"3\",sensor=") == std::string::npos);
  CHECK_FALSE(s.value("thermomaven_probe_cooking" + s.probe(3)));
  CHECK(s.text.find("probe=\"3\",cook_uuid") == std::string::npos);
  // No collector ever wrote: no process metrics, but the build is known.
  CHECK_FALSE(s.has_metric("thermomaven_mqtt_connected"));
  CHECK_FALSE(s.has_metric("thermomaven_messages_total"));
  CHECK(s.has_metric("thermomaven_build_info"));
}

TEST_CASE("a listed device that never reported is down with nothing else") {
  Scrape s({}, kReportMs);
  CHECK(s.value("thermomaven_device_up{" + kDevice + "}") == 0);
  CHECK_FALSE(s.has_metric("thermomaven_device_last_report_timestamp_seconds"));
  CHECK_FALSE(s.has_metric("thermomaven_device_battery_ratio"));
}

TEST_CASE("an offline report keeps its readings but the device is down") {
  StatusReport r = report_of({cooking_probe(1)});
  r.online = false;
  Scrape s({r}, kReportMs);
  CHECK(s.value("thermomaven_device_up{" + kDevice + "}") == 0);
  CHECK(s.value("thermomaven_device_wifi_rssi_dbm{" + kDevice + "}") == -61);
}

TEST_CASE("a silent device goes stale: only up (0) and its last report remain") {
  const auto reports = std::vector<StatusReport>{report_of({cooking_probe(1)})};
  SECTION("still fresh at the limit") {
    Scrape s(reports, kReportMs + 180'000);
    CHECK(s.value("thermomaven_device_up{" + kDevice + "}") == 1);
    CHECK(s.has_metric("thermomaven_probe_temperature_celsius"));
  }
  SECTION("stale past the limit") {
    Scrape s(reports, kReportMs + 180'001);
    CHECK(s.value("thermomaven_device_up{" + kDevice + "}") == 0);
    CHECK(s.value("thermomaven_device_last_report_timestamp_seconds{" + kDevice + "}") ==
          Approx(kReportMs / 1000.0));
    for (const char* gone :
         {"thermomaven_device_battery_ratio", "thermomaven_device_wifi_rssi_dbm",
          "thermomaven_probe_temperature_celsius", "thermomaven_probe_target_temperature_celsius",
          "thermomaven_probe_battery_ratio", "thermomaven_probe_cook_elapsed_seconds",
          "thermomaven_probe_cook_remaining_seconds", "thermomaven_probe_cooking",
          "thermomaven_probe_state", "thermomaven_probe_overheat", "thermomaven_probe_cook_info"}) {
      INFO(gone);
      CHECK_FALSE(s.has_metric(gone));
    }
  }
  SECTION("a shorter limit") {
    Scrape s(reports, kReportMs + 11'000, 10'000);
    CHECK(s.value("thermomaven_device_up{" + kDevice + "}") == 0);
  }
  SECTION("0 turns staleness off") {
    Scrape s(reports, kReportMs + 365LL * 24 * 3600 * 1000, 0);
    CHECK(s.value("thermomaven_device_up{" + kDevice + "}") == 1);
    CHECK(s.has_metric("thermomaven_probe_temperature_celsius"));
  }
}

TEST_CASE("a state outside the known set is listed while current") {
  ProbeSample p = cooking_probe(1);
  p.state = "smoking";
  Scrape s({report_of({p})}, kReportMs);
  CHECK(s.value("thermomaven_probe_state" + s.probe(1, ",state=\"smoking\"")) == 1);
  CHECK(s.value("thermomaven_probe_state" + s.probe(1, ",state=\"cooking\"")) == 0);
}

TEST_CASE("the collector's counters and connection become process metrics") {
  CollectorStatus c;
  c.updated_ms = kReportMs;
  c.state = "connected";
  c.mqtt_connected = true;
  c.mqtt_reconnects = 3;
  c.cert_expiry_s = 1'800'000'000;
  c.counters.messages.status_report = 120;
  c.counters.messages.device_list = 2;
  c.counters.rejected.not_json = 4;
  c.counters.readings_stored = 480;
  c.counters.readings_duplicate = 6;
  c.counters.dropped.queue_full = 1;
  c.counters.logins = 2;
  c.counters.cert_applies = 1;
  c.counters.connect_failures = 5;
  c.counters.subscribe_refused = 0;
  c.counters.storage_errors.disk_full = 7;
  Scrape s({report_of({cooking_probe(1)})}, kReportMs, 180'000, "Smoker", c);
  CHECK(s.value("thermomaven_messages_total{kind=\"status_report\"}") == 120);
  CHECK(s.value("thermomaven_messages_total{kind=\"device_list\"}") == 2);
  CHECK(s.value("thermomaven_messages_rejected_total{reason=\"not_json\"}") == 4);
  CHECK(s.value("thermomaven_readings_stored_total") == 480);
  CHECK(s.value("thermomaven_readings_duplicate_total") == 6);
  CHECK(s.value("thermomaven_messages_dropped_total{reason=\"queue_full\"}") == 1);
  CHECK(s.value("thermomaven_cloud_logins_total") == 2);
  CHECK(s.value("thermomaven_mqtt_cert_applies_total") == 1);
  CHECK(s.value("thermomaven_mqtt_connect_failures_total") == 5);
  CHECK(s.value("thermomaven_mqtt_subscribe_refused_total") == 0);
  CHECK(s.value("thermomaven_storage_errors_total{kind=\"disk_full\"}") == 7);
  // Every counter is exposed from the start, at 0 until it counts.
  CHECK(s.value("thermomaven_messages_rejected_total{reason=\"no_time\"}") == 0);
  CHECK(s.value("thermomaven_messages_dropped_total{reason=\"storage_error\"}") == 0);
  CHECK(s.value("thermomaven_storage_errors_total{kind=\"io_error\"}") == 0);
  CHECK(s.value("thermomaven_mqtt_connected") == 1);
  CHECK(s.value("thermomaven_mqtt_reconnects_total") == 3);
  CHECK(s.value("thermomaven_mqtt_client_cert_expiry_timestamp_seconds") == 1'800'000'000);
  CHECK(s.value("thermomaven_collector_last_update_timestamp_seconds") ==
        Approx(kReportMs / 1000.0));
  CHECK(s.text.find("# TYPE thermomaven_messages_total counter") != std::string::npos);

  c.mqtt_connected = false;
  c.cert_expiry_s.reset();
  Scrape down({}, kReportMs, 180'000, "Smoker", c);
  CHECK(down.value("thermomaven_mqtt_connected") == 0);
  CHECK_FALSE(down.has_metric("thermomaven_mqtt_client_cert_expiry_timestamp_seconds"));
}

TEST_CASE("label values with quotes, backslashes, newlines and emoji are escaped") {
  const std::string name = "Dad's \"big\" smoker \\ 2\nline two \xF0\x9F\x94\xA5";
  ProbeSample p = cooking_probe(1);
  p.notes = "Rib\"s\\\n\xF0\x9F\x8D\x96";
  Scrape s({report_of({p})}, kReportMs, 180'000, name);
  const std::string escaped_name = "Dad's \\\"big\\\" smoker \\\\ 2\\nline two \xF0\x9F\x94\xA5";
  CHECK(s.value("thermomaven_device_up{device_id=\"42\",device_name=\"" + escaped_name +
                "\",model=\"WT09\"}") == 1);
  CHECK(s.text.find("notes=\"Rib\\\"s\\\\\\n\xF0\x9F\x8D\x96\"") != std::string::npos);

  // And Prometheus' own linter accepts the whole page.
  exporter_test::TempDir dir;
  exporter_test::write_file(dir / "metrics.txt", s.text);
  std::string output;
  const int status =
      exporter_test::run({TM_PROMTOOL, "check", "metrics"}, output, dir / "metrics.txt");
  INFO(output);
  CHECK(status == 0);
  CHECK(output.empty());
}

TEST_CASE("the base station's settings: an info series and the battery status as a state set") {
  StatusReport r = report_of({cooking_probe(1)});
  r.battery_status = "charging";
  r.connect_status = "wifi";
  r.volume = "quiet";
  r.has_wifi_config = true;
  Scrape s({r}, kReportMs + 1000);
  CHECK(s.value("thermomaven_device_info{" + kDevice +
                ",connect_status=\"wifi\",volume=\"quiet\",wifi_configured=\"1\"}") == 1);
  CHECK(s.value("thermomaven_device_battery_status{" + kDevice + ",status=\"charging\"}") == 1);
  CHECK(s.value("thermomaven_device_battery_status{" + kDevice + ",status=\"normal\"}") == 0);
  CHECK(s.value("thermomaven_device_battery_status{" + kDevice + ",status=\"low\"}") == 0);

  SECTION("never reported: neither series") {
    Scrape none({report_of({cooking_probe(1)})}, kReportMs + 1000);
    CHECK_FALSE(none.has_metric("thermomaven_device_info"));
    CHECK_FALSE(none.has_metric("thermomaven_device_battery_status"));
  }
  SECTION("a stale device keeps its settings but not its battery status") {
    Scrape stale({r}, kReportMs + 3'600'000);
    CHECK(stale.has_metric("thermomaven_device_info"));
    CHECK_FALSE(stale.has_metric("thermomaven_device_battery_status"));
  }
  SECTION("an unknown battery status is listed while current") {
    r.battery_status = "critical";
    Scrape odd({r}, kReportMs + 1000);
    CHECK(odd.value("thermomaven_device_battery_status{" + kDevice + ",status=\"critical\"}") == 1);
  }
}

TEST_CASE("the account's unit is exposed; temperatures stay in Celsius across a change") {
  StatusReport before = report_of({cooking_probe(1)});  // 203.0 °F target
  StatusReport after = report_of({cooking_probe(1)});
  after.time_ms = kReportMs + 2000;
  after.unit = TemperatureUnit::Celsius;
  after.probes[0].target = 950;  // the same target, now in tenths of °C
  after.probes[0].temperature = 856;
  Scrape s({before, after}, kReportMs + 3000, 180'000, "Smoker", std::nullopt,
           TemperatureUnit::Celsius);
  CHECK(s.value("thermomaven_account_temperature_unit_info{unit=\"C\"}") == 1);
  CHECK_FALSE(s.text.find("unit=\"F\"") != std::string::npos);
  CHECK(s.value("thermomaven_probe_target_temperature_celsius" + s.probe(1)) == Approx(95.0));
  CHECK(s.value("thermomaven_probe_temperature_celsius" + s.probe(1, ",sensor=\"food\"")) ==
        Approx(85.6));

  Scrape f({before}, kReportMs + 1000, 180'000, "Smoker", std::nullopt,
           TemperatureUnit::Fahrenheit);
  CHECK(f.value("thermomaven_account_temperature_unit_info{unit=\"F\"}") == 1);
  CHECK(f.value("thermomaven_probe_target_temperature_celsius" + f.probe(1)) == Approx(95.0));
  Scrape unknown({before}, kReportMs + 1000);
  CHECK_FALSE(unknown.has_metric("thermomaven_account_temperature_unit_info"));
}
