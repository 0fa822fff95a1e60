// GET /events read by libcurl on a thread of its own, as long as the object
// lives: a real HTTP(S) client on the exporter's live stream, for the tests
// that need TLS and basic authentication on it and for the benchmark that
// keeps 20 of them streaming. Everything received is kept and can be waited
// for; the status line is known as soon as the headers come.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace tm_test {

struct EventStreamOptions {
  std::string ca_file;  // for https://: the CA that signed the server's certificate
  std::string user;     // basic authentication, when not empty
  std::string password;
};

class EventStream {
 public:
  explicit EventStream(std::string url, EventStreamOptions options = {})
      : url_(std::move(url)), options_(std::move(options)), thread_([this] { read(); }) {}
  ~EventStream() {
    stop_ = true;
    thread_.join();
  }
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // The body so far.
  std::string received() const {
    std::lock_guard lock(mutex_);
    return body_;
  }
  // How often `text` occurs in the body so far.
  std::size_t count(std::string_view text) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (auto at = body_.find(text); at != std::string::npos; at = body_.find(text, at + 1)) ++n;
    return n;
  }
  // Waits up to `seconds` for `text` in the body; false when it did not come.
  bool wait_for(std::string_view text, double seconds) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (count(text) == 0) {
      if (ended_ || std::chrono::steady_clock::now() > deadline) return count(text) > 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }
  // Waits up to `seconds` for the server to end the answer.
  bool wait_ended(double seconds) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!ended_ && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return ended_;
  }
  // The HTTP status once the status line came, 0 before (or without an answer).
  long status() const { return status_; }
  bool ended() const { return ended_; }

 private:
  void read() {
    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (!options_.user.empty()) {
      curl_easy_setopt(c, CURLOPT_USERNAME, options_.user.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
    }
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, this);
    // Called at least once a second, data or not: how the stream is stopped.
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, this);
    curl_easy_perform(c);
    ended_ = true;
  }
  // "HTTP/1.1 200 OK": the status of the answer's status line.
  static size_t on_header(char* data, size_t size, size_t n, void* self) {
    const std::string_view line(data, size * n);
    if (line.starts_with("HTTP/") && line.find(' ') != std::string_view::npos)
      static_cast<EventStream*>(self)->status_ = std::atol(line.data() + line.find(' ') + 1);
    return size * n;
  }
  static size_t on_data(char* data, size_t size, size_t n, void* self) {
    auto& stream = *static_cast<EventStream*>(self);
    std::lock_guard lock(stream.mutex_);
    stream.body_.append(data, size * n);
    return size * n;
  }
  static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<EventStream*>(self)->stop_ ? 1 : 0;
  }

  const std::string url_;
  const EventStreamOptions options_;
  mutable std::mutex mutex_;
  std::string body_;
  std::atomic<long> status_{0};
  std::atomic<bool> stop_{false}, ended_{false};
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace tm_test
