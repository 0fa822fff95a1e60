// The simulated stations and their probes. Commands are checked against
// protocol.md's "Commands" section, written from the document and not from
// our client: anything outside its shapes is refused (cmdError 1), and stop
// and finish are the "lying success" protocol.md describes.
#include "thermomaven/sim/device.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "thermomaven/sim/json_writer.hpp"

namespace thermomaven::sim {
namespace {

struct Food {
  const char* name;
  double target_f;
  bool low_and_slow;    // smoked at 225-275 °F, with a stall; else grilled or roasted hot
  double radius_cm[2];  // the cut's half thickness, a range
  double evap_c[2];     // evaporative strength (Meat::evap_c), a range
  double wet_h[2];      // hours the surface moisture lasts at full rate, a range
};

// Large low-and-slow cuts evaporate enough to hold the surface near 70 °C
// for hours (the stall); hot cooks dry out fast and barely slow down.
constexpr std::array kFoods = {
    Food{"Brisket", 203, true, {3.5, 5.0}, {45, 60}, {5, 9}},
    Food{"Pork shoulder", 203, true, {4.5, 6.0}, {40, 55}, {4, 8}},
    Food{"Ribs", 195, true, {1.5, 2.5}, {25, 40}, {1, 2}},
    Food{"Turkey", 165, false, {5.0, 7.0}, {10, 20}, {0.3, 0.8}},
    Food{"Chicken thighs", 175, false, {1.5, 2.0}, {8, 15}, {0.2, 0.5}},
    Food{"Steak", 135, false, {1.5, 2.5}, {5, 10}, {0.1, 0.3}},
    Food{"Salmon", 145, false, {1.2, 2.0}, {5, 10}, {0.1, 0.3}},
    Food{"Pork loin", 145, false, {3.0, 4.0}, {8, 15}, {0.2, 0.5}},
};

constexpr std::array kNames = {"Kitchen grill", "Offset smoker",   "Kamado",     "Pellet grill",
                               "Oven",          "Backyard kettle", "Rotisserie", "Smokehouse"};

constexpr double kRoomF = 70;
// The rest target (a second setParams stage) the simulator gives low-and-slow
// cooks; hot-and-fast ones have none, so `rest` is refused for them.
constexpr double kRestTargetF = 150;

double to_c(double f) { return (f - 32) * 5 / 9; }
double to_f(double c) { return c * 9 / 5 + 32; }

// The cook's physics. Meat: thermal diffusivity and volumetric heat
// capacity of lean meat. The surface loses heat by evaporation growing with
// its temperature (kEvapScaleC per e-fold around 70 °C) while it is wet;
// the moisture runs out after Meat::wet_s seconds at the full rate.
constexpr double kDiffusivity = 1.4e-7;  // m²/s
constexpr double kHeatCapacity = 3.6e6;  // J/m³K
constexpr double kEvapScaleC = 8;
constexpr double kRoomC = (kRoomF - 32) * 5 / 9;
// Where the zones sit along the probe: T1 at the tip, T5 near the surface.
constexpr double kLastZoneR = 0.85;
// The pit's heat source can hold 2.5 times the heat loss at the set point.
constexpr double kFireHeadroom = 2.5;
constexpr double kSensorTauS = 60;  // the ambient sensor's lag behind the pit air

// The temperature at radius fraction r (0 centre .. 1 surface) of the meat.
double meat_at(const std::array<double, Meat::kShells>& shells, double r) {
  const double pos = r * static_cast<double>(shells.size()) - 0.5;  // in shell centres
  if (pos <= 0) return shells.front();
  const auto i = static_cast<std::size_t>(pos);
  if (i + 1 >= shells.size()) return shells.back();
  const double f = pos - static_cast<double>(i);
  return shells[i] * (1 - f) + shells[i + 1] * f;
}

// Advances the pit and the meat by `dt` seconds (small enough to be stable).
void heat(Meat& m, double dt) {
  // The pit: a thermostat with hysteresis switches the heat source, which
  // answers with a lag; the pit overshoots and cycles around its set point.
  if (m.pit_c < m.setpoint_c - m.band_c) m.heater_on = true;
  if (m.pit_c > m.setpoint_c + m.band_c) m.heater_on = false;
  m.fire += ((m.heater_on ? 1.0 : 0.0) - m.fire) * std::min(1.0, dt / m.fire_tau_s);
  const double loss = (m.pit_c - kRoomC) / m.cool_tau_s;
  const double gain = m.fire * kFireHeadroom * (m.setpoint_c - kRoomC) / m.cool_tau_s;
  m.pit_c += (gain - loss) * dt;
  m.sensor_c += (m.pit_c - m.sensor_offset_c - m.sensor_c) * std::min(1.0, dt / kSensorTauS);

  // The meat: conduction between concentric shells of a cylinder (shell i
  // holds (2i+1) units of volume, the face between i and i+1 has (i+1)
  // units of area), heated at the surface by the pit air and cooled there
  // by evaporation while the surface is wet.
  constexpr std::size_t n = Meat::kShells;
  const double dr = m.radius_m / static_cast<double>(n);
  const double conduct = 2 * kDiffusivity / (dr * dr);
  std::array<double, n> du{};
  for (std::size_t i = 0; i + 1 < n; ++i) {
    const double g = conduct * static_cast<double>(i + 1);
    const double diff = m.shell_c[i + 1] - m.shell_c[i];
    du[i] += g / static_cast<double>(2 * i + 1) * diff;
    du[i + 1] -= g / static_cast<double>(2 * i + 3) * diff;
  }
  double& surface = m.shell_c[n - 1];
  const double wetness = std::min(1.0, m.wet / 0.25);  // full rate until three quarters gone
  const double evaporation = wetness * std::min(2.0, std::exp((surface - 70) / kEvapScaleC));
  const double surface_rate =
      2 * m.radius_m * m.h / (kHeatCapacity * static_cast<double>(2 * n - 1) * dr * dr);
  du[n - 1] += surface_rate * ((m.pit_c - surface) - m.evap_c * evaporation);
  for (std::size_t i = 0; i < n; ++i) m.shell_c[i] += du[i] * dt;
  m.wet = std::max(0.0, m.wet - evaporation * dt / m.wet_s);
}

// The largest stable time step for the meat (and at most 5 s for the pit).
double max_step_s(const Meat& m) {
  const double dr = m.radius_m / static_cast<double>(Meat::kShells);
  const double surface_rate =
      2 * m.radius_m * m.h / (kHeatCapacity * static_cast<double>(2 * Meat::kShells - 1) * dr * dr);
  const double fastest =
      2 * kDiffusivity / (dr * dr) + surface_rate * (1 + 2 * m.evap_c / kEvapScaleC);
  return std::min(5.0, 0.4 / fastest);
}

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

std::int32_t SimDevice::whole_degree_tenths(double fahrenheit) const {
  const double value = unit_ == 'C' ? to_c(fahrenheit) : fahrenheit;
  return static_cast<std::int32_t>(std::lround(value)) * 10;
}

// Chooses what the probe cooks next; the docked stub already shows its
// mode and target, as a real station shows the last settings.
void SimDevice::plan_cook(Probe& p) {
  p.food = std::uniform_int_distribution<std::size_t>(0, kFoods.size() - 1)(rng_);
  const Food& food = kFoods[p.food];
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
  auto uniform = [&](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng_);
  };
  const Food& food = kFoods[p.food];
  Meat& m = p.meat;
  m.shell_c.fill(to_c(uniform(36, 42)));  // from the fridge
  m.radius_m = uniform(food.radius_cm[0], food.radius_cm[1]) / 100;
  m.h = food.low_and_slow ? uniform(10, 15) : uniform(20, 30);
  m.evap_c = uniform(food.evap_c[0], food.evap_c[1]);
  m.wet = 1;
  m.wet_s = uniform(food.wet_h[0], food.wet_h[1]) * 3600;
  m.tip_r = uniform(0, 0.15);
  m.setpoint_c = to_c(p.pit_f);
  m.band_c = uniform(5, 9);
  m.cool_tau_s = uniform(2400, 5400);
  m.fire_tau_s = uniform(60, 180);
  m.pit_c = m.setpoint_c + uniform(-m.band_c, m.band_c);  // preheated
  m.heater_on = rng_() % 2 == 0;
  m.fire = m.heater_on ? 1 : 0;
  m.sensor_c = to_c(kRoomF);  // the probe comes out of its charger at room temperature
  m.sensor_offset_c = uniform(0, 6);
  p.food_f = to_f(m.shell_c[0]);
  p.zone_f.fill(p.food_f);
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
  // The meat cooks whether or not the probe is in it.
  const double before = p.food_f;
  const double max_dt = max_step_s(p.meat);
  for (double left = seconds; left > 1e-9; left -= max_dt) heat(p.meat, std::min(left, max_dt));
  p.cook_s += seconds;
  if (p.in_food) {
    // T1 at the tip (near the core) .. T5 near the surface; the handle's
    // sixth sensor reads the pit air.
    for (std::size_t i = 0; i < p.zone_f.size(); ++i) {
      const double r = p.meat.tip_r + (kLastZoneR - p.meat.tip_r) * static_cast<double>(i) / 4;
      p.zone_f[i] = to_f(meat_at(p.meat.shell_c, r));
    }
    p.ambient_f = to_f(p.meat.sensor_c);
    p.battery = std::max(1.0, p.battery - seconds / 900);
  } else {  // out of the food, the cook goes on: the probe reads the room
    for (double& z : p.zone_f) z += (kRoomF - z) * std::min(1.0, seconds / 300);
    p.ambient_f += (kRoomF - p.ambient_f) * std::min(1.0, seconds / 300);
  }
  p.food_f = *std::min_element(p.zone_f.begin(), p.zone_f.end());
  if (p.in_food) estimate_remaining(p, before, seconds);

  if (p.phase == Phase::Cooking && p.food_f >= p.target_f) {
    p.phase = Phase::Resting;  // done: taken off the heat a little later
    p.phase_left_s = std::uniform_real_distribution<double>(300, 900)(rng_);
  } else if (p.phase == Phase::Resting) {
    p.phase_left_s -= seconds;
    if (p.phase_left_s <= 0) dock(p);  // back in the charger: the cook has ended
  }
}

// The station's own estimate (curRemainedSec; what it really computes is
// unknown, docs/protocol-assumptions.md): the food's recent rise, smoothed
// over about five minutes, extrapolated in a straight line to the target,
// after ten minutes of cook and at most a day out.
void SimDevice::estimate_remaining(Probe& p, double before_f, double seconds) {
  const double rate = (p.food_f - before_f) / seconds;
  p.rate_f_per_s += (rate - p.rate_f_per_s) * (1 - std::exp(-seconds / 300));
  if (p.food_f >= p.target_f)
    p.remaining_s = 0;
  else if (p.cook_s >= 600 && p.rate_f_per_s > 1e-4)
    p.remaining_s = static_cast<int>(std::min(86400.0, (p.target_f - p.food_f) / p.rate_f_per_s));
}

bool SimDevice::step(double seconds) {
  for (Probe& p : probes_) {
    advance(p, seconds);
    std::normal_distribution<double> noise(0, 0.3);
    for (double& z : p.zone_noise) z = noise(rng_);
    p.ambient_noise = std::normal_distribution<double>(0, 0.5)(rng_);
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
    // Whole degrees of the account's unit, as the probe shows them.
    for (std::size_t i = 0; i < zones.size(); ++i)
      zones[i] = whole_degree_tenths(p.zone_f[i] + p.zone_noise[i]);
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
    j.field("curAmbientTemperature", whole_degree_tenths(p.ambient_f + p.ambient_noise));
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
