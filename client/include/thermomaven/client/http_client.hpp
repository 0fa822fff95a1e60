// A small HTTPS client on libcurl (one easy handle, RAII). Verification of
// the server is always on; an extra CA file adds trust, it never removes it.
// Only https:// URLs are accepted.
#pragma once

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace thermomaven::client {

// The request never got an HTTP answer: DNS, connect, TLS, timeout, size.
class HttpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HttpResponse {
  long status = 0;
  std::string content_type;
  std::string body;
};

struct HttpOptions {
  std::string ca_file;  // extra trusted CAs in PEM, added to the system store
  long connect_timeout_ms = 10000;
  long timeout_ms = 30000;
  std::size_t max_body_bytes = 8 << 20;
  // When set and true, a transfer in progress is abandoned (within ~1 s):
  // a stopping collector must not hang on a slow server.
  const std::atomic<bool>* abort = nullptr;
};

// Call once before any thread starts (curl_global_init is not thread-safe).
void http_global_init();

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `headers` are full "Name: value" lines.
  HttpResponse post(const std::string& url, const std::vector<std::string>& headers,
                    const std::string& body);
  HttpResponse get(const std::string& url);

 private:
  HttpResponse perform(const std::string& url, const std::vector<std::string>& headers,
                       const std::string* body);
  struct Handle;
  std::unique_ptr<Handle> handle_;
  HttpOptions options_;
};

// "https://host:port/path?query" -> "https://host:port/path": for log lines,
// since a download URL may carry a signature in its query.
std::string url_without_query(const std::string& url);

}  // namespace thermomaven::client
