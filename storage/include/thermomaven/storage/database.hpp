// Opening the logger's SQLite database: configured, migrated, ready.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace SQLite {
class Database;
}

namespace thermomaven::storage {

// Every storage failure, carrying SQLite's own message and what we were doing.
class StorageError : public std::runtime_error {
 public:
  // What kind of failure, for callers that wait and retry some of them.
  enum class Kind {
    Other,
    DiskFull,  // no space left (SQLITE_FULL): may pass when space returns
    Locked,    // another writer held the database past the busy timeout
    ReadOnly,  // the file or its file system cannot be written
    Corrupt,   // not a database, or a damaged one
    Io,        // an I/O error of the file system
  };
  explicit StorageError(const std::string& what, Kind kind = Kind::Other)
      : std::runtime_error(what), kind(kind) {}
  // The kind of SQLite's (primary or extended) result code.
  static Kind kind_of_sqlite_code(int code);
  // "disk_full", "locked", ...: for counters and log lines.
  static const char* kind_name(Kind kind);
  Kind kind;
};

enum class OpenMode {
  ReadWrite,  // creates the file if needed and applies pending migrations
  ReadOnly,   // for readers next to a running writer; never changes the file
};

// Brings the SQLite file `db` to schema `version` (up from the version it
// has, 0 for a new file), as the logger of that version left it: for tests
// and tools that need a database of an older version. Throws StorageError.
void apply_migrations_up_to(SQLite::Database& db, int version);

class Database {
 public:
  // Throws StorageError when the file is not a database, is corrupt, or was
  // written by a newer version of the logger (then it is left untouched).
  explicit Database(const std::string& path, OpenMode mode = OpenMode::ReadWrite);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  int schema_version() const;
  static int latest_schema_version();
  const std::string& path() const { return path_; }

  // SQLite's PRAGMA data_version: changes when another connection (another
  // process included) commits to the file; never for this connection's own.
  std::int64_t data_version();

  // For the storage part's own classes.
  SQLite::Database& sql() { return *db_; }

 private:
  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace thermomaven::storage
