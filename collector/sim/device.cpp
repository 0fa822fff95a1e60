// The simulated stations and their probes. Commands are checked against
// protocol.md's "Commands" section, written from the document and not from
// our client: anything outside its shapes is refused (cmdError 1), and stop
// and finish are the "lying success" protocol.md describes.
#include "device.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

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
// The rest target (a second setParams stage) the simulator gives low-and-slow
// cooks; hot-and-fast ones have none, so `rest` is refused for them.
constexpr double kRestTargetF = 150;
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
  p.rest_target_f = food.low_and_slow ? std::optional<double>(kRestTargetF) : std::nullopt;
}

void SimDevice::start_cook(Probe& p) {
  p.phase = Phase::Cooking;
  p.cook_uuid = hex(32, false);
  p.in_food = true;
  p.end_requested = p.rest_commanded = false;
  p.food_f = std::uniform_real_distribution<double>(36, 42)(rng_);  // from the fridge
  p.ambient_f = kRoomF;
  p.cook_s = 0;
  p.rate_f_per_s = 0;
  p.remaining_s.reset();
}

// A stop or finish took effect: the probe is out of the charger, without a cook.
void SimDevice::end_cook(Probe& p) {
  p.phase = Phase::Idle;
  p.cook_uuid.clear();
  p.in_food = p.end_requested = p.rest_commanded = false;
  p.phase_left_s = 300;  // put back in the charger a little later
}

// Back in the charger: the cook (if any) ends; the next one starts later.
void SimDevice::dock(Probe& p) {
  p.phase = Phase::Docked;
  p.cook_uuid.clear();
  p.in_food = p.end_requested = p.rest_commanded = false;
  p.phase_left_s = std::uniform_real_distribution<double>(600, 2400)(rng_);
  plan_cook(p);
}

void SimDevice::advance(Probe& p, double seconds) {
  if (p.phase == Phase::Docked) {
    p.battery = std::min(100.0, p.battery + seconds / 60);  // charging
    p.phase_left_s -= seconds;
    if (p.phase_left_s <= 0) start_cook(p);
    return;
  }
  if (p.phase == Phase::Idle) {
    p.phase_left_s -= seconds;
    if (p.phase_left_s <= 0) dock(p);
    return;
  }
  if (!p.in_food) {  // out of the food, the cook goes on: the probe reads the room
    p.food_f += (kRoomF - p.food_f) * std::min(1.0, seconds / 300);
    p.ambient_f += (kRoomF - p.ambient_f) * std::min(1.0, seconds / 300);
    p.cook_s += seconds;
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
    if (p.phase_left_s <= 0) dock(p);  // back in the charger: the cook has ended
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

namespace {

namespace dom = simdjson::dom;

bool is_hex32(std::string_view text) {
  return text.size() == 32 && std::all_of(text.begin(), text.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c));
         });
}

// Only the keys protocol.md lists for this shape.
bool only_keys(dom::object data, const std::set<std::string_view>& allowed) {
  for (dom::key_value_pair field : data)
    if (!allowed.count(field.key)) return false;
  return true;
}

// cookingData: null, or the manual object of protocol.md.
bool valid_cooking_data(dom::element data) {
  if (data.is_null()) return true;
  dom::object o;
  if (data.get(o)) return false;
  for (const char* key : {"dataType", "dataId", "dataName", "dataImgUrl"})
    if (std::string_view text; o[key].get(text)) return false;
  return true;
}

// setParams: a non-empty array of stage objects, each with an integer
// setTemperature (tenths). Returns the stages' temperatures.
std::optional<std::vector<std::int64_t>> stage_targets(dom::element params) {
  dom::array stages;
  if (params.get(stages) || stages.size() == 0) return std::nullopt;
  std::vector<std::int64_t> out;
  for (dom::element stage : stages) {
    std::int64_t tenths;
    if (!stage.is_object() || stage["setTemperature"].get(tenths)) return std::nullopt;
    out.push_back(tenths);
  }
  return out;
}

}  // namespace

int SimDevice::apply(const DeviceCommand& c, std::string& what) {
  const std::string prefix = model_ + ":";
  what = c.cmd_type;
  if (c.cmd_type == prefix + "setting:modify") return setting(c.data_json, what);
  if (c.cmd_type == prefix + "cooking:action") return cooking_action(c.data_json, what);
  return kCmdErrorInvalid;  // another model's verb, or one protocol.md does not characterise
}

// {MODEL}:setting:modify: one setting per command; only volume's values are known.
int SimDevice::setting(const std::string& data_json, std::string& what) {
  dom::parser parser;
  dom::object data;
  std::string_view volume;
  if (parser.parse(data_json).get(data) || data.size() != 1 || data["volume"].get(volume))
    return kCmdErrorInvalid;
  if (volume != "high" && volume != "medium" && volume != "quiet") return kCmdErrorInvalid;
  volume_ = std::string(volume);
  what += " volume " + volume_;
  return 0;
}

// {MODEL}:cooking:action, protocol.md's table: cookingAction 1 start or
// change, 2 stop, 4 rest, 5 finish.
int SimDevice::cooking_action(const std::string& data_json, std::string& what) {
  dom::parser parser;
  dom::object data;
  std::string_view color, uuid;
  std::int64_t action = 0;
  if (parser.parse(data_json).get(data) || data["probeColor"].get(color) ||
      data["cookingAction"].get(action) || data["cookUuid"].get(uuid) || !is_hex32(uuid))
    return kCmdErrorInvalid;
  if (color.size() != 6 || !color.starts_with("probe") || color[5] < '1' || color[5] > '4')
    return kCmdErrorInvalid;
  const int number = color[5] - '0';
  what += ' ';
  what += color;
  what += " cookingAction ";
  what += std::to_string(action);
  if (action != 1 && action != 2 && action != 4 && action != 5) return kCmdErrorInvalid;
  if (action == 1 ? !only_keys(data, {"probeColor", "cookingAction", "cookingMode", "cookUuid",
                                      "startClient", "setParams", "cookingData"})
                  : !only_keys(data, {"probeColor", "cookingAction", "cookUuid"}))
    return kCmdErrorInvalid;
  if (number > static_cast<int>(probes_.size())) return kCmdErrorNotApplicable;  // no such probe
  Probe& p = probes_[static_cast<std::size_t>(number - 1)];
  const bool running = p.phase == Phase::Cooking || p.phase == Phase::Resting;
  const bool same_cook = running && uuid == p.cook_uuid;
  if (action != 1) {
    if (!same_cook) return kCmdErrorInvalid;  // no running cook, or another one
    if (action == 4) {
      if (!p.rest_target_f) return kCmdErrorNotApplicable;
      p.phase = Phase::Resting;
      p.rest_commanded = true;
      p.phase_left_s = std::uniform_real_distribution<double>(300, 900)(rng_);
      return 0;
    }
    // Stop and finish: acknowledged; the cook ends only out of the food.
    if (p.in_food)
      p.end_requested = true;
    else
      end_cook(p);
    return 0;
  }
  std::string_view mode, client;
  dom::element cooking_data;
  if (data["cookingMode"].get(mode) || (mode != "smart" && mode != "manual") ||
      data["startClient"].get(client) ||
      (client != "device" && client != "android" && client != "ios") ||
      data["cookingData"].get(cooking_data) || !valid_cooking_data(cooking_data))
    return kCmdErrorInvalid;
  const auto stages = stage_targets(data["setParams"]);
  if (!stages) return kCmdErrorInvalid;
  auto fahrenheit = [&](std::int64_t tenths) {
    const double degrees = static_cast<double>(tenths) / 10.0;
    return unit_ == 'C' ? degrees * 9 / 5 + 32 : degrees;
  };
  for (std::int64_t tenths : *stages)
    if (fahrenheit(tenths) < 32 || fahrenheit(tenths) > 572)  // 0 to 300 °C
      return kCmdErrorNotApplicable;
  const bool null_data = cooking_data.is_null();
  if (same_cook) {
    // A change keeps the cook as it is: its startClient and mode as reported,
    // cookingData null exactly when the device started it.
    if (client != p.start_client || mode != p.mode || null_data != (client == "device"))
      return kCmdErrorInvalid;
  } else {
    // A new cook (replacing a running one): started by an app, with its data.
    if (client == "device" || null_data) return kCmdErrorInvalid;
    if (running) {  // the food stays where it is; the cook starts over
      p.phase = Phase::Cooking;
      p.cook_s = 0;
      p.in_food = true;
      p.end_requested = p.rest_commanded = false;
    } else {
      plan_cook(p);
      start_cook(p);
    }
    p.cook_uuid = std::string(uuid);
    p.start_client = std::string(client);
    p.mode = std::string(mode);
  }
  p.target_f = fahrenheit((*stages)[0]);
  p.rest_target_f =
      stages->size() > 1 ? std::optional<double>(fahrenheit((*stages)[1])) : std::nullopt;
  if (p.phase == Phase::Resting && !p.rest_commanded && p.food_f < p.target_f)
    p.phase = Phase::Cooking;
  what += same_cook ? " change" : " new cook";
  return 0;
}

bool SimDevice::move_probe(int number, ProbePlace place) {
  if (number < 1 || number > static_cast<int>(probes_.size())) return false;
  Probe& p = probes_[static_cast<std::size_t>(number - 1)];
  switch (place) {
    case ProbePlace::Docked:
      if (p.phase != Phase::Docked) dock(p);
      break;
    case ProbePlace::Out:
      p.in_food = false;
      if (p.phase == Phase::Docked) end_cook(p);  // out of the charger, no cook
      if (p.end_requested) end_cook(p);
      break;
    case ProbePlace::InFood:
      if (p.phase == Phase::Cooking || p.phase == Phase::Resting) p.in_food = true;
      break;
  }
  return true;
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
  // setParams: the target, and the rest target as a second stage when there is one.
  auto set_params = [&](const Probe& p) {
    j.key("setParams").begin_array().begin_object().field("setTemperature", tenths(p.target_f));
    j.end_object();
    if (p.rest_target_f)
      j.begin_object().field("setTemperature", tenths(*p.rest_target_f)).end_object();
    j.end_array();
  };
  for (const Probe& p : probes_) {
    const std::string color = "probe" + std::to_string(p.number);
    j.begin_object();
    if (p.phase == Phase::Docked || view.all_docked) {
      // In the charger the probe collapses to a stub (protocol.md).
      j.field("probeColor", color).field("cookingState", "charged").field("cookingMode", p.mode);
      set_params(p);
      j.end_object();
      continue;
    }
    if (p.phase == Phase::Idle) {
      // Out of the charger without a cook: no cookUuid, no temperatures
      // (the simulator's choice: protocol.md shows no such report).
      j.field("deviceSn", p.serial)
          .field("probeColor", color)
          .field("cookingState", "idle")
          .field("cookingMode", p.mode);
      set_params(p);
      j.field("batteryValue", static_cast<int>(std::ceil(p.battery))).field("cooking", false);
      j.end_object();
      continue;
    }
    std::array<std::int32_t, 5> zones{};
    for (std::size_t i = 0; i < zones.size(); ++i)
      zones[i] = tenths(p.food_f + (p.ambient_f - p.food_f) * kZoneMix[i] + p.zone_noise[i]);
    j.field("deviceSn", p.serial)
        .field("probeColor", color)
        .field("cookingState", p.rest_commanded ? "resting" : "cooking")
        .field("cookingMode", p.mode)
        .field("cookUuid", p.cook_uuid)
        .field("startClient", p.start_client);
    set_params(p);
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
