// What the collector says about itself, as storage keeps it for the
// exporter: the database is the only link between the two processes.
// Counters are named members, not strings: the collector writes them, the
// storage table below maps each to its stored (name, label), and the
// exporter renders them, so renaming one is a compile error on every side.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace thermomaven {

// The collector's monotonic counters since it started.
struct CollectorCounters {
  // Messages accepted, by kind (client::MessageKind).
  struct Messages {
    std::int64_t status_report = 0, device_list = 0, command_receipt = 0, unknown = 0;
    bool operator==(const Messages&) const = default;
  } messages;
  // Messages refused, by reason (client::RejectReason).
  struct Rejected {
    std::int64_t too_large = 0, not_json = 0, not_object = 0, no_cmdtype = 0, bad_cmddata = 0,
                 no_device = 0, no_time = 0;
    bool operator==(const Rejected&) const = default;
  } rejected;
  std::int64_t readings_stored = 0;
  std::int64_t readings_duplicate = 0;
  // Messages received but never stored, by reason.
  struct Dropped {
    std::int64_t queue_full = 0, storage_error = 0;
    bool operator==(const Dropped&) const = default;
  } dropped;
  std::int64_t logins = 0;
  std::int64_t cert_applies = 0;
  std::int64_t connect_failures = 0;
  std::int64_t subscribe_refused = 0;
  // Failed database writes, by kind (storage::StorageError::Kind).
  struct StorageErrors {
    std::int64_t disk_full = 0, locked = 0, read_only = 0, corrupt = 0, io_error = 0, other = 0;
    bool operator==(const StorageErrors&) const = default;
  } storage_errors;

  bool operator==(const CollectorCounters&) const = default;
};

// What the collector says about itself, for metrics and health checks.
struct CollectorStatus {
  std::int64_t updated_ms = 0;
  std::int64_t pid = 0;
  std::string state;  // "connecting", "connected", "backoff", "stopped", ...
  bool mqtt_connected = false;
  std::int64_t mqtt_reconnects = 0;
  std::optional<std::int64_t> cert_expiry_s;  // client certificate notAfter, epoch seconds
  std::string last_error;                     // one line, never a secret
  CollectorCounters counters;
};

// The counters' groups: one stored name each, and one metric each.
enum class CounterGroup : std::uint8_t {
  Messages,
  Rejected,
  ReadingsStored,
  ReadingsDuplicate,
  Dropped,
  Logins,
  CertApplies,
  ConnectFailures,
  SubscribeRefused,
  StorageErrors,
};

// The stored name of each group, in the enum's order. These are the
// `collector_counters.name` values an existing database and a running older
// exporter know: never change one.
inline constexpr std::array<const char*, 10> kCounterGroupNames = {
    "messages", "rejected",     "readings_stored",  "readings_duplicate", "dropped",
    "logins",   "cert_applies", "connect_failures", "subscribe_refused",  "storage_errors"};

constexpr const char* counter_group_name(CounterGroup group) {
  return kCounterGroupNames[static_cast<std::size_t>(group)];
}

// One counter as stored: its group, its label ("" for a group without
// labels) and the member it is.
struct CounterField {
  CounterGroup group;
  const char* label;
  std::int64_t& (*member)(CollectorCounters&);
};

// The one table of every counter and its stored (name, label), used by the
// writer, the reader and the exporter.
inline constexpr CounterField kCounterFields[] = {
    // clang-format off
    {CounterGroup::Messages, "status_report",   [](CollectorCounters& c) -> std::int64_t& { return c.messages.status_report; }},
    {CounterGroup::Messages, "device_list",     [](CollectorCounters& c) -> std::int64_t& { return c.messages.device_list; }},
    {CounterGroup::Messages, "command_receipt", [](CollectorCounters& c) -> std::int64_t& { return c.messages.command_receipt; }},
    {CounterGroup::Messages, "unknown",         [](CollectorCounters& c) -> std::int64_t& { return c.messages.unknown; }},
    {CounterGroup::Rejected, "too_large",       [](CollectorCounters& c) -> std::int64_t& { return c.rejected.too_large; }},
    {CounterGroup::Rejected, "not_json",        [](CollectorCounters& c) -> std::int64_t& { return c.rejected.not_json; }},
    {CounterGroup::Rejected, "not_object",      [](CollectorCounters& c) -> std::int64_t& { return c.rejected.not_object; }},
    {CounterGroup::Rejected, "no_cmdtype",      [](CollectorCounters& c) -> std::int64_t& { return c.rejected.no_cmdtype; }},
    {CounterGroup::Rejected, "bad_cmddata",     [](CollectorCounters& c) -> std::int64_t& { return c.rejected.bad_cmddata; }},
    {CounterGroup::Rejected, "no_device",       [](CollectorCounters& c) -> std::int64_t& { return c.rejected.no_device; }},
    {CounterGroup::Rejected, "no_time",         [](CollectorCounters& c) -> std::int64_t& { return c.rejected.no_time; }},
    {CounterGroup::ReadingsStored, "",          [](CollectorCounters& c) -> std::int64_t& { return c.readings_stored; }},
    {CounterGroup::ReadingsDuplicate, "",       [](CollectorCounters& c) -> std::int64_t& { return c.readings_duplicate; }},
    {CounterGroup::Dropped, "queue_full",       [](CollectorCounters& c) -> std::int64_t& { return c.dropped.queue_full; }},
    {CounterGroup::Dropped, "storage_error",    [](CollectorCounters& c) -> std::int64_t& { return c.dropped.storage_error; }},
    {CounterGroup::Logins, "",                  [](CollectorCounters& c) -> std::int64_t& { return c.logins; }},
    {CounterGroup::CertApplies, "",             [](CollectorCounters& c) -> std::int64_t& { return c.cert_applies; }},
    {CounterGroup::ConnectFailures, "",         [](CollectorCounters& c) -> std::int64_t& { return c.connect_failures; }},
    {CounterGroup::SubscribeRefused, "",        [](CollectorCounters& c) -> std::int64_t& { return c.subscribe_refused; }},
    {CounterGroup::StorageErrors, "disk_full",  [](CollectorCounters& c) -> std::int64_t& { return c.storage_errors.disk_full; }},
    {CounterGroup::StorageErrors, "locked",     [](CollectorCounters& c) -> std::int64_t& { return c.storage_errors.locked; }},
    {CounterGroup::StorageErrors, "read_only",  [](CollectorCounters& c) -> std::int64_t& { return c.storage_errors.read_only; }},
    {CounterGroup::StorageErrors, "corrupt",    [](CollectorCounters& c) -> std::int64_t& { return c.storage_errors.corrupt; }},
    {CounterGroup::StorageErrors, "io_error",   [](CollectorCounters& c) -> std::int64_t& { return c.storage_errors.io_error; }},
    {CounterGroup::StorageErrors, "other",      [](CollectorCounters& c) -> std::int64_t& { return c.storage_errors.other; }},
    // clang-format on
};

// Every member is in the table once: a member added to CollectorCounters
// without a row fails here.
static_assert(sizeof(CollectorCounters) == std::size(kCounterFields) * sizeof(std::int64_t),
              "each CollectorCounters member needs its row in kCounterFields");

// The value of one field of `counters` (the accessor only reads it here).
inline std::int64_t counter_value(const CollectorCounters& counters, const CounterField& field) {
  return field.member(const_cast<CollectorCounters&>(counters));
}

}  // namespace thermomaven
