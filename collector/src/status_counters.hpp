// Where each of the collector's typed events is counted in the stored
// status: a message kind, a refusal reason or a storage failure kind maps to
// its member of CollectorCounters. Switches without a default: a value added
// to one of these enums is a compile error here until it has its counter.
#pragma once

#include <cstdint>

#include "thermomaven/client/message.hpp"
#include "thermomaven/client/message_parser.hpp"
#include "thermomaven/storage/collector_status.hpp"
#include "thermomaven/storage/database.hpp"

namespace thermomaven::collector {

inline std::int64_t& message_counter(CollectorCounters& c, client::MessageKind kind) {
  switch (kind) {
    case client::MessageKind::StatusReport:
      return c.messages.status_report;
    case client::MessageKind::DeviceList:
      return c.messages.device_list;
    case client::MessageKind::CommandReceipt:
      return c.messages.command_receipt;
    case client::MessageKind::Unknown:
      break;
  }
  return c.messages.unknown;
}

inline std::int64_t& rejected_counter(CollectorCounters& c, client::RejectReason reason) {
  using client::RejectReason;
  switch (reason) {
    case RejectReason::TooLarge:
      return c.rejected.too_large;
    case RejectReason::NotJson:
      break;
    case RejectReason::NotObject:
      return c.rejected.not_object;
    case RejectReason::NoCmdType:
      return c.rejected.no_cmdtype;
    case RejectReason::BadCmdData:
      return c.rejected.bad_cmddata;
    case RejectReason::NoDevice:
      return c.rejected.no_device;
    case RejectReason::NoTime:
      return c.rejected.no_time;
  }
  return c.rejected.not_json;
}

inline std::int64_t& storage_error_counter(CollectorCounters& c, storage::StorageError::Kind kind) {
  using Kind = storage::StorageError::Kind;
  switch (kind) {
    case Kind::DiskFull:
      return c.storage_errors.disk_full;
    case Kind::Locked:
      return c.storage_errors.locked;
    case Kind::ReadOnly:
      return c.storage_errors.read_only;
    case Kind::Corrupt:
      return c.storage_errors.corrupt;
    case Kind::Io:
      return c.storage_errors.io_error;
    case Kind::Other:
      break;
  }
  return c.storage_errors.other;
}

}  // namespace thermomaven::collector
