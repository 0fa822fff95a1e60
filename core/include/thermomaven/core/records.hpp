// The domain records: what a device said, independent of how it arrived
// (capture file or live MQTT) and of where it goes. The client produces them,
// storage keeps them, the exporter reads them back.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace thermomaven {

// Every temperature is kept as the device sent it: integer tenths of a degree
// in the account's unit. Conversion happens only on the way out.
enum class TemperatureUnit : std::uint8_t { Fahrenheit, Celsius };

// Each conversion is one division of an exact integer, so the result is the
// double nearest the true value: 37.4 °F gives 3 °C, not 2.999999999999999
// as (37.4 - 32) * 5 / 9 does. (t/10 − 32) × 5/9 = (t − 320) × 5 / 90 and
// t/10 × 9/5 + 32 = (9t + 1600) / 50; 64-bit products cannot overflow.
inline double to_celsius(std::int32_t tenths, TemperatureUnit unit) {
  if (unit == TemperatureUnit::Celsius) return tenths / 10.0;
  return static_cast<double>((std::int64_t{tenths} - 320) * 5) / 90.0;
}

inline double to_fahrenheit(std::int32_t tenths, TemperatureUnit unit) {
  if (unit == TemperatureUnit::Fahrenheit) return tenths / 10.0;
  return static_cast<double>(std::int64_t{tenths} * 9 + 1600) / 50.0;
}

inline char unit_letter(TemperatureUnit unit) {
  return unit == TemperatureUnit::Celsius ? 'C' : 'F';
}

// One probe entry of a status report. Every field is optional because the
// cloud omits, nulls or retypes fields between app versions; absent means
// unknown, never zero.
struct ProbeSample {
  int probe = 0;          // 1..4, from probeColor
  std::string state;      // cookingState: "cooking", "charged", ...
  std::string mode;       // cookingMode
  std::string start_client;  // startClient: "device", "android", "ios"; belongs to the cook
  std::string cook_uuid;  // empty when absent
  std::string notes;      // probeNotes
  bool has_notes = false;
  std::string serial;                                  // the probe's deviceSn
  std::optional<std::int32_t> temperature;             // curTemperature, tenths
  std::array<std::optional<std::int32_t>, 5> zones{};  // areaTemperature T1..T5
  std::optional<std::int32_t> ambient;                 // curAmbientTemperature
  std::optional<std::int32_t> target;                  // setParams[0].setTemperature
  // setParams as received (a JSON array, stages in order), empty when absent:
  // a command that changes the target replaces stage 0 and keeps the rest.
  std::string set_params_json;
  std::optional<std::int32_t> elapsed_s;               // curCookSec
  std::optional<std::int32_t> total_s;                 // totalCookSec
  std::optional<std::int32_t> remaining_s;             // curRemainedSec
  std::optional<std::int32_t> battery_pct;
  std::optional<bool> cooking;
  std::optional<bool> overheat;

  // A reading is a probe entry that carries a food temperature.
  bool is_reading() const { return temperature.has_value(); }
  // A probe in its charger collapses to a stub; its cook has ended.
  bool is_docked() const { return state == "charged"; }
};

struct StatusReport {
  std::string device_id;
  std::string model;         // from deviceModel, else from the cmdType prefix
  std::int64_t time_ms = 0;  // serverTime, else deviceTime, else receipt time
  TemperatureUnit unit = TemperatureUnit::Fahrenheit;
  std::optional<bool> online;  // globalStatus
  std::optional<std::int32_t> battery_pct;
  std::optional<std::int32_t> wifi_rssi_dbm;
  // The base station's settings and state; empty / absent when not reported.
  std::string battery_status;  // batteryStatus: "normal", "low", "charging"
  std::string connect_status;  // connectStatus: "both", "wifi", "ble"
  std::string volume;          // "high", "medium", "quiet"
  std::optional<bool> has_wifi_config;
  std::vector<ProbeSample> probes;
};

struct DeviceInfo {
  std::string device_id;
  std::string name;
  std::string model;
  std::string serial;
  std::vector<std::string> topics;  // subTopics to follow
};


}  // namespace thermomaven
