// One simulated thermometer: a base station with 1 to 4 probes that cook,
// rest and dock again, driven by a seeded random generator so that the same
// seed gives the same devices and the same sequence of reports.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace thermomaven::sim {

// How many probes a model has (protocol.md's model table; 1 when unknown).
int probe_count(const std::string& model);

// How a report shows a device: off line (globalStatus "offline", for the
// cloud's copy of an absent device), or every probe in its charger (the
// devices_offline and probes_docked faults).
struct ReportView {
  bool online = true;
  bool all_docked = false;
};

// A command from `app/command/send`: its cmdType and its cmdData as sent
// (raw JSON). The station checks the shape against protocol.md's Commands
// section itself (SimDevice::apply).
struct DeviceCommand {
  std::string cmd_type;   // {MODEL}:cooking:action or {MODEL}:setting:modify
  std::string data_json;  // cmdData; empty when the body had none
};

// The receipt's cmdError (protocol.md): 1 invalid state, 4 not applicable.
// Any shape outside protocol.md's Commands section also gets 1 (the
// simulator's choice, docs/protocol-assumptions.md).
constexpr int kCmdErrorInvalid = 1;
constexpr int kCmdErrorNotApplicable = 4;

// Where a probe is, moved by the control API (/sim/probe/in|out|dock).
enum class ProbePlace { InFood, Out, Docked };

// The cook's physics (device.cpp, "The cook's physics"), in °C: the meat
// as concentric shells (0 the core .. the surface) heated by the pit air
// through conduction and cooled at the surface by evaporation while it is
// wet; the pit cycling around its set point under a thermostat with
// hysteresis; the ambient sensor following the pit with a lag.
struct Meat {
  static constexpr std::size_t kShells = 6;
  std::array<double, kShells> shell_c{};
  double radius_m = 0.03;
  double h = 15;      // surface heat transfer, W/m²K
  double evap_c = 0;  // evaporative strength: °C of air gap balanced at 70 °C
  double wet = 1;     // surface moisture left, 1 .. 0
  double wet_s = 1;   // seconds of full-rate evaporation the moisture lasts
  double tip_r = 0;   // where the tip sits, fraction of the radius from the centre
  double pit_c = 20, setpoint_c = 110, band_c = 4, cool_tau_s = 3600, fire_tau_s = 120;
  double fire = 0;  // heat source output, 0 .. 1
  bool heater_on = true;
  double sensor_c = 20, sensor_offset_c = 0;
};
class SimDevice {
 public:
  // `unit` is the account's temperature unit, 'F' or 'C'. `offline_spells`
  // lets the device drop off line now and then, as real ones do.
  SimDevice(std::uint64_t seed, int index, std::string model, char unit, bool offline_spells);

  const std::string& id() const { return id_; }
  const std::string& model() const { return model_; }
  const std::string& name() const { return name_; }
  const std::string& serial() const { return serial_; }
  std::string topic() const { return "device/" + model_ + "/" + id_ + "/pub"; }

  // Advances the simulated world by `seconds` of cook time. Returns false
  // while the device is off line (it then says nothing).
  bool step(double seconds);
  // The cmdData of a status report for the current state (JSON object).
  std::string status_data(ReportView view = {}) const;
  // Carries the command out as a station does and returns the receipt's
  // cmdError: 0, also for a stop or finish it acknowledges and ignores
  // because the probe is still in the food. `what` gets a short summary.
  int apply(const DeviceCommand& command, std::string& what);
  // Moves probe `number` (1..): false when the device has no such probe.
  // Out of the food, a stop or finish that was acknowledged takes effect;
  // in the charger every cook ends.
  bool move_probe(int number, ProbePlace place);
  // The account's unit changed ('F' or 'C'): every report from now on is in
  // tenths of it (the device's state is kept in °F and converted on output).
  void set_unit(char unit) { unit_ = unit; }
  // The next cmdSeqNo and a fresh cmdId, both from the device's generator.
  std::string next_seq_no() { return std::to_string(seq_no_++); }
  std::string next_cmd_id();

 private:
  // Idle: out of the charger without a cook (after a stop or finish took
  // effect). Resting: done cooking, or switched to resting by command.
  enum class Phase { Docked, Idle, Cooking, Resting };
  struct Probe {
    int number = 1;
    std::string serial;
    Phase phase = Phase::Docked;
    double phase_left_s = 0;  // Docked, Resting: time until the next phase
    std::string cook_uuid, mode, notes, start_client;
    bool low_and_slow = false;
    std::size_t food = 0;                 // index into the simulator's food table
    bool in_food = false;                 // a cooking probe can be taken out of the food
    bool end_requested = false;           // a stop or finish waits for the probe to come out
    bool rest_commanded = false;          // reports cookingState "resting"
    std::optional<double> rest_target_f;  // a second setParams stage: the rest target
    double target_f = 0, pit_f = 0, food_f = 0, ambient_f = 0;
    std::array<double, 5> zone_f{};  // T1 (tip) .. T5 as the probe measures them, °F
    Meat meat;
    double rate_f_per_s = 0;  // the station's smoothed food temperature rise
    double cook_s = 0, battery = 100;
    std::optional<int> remaining_s;
    // Fixed per report, so that status_data() is a pure function of state.
    std::vector<double> zone_noise = std::vector<double>(5, 0.0);
    double ambient_noise = 0;
    std::vector<int> percentile = std::vector<int>(7, 0);
  };

  void plan_cook(Probe& p);
  void start_cook(Probe& p);
  void end_cook(Probe& p);
  void dock(Probe& p);
  int cooking_action(const std::string& data_json, std::string& what);
  int setting(const std::string& data_json, std::string& what);
  void advance(Probe& p, double seconds);
  void estimate_remaining(Probe& p, double before_f, double seconds);
  std::int32_t tenths(double fahrenheit) const;
  // A reading as the probe shows it: whole degrees of the account's unit, in tenths.
  std::int32_t whole_degree_tenths(double fahrenheit) const;
  std::string hex(std::size_t length, bool upper);

  std::mt19937_64 rng_;
  char unit_;
  bool offline_spells_;
  std::string id_, model_, name_, serial_;
  std::uint64_t seq_no_ = 0;
  std::string volume_ = "high";
  double base_battery_ = 80;
  int wifi_rssi_ = -50;
  double offline_left_s_ = 0;
  std::vector<Probe> probes_;
};

}  // namespace thermomaven::sim
