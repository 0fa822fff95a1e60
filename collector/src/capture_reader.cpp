#include "thermomaven/collector/capture_reader.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>

#include "thermomaven/client/message_parser.hpp"

namespace thermomaven::collector {
namespace {
constexpr std::size_t kChunk = 1 << 20;
}

CaptureReader::CaptureReader(std::FILE* in, std::size_t max_line_bytes)
    : in_(in), max_line_(max_line_bytes), buffer_(max_line_bytes + kChunk + client::parser_padding()) {}

bool CaptureReader::fill() {
  if (eof_) return false;
  // Keep the unread tail, then top up; the buffer's size never changes, so
  // memory stays flat however long the capture is.
  if (start_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  const std::size_t room = buffer_.size() - client::parser_padding() - end_;
  const std::size_t got = std::fread(buffer_.data() + end_, 1, room, in_);
  if (got < room) {
    if (std::ferror(in_))
      throw std::system_error(errno ? errno : EIO, std::generic_category(), "read");
    eof_ = true;
  }
  end_ += got;
  return got > 0;
}

CaptureReader::Status CaptureReader::next(std::string_view& line, std::size_t& capacity) {
  std::size_t scanned = start_;
  bool too_long = false;
  for (;;) {
    const char* nl =
        static_cast<const char*>(std::memchr(buffer_.data() + scanned, '\n', end_ - scanned));
    if (nl) {
      const std::size_t at = static_cast<std::size_t>(nl - buffer_.data());
      ++line_number_;
      if (too_long || at - start_ > max_line_) {
        start_ = at + 1;
        return Status::TooLong;
      }
      line = std::string_view(buffer_.data() + start_, at - start_);
      capacity = buffer_.size() - start_;
      start_ = at + 1;
      return Status::Line;
    }
    if (end_ - start_ > max_line_) {
      too_long = true;  // drop what we have and look for the line's end
      start_ = end_;
    }
    scanned = end_ - start_;
    if (!fill()) break;
  }
  if (start_ == end_ && !too_long) return Status::End;
  ++line_number_;  // the last line had no newline
  if (too_long) {
    start_ = end_;
    return Status::TooLong;
  }
  line = std::string_view(buffer_.data() + start_, end_ - start_);
  capacity = buffer_.size() - start_;
  start_ = end_;
  return Status::Line;
}

}  // namespace thermomaven::collector
