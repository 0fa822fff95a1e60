// Imports a whole JSON Lines capture through an Ingestor, using both cores:
// one thread reads, two parse, and the calling thread stores, in order.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "thermomaven/collector/ingestor.hpp"

namespace thermomaven::collector {

struct RejectedLine {
  std::uint64_t line_number = 0;
  RejectReason reason = RejectReason::NotJson;
  std::string detail;
};

// Reads `in` (not owned) to its end; messages are stored in input order.
// `on_reject` runs on the calling thread, once per refused line, in line
// order. Throws std::system_error when the input cannot be read and
// StorageError when storing fails; everything committed before stays.
void import_capture(std::FILE* in, Ingestor& ingestor, std::int64_t (*clock_ms)(),
                    const std::function<void(const RejectedLine&)>& on_reject);

}  // namespace thermomaven::collector
