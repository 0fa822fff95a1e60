#include "thermomaven/collector/capture_reader.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "thermomaven/client/message_parser.hpp"

using thermomaven::collector::CaptureReader;

namespace {

struct Line {
  CaptureReader::Status status;
  std::string text;
  std::uint64_t number;
};

std::vector<Line> read_all(const std::string& content, std::size_t max_line) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::tmpfile(), std::fclose);
  std::fwrite(content.data(), 1, content.size(), file.get());
  std::rewind(file.get());
  CaptureReader reader(file.get(), max_line);
  std::vector<Line> lines;
  std::string_view line;
  std::size_t capacity = 0;
  for (;;) {
    const auto status = reader.next(line, capacity);
    if (status == CaptureReader::Status::End) break;
    if (status == CaptureReader::Status::Line) {
      CHECK(capacity >= line.size() + thermomaven::client::parser_padding());
      lines.push_back({status, std::string(line), reader.line_number()});
    } else {
      lines.push_back({status, "", reader.line_number()});
    }
  }
  return lines;
}

}  // namespace

TEST_CASE("Lines are returned in order with their numbers, the last one even without a newline") {
  const auto lines = read_all("a\n\nbb\nccc", 100);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].text == "a");
  CHECK(lines[1].text.empty());
  CHECK(lines[2].text == "bb");
  CHECK(lines[3].text == "ccc");
  CHECK(lines[3].number == 4);
}

TEST_CASE("A line longer than the limit is skipped whole and reading goes on") {
  const std::string huge(5000, 'x');
  const auto lines = read_all("ok\n" + huge + "\nafter\n" + huge, 1000);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].text == "ok");
  CHECK(lines[1].status == CaptureReader::Status::TooLong);
  CHECK(lines[1].number == 2);
  CHECK(lines[2].text == "after");
  CHECK(lines[3].status == CaptureReader::Status::TooLong);
}

TEST_CASE("Lines larger than the read chunk survive the buffer's refills") {
  // 3 MiB of lines of varying size crosses the 1 MiB chunk boundary many times.
  std::string content;
  std::vector<std::string> expected;
  for (int i = 0; content.size() < (3u << 20); ++i) {
    expected.push_back(
        std::string(static_cast<std::size_t>(i * 7919 % 300000), static_cast<char>('a' + i % 26)));
    content += expected.back() + "\n";
  }
  const auto lines = read_all(content, 1 << 20);
  REQUIRE(lines.size() == expected.size());
  for (std::size_t i = 0; i < lines.size(); ++i) REQUIRE(lines[i].text == expected[i]);
}
