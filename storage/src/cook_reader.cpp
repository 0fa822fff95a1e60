#include "thermomaven/storage/cook_reader.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <unordered_map>

#include "report_codec.hpp"

namespace thermomaven::storage {
namespace {

constexpr const char* kCookColumns =
    "SELECT c.cook_uuid, d.device_id, coalesce(d.name, ''), coalesce(d.model, ''), c.probe, "
    "c.unit, c.first_ms, c.last_ms, c.readings, c.max_tenths, c.target_tenths, c.notes, "
    "coalesce(c.mode, ''), c.ended_ms, coalesce(c.end_reason, ''), "
    "coalesce(c.start_client, ''), coalesce(c.set_params, ''), c.forecast_state, "
    "c.predicted_done_ms, c.forecast_confidence, c.forecast_stalled "
    "FROM cooks c JOIN devices d ON d.id = c.device ";

CookSession cook_from_row(SQLite::Statement& s) {
  auto col = [&](int i) { return s.getColumn(i); };
  CookSession c;
  c.cook_uuid = col(0).getString();
  c.device_id = col(1).getString();
  c.device_name = col(2).getString();
  c.model = col(3).getString();
  c.probe = col(4).getInt();
  c.unit = col(5).getString() == "C" ? TemperatureUnit::Celsius : TemperatureUnit::Fahrenheit;
  c.first_ms = col(6).getInt64();
  c.last_ms = col(7).getInt64();
  c.readings = col(8).getInt64();
  if (!col(9).isNull()) c.max_tenths = col(9).getInt();
  if (!col(10).isNull()) c.target_tenths = col(10).getInt();
  if (!col(11).isNull()) c.notes = col(11).getString();
  c.mode = col(12).getString();
  if (!col(13).isNull()) c.ended_ms = col(13).getInt64();
  c.end_reason = col(14).getString();
  c.start_client = col(15).getString();
  c.set_params = col(16).getString();
  if (!col(17).isNull()) {
    CookForecast f;
    f.state = forecast::state_from_name(col(17).getString()).value_or(forecast::State::collecting);
    if (!col(18).isNull()) f.predicted_done_ms = col(18).getInt64();
    if (!col(19).isNull()) f.confidence = col(19).getDouble();
    f.stalled = !col(20).isNull() && col(20).getInt() != 0;
    c.forecast = f;
  }
  return c;
}

std::string_view blob_of(const SQLite::Column& column) {
  return {static_cast<const char*>(column.getBlob()), static_cast<std::size_t>(column.getBytes())};
}

std::unordered_map<std::uint32_t, std::string> state_names(SQLite::Database& db) {
  std::unordered_map<std::uint32_t, std::string> names;
  SQLite::Statement s(db, "SELECT id, name FROM probe_states");
  while (s.executeStep())
    names[static_cast<std::uint32_t>(s.getColumn(0).getInt64())] = s.getColumn(1).getString();
  return names;
}

void to_sample(const StoredProbe& s, ProbeSample& p) {
  p = ProbeSample{};
  p.probe = s.probe;
  p.temperature = s.temperature;
  p.zones = s.zones;
  p.ambient = s.ambient;
  p.target = s.target;
  p.elapsed_s = s.elapsed_s;
  p.total_s = s.total_s;
  p.remaining_s = s.remaining_s;
  p.battery_pct = s.battery_pct;
  p.cooking = s.cooking;
  p.overheat = s.overheat;
}

template <typename F>
auto reading(SQLite::Database& db, const char* what, F&& body) {
  try {
    SQLite::Transaction snapshot(db);  // one consistent view; rolled back, never written
    return body();
  } catch (const SQLite::Exception& e) {
    throw StorageError("database " + db.getFilename() + ": " + what + ": " + e.what(),
                       StorageError::kind_of_sqlite_code(e.getExtendedErrorCode()));
  }
}

// The bodies of the reads below, without their transaction, so that
// latest_state() can run both in one.
std::vector<DeviceSnapshot> read_snapshots(SQLite::Database& db) {
  const auto names = state_names(db);
  std::vector<DeviceSnapshot> devices;
  SQLite::Statement list(db,
                         "SELECT id, device_id, coalesce(name, ''), coalesce(model, ''), "
                         "coalesce(battery_status, ''), coalesce(connect_status, ''), "
                         "coalesce(volume, ''), has_wifi_config FROM devices ORDER BY device_id");
  SQLite::Statement latest(db,
                           "SELECT ts_ms, probes FROM reports WHERE device = ? "
                           "ORDER BY ts_ms DESC LIMIT 1");
  SQLite::Statement running(db, std::string(kCookColumns) +
                                    "WHERE c.device = ? AND c.probe = ? "
                                    "ORDER BY c.last_ms DESC LIMIT 1");
  StoredReport report;
  while (list.executeStep()) {
    DeviceSnapshot& d = devices.emplace_back();
    const std::int64_t id = list.getColumn(0).getInt64();
    d.device_id = list.getColumn(1).getString();
    d.name = list.getColumn(2).getString();
    d.model = list.getColumn(3).getString();
    d.battery_status = list.getColumn(4).getString();
    d.connect_status = list.getColumn(5).getString();
    d.volume = list.getColumn(6).getString();
    if (!list.getColumn(7).isNull()) d.has_wifi_config = list.getColumn(7).getInt() != 0;
    latest.bind(1, id);
    if (latest.executeStep()) {
      d.report_ms = latest.getColumn(0).getInt64();
      decode_report(blob_of(latest.getColumn(1)), report);
      d.unit = report.unit;
      d.online = report.online;
      d.battery_pct = report.battery_pct;
      d.wifi_rssi_dbm = report.wifi_rssi_dbm;
      for (const StoredProbe& p : report.probes) {
        DeviceSnapshot::Probe& probe = d.probes.emplace_back();
        to_sample(p, probe.values);
        if (auto name = names.find(p.state_id); name != names.end())
          probe.values.state = name->second;
        running.bind(1, id);
        running.bind(2, p.probe);
        if (running.executeStep()) {
          CookSession cook = cook_from_row(running);
          if (!cook.ended_ms) probe.cook = std::move(cook);
        }
        running.reset();
      }
    }
    latest.reset();
  }
  return devices;
}

std::optional<CollectorStatus> read_collector_status(SQLite::Database& db) {
  SQLite::Statement s(db,
                      "SELECT updated_ms, coalesce(pid, 0), state, mqtt_connected, "
                      "mqtt_reconnects, cert_expiry_s, coalesce(last_error, '') "
                      "FROM collector_state WHERE id = 1");
  if (!s.executeStep()) return std::nullopt;
  CollectorStatus status;
  status.updated_ms = s.getColumn(0).getInt64();
  status.pid = s.getColumn(1).getInt64();
  status.state = s.getColumn(2).getString();
  status.mqtt_connected = s.getColumn(3).getInt() != 0;
  status.mqtt_reconnects = s.getColumn(4).getInt64();
  if (!s.getColumn(5).isNull()) status.cert_expiry_s = s.getColumn(5).getInt64();
  status.last_error = s.getColumn(6).getString();
  // A row no field names (written by another version) is left out.
  SQLite::Statement counter(db,
                            "SELECT value FROM collector_counters WHERE name = ? AND label = ?");
  for (const CounterField& field : kCounterFields) {
    counter.bind(1, counter_group_name(field.group));
    counter.bind(2, field.label);
    if (counter.executeStep()) field.member(status.counters) = counter.getColumn(0).getInt64();
    counter.reset();
  }
  return status;
}

std::optional<AccountUnit> read_account_unit(SQLite::Database& db) {
  SQLite::Statement s(db, "SELECT temperature_unit, unit_read_ms FROM account WHERE id = 1");
  if (!s.executeStep()) return std::nullopt;
  return AccountUnit{
      s.getColumn(0).getString() == "C" ? TemperatureUnit::Celsius : TemperatureUnit::Fahrenheit,
      s.getColumn(1).getInt64()};
}

}  // namespace

CookReader::CookReader(Database& db) : db_(db) {}

std::vector<CookSession> CookReader::list_cooks() {
  return reading(db_.sql(), "could not list cooks", [&] {
    std::vector<CookSession> cooks;
    SQLite::Statement s(db_.sql(),
                        std::string(kCookColumns) + "ORDER BY c.first_ms DESC, c.id DESC");
    while (s.executeStep()) cooks.push_back(cook_from_row(s));
    return cooks;
  });
}

std::optional<std::vector<CookSession>> CookReader::query_cooks(const CookQuery& query) {
  return reading(
      db_.sql(), "could not list cooks", [&]() -> std::optional<std::vector<CookSession>> {
        // The page starts after `before` in the listing's order (start, id).
        std::int64_t before_ms = INT64_MAX, before_id = INT64_MAX;
        if (query.before) {
          SQLite::Statement at(db_.sql(), "SELECT first_ms, id FROM cooks WHERE cook_uuid = ?");
          at.bind(1, *query.before);
          if (!at.executeStep()) return std::nullopt;
          before_ms = at.getColumn(0).getInt64();
          before_id = at.getColumn(1).getInt64();
        }
        SQLite::Statement s(db_.sql(),
                            std::string(kCookColumns) +
                                "WHERE (?1 IS NULL OR d.device_id = ?1) "
                                "AND c.first_ms BETWEEN ?2 AND ?3 "
                                "AND (c.first_ms < ?4 OR (c.first_ms = ?4 AND c.id < ?5)) "
                                "ORDER BY c.first_ms DESC, c.id DESC LIMIT ?6");
        if (query.device_id) s.bind(1, *query.device_id);
        s.bind(2, static_cast<std::int64_t>(query.from_ms.value_or(INT64_MIN)));
        s.bind(3, static_cast<std::int64_t>(query.to_ms.value_or(INT64_MAX)));
        s.bind(4, before_ms);
        s.bind(5, before_id);
        s.bind(6, query.limit);
        std::vector<CookSession> cooks;
        while (s.executeStep()) cooks.push_back(cook_from_row(s));
        return cooks;
      });
}

std::optional<CookSession> CookReader::find_cook(std::string_view uuid_or_latest) {
  return reading(db_.sql(), "could not read cook", [&]() -> std::optional<CookSession> {
    const bool latest = uuid_or_latest == "latest";
    SQLite::Statement s(db_.sql(), std::string(kCookColumns) +
                                       (latest ? "ORDER BY c.first_ms DESC, c.id DESC LIMIT 1"
                                               : "WHERE c.cook_uuid = ?"));
    if (!latest) s.bind(1, std::string(uuid_or_latest));
    if (!s.executeStep()) return std::nullopt;
    return cook_from_row(s);
  });
}

void CookReader::for_each_reading(const CookSession& cook,
                                  const std::function<void(const CookReading&)>& visit) {
  reading(db_.sql(), "could not read the cook's readings", [&] {
    const auto names = state_names(db_.sql());
    SQLite::Statement s(db_.sql(),
                        "SELECT r.ts_ms, r.probes FROM reports r JOIN devices d ON d.id = r.device "
                        "WHERE d.device_id = ? AND r.ts_ms BETWEEN ? AND ? ORDER BY r.ts_ms");
    s.bind(1, cook.device_id);
    s.bind(2, cook.first_ms);
    s.bind(3, cook.last_ms);
    StoredReport report;
    CookReading row;
    while (s.executeStep()) {
      decode_report(blob_of(s.getColumn(1)), report);
      for (const StoredProbe& p : report.probes) {
        if (p.probe != cook.probe || !p.temperature) continue;
        row.time_ms = s.getColumn(0).getInt64();
        row.unit = report.unit;
        auto name = names.find(p.state_id);
        row.state = name == names.end() ? std::string_view() : std::string_view(name->second);
        to_sample(p, row.values);
        visit(row);
      }
    }
    return 0;
  });
}

std::vector<DeviceSnapshot> CookReader::latest_snapshots() {
  return reading(db_.sql(), "could not read the latest state",
                 [&] { return read_snapshots(db_.sql()); });
}

}  // namespace thermomaven::storage

namespace thermomaven::storage {

std::optional<CollectorStatus> CookReader::collector_status() {
  return reading(db_.sql(), "could not read the collector status",
                 [&] { return read_collector_status(db_.sql()); });
}

std::optional<AccountUnit> CookReader::account_unit() {
  return reading(db_.sql(), "could not read the account's unit",
                 [&] { return read_account_unit(db_.sql()); });
}

LatestState CookReader::latest_state() {
  return reading(db_.sql(), "could not read the latest state", [&] {
    LatestState state;
    state.devices = read_snapshots(db_.sql());
    state.collector = read_collector_status(db_.sql());
    state.account_unit = read_account_unit(db_.sql());
    return state;
  });
}

}  // namespace thermomaven::storage
