// Whole numbers from text (flags, settings, query parameters), strictly:
// the whole text must be the number, in range, or nothing is returned.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace thermomaven {

// A base-10 integer with an optional leading '-'; nullopt for an empty text,
// trailing characters, a '+', spaces or a value outside int64.
std::optional<std::int64_t> parse_int64(std::string_view text);
// The same, limited to [min, max].
std::optional<std::int64_t> parse_int64_in(std::string_view text, std::int64_t min,
                                           std::int64_t max);

}  // namespace thermomaven
