#include "device.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "json_writer.hpp"

namespace thermomaven::sim {
namespace {

struct Food {
  const char* name;
  double target_f;
  bool low_and_slow;  // smoked at 225-275 °F, with a stall; else grilled hot
};

constexpr std::array kFoods = {
    Food{"Brisket", 203, true}, Food{"Pork shoulder", 203, true},   Food{"Ribs", 195, true},
    Food{"Turkey", 165, false}, Food{"Chicken thighs", 175, false}, Food{"Steak", 135, false},
    Food{"Salmon", 145, false}, Food{"Pork loin", 145, false},
};

constexpr std::array kNames = {"Kitchen grill", "Offset smoker",   "Kamado",     "Pellet grill",
                               "Oven",          "Backyard kettle", "Rotisserie", "Smokehouse"};

constexpr double kRoomF = 70;
// How far each zone (T1 tip .. T5 handle end) sits between food and air.
constexpr std::array kZoneMix = {0.0, 0.04, 0.10, 0.20, 0.35};

}  // namespace

int probe_count(const std::string& model) {
  if (model == "WT06" || model == "WT09") return 4;
  if (model == "WT02" || model == "WT07") return 2;
  return 1;  // WT10, WT11 and anything unknown
}

SimDevice::SimDevice(std::uint64_t seed, int index, std::string model, char unit,
                     bool offline_spells)
    : unit_(unit), offline_spells_(offline_spells), model_(std::move(model)) {
  std::seed_seq seq{seed, static_cast<std::uint64_t>(index), std::uint64_t{0x7e57}};
  rng_.seed(seq);
  id_ = std::to_string(std::uniform_int_distribution<std::uint64_t>(100000000000000000ULL,
                                                                    999999999999999999ULL)(rng_));
  name_ = kNames[static_cast<std::size_t>(index) % kNames.size()];
  if (index >= static_cast<int>(kNames.size()))
    name_ += " " + std::to_string(index / static_cast<int>(kNames.size()) + 1);
  serial_ = "WT" + hex(14, true);
  seq_no_ = std::uniform_int_distribution<std::uint64_t>(1000, 5000)(rng_);
  base_battery_ = std::uniform_int_distribution<int>(60, 100)(rng_);
  wifi_rssi_ = std::uniform_int_distribution<int>(-75, -40)(rng_);
  for (int n = 1; n <= probe_count(model_); ++n) {
    Probe p;
    p.number = n;
    p.serial = "WPTB" + hex(12, true);
    plan_cook(p);
    // The first probe goes in at once; the others within a few minutes.
    p.phase_left_s = n == 1 ? 0 : std::uniform_real_distribution<double>(60, 300)(rng_);
    probes_.push_back(std::move(p));
  }
}

std::string SimDevice::hex(std::size_t length, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < length; ++i) out += digits[rng_() & 0xf];
  return out;
}

std::string SimDevice::next_cmd_id() { return hex(32, false); }

std::int32_t SimDevice::tenths(double fahrenheit) const {
  const double value = unit_ == 'C' ? (fahrenheit - 32) * 5 / 9 : fahrenheit;
  return static_cast<std::int32_t>(std::lround(value * 10));
}

// Chooses what the probe cooks next; the docked stub already shows its
// mode and target, as a real station shows the last settings.
void SimDevice::plan_cook(Probe& p) {
  const Food& food = kFoods[std::uniform_int_distribution<std::size_t>(0, kFoods.size() - 1)(rng_)];
  p.target_f = food.target_f;
  p.low_and_slow = food.low_and_slow;
  p.pit_f = food.low_and_slow ? std::uniform_real_distribution<double>(225, 275)(rng_)
                              : std::uniform_real_distribution<double>(325, 425)(rng_);
  p.mode = rng_() % 3 == 0 ? "manual" : "smart";
  p.notes = rng_() % 2 == 0 ? food.name : "";
  p.start_client = rng_() % 4 == 0 ? "android" : "device";
}

void SimDevice::start_cook(Probe& p) {
  p.phase = Phase::Cooking;
  p.cook_uuid = hex(32, false);
  p.food_f = std::uniform_real_distribution<double>(36, 42)(rng_);  // from the fridge
  p.ambient_f = kRoomF;
  p.cook_s = 0;
  p.rate_f_per_s = 0;
  p.remaining_s.reset();
}

void SimDevice::advance(Probe& p, double seconds) {
  if (p.phase == Phase::Docked) {
    p.battery = std::min(100.0, p.battery + seconds / 60);  // charging
    p.phase_left_s -= seconds;
    if (p.phase_left_s <= 0) start_cook(p);
    return;
  }
  // Newton heating in small steps: the air near the food approaches the
  // pit temperature, the food approaches the air; a low-and-slow cook stalls
  // between 150 and 166 °F while moisture evaporates.
  const double before = p.food_f;
  for (double left = seconds; left > 0; left -= 30) {
    const double dt = std::min(left, 30.0);
    p.ambient_f += (p.pit_f - p.ambient_f) * std::min(1.0, dt / 600);
    const double tau = p.low_and_slow ? 4300 : 1500;
    const bool stalled = p.low_and_slow && p.food_f >= 150 && p.food_f <= 166;
    p.food_f += (p.ambient_f - p.food_f) * (dt / tau) * (stalled ? 0.12 : 1.0);
  }
  p.cook_s += seconds;
  p.battery = std::max(1.0, p.battery - seconds / 900);
  const double rate = (p.food_f - before) / seconds;
  p.rate_f_per_s = p.rate_f_per_s == 0 ? rate : 0.7 * p.rate_f_per_s + 0.3 * rate;
  // The station needs ten minutes of data before it estimates.
  if (p.food_f >= p.target_f)
    p.remaining_s = 0;
  else if (p.cook_s >= 600 && p.rate_f_per_s > 1e-4)
    p.remaining_s = static_cast<int>(std::min(86400.0, (p.target_f - p.food_f) / p.rate_f_per_s));

  if (p.phase == Phase::Cooking && p.food_f >= p.target_f) {
    p.phase = Phase::Resting;  // done: taken off the heat a little later
    p.phase_left_s = std::uniform_real_distribution<double>(300, 900)(rng_);
  } else if (p.phase == Phase::Resting) {
    p.phase_left_s -= seconds;
    if (p.phase_left_s <= 0) {
      p.phase = Phase::Docked;  // back in the charger: the cook has ended
      p.phase_left_s = std::uniform_real_distribution<double>(600, 2400)(rng_);
      plan_cook(p);
    }
  }
}

bool SimDevice::step(double seconds) {
  for (Probe& p : probes_) {
    advance(p, seconds);
    std::normal_distribution<double> noise(0, 0.3);
    for (double& z : p.zone_noise) z = noise(rng_);
    p.ambient_noise = std::normal_distribution<double>(0, 2)(rng_);
    for (int& q : p.percentile) q = static_cast<int>(rng_() % 10);
  }
  base_battery_ = std::max(5.0, base_battery_ - seconds / 1800);
  wifi_rssi_ = std::clamp(wifi_rssi_ + static_cast<int>(rng_() % 5) - 2, -85, -30);
  if (offline_left_s_ > 0) {
    offline_left_s_ -= seconds;
    return false;
  }
  // About one drop-out every three hours of cook time, for 1 to 10 minutes.
  if (offline_spells_ && std::uniform_real_distribution<double>(0, 1)(rng_) < seconds / 10800) {
    offline_left_s_ = std::uniform_real_distribution<double>(60, 600)(rng_);
    return false;
  }
  return true;
}

int SimDevice::apply(const DeviceCommand& c) {
  const std::string prefix = model_ + ":";
  if (c.cmd_type == prefix + "setting:modify") {
    if (c.volume != "high" && c.volume != "medium" && c.volume != "quiet")
      return kCmdErrorImpossible;
    volume_ = c.volume;
    return 0;
  }
  if (c.cmd_type != prefix + "cooking:action") return kCmdErrorImpossible;
  if (c.probe < 1 || c.probe > static_cast<int>(probes_.size())) return kCmdErrorImpossible;
  Probe& p = probes_[static_cast<std::size_t>(c.probe - 1)];
  const bool in_cook = p.phase != Phase::Docked;
  if (!c.cook_uuid.empty() && (!in_cook || c.cook_uuid != p.cook_uuid)) return kCmdErrorImpossible;
  if (c.action == "modify") {
    if (!c.target_tenths) return kCmdErrorImpossible;
    const double degrees = *c.target_tenths / 10.0;
    const double fahrenheit = unit_ == 'C' ? degrees * 9 / 5 + 32 : degrees;
    if (fahrenheit < 32 || fahrenheit > 572) return kCmdErrorImpossible;  // 0 to 300 °C
    p.target_f = fahrenheit;
    if (p.phase == Phase::Resting && p.food_f < fahrenheit) p.phase = Phase::Cooking;
    return 0;
  }
  if (c.action == "finish") {
    if (in_cook) {  // the cook ends; the next one starts only later
      p.phase = Phase::Docked;
      p.phase_left_s = std::uniform_real_distribution<double>(600, 2400)(rng_);
      plan_cook(p);
    }
    return 0;
  }
  // A real station acknowledges a stop and does nothing while the probe is
  // still in the food: the silent no-op that `thermomaven command` detects.
  if (c.action == "stop") return 0;
  return kCmdErrorImpossible;
}

std::string SimDevice::status_data(ReportView view) const {
  JsonWriter j;
  j.begin_object()
      .field("globalStatus", view.online ? "online" : "offline")
      .field("batteryStatus", base_battery_ < 20 ? "low" : "normal")
      .field("batteryValue", static_cast<int>(base_battery_))
      .field("wifiRssi", wifi_rssi_)
      .field("hasWifiConfig", true)
      .field("connectStatus", "both")
      .field("volume", volume_)
      .key("probes")
      .begin_array();
  for (const Probe& p : probes_) {
    const std::string color = "probe" + std::to_string(p.number);
    j.begin_object();
    if (p.phase == Phase::Docked || view.all_docked) {
      // In the charger the probe collapses to a stub (protocol.md).
      j.field("probeColor", color).field("cookingState", "charged").field("cookingMode", p.mode);
      j.key("setParams").begin_array().begin_object().field("setTemperature", tenths(p.target_f));
      j.end_object().end_array().end_object();
      continue;
    }
    std::array<std::int32_t, 5> zones{};
    for (std::size_t i = 0; i < zones.size(); ++i)
      zones[i] = tenths(p.food_f + (p.ambient_f - p.food_f) * kZoneMix[i] + p.zone_noise[i]);
    j.field("deviceSn", p.serial)
        .field("probeColor", color)
        .field("cookingState", "cooking")
        .field("cookingMode", p.mode)
        .field("cookUuid", p.cook_uuid)
        .field("startClient", p.start_client);
    j.key("setParams").begin_array().begin_object().field("setTemperature", tenths(p.target_f));
    j.end_object().end_array();
    j.field("curTemperature", *std::min_element(zones.begin(), zones.end()));
    j.key("areaTemperature").begin_array();
    for (std::int32_t z : zones) j.value(z);
    j.end_array();
    j.field("curAmbientTemperature", tenths(p.ambient_f + p.ambient_noise));
    j.key("temperaturePercentile").begin_array();
    for (int q : p.percentile) j.value(q);
    j.end_array();
    j.field("batteryValue", static_cast<int>(std::ceil(p.battery)))
        .field("totalCookSec", static_cast<int>(p.cook_s))
        .field("curCookSec", static_cast<int>(p.cook_s));
    if (p.remaining_s)
      j.field("curRemainedSec", *p.remaining_s);
    else
      j.key("curRemainedSec").null();
    j.field("cooking", true).field("overheat", p.ambient_f > 572);
    if (!p.notes.empty()) j.field("probeNotes", p.notes);
    j.end_object();
  }
  j.end_array().end_object();
  return j.take();
}

}  // namespace thermomaven::sim
