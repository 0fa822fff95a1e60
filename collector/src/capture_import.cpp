#include "thermomaven/collector/capture_import.hpp"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "thermomaven/collector/capture_reader.hpp"

namespace thermomaven::collector {
namespace {

// Two batches of parsed messages handed back and forth: the parser fills
// one while the store stage drains the other. Messages are reused, so the
// steady state allocates nothing; a batch amortises the locking.
class BatchHandoff {
 public:
  static constexpr std::size_t kBatch = 256;

  struct Batch {
    std::vector<Message> messages = std::vector<Message>(kBatch);
    std::size_t size = 0;
  };

  // Producer: the batch to fill next (waits until the consumer returned it).
  Batch* filling() { return &batches_[fill_]; }

  // Producer: hands the filled batch over. False when the consumer failed.
  bool hand_over() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !full_ || failed_; });
    if (failed_) return false;
    full_ = &batches_[fill_];
    fill_ ^= 1;
    changed_.notify_all();
    return true;
  }

  void finish() {
    std::lock_guard lock(mutex_);
    done_ = true;
    changed_.notify_all();
  }

  // Consumer: the next full batch, or nullptr once the producer finished.
  Batch* take() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return full_ || done_; });
    return full_;
  }

  void give_back() {
    std::lock_guard lock(mutex_);
    full_->size = 0;
    full_ = nullptr;
    changed_.notify_all();
  }

  void fail() {
    std::lock_guard lock(mutex_);
    failed_ = true;
    changed_.notify_all();
  }

 private:
  Batch batches_[2];
  int fill_ = 0;
  Batch* full_ = nullptr;
  bool done_ = false, failed_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
};

}  // namespace

void import_capture(std::FILE* in, Ingestor& ingestor, std::int64_t (*clock_ms)(),
                    const std::function<void(const RejectedLine&)>& on_reject) {
  BatchHandoff handoff;
  std::exception_ptr read_error;
  std::thread parser([&] {
    try {
      CaptureReader reader(in);
      std::string_view line;
      std::size_t capacity = 0;
      ParseError error;
      for (;;) {
        const auto status = reader.next(line, capacity);
        if (status == CaptureReader::Status::End) break;
        if (status == CaptureReader::Status::TooLong) {
          ingestor.count_rejected_line("too_large");
          on_reject({reader.line_number(), "too_large", "line longer than 1 MiB"});
          continue;
        }
        BatchHandoff::Batch* batch = handoff.filling();
        if (ingestor.parse_line(line, capacity, clock_ms(), batch->messages[batch->size], error)) {
          if (++batch->size == BatchHandoff::kBatch && !handoff.hand_over()) break;
        } else if (!error.reason.empty()) {
          on_reject({reader.line_number(), error.reason, error.detail});
        }
      }
      if (handoff.filling()->size > 0) handoff.hand_over();
    } catch (...) {
      read_error = std::current_exception();
    }
    handoff.finish();
  });

  std::exception_ptr store_error;
  while (BatchHandoff::Batch* batch = handoff.take()) {
    try {
      for (std::size_t i = 0; i < batch->size; ++i) ingestor.store(batch->messages[i]);
    } catch (...) {
      store_error = std::current_exception();
      handoff.fail();  // the parser stops at its next hand-over
      break;
    }
    handoff.give_back();
  }
  parser.join();
  if (store_error) std::rethrow_exception(store_error);
  if (read_error) std::rethrow_exception(read_error);
}

}  // namespace thermomaven::collector
