// A fresh database with a writer and a reader, for the storage tests that
// write reports and read back what became of them.
#pragma once

#include <catch2/catch.hpp>

#include "test_support.hpp"
#include "thermomaven/storage/cook_reader.hpp"
#include "thermomaven/storage/reading_writer.hpp"

namespace tm_test {

struct WriterFixture {
  TempDir dir;
  thermomaven::storage::Database db{dir.file("t.db")};
  thermomaven::storage::ReadingWriter writer{db, {.batch_size = 100, .cook_gap_ms = 60'000}};
  thermomaven::storage::CookReader reader{db};

  // The cook `uuid` as stored, after committing what was written.
  thermomaven::storage::CookSession cook(const std::string& uuid) {
    writer.commit();
    auto c = reader.find_cook(uuid);
    REQUIRE(c);
    return *c;
  }
  // The latest snapshot of device `id`, after committing what was written.
  thermomaven::storage::DeviceSnapshot device(const std::string& id) {
    writer.commit();
    for (auto& d : reader.latest_snapshots())
      if (d.device_id == id) return d;
    FAIL("no device " << id);
    return {};
  }
  std::vector<std::int64_t> reading_times(const thermomaven::storage::CookSession& c) {
    std::vector<std::int64_t> times;
    reader.for_each_reading(
        c, [&](const thermomaven::storage::CookReading& r) { times.push_back(r.time_ms); });
    return times;
  }
};

}  // namespace tm_test
