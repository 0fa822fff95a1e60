// Reads a JSON Lines capture in bounded memory, whatever its size.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string_view>
#include <vector>

namespace thermomaven::collector {

class CaptureReader {
 public:
  enum class Status { Line, TooLong, End };

  // Does not own `in`. Lines longer than max_line_bytes are skipped whole.
  explicit CaptureReader(std::FILE* in, std::size_t max_line_bytes = 1 << 20);

  // On Line, `line` (without its newline) stays valid until the next call,
  // and `capacity` bytes are readable from line.data(), enough for the
  // parser's padding. Throws std::system_error when the input cannot be read.
  Status next(std::string_view& line, std::size_t& capacity);
  std::uint64_t line_number() const { return line_number_; }

 private:
  bool fill();  // false at end of input

  std::FILE* in_;
  std::size_t max_line_;
  std::vector<char> buffer_;
  std::size_t start_ = 0, end_ = 0;
  std::uint64_t line_number_ = 0;
  bool eof_ = false;
};

}  // namespace thermomaven::collector
