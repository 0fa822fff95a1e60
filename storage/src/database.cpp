#include "thermomaven/storage/database.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>

#include "migrations.hpp"

namespace thermomaven::storage {
namespace {

int read_user_version(SQLite::Database& db) {
  return db.execAndGet("PRAGMA user_version").getInt();
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void apply_pending_migrations(SQLite::Database& db, int current) {
  SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
  // Re-read inside the write lock: another process may have migrated meanwhile.
  current = read_user_version(db);
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)");
  for (const Migration& m : migrations()) {
    if (m.version <= current) continue;
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

}  // namespace

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
    // Check the version before anything that could write to the file, so a
    // database from a newer logger (or not a database at all) is left as is.
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
    if (version < latest_schema_version()) apply_pending_migrations(*db_, version);
  } catch (const SQLite::Exception& e) {
    throw StorageError("database " + path + ": " + e.what());
  }
}

Database::~Database() = default;

int Database::schema_version() const { return read_user_version(*db_); }

}  // namespace thermomaven::storage
