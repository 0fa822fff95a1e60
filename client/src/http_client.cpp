#include "thermomaven/client/http_client.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <mutex>

namespace thermomaven::client {

void http_global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct HttpClient::Handle {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl{curl_easy_init(), curl_easy_cleanup};
};

namespace {

struct Sink {
  std::string* body;
  std::size_t limit;
  bool overflow = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t bytes = size * count;
  if (sink->body->size() + bytes > sink->limit) {
    sink->overflow = true;
    return 0;  // aborts the transfer
  }
  sink->body->append(data, bytes);
  return bytes;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* abort = static_cast<const std::atomic<bool>*>(user);
  return abort && abort->load() ? 1 : 0;  // non-zero aborts the transfer
}

struct HeaderListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

HttpClient::HttpClient(HttpOptions options)
    : handle_(std::make_unique<Handle>()), options_(std::move(options)) {
  http_global_init();
  if (!handle_->curl) throw HttpError("libcurl cannot create a handle");
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::post(const std::string& url, const std::vector<std::string>& headers,
                              const std::string& body) {
  return perform(url, headers, &body);
}

HttpResponse HttpClient::get(const std::string& url) { return perform(url, {}, nullptr); }

HttpResponse HttpClient::perform(const std::string& url, const std::vector<std::string>& headers,
                                 const std::string* body) {
  CURL* curl = handle_->curl.get();
  curl_easy_reset(curl);
  HttpResponse response;
  Sink sink{&response.body, options_.max_body_bytes};
  char error[CURL_ERROR_SIZE] = "";
  std::unique_ptr<curl_slist, HeaderListDeleter> list;
  for (const std::string& h : headers) {
    curl_slist* grown = curl_slist_append(list.get(), h.c_str());
    if (!grown) throw HttpError("out of memory building request headers");
    list.release();
    list.reset(grown);
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, body ? 0L : 1L);  // downloads may redirect
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options_.ca_file.empty()) {
    // The extra CAs as the bundle, the system's hashed directory as well.
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (::access("/etc/ssl/certs", R_OK) == 0)
      curl_easy_setopt(curl, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  if (options_.abort) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, options_.abort);
  }
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "thermomaven-logger");
  if (list) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list.get());
  if (body) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  }
  const CURLcode rc = curl_easy_perform(curl);
  if (sink.overflow)
    throw HttpError(url_without_query(url) + ": answer larger than " +
                    std::to_string(options_.max_body_bytes) + " bytes");
  if (rc != CURLE_OK)
    throw HttpError(url_without_query(url) + ": " + (error[0] ? error : curl_easy_strerror(rc)));
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  char* type = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
    response.content_type = type;
  return response;
}

std::string url_without_query(const std::string& url) {
  return url.substr(0, url.find_first_of("?#"));
}

}  // namespace thermomaven::client
