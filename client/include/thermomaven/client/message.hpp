// A ThermoMaven MQTT message, decoded: what the parser hands to the rest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "thermomaven/client.hpp"
#include "thermomaven/core/records.hpp"

namespace thermomaven::client {

enum class MessageKind { StatusReport, DeviceList, CommandReceipt, Unknown };

// The label used in summaries and metrics: status_report, device_list, ...
const char* kind_name(MessageKind kind);

// The public API's receipt: one definition for the parser and for users.
using CommandReceipt = client::CommandReceipt;

struct Message {
  MessageKind kind = MessageKind::Unknown;
  std::string cmd_type;
  std::string cmd_id;
  std::string topic;                // empty when the capture line had none
  StatusReport report;              // kind StatusReport
  std::vector<DeviceInfo> devices;  // kind DeviceList
  // kind DeviceList: each device's lastStatusCmd, the cloud's copy of its
  // latest report (it may repeat one already received).
  std::vector<StatusReport> latest_reports;
  CommandReceipt receipt;  // kind CommandReceipt

  void clear();
};

}  // namespace thermomaven::client
