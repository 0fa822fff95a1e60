#include "thermomaven/storage/command_log.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include "sqlite_bind.hpp"

namespace thermomaven::storage {
namespace {

StorageError storage_error(const char* what, const SQLite::Exception& e) {
  return StorageError(std::string(what) + ": " + e.what());
}

}  // namespace

std::int64_t CommandLog::record_sent(const CommandRecord& r) {
  try {
    SQLite::Statement s(db_.sql(),
                        "INSERT INTO commands (sent_ms, who, device_id, probe, cmd_type, cmd_id, "
                        "what, result, cmd_error, receipt_ms, caller_uid) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    s.bind(1, static_cast<std::int64_t>(r.sent_ms));
    s.bind(2, r.who);
    s.bind(3, r.device_id);
    bind_optional(s, 4, r.probe);
    s.bind(5, r.cmd_type);
    s.bind(6, r.cmd_id);
    s.bind(7, r.what);
    s.bind(8, r.result);
    bind_optional(s, 9, r.cmd_error);
    bind_optional(s, 10, r.receipt_ms);
    bind_optional(s, 11, r.caller_uid);
    s.exec();
    return db_.sql().getLastInsertRowid();
  } catch (const SQLite::Exception& e) {
    throw storage_error("recording a command", e);
  }
}

void CommandLog::record_result(std::int64_t id, const std::string& result,
                               std::optional<std::int64_t> cmd_error,
                               std::optional<std::int64_t> receipt_ms) {
  try {
    SQLite::Statement s(
        db_.sql(), "UPDATE commands SET result = ?, cmd_error = ?, receipt_ms = ? WHERE id = ?");
    s.bind(1, result);
    bind_optional(s, 2, cmd_error);
    bind_optional(s, 3, receipt_ms);
    s.bind(4, static_cast<std::int64_t>(id));
    s.exec();
  } catch (const SQLite::Exception& e) {
    throw storage_error("recording a command's result", e);
  }
}

std::vector<CommandRecord> CommandLog::latest(int limit) {
  std::vector<CommandRecord> out;
  try {
    SQLite::Statement s(
        db_.sql(),
        "SELECT id, sent_ms, who, device_id, probe, cmd_type, cmd_id, what, result, "
        "cmd_error, receipt_ms, caller_uid FROM (SELECT * FROM commands ORDER BY id DESC "
        "LIMIT ?) ORDER BY id");
    s.bind(1, limit);
    while (s.executeStep()) {
      auto col = [&](int i) { return s.getColumn(i); };
      CommandRecord r;
      r.id = col(0).getInt64();
      r.sent_ms = col(1).getInt64();
      r.who = col(2).getString();
      r.device_id = col(3).getString();
      if (!col(4).isNull()) r.probe = col(4).getInt();
      r.cmd_type = col(5).getString();
      r.cmd_id = col(6).getString();
      r.what = col(7).getString();
      r.result = col(8).getString();
      if (!col(9).isNull()) r.cmd_error = col(9).getInt64();
      if (!col(10).isNull()) r.receipt_ms = col(10).getInt64();
      if (!col(11).isNull()) r.caller_uid = col(11).getInt64();
      out.push_back(std::move(r));
    }
  } catch (const SQLite::Exception& e) {
    throw storage_error("reading the commands", e);
  }
  return out;
}

}  // namespace thermomaven::storage
