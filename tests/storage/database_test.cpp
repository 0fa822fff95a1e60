#include "thermomaven/storage/database.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using thermomaven::storage::Database;
using thermomaven::storage::OpenMode;
using thermomaven::storage::StorageError;

TEST_CASE("A new database is migrated to the latest schema, and each step is recorded") {
  tm_test::TempDir dir;
  const std::string path = dir.file("new.db");
  {
    Database db(path);
    CHECK(db.schema_version() == Database::latest_schema_version());
    SQLite::Statement steps(db.sql(),
                            "SELECT version, name FROM schema_migrations ORDER BY version");
    int expected = 1;
    while (steps.executeStep()) CHECK(steps.getColumn(0).getInt() == expected++);
    CHECK(expected - 1 == Database::latest_schema_version());
    CHECK(db.sql().execAndGet("PRAGMA journal_mode").getString() == "wal");
    CHECK(db.sql().execAndGet("PRAGMA foreign_keys").getInt() == 1);
  }
  SECTION("opening it again applies nothing twice") {
    Database again(path);
    CHECK(again.sql().execAndGet("SELECT count(*) FROM schema_migrations").getInt() ==
          Database::latest_schema_version());
  }
}

TEST_CASE("A database from a newer logger is refused and left untouched") {
  tm_test::TempDir dir;
  const std::string path = dir.file("future.db");
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("CREATE TABLE t (x); PRAGMA user_version = 999");
  }
  const std::string before = tm_test::read_file(path);
  REQUIRE_THROWS_WITH(Database(path), Catch::Contains("newer than this logger knows"));
  REQUIRE_THROWS_AS(Database(path, OpenMode::ReadOnly), StorageError);
  CHECK(tm_test::read_file(path) == before);
}

TEST_CASE("A file that is not a database is refused with SQLite's reason and left untouched") {
  tm_test::TempDir dir;
  const std::string path = dir.file("garbage.db");
  tm_test::write_file(path, std::string(8192, 'x'));
  REQUIRE_THROWS_WITH(Database(path), Catch::Contains("not a database"));
  CHECK(tm_test::read_file(path) == std::string(8192, 'x'));
}

TEST_CASE("Read-only opening never creates or changes a file") {
  tm_test::TempDir dir;
  CHECK_THROWS_AS(Database(dir.file("missing.db"), OpenMode::ReadOnly), StorageError);
  CHECK_FALSE(std::filesystem::exists(dir.file("missing.db")));
  { Database create(dir.file("ok.db")); }
  Database reader(dir.file("ok.db"), OpenMode::ReadOnly);
  CHECK_THROWS(reader.sql().exec("CREATE TABLE nope (x)"));
}
