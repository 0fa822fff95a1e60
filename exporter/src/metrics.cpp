// The Prometheus view of the database (see metrics.hpp): the families of a
// scrape built table-driven from the latest state, written by the exporter's
// own text serializer (text_exposition.hpp).
#include "thermomaven/exporter/metrics.hpp"

#include <prometheus/metric_family.h>

#include <algorithm>
#include <tuple>

#include "text_exposition.hpp"
#include "thermomaven/exporter/api.hpp"

namespace thermomaven::exporter {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

// The families of one scrape, in the order they are exposed. Indexes into
// `families` are fixed by the enumeration so that adding a sample is cheap.
// The per-device families come first, then the per-probe ones up to
// kProbeCookInfo (sample_capacity() relies on it).
enum Family : std::size_t {
  kDeviceUp,
  kDeviceBattery,
  kDeviceRssi,
  kDeviceLastReport,
  kDeviceInfo,
  kDeviceBatteryStatus,
  kProbeTemperature,
  kProbeTarget,
  kProbeBattery,
  kProbeElapsed,
  kProbeRemaining,
  kProbeCooking,
  kProbeState,
  kProbeOverheat,
  kProbeForecastState,
  kProbePredictedDone,
  kProbePredictionConfidence,
  kProbeStalled,
  kProbeCookInfo,
  kMessages,
  kRejected,
  kReadingsStored,
  kMqttConnected,
  kMqttReconnects,
  kCertExpiry,
  kCollectorUpdated,
  kReadingsDuplicate,
  kDropped,
  kLogins,
  kCertApplies,
  kConnectFailures,
  kSubscribeRefused,
  kStorageErrors,
  kAccountUnit,
  kBuildInfo,
  kFamilyCount,
};

struct FamilySpec {
  const char* name;
  MetricType type;
  const char* help;
};

constexpr FamilySpec kSpecs[kFamilyCount] = {
    {"thermomaven_device_up", MetricType::Gauge,
     "1 when the device's last report said online and is recent, else 0."},
    {"thermomaven_device_battery_ratio", MetricType::Gauge, "Base station battery, 0 to 1."},
    {"thermomaven_device_wifi_rssi_dbm", MetricType::Gauge, "Wi-Fi signal strength in dBm."},
    {"thermomaven_device_last_report_timestamp_seconds", MetricType::Gauge,
     "Time of the device's newest stored status report."},
    {"thermomaven_device_info", MetricType::Gauge,
     "Always 1; labels carry the base station's connection (connectStatus: both, wifi, ble), "
     "volume (high, medium, quiet) and whether its Wi-Fi is configured, as last reported."},
    {"thermomaven_device_battery_status", MetricType::Gauge,
     "1 for the base station's current batteryStatus, 0 for the other known ones."},
    {"thermomaven_probe_temperature_celsius", MetricType::Gauge,
     "Probe temperature by sensor: food (the reported food temperature), t1 (tip) to t5, ambient."},
    {"thermomaven_probe_target_temperature_celsius", MetricType::Gauge,
     "Target food temperature of the current cook stage."},
    {"thermomaven_probe_battery_ratio", MetricType::Gauge, "Probe battery, 0 to 1."},
    {"thermomaven_probe_cook_elapsed_seconds", MetricType::Gauge, "Time since the cook started."},
    {"thermomaven_probe_cook_remaining_seconds", MetricType::Gauge,
     "The device's estimate of the time left; absent before it has one."},
    {"thermomaven_probe_cooking", MetricType::Gauge, "1 while the probe is cooking, else 0."},
    {"thermomaven_probe_state", MetricType::Gauge,
     "1 for the probe's current cooking state, 0 for the other known states."},
    {"thermomaven_probe_overheat", MetricType::Gauge, "1 when the probe reports overheating."},
    {"thermomaven_probe_forecast_state", MetricType::Gauge,
     "1 for the state of the logger's forecast of the running cook (collecting, estimating, "
     "stalled, unreachable, done), 0 for the others."},
    {"thermomaven_probe_predicted_done_timestamp_seconds", MetricType::Gauge,
     "When the food reaches its target by the logger's forecast; absent without an estimate."},
    {"thermomaven_probe_prediction_confidence_ratio", MetricType::Gauge,
     "How well the forecast's recent estimates agree, 0 to 1; absent without an estimate."},
    {"thermomaven_probe_stalled", MetricType::Gauge,
     "1 while the food has barely risen for a while (the stall), else 0."},
    {"thermomaven_probe_cook_info", MetricType::Gauge,
     "Always 1; labels name the cook running on the probe."},
    {"thermomaven_messages_total", MetricType::Counter,
     "Messages the collector received, by kind."},
    {"thermomaven_messages_rejected_total", MetricType::Counter,
     "Messages the collector refused, by reason."},
    {"thermomaven_readings_stored_total", MetricType::Counter,
     "Probe readings the collector stored."},
    {"thermomaven_mqtt_connected", MetricType::Gauge,
     "1 while the collector is connected to the broker, as it last wrote."},
    {"thermomaven_mqtt_reconnects_total", MetricType::Counter, "Reconnections to the broker."},
    {"thermomaven_mqtt_client_cert_expiry_timestamp_seconds", MetricType::Gauge,
     "When the collector's MQTT client certificate expires."},
    {"thermomaven_collector_last_update_timestamp_seconds", MetricType::Gauge,
     "When the collector last wrote its status to the database."},
    {"thermomaven_readings_duplicate_total", MetricType::Counter,
     "Probe readings the collector received again and skipped."},
    {"thermomaven_messages_dropped_total", MetricType::Counter,
     "Messages the collector dropped before parsing, by reason."},
    {"thermomaven_cloud_logins_total", MetricType::Counter, "Logins to the vendor cloud."},
    {"thermomaven_mqtt_cert_applies_total", MetricType::Counter,
     "MQTT client certificates the collector obtained."},
    {"thermomaven_mqtt_connect_failures_total", MetricType::Counter,
     "Failed connection attempts to the broker."},
    {"thermomaven_mqtt_subscribe_refused_total", MetricType::Counter,
     "Subscriptions the broker refused."},
    {"thermomaven_storage_errors_total", MetricType::Counter,
     "Batches the database refused, by kind (disk_full, locked, read_only, ...)."},
    {"thermomaven_account_temperature_unit_info", MetricType::Gauge,
     "Always 1; the unit label is the account's temperature unit (F or C) as the collector last "
     "read it. Temperatures here are always in Celsius."},
    {"thermomaven_build_info", MetricType::Gauge, "Always 1; the version label names the build."},
};

// The most samples `family` can have for `devices` devices with `probes`
// probes in all, so that each family's vector is allocated once.
std::size_t sample_capacity(Family family, std::size_t devices, std::size_t probes) {
  switch (family) {
    case kDeviceBatteryStatus:
      return devices * (kKnownBatteryStatuses.size() + 1);
    case kProbeTemperature:
      return probes * (std::tuple_size_v<decltype(ProbeSample::zones)> + 2);  // food, ambient
    case kProbeState:
      return probes * (kKnownProbeStates.size() + 1);
    case kProbeForecastState:
      return probes * std::size(forecast::kStateNames);
    default:
      if (family < kProbeTemperature) return devices;
      if (family <= kProbeCookInfo) return probes;
      return 1;
  }
}

class Scrape {
 public:
  explicit Scrape(const storage::LatestState& state) {
    std::size_t probes = 0;
    for (const auto& device : state.devices) probes += device.probes.size();
    families_.resize(kFamilyCount);
    for (std::size_t i = 0; i < kFamilyCount; ++i) {
      families_[i].name = kSpecs[i].name;
      families_[i].help = kSpecs[i].help;
      families_[i].type = kSpecs[i].type;
      families_[i].metric.reserve(
          sample_capacity(static_cast<Family>(i), state.devices.size(), probes));
    }
  }

  void add(Family family, Labels labels, double value) {
    ClientMetric& m = families_[family].metric.emplace_back();
    m.label = std::move(labels);
    if (kSpecs[family].type == MetricType::Counter)
      m.counter.value = value;
    else
      m.gauge.value = value;
  }

  template <typename T>
  void add_if(Family family, Labels labels, const std::optional<T>& value, double scale = 1) {
    if (value) add(family, std::move(labels), static_cast<double>(*value) * scale);
  }

  std::vector<MetricFamily> families() && {
    // A family without samples would be a HELP/TYPE pair for nothing.
    std::erase_if(families_, [](const MetricFamily& f) { return f.metric.empty(); });
    return std::move(families_);
  }

 private:
  std::vector<MetricFamily> families_;
};

// `labels` followed by `extra`, allocated once.
Labels with(const Labels& labels, std::initializer_list<ClientMetric::Label> extra) {
  Labels all;
  all.reserve(labels.size() + extra.size());
  all.insert(all.end(), labels.begin(), labels.end());
  all.insert(all.end(), extra.begin(), extra.end());
  return all;
}

Labels with(const Labels& labels, const char* name, std::string value) {
  Labels all;
  all.reserve(labels.size() + 1);
  all.insert(all.end(), labels.begin(), labels.end());
  all.push_back({name, std::move(value)});
  return all;
}

std::optional<double> celsius(const std::optional<std::int32_t>& tenths, TemperatureUnit unit) {
  if (!tenths) return std::nullopt;
  return to_celsius(*tenths, unit);
}

std::optional<int> as_int(const std::optional<bool>& flag) {
  if (!flag) return std::nullopt;
  return *flag ? 1 : 0;
}

// 1 for `current`, 0 for each other known value; an unknown current value is
// listed too. Nothing when `current` is empty (never reported).
void add_state_set(Scrape& s, Family family, const Labels& labels, const char* label,
                   const std::vector<std::string>& known, const std::string& current) {
  if (current.empty()) return;
  for (const std::string& value : known)
    s.add(family, with(labels, label, value), value == current);
  if (std::find(known.begin(), known.end(), current) == known.end())
    s.add(family, with(labels, label, current), 1);
}

// The sensor label of each zone temperature (areaTemperature T1..T5).
constexpr const char* kZoneSensors[] = {"t1", "t2", "t3", "t4", "t5"};
static_assert(std::size(kZoneSensors) == std::tuple_size_v<decltype(ProbeSample::zones)>);

// The forecast of the cook running on a probe (docs/forecast.md).
void add_forecast(Scrape& s, const Labels& labels, const forecast::Forecast& f) {
  for (const auto& [state, name] : forecast::kStateNames)
    s.add(kProbeForecastState, with(labels, "state", std::string(name)), state == f.state);
  if (f.predicted_done_ms)
    s.add(kProbePredictedDone, labels, static_cast<double>(*f.predicted_done_ms) / 1000.0);
  s.add_if(kProbePredictionConfidence, labels, f.confidence);
  s.add(kProbeStalled, labels, f.stalled ? 1 : 0);
}

void add_probe(Scrape& s, const Labels& device, TemperatureUnit unit,
               const storage::DeviceSnapshot::Probe& probe) {
  const ProbeSample& v = probe.values;
  const Labels labels = with(device, "probe", std::to_string(v.probe));
  s.add_if(kProbeTemperature, with(labels, "sensor", "food"), celsius(v.temperature, unit));
  for (std::size_t i = 0; i < v.zones.size(); ++i)
    s.add_if(kProbeTemperature, with(labels, "sensor", kZoneSensors[i]), celsius(v.zones[i], unit));
  s.add_if(kProbeTemperature, with(labels, "sensor", "ambient"), celsius(v.ambient, unit));
  s.add_if(kProbeTarget, labels, celsius(v.target, unit));
  s.add_if(kProbeBattery, labels, v.battery_pct, 0.01);
  s.add_if(kProbeElapsed, labels, v.elapsed_s);
  s.add_if(kProbeRemaining, labels, v.remaining_s);
  s.add_if(kProbeCooking, labels, as_int(v.cooking));
  add_state_set(s, kProbeState, labels, "state", kKnownProbeStates, v.state);
  s.add_if(kProbeOverheat, labels, as_int(v.overheat));
  if (probe.cook && probe.cook->forecast) add_forecast(s, labels, *probe.cook->forecast);
  if (probe.cook) {
    s.add(kProbeCookInfo,
          with(labels, {{"cook_uuid", probe.cook->cook_uuid},
                        {"notes", probe.cook->notes.value_or("")},
                        {"mode", probe.cook->mode},
                        {"start_client", probe.cook->start_client}}),
          1);
  }
}

// The base station's settings, shown once any of them is known.
void add_device_info(Scrape& s, const Labels& labels, const storage::DeviceSnapshot& d) {
  if (d.connect_status.empty() && d.volume.empty() && !d.has_wifi_config) return;
  s.add(kDeviceInfo,
        with(labels,
             {{"connect_status", d.connect_status},
              {"volume", d.volume},
              {"wifi_configured", d.has_wifi_config ? (*d.has_wifi_config ? "1" : "0") : ""}}),
        1);
}

void add_device(Scrape& s, const storage::DeviceSnapshot& d, std::int64_t now_ms,
                const MetricsOptions& options) {
  const Labels labels = {{"device_id", d.device_id}, {"device_name", d.name}, {"model", d.model}};
  const bool reported = d.report_ms > 0;
  // The same rule as /api/devices (api.hpp).
  const bool fresh = api::device_fresh(d, now_ms, options.stale_after_ms);
  s.add(kDeviceUp, labels, api::device_up(d, now_ms, options.stale_after_ms) ? 1 : 0);
  if (reported) s.add(kDeviceLastReport, labels, static_cast<double>(d.report_ms) / 1000.0);
  add_device_info(s, labels, d);
  if (!fresh) return;
  s.add_if(kDeviceBattery, labels, d.battery_pct, 0.01);
  add_state_set(s, kDeviceBatteryStatus, labels, "status", kKnownBatteryStatuses, d.battery_status);
  s.add_if(kDeviceRssi, labels, d.wifi_rssi_dbm);
  for (const auto& probe : d.probes) add_probe(s, labels, d.unit, probe);
}

// The metric each group of the collector's counters becomes, and the metric
// label its counters' labels go to (nullptr: the group has no label).
struct CounterMetric {
  Family family;
  const char* label;
};

CounterMetric counter_metric(CounterGroup group) {
  switch (group) {
    case CounterGroup::Messages:
      return {kMessages, "kind"};
    case CounterGroup::Rejected:
      return {kRejected, "reason"};
    case CounterGroup::ReadingsStored:
      return {kReadingsStored, nullptr};
    case CounterGroup::ReadingsDuplicate:
      return {kReadingsDuplicate, nullptr};
    case CounterGroup::Dropped:
      return {kDropped, "reason"};
    case CounterGroup::Logins:
      return {kLogins, nullptr};
    case CounterGroup::CertApplies:
      return {kCertApplies, nullptr};
    case CounterGroup::ConnectFailures:
      return {kConnectFailures, nullptr};
    case CounterGroup::SubscribeRefused:
      return {kSubscribeRefused, nullptr};
    case CounterGroup::StorageErrors:
      break;
  }
  return {kStorageErrors, "kind"};
}

void add_collector(Scrape& s, const CollectorStatus& c) {
  for (const CounterField& field : kCounterFields) {
    const CounterMetric m = counter_metric(field.group);
    s.add(m.family, m.label ? Labels{{m.label, field.label}} : Labels{},
          static_cast<double>(counter_value(c.counters, field)));
  }
  s.add(kMqttConnected, {}, c.mqtt_connected ? 1 : 0);
  s.add(kMqttReconnects, {}, static_cast<double>(c.mqtt_reconnects));
  s.add_if(kCertExpiry, {}, c.cert_expiry_s);
  s.add(kCollectorUpdated, {}, static_cast<double>(c.updated_ms) / 1000.0);
}

}  // namespace

// protocol.md: "cooking" and "charged" are seen; the others are presumed.
const std::vector<std::string> kKnownProbeStates = {"cooking", "charged", "idle",
                                                    "removed", "done",    "resting"};

const std::vector<std::string> kKnownBatteryStatuses = {"normal", "low", "charging"};

const char* logger_version() { return TM_VERSION; }

std::vector<MetricFamily> metric_families(const storage::LatestState& state, std::int64_t now_ms,
                                          const MetricsOptions& options) {
  Scrape scrape(state);
  for (const auto& device : state.devices) add_device(scrape, device, now_ms, options);
  if (state.collector) add_collector(scrape, *state.collector);
  if (state.account_unit)
    scrape.add(kAccountUnit, {{"unit", std::string(1, unit_letter(state.account_unit->unit))}}, 1);
  scrape.add(kBuildInfo, {{"version", logger_version()}}, 1);
  return std::move(scrape).families();
}

std::string exposition_text(const std::vector<MetricFamily>& families) {
  return TextExposition().Serialize(families);
}

std::string render_metrics(const storage::LatestState& state, std::int64_t now_ms,
                           const MetricsOptions& options) {
  return exposition_text(metric_families(state, now_ms, options));
}

std::string scrape_metrics(storage::CookReader& reader, std::int64_t now_ms,
                           const MetricsOptions& options) {
  return render_metrics(reader.latest_state(), now_ms, options);
}

}  // namespace thermomaven::exporter
