// CommandAudit: a command's row in the `commands` table, for the CLI's own
// session and the logger's control socket alike.
#include "thermomaven/collector/command_audit.hpp"

#include "thermomaven/core/log.hpp"
#include "thermomaven/core/time.hpp"

namespace thermomaven::collector {
namespace {}  // namespace

std::string audit_result(const client::CommandResult& result) {
  switch (result.outcome) {
    case client::CommandOutcome::Confirmed:
      return "success";
    case client::CommandOutcome::Refused:
      return result.sent ? "failure" : "not_sent";
    case client::CommandOutcome::Invalid:
      return "";
    case client::CommandOutcome::NoReceipt:
      return "no_receipt";
    case client::CommandOutcome::NoEffect:
      return "no_effect";
    case client::CommandOutcome::Unverified:
      return "unverified";
  }
  return "";
}

CommandAudit::CommandAudit(storage::Database& db, std::string who, std::int64_t caller_uid)
    : log_(db), who_(std::move(who)), caller_uid_(caller_uid) {}

storage::CommandRecord CommandAudit::row(const client::CommandResult& result) const {
  storage::CommandRecord r;
  r.sent_ms = result.sent_ms ? result.sent_ms : now_ms();
  r.who = who_;
  r.caller_uid = caller_uid_;
  r.device_id = result.device_id;
  if (result.probe > 0) r.probe = result.probe;
  r.cmd_type = result.cmd_type;
  r.cmd_id = result.cmd_id;
  r.what = result.what;
  return r;
}

void CommandAudit::sent(const client::CommandResult& sent) {
  try {
    row_id_ = log_.record_sent(row(sent));
  } catch (const storage::StorageError& e) {
    log_error("command", std::string("cannot record the command: ") + e.what());
  }
}

void CommandAudit::finished(const client::CommandResult& result) {
  try {
    if (row_id_) {
      log_.record_result(*row_id_, audit_result(result),
                         result.receipt ? result.receipt->cmd_error : std::nullopt,
                         result.receipt_ms);
    } else if (!result.sent && !result.cmd_type.empty()) {
      storage::CommandRecord r = row(result);  // the cloud refused app/command/send
      r.result = audit_result(result);
      log_.record_sent(r);
    }
  } catch (const storage::StorageError& e) {
    log_error("command", std::string("cannot record the command's result: ") + e.what());
  }
}

}  // namespace thermomaven::collector
