// The audit trail of commands sent to devices (table `commands`): one row
// per command, written when it is sent and completed when its result is known.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "thermomaven/storage/database.hpp"

namespace thermomaven::storage {

struct CommandRecord {
  std::int64_t id = 0;
  std::int64_t sent_ms = 0;
  std::string who;  // the account's email
  // The local uid that asked for it: the `command` process's own, or the
  // caller of a running logger's control channel (SO_PEERCRED). Absent in
  // rows written before schema 5.
  std::optional<std::int64_t> caller_uid;
  std::string device_id;
  std::optional<int> probe;  // absent for device settings
  std::string cmd_type, cmd_id;
  std::string what;  // one line
  // sent, success, failure, no_receipt, no_effect, unverified, not_sent
  std::string result = "sent";
  std::optional<std::int64_t> cmd_error, receipt_ms;
};

class CommandLog {
 public:
  explicit CommandLog(Database& db) : db_(db) {}

  // Stores a sent command; returns its id. Throws StorageError.
  std::int64_t record_sent(const CommandRecord& record);
  // What became of command `id`.
  void record_result(std::int64_t id, const std::string& result,
                     std::optional<std::int64_t> cmd_error, std::optional<std::int64_t> receipt_ms);
  // The latest `limit` commands, oldest first.
  std::vector<CommandRecord> latest(int limit = 50);

 private:
  Database& db_;
};

}  // namespace thermomaven::storage
