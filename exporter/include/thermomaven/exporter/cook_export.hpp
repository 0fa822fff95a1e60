// Cooks as users take them away: CSV for spreadsheets, JSON for scripts.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "thermomaven/storage/cook_reader.hpp"

namespace thermomaven::exporter {

// "running", "docked", "replaced", or "timed_out" once nothing arrived for
// gap_ms (measured against now_ms).
std::string cook_status(const storage::CookSession& cook, std::int64_t now_ms, std::int64_t gap_ms);

// The CSV columns every export starts with, in this order.
extern const char* const kCsvHeader;

// RFC 4180, UTF-8, CRLF line ends, rows in time order. Temperatures have one
// decimal in `unit`, or in the unit each reading was recorded in. Text that
// a spreadsheet would run as a formula is prefixed with an apostrophe. The
// two trailing columns are the forecast (predicted_done_at, ISO UTC, and
// prediction_confidence, 0..1) computed from the readings up to that row.
void write_cook_csv(storage::CookReader& reader, const storage::CookSession& cook,
                    std::optional<TemperatureUnit> unit, std::ostream& out);

// One cook as a JSON object, the element of cooks_json(): the one writer of
// a cook's JSON, shared by `thermomaven cooks --json`, /cooks and /api/cooks.
std::string cook_json(const storage::CookSession& cook, std::int64_t now_ms, std::int64_t gap_ms);

// A JSON array as `thermomaven cooks --json` prints it.
std::string cooks_json(const std::vector<storage::CookSession>& cooks, std::int64_t now_ms,
                       std::int64_t gap_ms);

// An aligned table for people.
std::string cooks_table(const std::vector<storage::CookSession>& cooks, std::int64_t now_ms,
                        std::int64_t gap_ms);

}  // namespace thermomaven::exporter
