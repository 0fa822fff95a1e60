#include "thermomaven/collector/capture_import.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "thermomaven/collector/capture_reader.hpp"

// Parsing a report costs about twice what storing it does, so one parser
// thread cannot keep up with the store stage. Lines are read in chunks; two
// parser threads take whole chunks, and the calling thread stores parsed
// chunks strictly in reading order. A small pool of reused chunks bounds
// memory and keeps the steady state free of allocations.

namespace thermomaven::collector {
namespace {

constexpr std::size_t kChunkBytes = 256 * 1024;  // lines per chunk: until this full
constexpr std::size_t kChunkLines = 256;
constexpr std::size_t kChunks = 6;
constexpr int kParsers = 2;

struct Chunk {
  enum class State { Free, Filled, Parsing, Parsed };
  State state = State::Free;
  std::uint64_t sequence = 0;
  std::string data;  // the lines, back to back; padded for the parser
  std::vector<std::pair<std::size_t, std::size_t>> lines;  // offset, length
  std::vector<std::uint64_t> line_numbers;
  std::vector<RejectedLine> rejected;  // in line order
  std::vector<Message> messages = std::vector<Message>(kChunkLines);
  std::size_t message_count = 0;
  IngestStats counts;  // lines, blank lines, rejections

  void reset() {
    lines.clear();
    line_numbers.clear();
    rejected.clear();
    message_count = 0;
    counts = IngestStats{};
    data.clear();
  }
};

class ChunkPipeline {
 public:
  ChunkPipeline(std::FILE* in, const ParserOptions& options, std::int64_t (*clock_ms)())
      : in_(in), options_(options), clock_ms_(clock_ms) {}

  void run(Ingestor& ingestor, const std::function<void(const RejectedLine&)>& on_reject) {
    std::thread reader([&] { guarded([&] { read_chunks(); }); });
    std::vector<std::thread> parsers;
    for (int i = 0; i < kParsers; ++i)
      parsers.emplace_back([&] { guarded([&] { parse_chunks(); }); });
    guarded([&] { store_chunks(ingestor, on_reject); });
    stop();
    reader.join();
    for (auto& t : parsers) t.join();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Waits, under the lock, until `ready` or the pipeline stopped.
  template <typename Ready>
  bool wait(std::unique_lock<std::mutex>& lock, Ready ready) {
    changed_.wait(lock, [&] { return stopped_ || ready(); });
    return !stopped_;
  }

  Chunk* find(Chunk::State state) {
    Chunk* best = nullptr;
    for (Chunk& c : chunks_)
      if (c.state == state && (!best || c.sequence < best->sequence)) best = &c;
    return best;
  }

  void read_chunks() {
    CaptureReader reader(in_);
    std::string_view line;
    std::size_t capacity = 0;
    bool at_end = false;
    while (!at_end) {
      Chunk* chunk;
      {
        std::unique_lock lock(mutex_);
        if (!wait(lock, [&] { return find(Chunk::State::Free) != nullptr; })) return;
        chunk = find(Chunk::State::Free);
        chunk->state = Chunk::State::Parsing;  // owned by the reader until filled
      }
      chunk->reset();
      while (chunk->data.size() < kChunkBytes && chunk->lines.size() < kChunkLines) {
        const auto status = reader.next(line, capacity);
        if (status == CaptureReader::Status::End) {
          at_end = true;
          break;
        }
        if (status == CaptureReader::Status::TooLong) {
          ++chunk->counts.lines;
          ++chunk->counts.rejected[RejectReason::TooLarge];
          chunk->rejected.push_back(
              {reader.line_number(), RejectReason::TooLarge, "line longer than 1 MiB"});
          continue;
        }
        chunk->lines.emplace_back(chunk->data.size(), line.size());
        chunk->line_numbers.push_back(reader.line_number());
        chunk->data.append(line);
      }
      // The parser reads a little past each line: pad the last one.
      chunk->data.append(parser_padding(), '\0');
      std::lock_guard lock(mutex_);
      chunk->sequence = next_filled_++;
      chunk->state = Chunk::State::Filled;
      if (at_end) reading_done_ = true;
      changed_.notify_all();
    }
  }

  void parse_chunks() {
    MessageParser parser(options_);
    for (;;) {
      Chunk* chunk;
      {
        std::unique_lock lock(mutex_);
        if (!wait(lock, [&] { return find(Chunk::State::Filled) || reading_done_; })) return;
        chunk = find(Chunk::State::Filled);
        if (!chunk) return;  // everything read has been taken
        chunk->state = Chunk::State::Parsing;
      }
      parse(parser, *chunk);
      std::lock_guard lock(mutex_);
      chunk->state = Chunk::State::Parsed;
      changed_.notify_all();
    }
  }

  void parse(MessageParser& parser, Chunk& chunk) {
    ParseError error;
    std::vector<RejectedLine> rejected;
    for (std::size_t i = 0; i < chunk.lines.size(); ++i) {
      const auto [offset, length] = chunk.lines[i];
      const std::string_view line(chunk.data.data() + offset, length);
      ++chunk.counts.lines;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
        ++chunk.counts.blank_lines;
        continue;
      }
      if (parser.parse_line(line, chunk.data.size() - offset, clock_ms_(),
                            chunk.messages[chunk.message_count], error)) {
        ++chunk.message_count;
        continue;
      }
      ++chunk.counts.rejected[*error.reason];
      rejected.push_back({chunk.line_numbers[i], *error.reason, error.detail});
    }
    // Merge with the reader's too-long lines so that reports stay in line order.
    if (!chunk.rejected.empty()) {
      rejected.insert(rejected.end(), chunk.rejected.begin(), chunk.rejected.end());
      std::sort(rejected.begin(), rejected.end(), [](const RejectedLine& a, const RejectedLine& b) {
        return a.line_number < b.line_number;
      });
    }
    chunk.rejected = std::move(rejected);
  }

  void store_chunks(Ingestor& ingestor, const std::function<void(const RejectedLine&)>& on_reject) {
    for (std::uint64_t sequence = 0;; ++sequence) {
      Chunk* chunk = nullptr;
      {
        std::unique_lock lock(mutex_);
        auto next = [&]() -> Chunk* {
          for (Chunk& c : chunks_)
            if (c.state == Chunk::State::Parsed && c.sequence == sequence) return &c;
          return nullptr;
        };
        if (!wait(lock, [&] { return next() || (reading_done_ && sequence == next_filled_); }))
          return;
        chunk = next();
        if (!chunk) return;  // all chunks stored
      }
      for (const RejectedLine& r : chunk->rejected) on_reject(r);
      ingestor.add_line_counts(chunk->counts);
      for (std::size_t i = 0; i < chunk->message_count; ++i) ingestor.store(chunk->messages[i]);
      std::lock_guard lock(mutex_);
      chunk->state = Chunk::State::Free;
      changed_.notify_all();
    }
  }

  // Runs a stage; its failure stops the whole pipeline and is rethrown.
  template <typename Stage>
  void guarded(Stage&& stage) {
    try {
      stage();
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
      stopped_ = true;
      changed_.notify_all();
    }
  }

  void stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    changed_.notify_all();
  }

  std::FILE* in_;
  ParserOptions options_;
  std::int64_t (*clock_ms_)();
  Chunk chunks_[kChunks];
  std::uint64_t next_filled_ = 0;
  bool reading_done_ = false;
  bool stopped_ = false;
  std::exception_ptr error_;
  std::mutex mutex_;
  std::condition_variable changed_;
};

}  // namespace

void import_capture(std::FILE* in, Ingestor& ingestor, std::int64_t (*clock_ms)(),
                    const std::function<void(const RejectedLine&)>& on_reject) {
  auto pipeline = std::make_unique<ChunkPipeline>(in, ingestor.parser().options(), clock_ms);
  pipeline->run(ingestor, on_reject);
}

}  // namespace thermomaven::collector
