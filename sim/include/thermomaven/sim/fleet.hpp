// The simulated devices of one account and the thread that publishes for
// them: status reports on each device topic every interval, and the
// account's `user:device:list` on the user topic when asked: after a REST
// device-list call, when the device set changes, and (option) when a logger
// subscribes to the user topic.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "thermomaven/sim/device.hpp"
#include "thermomaven/sim/json_writer.hpp"
#include "thermomaven/sim/publisher.hpp"

namespace thermomaven::sim {

struct FleetOptions {
  std::vector<std::string> models;  // one per device
  int interval_ms = 2000;           // report period of each device
  double speed = 1;                 // cook seconds per real second
  char unit = 'F';
  std::uint64_t seed = 1;
  bool offline_spells = true;
  std::string user_id;
  // When set, the first device's deviceId goes out as a JSON number in
  // every message that carries it (protocol.md: one client converts it from
  // a number); its topic has the same digits.
  bool numeric_device_id = false;
};

struct DeviceSummary {
  std::string id, model, name, serial, topic;
};

class Fleet {
 public:
  Fleet(FleetOptions options, Publisher& publisher);
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  void start();
  void stop();

  std::vector<DeviceSummary> devices() const;
  std::uint64_t published() const { return publisher_.published(); }
  std::string user_topic() const { return "app/user/" + options_.user_id + "/sub"; }

  // Thread-safe requests, carried out by the fleet thread. Devices start
  // reporting after the first device list went out (a logger is listening).
  void publish_device_list();
  void pause();
  void resume();
  bool paused() const;
  // Adds a device (not yet announced: call publish_device_list()).
  DeviceSummary add_device(const std::string& model);
  // Faults. All off line: the devices keep cooking but say nothing, and the
  // device list shows each lastStatusCmd "offline" as of its last report
  // (or of the moment the fault began). All docked: reports carry only the
  // charger stubs of every probe.
  void set_all_offline(bool on);
  // The account's unit changed in the app: every report from now on is in
  // tenths of `unit` ('F' or 'C'), as is every lastStatusCmd made from now on.
  void set_unit(char unit);
  void set_probes_docked(bool on);
  // Envelopes carry serverTimeSecond and deviceTimeSecond but not the
  // millisecond fields.
  void set_seconds_only_times(bool on);
  // An `app/command/send` for a device: it carries the command out and,
  // unless `send_receipt` is false (the drop_receipts fault), queues its
  // device:cmd:receipt. False when there is no such device.
  bool command(const std::string& device_id, const std::string& cmd_id,
               const DeviceCommand& command, bool send_receipt);
  // Moves a probe into the food, out of it or into its charger
  // (/sim/probe/in|out|dock). False when there is no such device or probe.
  bool move_probe(const std::string& device_id, int probe, ProbePlace place);

 private:
  struct Slot {
    std::unique_ptr<SimDevice> device;
    std::int64_t next_due_ms = 0;
    std::string last_status;  // the latest envelope, for lastStatusCmd
    std::int64_t last_status_ms = 0;
  };
  struct Outgoing {
    std::string topic, payload;
  };

  void run();
  void schedule_locked(std::int64_t now);
  std::string device_list_locked(std::int64_t now);
  std::string status_envelope_locked(Slot& slot, std::int64_t now);
  std::string offline_status_locked(const Slot& slot) const;
  // The "deviceId" field of a device's messages: text, or a number for the
  // numeric_device_id device.
  void device_id_field(JsonWriter& j, const SimDevice& d) const;
  // The device's own fields that close every message it sends (deviceId
  // to controlBoardVersion), and the end of the message object.
  void end_device_message(JsonWriter& j, const SimDevice& d) const;
  std::string report_envelope_locked(const SimDevice& d, const std::string& cmd_id,
                                     const std::string& seq_no, const std::string& data,
                                     std::int64_t now) const;

  FleetOptions options_;
  Publisher& publisher_;
  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::vector<Slot> slots_;
  std::vector<Outgoing> queued_;  // receipts
  bool list_requested_ = false;
  bool reporting_ = false;  // set once the first device list went out
  bool paused_ = false;
  bool all_offline_ = false, probes_docked_ = false, seconds_only_times_ = false;
  std::int64_t offline_since_ms_ = 0;
  bool stopping_ = false;
  std::uint64_t changes_ = 0;  // bumped when the schedule changes, to wake run()
  std::thread thread_;
};

}  // namespace thermomaven::sim
