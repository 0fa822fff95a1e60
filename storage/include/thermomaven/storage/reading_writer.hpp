// Writes status reports and device lists into the database, in batches.
#pragma once

#include <cstdint>
#include <memory>

#include "thermomaven/storage/database.hpp"
#include "thermomaven/core/records.hpp"
#include "thermomaven/storage/collector_status.hpp"

namespace thermomaven::storage {

struct WriterOptions {
  // Reports per transaction; commit() also ends a batch early.
  int batch_size = 5000;
  // A reading without a cookUuid joins the probe's current cook only if that
  // cook had a reading within this gap; a cook silent this long is over.
  std::int64_t cook_gap_ms = 30 * 60 * 1000;
};

struct WriteOutcome {
  int readings_stored = 0;     // probe readings new to the database
  int readings_duplicate = 0;  // already stored for (device, probe, time)
};

// Owns one write transaction at a time. Not thread-safe: one writer per
// database, fed from one thread. Every method may throw StorageError; a
// failed batch is rolled back as a whole and nothing committed is lost.
class ReadingWriter {
 public:
  ReadingWriter(Database& db, WriterOptions options = {});
  ~ReadingWriter();  // commits what is pending, if it can
  ReadingWriter(const ReadingWriter&) = delete;
  ReadingWriter& operator=(const ReadingWriter&) = delete;

  WriteOutcome write(const StatusReport& report);
  void write(const DeviceInfo& device);
  // Replaces the stored collector status; committed with the current batch.
  void write(const CollectorStatus& status);
  // Replaces the account's current temperature unit (as the cloud said it
  // at `read_ms`); committed with the current batch. Stored reports keep
  // the unit they were written with.
  void write_account_unit(TemperatureUnit unit, std::int64_t read_ms);
  // Makes everything written so far durable.
  void commit();
  // Drops the uncommitted batch (after a failure) and its cached state.
  void rollback();
  int pending_reports() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace thermomaven::storage
