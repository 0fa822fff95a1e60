// The audit trail of one command (table `commands`, migrations 003 and 005):
// a row when the command goes out, completed with its outcome. The one
// place that maps a CommandResult to a row, for both paths that carry
// commands out: `thermomaven command` on its own session, and the running
// logger for a caller of its control socket.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "thermomaven/command_tracker.hpp"
#include "thermomaven/storage/command_log.hpp"

namespace thermomaven::collector {

// The row's result for an outcome: success, failure, not_sent, no_receipt,
// no_effect or unverified; "" for Invalid (nothing was sent, no row).
std::string audit_result(const client::CommandResult& result);

class CommandAudit {
 public:
  // `who` is the account's email, `caller_uid` the local user who asked.
  CommandAudit(storage::Database& db, std::string who, std::int64_t caller_uid);

  // The command went out (CommandTracker::execute's on_sent): its row, "sent".
  void sent(const client::CommandResult& sent);
  // Its outcome: completes the row, or writes a "not_sent" one when the
  // cloud refused app/command/send. A storage failure is logged, never
  // thrown: the command has been carried out either way.
  void finished(const client::CommandResult& result);

 private:
  storage::CommandRecord row(const client::CommandResult& result) const;

  storage::CommandLog log_;
  std::string who_;
  std::int64_t caller_uid_;
  std::optional<std::int64_t> row_id_;
};

}  // namespace thermomaven::collector
