#include "thermomaven/storage/reading_writer.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <unordered_map>

#include "report_codec.hpp"
#include "sqlite_bind.hpp"
#include "thermomaven/core/forecast.hpp"

namespace thermomaven::storage {
namespace {

std::int32_t convert_tenths(std::int32_t tenths, TemperatureUnit from, TemperatureUnit to) {
  if (from == to) return tenths;
  const double degrees =
      to == TemperatureUnit::Celsius ? to_celsius(tenths, from) : to_fahrenheit(tenths, from);
  return static_cast<std::int32_t>(std::lround(degrees * 10.0));
}

// The base station's latest state and settings (the report-level fields
// of protocol.md other than battery and signal, which every report keeps).
struct BaseState {
  std::string battery_status, connect_status, volume;
  std::optional<bool> has_wifi_config;
  std::optional<std::int64_t> time_ms;  // of the report they came from

  // Takes what a report at least as new as the last one says; a field the
  // report lacks keeps its last known value. True when something changed.
  bool take(const StatusReport& r) {
    if (time_ms && r.time_ms < *time_ms) return false;
    const bool says_something = !r.battery_status.empty() || !r.connect_status.empty() ||
                                !r.volume.empty() || r.has_wifi_config;
    if (!says_something) return false;
    auto keep = [](std::string& field, const std::string& value) {
      if (!value.empty()) field = value;
    };
    keep(battery_status, r.battery_status);
    keep(connect_status, r.connect_status);
    keep(volume, r.volume);
    if (r.has_wifi_config) has_wifi_config = r.has_wifi_config;
    time_ms = r.time_ms;
    return true;
  }
};

// A probe moved into a report stored in another unit (the account's unit
// changed between two reports with the same time) takes that report's unit:
// a stored report has one unit for all its values.
void convert_probe(StoredProbe& p, TemperatureUnit from, TemperatureUnit to) {
  if (from == to) return;
  auto convert = [&](std::optional<std::int32_t>& t) {
    if (t) t = convert_tenths(*t, from, to);
  };
  convert(p.temperature);
  for (auto& zone : p.zones) convert(zone);
  convert(p.ambient);
  convert(p.target);
}

// A cook's text fields are the same in nearly every reading: comparing
// first is cheaper than copying, most of all for setParams, which is longer
// than the small-string buffer.
inline void assign_if_changed(std::string& field, const std::string& value) {
  if (field != value) field = value;
}

// A reported value replaces the stored one; an absent (empty) one keeps it.
inline void keep_latest(std::string& field, const std::string& value) {
  if (!value.empty()) assign_if_changed(field, value);
}

struct DeviceRow {
  std::int64_t id = 0;
  std::string model;
  std::int64_t last_report_ms = 0;
  BaseState base;
  bool dirty = false;
};

// The cached image of one cooks row; written back when the batch commits.
struct CookRow {
  std::int64_t id = 0;
  std::int64_t device = 0;
  int probe = 0;
  TemperatureUnit unit = TemperatureUnit::Fahrenheit;
  std::string mode, notes, serial, start_client, set_params;
  std::int64_t first_ms = 0, last_ms = 0, readings = 0;
  std::optional<std::int32_t> max_tenths, target_tenths;
  std::optional<std::int64_t> target_ms, ended_ms;
  std::string end_reason;
  // The forecast after the newest reading, and the estimator that made it.
  // The estimator exists only while the cook runs in this writer; a cook
  // read back from the file gets a new one fed with its stored readings.
  forecast::Forecast forecast;
  bool has_forecast = false;
  std::unique_ptr<forecast::ProbeForecaster> forecaster;
  bool dirty = false;

  void end(const char* reason, std::int64_t at_ms) {
    ended_ms = at_ms;
    end_reason = reason;
    forecaster.reset();  // an ended cook gets no readings; a reopened one replays
    dirty = true;
  }
  void reopen() {
    ended_ms.reset();
    end_reason.clear();
    dirty = true;
  }
};

}  // namespace

class ReadingWriter::Impl {
 public:
  Impl(Database& db, WriterOptions options)
      : sql_(db.sql()),
        options_(options),
        insert_report_(sql_,
                       "INSERT OR IGNORE INTO reports (device, ts_ms, probes) VALUES (?, ?, ?)"),
        select_report_(sql_, "SELECT probes FROM reports WHERE device = ? AND ts_ms = ?"),
        update_report_(sql_, "UPDATE reports SET probes = ? WHERE device = ? AND ts_ms = ?"),
        select_device_(sql_,
                       "SELECT id, model, last_report_ms, coalesce(battery_status, ''), "
                       "coalesce(connect_status, ''), coalesce(volume, ''), has_wifi_config, "
                       "base_state_ms FROM devices WHERE device_id = ?"),
        insert_device_(sql_, "INSERT INTO devices (device_id, model) VALUES (?, ?)"),
        update_device_(
            sql_,
            "UPDATE devices SET model = ?, last_report_ms = max(coalesce(last_report_ms, "
            "0), ?), battery_status = ?, connect_status = ?, volume = ?, has_wifi_config = ?, "
            "base_state_ms = ? WHERE id = ?"),
        list_device_(sql_,
                     "UPDATE devices SET name = coalesce(?, name), model = coalesce(?, model), "
                     "serial = coalesce(?, serial), listed = 1 WHERE id = ?"),
        select_state_(sql_, "SELECT id FROM probe_states WHERE name = ?"),
        insert_state_(sql_, "INSERT INTO probe_states (name) VALUES (?)"),
        select_cook_(sql_,
                     "SELECT id, device, probe, unit, coalesce(mode, ''), coalesce(notes, ''), "
                     "coalesce(probe_serial, ''), first_ms, last_ms, readings, max_tenths, "
                     "target_tenths, target_ms, ended_ms, coalesce(end_reason, ''), "
                     "coalesce(start_client, ''), coalesce(set_params, ''), forecast_state, "
                     "predicted_done_ms, forecast_confidence, forecast_stalled "
                     "FROM cooks WHERE cook_uuid = ?"),
        insert_cook_(sql_,
                     "INSERT INTO cooks (cook_uuid, device, probe, unit, first_ms, last_ms) "
                     "VALUES (?, ?, ?, ?, ?, ?)"),
        update_cook_(sql_,
                     "UPDATE cooks SET mode = ?, notes = ?, probe_serial = ?, first_ms = ?, "
                     "last_ms = ?, readings = ?, max_tenths = ?, target_tenths = ?, target_ms = ?, "
                     "ended_ms = ?, end_reason = ?, start_client = ?, set_params = ?, "
                     "forecast_state = ?, predicted_done_ms = ?, forecast_confidence = ?, "
                     "forecast_stalled = ? WHERE id = ?"),
        select_cook_reports_(sql_,
                             "SELECT ts_ms, probes FROM reports WHERE device = ? AND ts_ms "
                             "BETWEEN ? AND ? ORDER BY ts_ms"),
        latest_cook_on_probe_(sql_,
                              "SELECT cook_uuid FROM cooks WHERE device = ? AND probe = ? "
                              "ORDER BY last_ms DESC LIMIT 1") {}

  WriteOutcome write(const StatusReport& report) {
    begin_if_needed();
    DeviceRow& device = device_row(report.device_id, report.model);
    to_stored(report, stored_);
    std::vector<bool>& is_new = is_new_;  // reused: no allocation per report
    is_new.assign(report.probes.size(), store_report(device.id, report.time_ms));
    if (!is_new.empty() && !is_new.front()) merge_into_stored(device.id, report, is_new);

    WriteOutcome outcome;
    for (std::size_t i = 0; i < report.probes.size(); ++i) {
      const ProbeSample& probe = report.probes[i];
      if (probe.is_reading()) ++(is_new[i] ? outcome.readings_stored : outcome.readings_duplicate);
      if (!is_new[i]) continue;
      if (probe.is_reading())
        add_to_cook(device.id, probe, report.time_ms, report.unit);
      else if (probe.is_docked())
        dock(device.id, probe.probe, report.time_ms);
    }
    if (report.time_ms > device.last_report_ms || !report.model.empty()) {
      device.last_report_ms = std::max(device.last_report_ms, report.time_ms);
      device.dirty = true;
    }
    if (device.base.take(report)) device.dirty = true;
    if (++pending_ >= options_.batch_size) commit();
    return outcome;
  }

  void write(const DeviceInfo& info) {
    begin_if_needed();
    DeviceRow& device = device_row(info.device_id, info.model);
    auto text = [](const std::string& s) { return s.empty() ? std::nullopt : std::optional(s); };
    bind_optional(list_device_, 1, text(info.name));
    bind_optional(list_device_, 2, text(info.model));
    bind_optional(list_device_, 3, text(info.serial));
    list_device_.bind(4, device.id);
    run(list_device_);
  }

  void write(const CollectorStatus& status) {
    begin_if_needed();
    SQLite::Statement state(sql_,
                            "INSERT OR REPLACE INTO collector_state (id, updated_ms, pid, state, "
                            "mqtt_connected, mqtt_reconnects, cert_expiry_s, last_error) "
                            "VALUES (1, ?, ?, ?, ?, ?, ?, ?)");
    state.bind(1, status.updated_ms);
    state.bind(2, status.pid);
    state.bind(3, status.state);
    state.bind(4, status.mqtt_connected ? 1 : 0);
    state.bind(5, status.mqtt_reconnects);
    bind_optional(state, 6, status.cert_expiry_s);
    bind_text_or_null(state, 7, status.last_error);
    state.exec();
    SQLite::Statement counter(sql_, "INSERT OR REPLACE INTO collector_counters VALUES (?, ?, ?)");
    for (const CounterField& field : kCounterFields) {
      counter.bind(1, counter_group_name(field.group));
      counter.bind(2, field.label);
      counter.bind(3, counter_value(status.counters, field));
      run(counter);
    }
  }

  void write_account_unit(TemperatureUnit unit, std::int64_t read_ms) {
    begin_if_needed();
    SQLite::Statement s(sql_,
                        "INSERT OR REPLACE INTO account (id, temperature_unit, unit_read_ms) "
                        "VALUES (1, ?, ?)");
    s.bind(1, std::string(1, unit_letter(unit)));
    s.bind(2, read_ms);
    s.exec();
  }

  void commit() {
    if (!in_transaction_) return;
    try {
      flush_cached_rows();
      sql_.exec("COMMIT");
      in_transaction_ = false;
      pending_ = 0;
    } catch (const SQLite::Exception& e) {
      rollback();
      throw StorageError(std::string("could not commit readings: ") + e.what(),
                         StorageError::kind_of_sqlite_code(e.getExtendedErrorCode()));
    }
    // Bounded caches: whatever a stream sends, memory stays flat.
    if (cooks_.size() > 4096 || devices_.size() > 4096) forget_cached_rows();
  }

  void rollback() {
    if (in_transaction_) {
      try {
        sql_.exec("ROLLBACK");
      } catch (const SQLite::Exception&) {
        // SQLite may already have rolled back (disk full, I/O error).
      }
    }
    in_transaction_ = false;
    pending_ = 0;
    forget_cached_rows();
    // A statement that threw mid-step is left un-reset, and would refuse
    // every later bind (SQLITE_MISUSE): the writer must work again after a
    // failure that passed (disk full, lock released).
    for (SQLite::Statement* s :
         {&insert_report_, &select_report_, &update_report_, &select_device_, &insert_device_,
          &update_device_, &list_device_, &select_state_, &insert_state_, &select_cook_,
          &insert_cook_, &update_cook_, &latest_cook_on_probe_, &select_cook_reports_})
      s->tryReset();
  }

  int pending() const { return pending_; }

 private:
  void begin_if_needed() {
    if (in_transaction_) return;
    sql_.exec("BEGIN IMMEDIATE");
    in_transaction_ = true;
  }

  static void run(SQLite::Statement& s) {
    s.exec();
    s.reset();
  }

  std::uint32_t state_id(const std::string& name) {
    if (name.empty()) return 0;
    if (auto it = states_.find(name); it != states_.end()) return it->second;
    select_state_.bind(1, name);
    std::uint32_t id;
    if (select_state_.executeStep()) {
      id = static_cast<std::uint32_t>(select_state_.getColumn(0).getInt64());
    } else {
      insert_state_.bind(1, name);
      run(insert_state_);
      id = static_cast<std::uint32_t>(sql_.getLastInsertRowid());
    }
    select_state_.reset();
    return states_[name] = id;
  }

  void to_stored(const StatusReport& r, StoredReport& out) {
    out.unit = r.unit;
    out.online = r.online;
    out.battery_pct = r.battery_pct;
    out.wifi_rssi_dbm = r.wifi_rssi_dbm;
    out.probes.resize(r.probes.size());
    for (std::size_t i = 0; i < r.probes.size(); ++i) {
      const ProbeSample& p = r.probes[i];
      StoredProbe& s = out.probes[i];
      s.probe = p.probe;
      s.state_id = state_id(p.state);
      s.temperature = p.temperature;
      s.zones = p.zones;
      s.ambient = p.ambient;
      s.target = p.target;
      s.elapsed_s = p.elapsed_s;
      s.total_s = p.total_s;
      s.remaining_s = p.remaining_s;
      s.battery_pct = p.battery_pct;
      s.cooking = p.cooking;
      s.overheat = p.overheat;
    }
  }

  // True when the report was new; false when a report with this device and
  // time is already stored.
  bool store_report(std::int64_t device, std::int64_t time_ms) {
    const std::string_view blob = encode_report(stored_, blob_);
    insert_report_.bind(1, device);
    insert_report_.bind(2, time_ms);
    insert_report_.bindNoCopy(3, blob.data(), static_cast<int>(blob.size()));
    const bool inserted = insert_report_.exec() == 1;
    insert_report_.reset();
    return inserted;
  }

  // A second report at the same time adds only the probes the first lacked:
  // readings are unique per (device, probe, time).
  void merge_into_stored(std::int64_t device, const StatusReport& report,
                         std::vector<bool>& is_new) {
    select_report_.bind(1, device);
    select_report_.bind(2, report.time_ms);
    if (!select_report_.executeStep()) {
      select_report_.reset();
      return;
    }
    const SQLite::Column column = select_report_.getColumn(0);
    StoredReport existing;
    decode_report(std::string_view(static_cast<const char*>(column.getBlob()),
                                   static_cast<std::size_t>(column.getBytes())),
                  existing);
    select_report_.reset();

    bool added = false;
    for (std::size_t i = 0; i < stored_.probes.size(); ++i) {
      const bool known =
          std::any_of(existing.probes.begin(), existing.probes.end(),
                      [&](const StoredProbe& e) { return e.probe == stored_.probes[i].probe; });
      if (known || existing.probes.size() >= 255) continue;
      existing.probes.push_back(stored_.probes[i]);
      convert_probe(existing.probes.back(), stored_.unit, existing.unit);
      is_new[i] = added = true;
    }
    if (!added) return;
    const std::string_view blob = encode_report(existing, blob_);
    update_report_.bindNoCopy(1, blob.data(), static_cast<int>(blob.size()));
    update_report_.bind(2, device);
    update_report_.bind(3, report.time_ms);
    run(update_report_);
  }

  DeviceRow& device_row(const std::string& device_id, const std::string& model) {
    auto [it, inserted] = devices_.try_emplace(device_id);
    DeviceRow& row = it->second;
    if (inserted) {
      select_device_.bind(1, device_id);
      if (select_device_.executeStep()) {
        row.id = select_device_.getColumn(0).getInt64();
        row.model = select_device_.getColumn(1).getString();
        row.last_report_ms = select_device_.getColumn(2).getInt64();
        row.base.battery_status = select_device_.getColumn(3).getString();
        row.base.connect_status = select_device_.getColumn(4).getString();
        row.base.volume = select_device_.getColumn(5).getString();
        if (!select_device_.getColumn(6).isNull())
          row.base.has_wifi_config = select_device_.getColumn(6).getInt() != 0;
        if (!select_device_.getColumn(7).isNull())
          row.base.time_ms = select_device_.getColumn(7).getInt64();
        select_device_.reset();
      } else {
        select_device_.reset();
        insert_device_.bind(1, device_id);
        bind_text_or_null(insert_device_, 2, model);
        run(insert_device_);
        row.id = sql_.getLastInsertRowid();
        row.model = model;
      }
    }
    if (!model.empty() && model != row.model) {
      row.model = model;
      row.dirty = true;
    }
    return row;
  }

  CookRow* find_cook(const std::string& uuid) {
    if (auto it = cooks_.find(uuid); it != cooks_.end()) return &it->second;
    select_cook_.bind(1, uuid);
    if (!select_cook_.executeStep()) {
      select_cook_.reset();
      return nullptr;
    }
    CookRow& c = cooks_[uuid];
    auto col = [&](int i) { return select_cook_.getColumn(i); };
    auto opt32 = [&](int i) {
      return col(i).isNull() ? std::nullopt : std::optional<std::int32_t>(col(i).getInt());
    };
    auto opt64 = [&](int i) {
      return col(i).isNull() ? std::nullopt : std::optional<std::int64_t>(col(i).getInt64());
    };
    c.id = col(0).getInt64();
    c.device = col(1).getInt64();
    c.probe = col(2).getInt();
    c.unit = col(3).getString() == "C" ? TemperatureUnit::Celsius : TemperatureUnit::Fahrenheit;
    c.mode = col(4).getString();
    c.notes = col(5).getString();
    c.serial = col(6).getString();
    c.first_ms = col(7).getInt64();
    c.last_ms = col(8).getInt64();
    c.readings = col(9).getInt64();
    c.max_tenths = opt32(10);
    c.target_tenths = opt32(11);
    c.target_ms = opt64(12);
    c.ended_ms = opt64(13);
    c.end_reason = col(14).getString();
    c.start_client = col(15).getString();
    c.set_params = col(16).getString();
    if (!col(17).isNull()) {
      c.has_forecast = true;
      c.forecast.state =
          forecast::state_from_name(col(17).getString()).value_or(forecast::State::collecting);
      c.forecast.predicted_done_ms = opt64(18);
      if (!col(19).isNull()) c.forecast.confidence = col(19).getDouble();
      c.forecast.stalled = !col(20).isNull() && col(20).getInt() != 0;
    }
    select_cook_.reset();
    return &c;
  }

  CookRow& create_cook(const std::string& uuid, std::int64_t device, int probe,
                       std::int64_t time_ms, TemperatureUnit unit) {
    insert_cook_.bind(1, uuid);
    insert_cook_.bind(2, device);
    insert_cook_.bind(3, probe);
    insert_cook_.bind(4, std::string(1, unit_letter(unit)));
    insert_cook_.bind(5, time_ms);
    insert_cook_.bind(6, time_ms);
    run(insert_cook_);
    CookRow& c = cooks_[uuid];
    c.id = sql_.getLastInsertRowid();
    c.device = device;
    c.probe = probe;
    c.unit = unit;
    c.first_ms = c.last_ms = time_ms;
    return c;
  }

  // The cook whose latest reading is the newest on this probe, if any.
  CookRow*& current_cook(std::int64_t device, int probe) {
    const auto key = std::make_pair(device, probe);
    auto [it, inserted] = current_.try_emplace(key, nullptr);
    if (inserted) {
      latest_cook_on_probe_.bind(1, device);
      latest_cook_on_probe_.bind(2, probe);
      if (latest_cook_on_probe_.executeStep()) {
        const std::string uuid = latest_cook_on_probe_.getColumn(0).getString();
        latest_cook_on_probe_.reset();
        it->second = find_cook(uuid);
      } else {
        latest_cook_on_probe_.reset();
      }
    }
    return it->second;
  }

  CookRow* cook_for(std::int64_t device, const ProbeSample& p, std::int64_t time_ms,
                    TemperatureUnit unit) {
    if (!p.cook_uuid.empty()) {
      if (CookRow* c = find_cook(p.cook_uuid)) return c;
      return &create_cook(p.cook_uuid, device, p.probe, time_ms, unit);
    }
    // No cookUuid (absent or of the wrong type): the probe's running cook, if
    // the reading falls inside it or close after it.
    CookRow* c = current_cook(device, p.probe);
    if (c && !c->ended_ms && time_ms >= c->first_ms - options_.cook_gap_ms &&
        time_ms <= c->last_ms + options_.cook_gap_ms)
      return c;
    return nullptr;
  }

  void add_to_cook(std::int64_t device, const ProbeSample& p, std::int64_t time_ms,
                   TemperatureUnit unit) {
    CookRow* cook = cook_for(device, p, time_ms, unit);
    if (!cook) return;  // stored in its report, attributed to no cook
    const bool newest = time_ms >= cook->last_ms;
    ++cook->readings;
    cook->first_ms = std::min(cook->first_ms, time_ms);
    cook->last_ms = std::max(cook->last_ms, time_ms);
    const std::int32_t temp = convert_tenths(*p.temperature, unit, cook->unit);
    if (!cook->max_tenths || temp > *cook->max_tenths) cook->max_tenths = temp;
    if (p.target && (!cook->target_ms || time_ms >= *cook->target_ms)) {
      cook->target_tenths = convert_tenths(*p.target, unit, cook->unit);
      cook->target_ms = time_ms;
    }
    if (newest) {
      keep_latest(cook->mode, p.mode);
      if (p.has_notes) assign_if_changed(cook->notes, p.notes);
      keep_latest(cook->serial, p.serial);
      keep_latest(cook->start_client, p.start_client);
      keep_latest(cook->set_params, p.set_params_json);
    }
    if (newest) update_forecast(*cook, p, time_ms, unit);
    cook->dirty = true;
    follow_probe(device, p.probe, *cook, time_ms);
  }

  // The cook's forecast after this reading (its newest). A cook this writer
  // has not followed yet, but that has earlier readings in the file (a
  // restart mid-cook, a reopened cook), first gets them replayed, so that
  // the forecast does not start from nothing.
  void update_forecast(CookRow& cook, const ProbeSample& p, std::int64_t time_ms,
                       TemperatureUnit unit) {
    if (!cook.forecaster) {
      cook.forecaster = std::make_unique<forecast::ProbeForecaster>();
      if (cook.first_ms < time_ms) replay_readings(cook, time_ms - 1);
    }
    cook.forecast = cook.forecaster->update({time_ms, *p.temperature, p.ambient, p.target, unit});
    cook.has_forecast = true;
  }

  void replay_readings(CookRow& cook, std::int64_t until_ms) {
    select_cook_reports_.bind(1, cook.device);
    select_cook_reports_.bind(2, cook.first_ms);
    select_cook_reports_.bind(3, until_ms);
    StoredReport report;
    while (select_cook_reports_.executeStep()) {
      const SQLite::Column column = select_cook_reports_.getColumn(1);
      decode_report(std::string_view(static_cast<const char*>(column.getBlob()),
                                     static_cast<std::size_t>(column.getBytes())),
                    report);
      const std::int64_t ts = select_cook_reports_.getColumn(0).getInt64();
      for (const StoredProbe& sp : report.probes)
        if (sp.probe == cook.probe && sp.temperature)
          cook.forecaster->update({ts, *sp.temperature, sp.ambient, sp.target, report.unit});
    }
    select_cook_reports_.reset();
  }

  // Keeps track of which cook is running on each probe: a newer cook on the
  // same probe ends the one before it.
  void follow_probe(std::int64_t device, int probe, CookRow& cook, std::int64_t time_ms) {
    CookRow*& current = current_cook(device, probe);
    if (current == &cook) {
      if (cook.ended_ms && time_ms > *cook.ended_ms) cook.reopen();
      return;
    }
    if (!current || cook.last_ms > current->last_ms) {
      if (current && !current->ended_ms) current->end("replaced", current->last_ms);
      current = &cook;
      if (cook.ended_ms && time_ms > *cook.ended_ms) cook.reopen();
    } else if (cook.ended_ms && cook.end_reason == "replaced") {
      cook.ended_ms = std::max(*cook.ended_ms, cook.last_ms);  // a late reading of an older cook
    }
  }

  void dock(std::int64_t device, int probe, std::int64_t time_ms) {
    CookRow* current = current_cook(device, probe);
    // A stub older than the cook's last reading is a late copy from before it.
    if (current && !current->ended_ms && time_ms >= current->last_ms)
      current->end("docked", time_ms);
  }

  void flush_cached_rows() {
    for (auto& [uuid, c] : cooks_) {
      if (!c.dirty) continue;
      bind_text_or_null(update_cook_, 1, c.mode);
      bind_text_or_null(update_cook_, 2, c.notes);
      bind_text_or_null(update_cook_, 3, c.serial);
      update_cook_.bind(4, c.first_ms);
      update_cook_.bind(5, c.last_ms);
      update_cook_.bind(6, c.readings);
      bind_optional(update_cook_, 7, c.max_tenths);
      bind_optional(update_cook_, 8, c.target_tenths);
      bind_optional(update_cook_, 9, c.target_ms);
      bind_optional(update_cook_, 10, c.ended_ms);
      bind_text_or_null(update_cook_, 11, c.end_reason);
      bind_text_or_null(update_cook_, 12, c.start_client);
      bind_text_or_null(update_cook_, 13, c.set_params);
      bind_forecast(c);
      update_cook_.bind(18, c.id);
      run(update_cook_);
      c.dirty = false;
    }
    for (auto& [id, d] : devices_) {
      if (!d.dirty) continue;
      bind_text_or_null(update_device_, 1, d.model);
      update_device_.bind(2, d.last_report_ms);
      bind_text_or_null(update_device_, 3, d.base.battery_status);
      bind_text_or_null(update_device_, 4, d.base.connect_status);
      bind_text_or_null(update_device_, 5, d.base.volume);
      bind_optional(update_device_, 6, d.base.has_wifi_config);
      bind_optional(update_device_, 7, d.base.time_ms);
      update_device_.bind(8, d.id);
      run(update_device_);
      d.dirty = false;
    }
  }

  void bind_forecast(const CookRow& c) {
    if (!c.has_forecast) {
      for (int i = 14; i <= 17; ++i) update_cook_.bind(i);  // NULL
      return;
    }
    update_cook_.bind(14, std::string(forecast::state_name(c.forecast.state)));
    bind_optional(update_cook_, 15, c.forecast.predicted_done_ms);
    bind_optional(update_cook_, 16, c.forecast.confidence);
    update_cook_.bind(17, c.forecast.stalled ? 1 : 0);
  }

  void forget_cached_rows() {
    current_.clear();
    cooks_.clear();
    devices_.clear();
    states_.clear();
  }

  SQLite::Database& sql_;
  WriterOptions options_;
  SQLite::Statement insert_report_, select_report_, update_report_;
  SQLite::Statement select_device_, insert_device_, update_device_, list_device_;
  SQLite::Statement select_state_, insert_state_;
  SQLite::Statement select_cook_, insert_cook_, update_cook_, select_cook_reports_;
  SQLite::Statement latest_cook_on_probe_;
  bool in_transaction_ = false;
  int pending_ = 0;
  StoredReport stored_;
  std::vector<bool> is_new_;  // per probe of the report being written: not stored before
  std::string blob_;
  std::unordered_map<std::string, DeviceRow> devices_;
  std::unordered_map<std::string, std::uint32_t> states_;
  std::unordered_map<std::string, CookRow> cooks_;
  std::map<std::pair<std::int64_t, int>, CookRow*> current_;
};

ReadingWriter::ReadingWriter(Database& db, WriterOptions options)
    : impl_(std::make_unique<Impl>(db, options)) {}

ReadingWriter::~ReadingWriter() {
  try {
    impl_->commit();
  } catch (const std::exception&) {
    // Destructors must not throw; callers that care call commit() themselves.
  }
}

WriteOutcome ReadingWriter::write(const StatusReport& report) {
  try {
    return impl_->write(report);
  } catch (const SQLite::Exception& e) {
    impl_->rollback();
    throw StorageError(std::string("could not store report: ") + e.what(),
                       StorageError::kind_of_sqlite_code(e.getExtendedErrorCode()));
  } catch (const StorageError&) {
    impl_->rollback();
    throw;
  }
}

void ReadingWriter::write(const DeviceInfo& device) {
  try {
    impl_->write(device);
  } catch (const SQLite::Exception& e) {
    impl_->rollback();
    throw StorageError(std::string("could not store device: ") + e.what(),
                       StorageError::kind_of_sqlite_code(e.getExtendedErrorCode()));
  }
}

void ReadingWriter::write(const CollectorStatus& status) {
  try {
    impl_->write(status);
  } catch (const SQLite::Exception& e) {
    impl_->rollback();
    throw StorageError(std::string("could not store collector status: ") + e.what(),
                       StorageError::kind_of_sqlite_code(e.getExtendedErrorCode()));
  }
}

void ReadingWriter::write_account_unit(TemperatureUnit unit, std::int64_t read_ms) {
  try {
    impl_->write_account_unit(unit, read_ms);
  } catch (const SQLite::Exception& e) {
    impl_->rollback();
    throw StorageError(std::string("could not store the account's unit: ") + e.what(),
                       StorageError::kind_of_sqlite_code(e.getExtendedErrorCode()));
  }
}

void ReadingWriter::commit() { impl_->commit(); }
void ReadingWriter::rollback() { impl_->rollback(); }
int ReadingWriter::pending_reports() const { return impl_->pending(); }

}  // namespace thermomaven::storage
