#include "thermomaven/storage/database.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "migrations.hpp"
#include "thermomaven/core/time.hpp"

namespace thermomaven::storage {
namespace {

int read_user_version(SQLite::Database& db) {
  return db.execAndGet("PRAGMA user_version").getInt();
}

// Applies the migrations after the file's version, up to `up_to`.
void apply_pending_migrations(SQLite::Database& db, int up_to) {
  SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
  // Read inside the write lock: another process may have migrated meanwhile.
  const int current = read_user_version(db);
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)");
  for (const Migration& m : migrations()) {
    if (m.version <= current || m.version > up_to) continue;
    try {
      db.exec(m.sql);
    } catch (const SQLite::Exception& e) {
      throw StorageError(std::string("migration ") + m.name + " failed: " + e.what());
    }
    SQLite::Statement record(db, "INSERT INTO schema_migrations VALUES (?, ?, ?)");
    record.bind(1, m.version);
    record.bind(2, m.name);
    record.bind(3, static_cast<int64_t>(now_ms()));
    record.exec();
    db.exec("PRAGMA user_version = " + std::to_string(m.version));
  }
  tx.commit();
}

// SQLite says only "unable to open database file" or "attempt to write a
// readonly database": name the cause an operator can fix.
std::string why_not_writable(const std::string& path) {
  const std::filesystem::path file(path);
  const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : ".";
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) == 0 && (fs.f_flag & ST_RDONLY))
    return " (" + dir.string() + " is on a read-only file system)";
  for (const std::string& p : {path, dir.string()})
    if (::access(p.c_str(), F_OK) == 0 && ::access(p.c_str(), W_OK) != 0)
      return " (" + p + ": " + std::strerror(errno) + ")";
  return "";
}

void check_pages(SQLite::Database& db, const std::string& path) {
  std::string verdict = db.execAndGet("PRAGMA quick_check(1)").getString();
  std::replace(verdict.begin(), verdict.end(), '\n', ' ');  // one line
  if (verdict != "ok")
    throw StorageError("database " + path + " is damaged (" + verdict +
                           "); refusing to write to it: restore it from a backup or move it aside",
                       StorageError::Kind::Corrupt);
}

}  // namespace

StorageError::Kind StorageError::kind_of_sqlite_code(int code) {
  switch (code & 0xff) {
    case SQLITE_FULL:
      return Kind::DiskFull;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Kind::Locked;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      return Kind::ReadOnly;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Kind::Corrupt;
    case SQLITE_IOERR:
      return Kind::Io;
    default:
      return Kind::Other;
  }
}

const char* StorageError::kind_name(Kind kind) {
  switch (kind) {
    case Kind::DiskFull:
      return "disk_full";
    case Kind::Locked:
      return "locked";
    case Kind::ReadOnly:
      return "read_only";
    case Kind::Corrupt:
      return "corrupt";
    case Kind::Io:
      return "io_error";
    case Kind::Other:
      break;
  }
  return "other";
}

void apply_migrations_up_to(SQLite::Database& db, int version) {
  if (version < 0 || version > Database::latest_schema_version())
    throw StorageError("no schema version " + std::to_string(version) + " (the latest is " +
                       std::to_string(Database::latest_schema_version()) + ")");
  apply_pending_migrations(db, version);
}

int Database::latest_schema_version() {
  return migrations().empty() ? 0 : migrations().back().version;
}

Database::Database(const std::string& path, OpenMode mode) : path_(path) {
  // One connection is used by one thread at a time: SQLite's own mutexes
  // would only cost time.
  const int flags = SQLite::OPEN_NOMUTEX |
                    (mode == OpenMode::ReadOnly ? SQLite::OPEN_READONLY
                                                : SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  try {
    db_ = std::make_unique<SQLite::Database>(path, flags, /*busy timeout ms*/ 5000);
    // Check the file before anything that could write to it, so a database
    // from a newer logger, a damaged one or not a database at all is left as
    // is. Reading the schema catches a truncated or garbage header; a writer
    // also checks every page (O(size), once per start), since its first
    // commit would otherwise build on damage.
    db_->execAndGet("SELECT count(*) FROM sqlite_master");
    if (mode == OpenMode::ReadWrite) check_pages(*db_, path);
    const int version = read_user_version(*db_);
    if (version > latest_schema_version()) {
      throw StorageError("database " + path + " has schema version " + std::to_string(version) +
                         ", newer than this logger knows (" +
                         std::to_string(latest_schema_version()) +
                         "); refusing to touch it: upgrade thermomaven");
    }
    if (mode == OpenMode::ReadOnly) {
      if (version < latest_schema_version()) {
        throw StorageError("database " + path + " has schema version " + std::to_string(version) +
                           ", older than " + std::to_string(latest_schema_version()) +
                           "; open it once with the collector to migrate it");
      }
      db_->exec("PRAGMA query_only = ON");
      return;
    }
    // WAL lets exporters read while the collector writes; NORMAL keeps every
    // committed transaction across a process crash.
    db_->exec("PRAGMA journal_mode = WAL");
    db_->exec("PRAGMA synchronous = NORMAL");
    db_->exec("PRAGMA foreign_keys = ON");
    if (version < latest_schema_version()) apply_pending_migrations(*db_, latest_schema_version());
  } catch (const SQLite::Exception& e) {
    const auto kind = StorageError::kind_of_sqlite_code(e.getExtendedErrorCode());
    throw StorageError("database " + path + ": " + e.what() +
                           (kind == StorageError::Kind::ReadOnly ? why_not_writable(path) : ""),
                       kind);
  }
}

Database::~Database() = default;

int Database::schema_version() const { return read_user_version(*db_); }

std::int64_t Database::data_version() {
  try {
    return db_->execAndGet("PRAGMA data_version").getInt64();
  } catch (const SQLite::Exception& e) {
    throw StorageError("database " + path_ + ": could not read data_version: " + e.what(),
                       StorageError::kind_of_sqlite_code(e.getExtendedErrorCode()));
  }
}

}  // namespace thermomaven::storage
