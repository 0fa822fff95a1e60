#include "thermomaven/sim/fleet.hpp"

#include <algorithm>
#include <chrono>

#include "thermomaven/core/log.hpp"
#include "thermomaven/core/time.hpp"
#include "thermomaven/sim/json_writer.hpp"
#include "thermomaven/sim/signing.hpp"

namespace thermomaven::sim {
namespace {}  // namespace

Fleet::Fleet(FleetOptions options, Publisher& publisher)
    : options_(std::move(options)), publisher_(publisher) {
  for (std::size_t i = 0; i < options_.models.size(); ++i)
    slots_.push_back(
        {std::make_unique<SimDevice>(options_.seed, static_cast<int>(i), options_.models[i],
                                     options_.unit, options_.offline_spells),
         0, ""});
}

Fleet::~Fleet() { stop(); }

void Fleet::start() {
  thread_ = std::thread([this] { run(); });
}

void Fleet::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<DeviceSummary> Fleet::devices() const {
  std::lock_guard lock(mutex_);
  std::vector<DeviceSummary> out;
  for (const Slot& s : slots_) {
    const SimDevice& d = *s.device;
    out.push_back({d.id(), d.model(), d.name(), d.serial(), d.topic()});
  }
  return out;
}

void Fleet::publish_device_list() {
  {
    std::lock_guard lock(mutex_);
    list_requested_ = true;
  }
  wake_.notify_all();
}

void Fleet::pause() {
  std::lock_guard lock(mutex_);
  paused_ = true;
}

void Fleet::resume() {
  {
    std::lock_guard lock(mutex_);
    if (!paused_) return;
    paused_ = false;
    schedule_locked(now_ms());
    ++changes_;
  }
  wake_.notify_all();
}

bool Fleet::paused() const {
  std::lock_guard lock(mutex_);
  return paused_;
}

DeviceSummary Fleet::add_device(const std::string& model) {
  DeviceSummary summary;
  {
    std::lock_guard lock(mutex_);
    const int index = static_cast<int>(slots_.size());
    slots_.push_back({std::make_unique<SimDevice>(options_.seed, index, model, options_.unit,
                                                  options_.offline_spells),
                      now_ms() + options_.interval_ms, ""});
    ++changes_;
    const SimDevice& d = *slots_.back().device;
    summary = {d.id(), d.model(), d.name(), d.serial(), d.topic()};
  }
  wake_.notify_all();
  return summary;
}

void Fleet::set_all_offline(bool on) {
  std::lock_guard lock(mutex_);
  if (on && !all_offline_) offline_since_ms_ = now_ms();
  all_offline_ = on;
}

void Fleet::set_unit(char unit) {
  std::lock_guard lock(mutex_);
  options_.unit = unit;  // for devices added later
  for (Slot& s : slots_) s.device->set_unit(unit);
}

void Fleet::set_probes_docked(bool on) {
  std::lock_guard lock(mutex_);
  probes_docked_ = on;
}

void Fleet::set_seconds_only_times(bool on) {
  std::lock_guard lock(mutex_);
  seconds_only_times_ = on;
}

void Fleet::device_id_field(JsonWriter& j, const SimDevice& d) const {
  const bool numeric =
      options_.numeric_device_id && !slots_.empty() && slots_.front().device.get() == &d;
  if (numeric)
    j.key("deviceId").raw(d.id());  // all digits: a valid JSON number
  else
    j.field("deviceId", d.id());
}

void Fleet::end_device_message(JsonWriter& j, const SimDevice& d) const {
  device_id_field(j, d);
  j.field("deviceType", "thermometer")
      .field("deviceModel", d.model())
      .field("userId", "")
      .field("appVersion", "10")
      .field("controlBoardVersion", "10")
      .end_object();
}

bool Fleet::command(const std::string& device_id, const std::string& cmd_id,
                    const DeviceCommand& command, bool send_receipt) {
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(slots_.begin(), slots_.end(),
                           [&](const Slot& s) { return s.device->id() == device_id; });
    if (it == slots_.end()) return false;
    SimDevice& d = *it->device;
    std::string what;
    const int cmd_error = d.apply(command, what);
    log_info("sim",
             "fleet: " + d.id() + " " + what +
                 (cmd_error ? ": refused, cmdError " + std::to_string(cmd_error) : ": accepted") +
                 (send_receipt ? "" : " (receipt dropped)"));
    if (!send_receipt) return true;
    const std::int64_t now = now_ms();
    JsonWriter j;
    j.begin_object()
        .field("cmdId", d.next_cmd_id())
        .field("cmdSeqNo", d.next_seq_no())
        .field("cmdType", "device:cmd:receipt")
        .key("cmdData")
        .begin_object()
        .field("cmdId", cmd_id)
        .field("cmdType", command.cmd_type)
        .field("executeResult", cmd_error ? "failure" : "success")
        .field("errorCode", cmd_error)  // the simulator's choice: errorCode repeats cmdError
        .field("cmdError", cmd_error)
        .end_object()
        .field("serverTime", now)
        .field("serverTimeSecond", now / 1000)
        .field("deviceTime", now - 150)
        .field("deviceTimeSecond", (now - 150) / 1000);
    end_device_message(j, d);
    queued_.push_back({d.topic(), j.take()});
  }
  wake_.notify_all();
  return true;
}

bool Fleet::move_probe(const std::string& device_id, int probe, ProbePlace place) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(slots_.begin(), slots_.end(),
                         [&](const Slot& s) { return s.device->id() == device_id; });
  return it != slots_.end() && it->device->move_probe(probe, place);
}

// Staggers the devices over one interval so their reports do not bunch up.
void Fleet::schedule_locked(std::int64_t now) {
  const auto n = static_cast<std::int64_t>(slots_.size());
  for (std::int64_t i = 0; i < n; ++i)
    slots_[static_cast<std::size_t>(i)].next_due_ms =
        now + options_.interval_ms + i * options_.interval_ms / std::max<std::int64_t>(n, 1);
}

std::string Fleet::device_list_locked(std::int64_t now) {
  JsonWriter j;
  j.begin_object()
      .field("cmdId", random_hex(32))
      .field("cmdSeqNo", -1)
      .field("cmdType", "user:device:list")
      .key("cmdData")
      .begin_object()
      .key("devices")
      .begin_array();
  for (const Slot& s : slots_) {
    const SimDevice& d = *s.device;
    j.begin_object();
    device_id_field(j, d);
    j.field("deviceName", d.name())
        .field("deviceModel", d.model())
        .field("deviceSn", d.serial())
        .field("firmwareVersionCode", "1012")
        .field("deviceLogo", "")
        .key("subTopics")
        .begin_array()
        .value(d.topic())
        .end_array();
    if (all_offline_)
      j.key("lastStatusCmd").raw(offline_status_locked(s));
    else if (s.last_status.empty())
      j.key("lastStatusCmd").null();
    else
      j.key("lastStatusCmd").raw(s.last_status);
    j.end_object();
  }
  j.end_array()
      .end_object()
      .field("serverTime", now)
      .field("serverTimeSecond", now / 1000)
      .field("deviceId", options_.user_id)
      .field("deviceType", "user")
      .field("userId", options_.user_id)
      .end_object();
  return j.take();
}

std::string Fleet::report_envelope_locked(const SimDevice& d, const std::string& cmd_id,
                                          const std::string& seq_no, const std::string& data,
                                          std::int64_t now) const {
  const std::int64_t device_time = now - 180;  // the device clock runs a little behind
  JsonWriter j;
  j.begin_object()
      .field("cmdId", cmd_id)
      .field("cmdSeqNo", seq_no)
      .field("cmdType", d.model() + ":status:report")
      .key("cmdData")
      .raw(data);
  if (!seconds_only_times_) j.field("serverTime", now);
  j.field("serverTimeSecond", now / 1000);
  if (!seconds_only_times_) j.field("deviceTime", device_time);
  j.field("deviceTimeSecond", device_time / 1000);
  end_device_message(j, d);
  return j.take();
}

std::string Fleet::status_envelope_locked(Slot& slot, std::int64_t now) {
  SimDevice& d = *slot.device;
  const std::string cmd_id = d.next_cmd_id();
  const std::string seq_no = d.next_seq_no();
  return report_envelope_locked(d, cmd_id, seq_no, d.status_data({.all_docked = probes_docked_}),
                                now);
}

// The cloud's copy of an absent device: its state when last heard of.
std::string Fleet::offline_status_locked(const Slot& slot) const {
  const SimDevice& d = *slot.device;
  const std::int64_t since = slot.last_status_ms ? slot.last_status_ms : offline_since_ms_;
  return report_envelope_locked(d, random_hex(32), "0", d.status_data({.online = false}), since);
}

void Fleet::run() {
  const double step_s = options_.interval_ms / 1000.0 * options_.speed;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    std::vector<Outgoing> out;
    out.swap(queued_);
    std::int64_t now = now_ms();
    if (list_requested_) {
      list_requested_ = false;
      out.push_back({user_topic(), device_list_locked(now)});
      if (!reporting_) {
        reporting_ = true;
        schedule_locked(now);
        log_info("sim", "fleet: a logger is listening; " + std::to_string(slots_.size()) +
                            " devices start reporting");
      }
    }
    if (reporting_ && !paused_) {
      for (Slot& s : slots_) {
        if (s.next_due_ms > now) continue;
        s.next_due_ms += options_.interval_ms;
        if (s.next_due_ms <= now) s.next_due_ms = now + options_.interval_ms;  // fell behind
        if (!s.device->step(step_s)) continue;  // off line: it says nothing
        if (all_offline_) continue;
        s.last_status = status_envelope_locked(s, now);
        s.last_status_ms = now;
        out.push_back({s.device->topic(), s.last_status});
      }
    }
    if (!out.empty()) {
      lock.unlock();  // publishing waits for the broker; requests must not
      for (const Outgoing& m : out) publisher_.publish(m.topic, m.payload);
      lock.lock();
      continue;
    }
    std::int64_t next = now + 60000;
    if (reporting_ && !paused_)
      for (const Slot& s : slots_) next = std::min(next, s.next_due_ms);
    const std::uint64_t changes = changes_;
    wake_.wait_for(lock, std::chrono::milliseconds(std::max<std::int64_t>(1, next - now)), [&] {
      return stopping_ || list_requested_ || !queued_.empty() || changes_ != changes;
    });
  }
}

}  // namespace thermomaven::sim
