// Strict integer parsing of core/numbers.hpp, with std::from_chars.
#include "thermomaven/core/numbers.hpp"

#include <charconv>

namespace thermomaven {

std::optional<std::int64_t> parse_int64(std::string_view text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [after, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || after != end) return std::nullopt;
  return value;
}

std::optional<std::int64_t> parse_int64_in(std::string_view text, std::int64_t min,
                                           std::int64_t max) {
  const auto value = parse_int64(text);
  if (!value || *value < min || *value > max) return std::nullopt;
  return value;
}

}  // namespace thermomaven
