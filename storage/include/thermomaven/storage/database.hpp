// Opening the logger's SQLite database: configured, migrated, ready.
#pragma once

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
  using std::runtime_error::runtime_error;
};

enum class OpenMode {
  ReadWrite,  // creates the file if needed and applies pending migrations
  ReadOnly,   // for readers next to a running writer; never changes the file
};

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

  // For the storage part's own classes.
  SQLite::Database& sql() { return *db_; }

 private:
  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace thermomaven::storage
