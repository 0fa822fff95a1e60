#pragma once

#include <vector>

namespace thermomaven::storage {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// In version order; generated from migrations/*.sql at build time.
const std::vector<Migration>& migrations();

}  // namespace thermomaven::storage
