#include "thermomaven/exporter/http_server.hpp"

#include <civetweb.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "events.hpp"
#include "thermomaven/core/json_text.hpp"
#include "thermomaven/core/numbers.hpp"
#include "thermomaven/core/time.hpp"
#include "thermomaven/exporter/api.hpp"
#include "thermomaven/exporter/cook_export.hpp"
#include "thermomaven/exporter/metrics.hpp"
#include "thermomaven/storage/cook_reader.hpp"
#include "thermomaven/storage/database.hpp"
#include "thermomaven/tls/tls_front.hpp"
#include "web_assets.hpp"

namespace thermomaven::exporter {
namespace {

// civetweb keeps global state (its TLS setup, timers) that must be set up
// once per process before the first server starts.
void init_civetweb_once() {
  static std::once_flag once;
  std::call_once(once, [] { mg_init_library(0); });
}

// Read-only connections, reused across requests: opening one costs more
// than a scrape. A connection that failed is dropped, so that a database
// replaced on disk is opened afresh.
class ConnectionPool {
 public:
  explicit ConnectionPool(std::string path) : path_(std::move(path)) {}

  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<storage::Database> db)
        : pool_(pool), db_(std::move(db)) {}
    ~Lease() {
      if (db_ && !broken_) pool_.give_back(std::move(db_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    storage::Database& db() { return *db_; }
    void mark_broken() { broken_ = true; }

   private:
    ConnectionPool& pool_;
    std::unique_ptr<storage::Database> db_;
    bool broken_ = false;
  };

  // Throws StorageError when the database cannot be opened.
  Lease acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        auto db = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(db));
      }
    }
    return Lease(*this, std::make_unique<storage::Database>(path_, storage::OpenMode::ReadOnly));
  }

 private:
  void give_back(std::unique_ptr<storage::Database> db) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(db));
  }

  std::string path_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<storage::Database>> idle_;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

Response text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body) + "\n";
  return r;
}

Response json(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

constexpr const char* kEndpoints =
    "endpoints: / (live view), /history, /cooks/{uuid} (a cook's chart), /metrics, /cooks, "
    "/cooks/{uuid}.csv[?unit=C|F], /healthz, /api/devices, /api/cooks, /api/cooks/{uuid}, "
    "/api/cooks/{uuid}/series, /events";

// By file extension, for the page's files and the chart library's.
std::string content_type_of(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".svg", "image/svg+xml"},
  };
  for (const auto& [extension, type] : kTypes)
    if (name.ends_with(extension)) return std::string(type);
  return "application/octet-stream";
}

// The files the chart library's Debian package installs that the cook page
// loads, served as /static/NAME.
constexpr std::string_view kChartLibraryFiles[] = {"dygraph.min.js", "dygraph.min.css"};

// At most this many /events streams at once; the next one gets a 503.
constexpr int kMaxEventClients = 64;

// The page API's answers: JSON that a browser must not sniff as anything else.
Response api_json(int status, std::string body) {
  Response r = json(status, std::move(body));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

Response api_error(int status, std::string_view message) {
  return api_json(status, api::error_json(message));
}

// The page's own files and the chart library: never sniffed as anything
// else, and no script but the page's own files may run (no inline script,
// no other origin), so that a device name or a note cannot become code.
Response page_file(std::string_view name, std::string_view body) {
  Response r;
  r.content_type = content_type_of(name);
  r.body = body;
  r.headers.emplace_back("Content-Security-Policy", "default-src 'self'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

// Cook ids are hex from the cloud; anything else cannot be one, and only
// these characters may go into a file name and a header unquoted.
bool plausible_cook_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

std::string status_json(const CollectorStatus& c) {
  std::string out = "{\"state\": " + json_quoted(c.state);
  out += ", \"mqtt_connected\": ";
  out += c.mqtt_connected ? "true" : "false";
  out += ", \"mqtt_reconnects\": " + std::to_string(c.mqtt_reconnects);
  out += ", \"updated_at\": " + json_quoted(format_utc(c.updated_ms, UtcStyle::Millis));
  out += ", \"last_error\": " +
         (c.last_error.empty() ? std::string("null") : json_quoted(c.last_error));
  return out + "}";
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(std::string db_path, ServerOptions options)
      : options_(std::move(options)),
        pool_(db_path),
        events_(db_path, {.stale_after_ms = options_.stale_after_s * 1000,
                          .max_clients = kMaxEventClients,
                          .collector_state = options_.collector_state}),
        tls_(options_.web_config && options_.web_config->tls) {
    if (options_.web_config && !options_.web_config->basic_auth_users.empty())
      auth_ = std::make_unique<BasicAuth>(options_.web_config->basic_auth_users);
  }
  ~Impl() { stop(); }

  void start() {
    if (context_) return;
    // With TLS, civetweb serves plain HTTP on a private loopback port behind
    // the TLS front (see tls_front.hpp for why civetweb cannot do TLS here).
    const std::string civetweb_listen = tls_ ? "127.0.0.1:0" : options_.listen;
    init_civetweb_once();
    // civetweb 1.15 cannot hand a connection to another thread (no call gives
    // up its socket, and a request is over when its handler returns), so
    // each /events stream keeps one worker for as long as it lasts. The pool
    // is sized for the configured workers plus every stream the hub admits
    // (kMaxEventClients, counted apart; the next one gets a 503 at once):
    // however many streams are open, `threads` workers remain for /metrics.
    const std::string threads =
        std::to_string((options_.threads > 0 ? options_.threads : 1) + kMaxEventClients);
    // No document root: nothing on disk is ever served. Requests larger than
    // a few KiB or slower than 10 s are cut off by civetweb itself.
    const char* config[] = {"listening_ports", civetweb_listen.c_str(), "num_threads",
                            threads.c_str(), "request_timeout_ms", "10000", "max_request_size",
                            "8192", "enable_keep_alive", "yes", "keep_alive_timeout_ms", "15000",
                            // Headers and body go out in two writes; with Nagle the
                            // second waits for a delayed ACK: 40 ms per request on a
                            // kept-alive connection.
                            "tcp_nodelay", "1", nullptr};
    mg_callbacks callbacks{};
    callbacks.begin_request = &Impl::on_request;
    // civetweb would print every malformed request a scanner sends; the
    // client gets its 4xx, the log stays readable.
    callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
    mg_init_data init{&callbacks, this, config};
    char error_text[256] = "";
    unsigned error_code = 0;
    mg_error_data error{&error_code, error_text, sizeof error_text};
    context_ = mg_start2(&init, &error);
    if (!context_)
      throw std::runtime_error("cannot listen on " + options_.listen + ": " +
                               (error_text[0] ? error_text : "civetweb could not start"));
    mg_server_port ports[4]{};
    if (mg_get_server_ports(context_, 4, ports) > 0) port_ = ports[0].port;
    if (tls_) start_tls_front();
    events_.start();
  }

  void stop() {
    events_.stop();  // ends the streams, so that mg_stop need not wait for them
    if (front_) front_->stop();
    if (context_) mg_stop(context_);
    context_ = nullptr;
    relaying_front_ = nullptr;
    front_.reset();
  }

  int port() const { return port_; }

  std::string url() const {
    std::string host = options_.listen.substr(0, options_.listen.rfind(':'));
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    return (tls_ ? "https://" : "http://") + host + ":" + std::to_string(port_);
  }

 private:
  void start_tls_front() {
    const std::size_t colon = options_.listen.rfind(':');
    const std::string host =
        colon == std::string::npos ? "0.0.0.0" : options_.listen.substr(0, colon);
    const auto port = parse_int64_in(
        options_.listen.substr(colon == std::string::npos ? 0 : colon + 1), 0, 65535);
    try {
      if (!port)
        throw std::runtime_error("cannot listen on " + options_.listen + ": not HOST:PORT");
      front_ = std::make_unique<tls::TlsFront>(*options_.web_config->tls, port_);
      relaying_front_ = front_.get();
      port_ = front_->listen(static_cast<int>(*port), host);
    } catch (...) {
      relaying_front_ = nullptr;
      front_.reset();
      mg_stop(context_);
      context_ = nullptr;
      throw;
    }
  }

  // With TLS, only the front may talk to civetweb's loopback port: anyone
  // else on the machine connecting there would bypass TLS and client
  // certificates.
  bool from_front(const mg_request_info& request) const {
    if (!tls_) return true;
    const tls::TlsFront* front = relaying_front_.load();
    return front && std::strcmp(request.remote_addr, "127.0.0.1") == 0 &&
           front->relays_from(request.remote_port);
  }

  // exporter-toolkit's behaviour: with users configured every path needs
  // them, /healthz too (it shows the collector's last error).
  bool authorized(mg_connection* conn) const {
    return !auth_ || auth_->allows(mg_get_header(conn, "Authorization"));
  }

  static int on_request(mg_connection* conn) {
    auto* self = static_cast<Impl*>(mg_get_user_data(mg_get_context(conn)));
    const mg_request_info* request = mg_get_request_info(conn);
    const bool head = std::strcmp(request->request_method, "HEAD") == 0;
    Response response;
    try {
      if (!self->from_front(*request)) {
        response = text(403, "connect over HTTPS");
      } else if (!self->authorized(conn)) {
        response = text(401, "authentication required");
        response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"thermomaven\"");
      } else if (self->is_events(*request)) {
        return self->serve_events(conn);
      } else {
        response = self->route(*request);
      }
    } catch (const std::exception& e) {
      // The database went away or is corrupt: say so, keep serving.
      const std::string reason = std::string("database unavailable: ") + e.what();
      const bool api =
          request->local_uri && std::string_view(request->local_uri).starts_with("/api/");
      response = api ? api_error(503, reason) : text(503, reason);
    }
    send(conn, response, head);
    return response.status;
  }

  static void send(mg_connection* conn, const Response& r, bool head) {
    mg_response_header_start(conn, r.status);
    mg_response_header_add(conn, "Content-Type", r.content_type.c_str(), -1);
    mg_response_header_add(conn, "Content-Length", std::to_string(r.body.size()).c_str(), -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    for (const auto& [name, value] : r.headers)
      mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
    mg_response_header_send(conn);
    if (!head && !r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
  }

  Response route(const mg_request_info& request) {
    const std::string_view method = request.request_method;
    const std::string_view path = request.local_uri ? request.local_uri : "";
    if (method != "GET" && method != "HEAD") {
      Response r = text(405, "only GET and HEAD are served");
      r.headers.emplace_back("Allow", "GET, HEAD");
      return r;
    }
    if (path == "/metrics") return metrics();
    if (path == "/") return page("live.html");
    if (path == "/history") return page("history.html");
    if (path.starts_with("/static/")) return static_file(path.substr(8));
    if (path == "/cooks") return cooks();
    if (path == "/healthz") return health();
    if (path.starts_with("/api/")) return api(path, request.query_string);
    constexpr std::string_view prefix = "/cooks/", suffix = ".csv";
    if (path.starts_with(prefix) && path.ends_with(suffix) &&
        path.size() > prefix.size() + suffix.size())
      return cook_csv(path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()),
                      request.query_string);
    if (path.starts_with(prefix) && path.size() > prefix.size())
      return cook_page(path.substr(prefix.size()));
    return text(404, "not found; " + std::string(kEndpoints));
  }

  bool is_events(const mg_request_info& request) const {
    return std::string_view(request.local_uri ? request.local_uri : "") == "/events" &&
           std::strcmp(request.request_method, "GET") == 0;
  }

  // GET /events: Server-Sent Events from the hub, on this worker until the
  // client goes away, its send times out (civetweb's request_timeout_ms
  // bounds every write) or the server stops.
  int serve_events(mg_connection* conn) {
    if (!events_.join()) {
      Response busy = api_error(
          503, "too many /events clients (at most " + std::to_string(kMaxEventClients) + ")");
      busy.headers.emplace_back("Retry-After", "5");
      send(conn, busy, false);
      return 503;
    }
    mg_response_header_start(conn, 200);
    mg_response_header_add(conn, "Content-Type", "text/event-stream", -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
    mg_response_header_add(conn, "Connection", "close", -1);
    mg_response_header_send(conn);
    events_.stream([conn](std::string_view data) {
      return mg_write(conn, data.data(), data.size()) == static_cast<int>(data.size());
    });
    events_.leave();
    return 200;
  }

  Response api(std::string_view path, const char* query_string) {
    const std::string_view query = query_string ? query_string : "";
    try {
      if (path == "/api/devices") return api_devices(query);
      if (path == "/api/cooks") return api_cooks(query);
      constexpr std::string_view prefix = "/api/cooks/", suffix = "/series";
      if (path.starts_with(prefix) && path.ends_with(suffix) &&
          path.size() > prefix.size() + suffix.size())
        return api_series(path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()),
                          query);
      if (path.starts_with(prefix) && path.size() > prefix.size() &&
          path.find('/', prefix.size()) == std::string_view::npos)
        return api_cook(path.substr(prefix.size()), query);
      return api_error(404, "not found; " + std::string(kEndpoints));
    } catch (const api::ApiError& e) {
      return api_error(e.status, e.what());
    }
  }

  Response api_devices(std::string_view query) {
    if (!query.empty()) throw api::ApiError(400, "/api/devices takes no parameters");
    return with_reader([&](storage::CookReader& reader) {
      const storage::LatestState state = reader.latest_state();
      std::optional<CollectorStatus> live;
      if (options_.collector_state) live = options_.collector_state();
      return api_json(200, api::devices_json(state, live, now_ms(), options_.stale_after_s * 1000));
    });
  }

  Response api_cooks(std::string_view query) {
    const storage::CookQuery q = api::parse_cooks_query(query);
    return with_reader([&](storage::CookReader& reader) {
      const auto cooks = reader.query_cooks(q);
      if (!cooks) return api_error(404, "before: no such cook");
      return api_json(200, api::cooks_page_json(*cooks, now_ms(), options_.cook_gap_ms));
    });
  }

  Response api_cook(std::string_view id, std::string_view query) {
    if (!query.empty()) throw api::ApiError(400, "/api/cooks/{uuid} takes no parameters");
    if (!plausible_cook_id(id)) return api_error(404, "no such cook");
    return with_reader([&](storage::CookReader& reader) {
      const auto cook = reader.find_cook(id);
      if (!cook) return api_error(404, "no such cook");
      return api_json(200, cook_json(*cook, now_ms(), options_.cook_gap_ms) + "\n");
    });
  }

  Response api_series(std::string_view id, std::string_view query) {
    const api::SeriesOptions options = api::parse_series_query(query);
    if (!plausible_cook_id(id)) return api_error(404, "no such cook");
    return with_reader([&](storage::CookReader& reader) {
      const auto cook = reader.find_cook(id);
      if (!cook) return api_error(404, "no such cook");
      return api_json(200, api::series_json(reader, *cook, options));
    });
  }

  // Runs `body` with a pooled connection; a failure drops the connection.
  template <typename F>
  Response with_reader(F&& body) {
    auto lease = pool_.acquire();
    try {
      storage::CookReader reader(lease.db());
      return body(reader);
    } catch (...) {
      lease.mark_broken();
      throw;
    }
  }

  Response page(std::string_view name) {
    for (const WebAsset& asset : web_assets())
      if (asset.name == name) return page_file(name, asset.body);
    return text(404, "not found");  // a file missing from the build's table
  }

  // The cook page exists for the cooks that do: an unknown one is a 404
  // before any script runs.
  Response cook_page(std::string_view id) {
    if (!plausible_cook_id(id)) return text(404, "no such cook");
    return with_reader([&](storage::CookReader& reader) {
      return reader.find_cook(id) ? page("cook.html") : text(404, "no such cook");
    });
  }

  // /static/NAME: one of the page's files, or the chart library from its
  // Debian package (read once, then kept).
  Response static_file(std::string_view name) {
    for (std::string_view library_file : kChartLibraryFiles)
      if (name == library_file) return chart_library_file(library_file);
    for (const WebAsset& asset : web_assets())
      if (asset.name == name && !name.ends_with(".html")) return page_file(name, asset.body);
    return text(404, "not found");
  }

  Response chart_library_file(std::string_view name) {
    std::lock_guard lock(chart_library_mutex_);
    auto cached = chart_library_.find(std::string(name));
    if (cached == chart_library_.end()) {
      const std::string path = options_.chart_library_dir + "/" + std::string(name);
      std::ifstream in(path, std::ios::binary);
      if (!in)
        return text(404,
                    "the chart library is missing: " + path + " (install Debian's libjs-dygraphs)");
      std::ostringstream content;
      content << in.rdbuf();
      cached = chart_library_.emplace(std::string(name), std::move(content).str()).first;
    }
    return page_file(name, cached->second);
  }

  Response metrics() {
    return with_reader([&](storage::CookReader& reader) {
      Response r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = scrape_metrics(reader, now_ms(), {.stale_after_ms = options_.stale_after_s * 1000});
      return r;
    });
  }

  Response cooks() {
    return with_reader([&](storage::CookReader& reader) {
      return json(200, cooks_json(reader.list_cooks(), now_ms(), options_.cook_gap_ms));
    });
  }

  Response cook_csv(std::string_view id, const char* query) {
    std::optional<TemperatureUnit> unit;
    if (query && *query) {
      char value[8] = "";
      const std::size_t length = std::strlen(query);
      const int found = mg_get_var(query, length, "unit", value, sizeof value);
      const std::string_view v = found > 0 ? value : "";
      if (v == "C" || v == "c")
        unit = TemperatureUnit::Celsius;
      else if (v == "F" || v == "f")
        unit = TemperatureUnit::Fahrenheit;
      else if (found != -1)
        return text(400, "unit must be C or F");
    }
    if (!plausible_cook_id(id)) return text(404, "no such cook");
    return with_reader([&](storage::CookReader& reader) {
      const auto cook = reader.find_cook(id);
      if (!cook) return text(404, "no such cook");
      std::ostringstream csv;
      write_cook_csv(reader, *cook, unit, csv);
      Response r;
      r.content_type = "text/csv; charset=utf-8";
      r.body = std::move(csv).str();
      const std::string day = format_utc(cook->first_ms, UtcStyle::Millis).substr(0, 10);
      r.headers.emplace_back("Content-Disposition", "attachment; filename=\"thermomaven-" + day +
                                                        "-probe" + std::to_string(cook->probe) +
                                                        "-" + cook->cook_uuid + ".csv\"");
      return r;
    });
  }

  Response health() {
    try {
      return with_reader([&](storage::CookReader& reader) {
        std::optional<CollectorStatus> collector =
            options_.collector_state ? options_.collector_state() : reader.collector_status();
        std::string body = "{\"status\": \"ok\", \"database\": \"readable\", \"collector\": ";
        body += collector ? status_json(*collector) : "null";
        return json(200, body + "}\n");
      });
    } catch (const std::exception& e) {
      return json(503, "{\"status\": \"unavailable\", \"error\": " + json_quoted(e.what()) + "}\n");
    }
  }

  ServerOptions options_;
  ConnectionPool pool_;
  std::mutex chart_library_mutex_;
  std::map<std::string, std::string> chart_library_;  // file name -> content, once read
  EventHub events_;
  std::unique_ptr<BasicAuth> auth_;
  mg_context* context_ = nullptr;
  const bool tls_;
  std::unique_ptr<tls::TlsFront> front_;                       // with TLS
  std::atomic<const tls::TlsFront*> relaying_front_{nullptr};  // front_, for the workers
  int port_ = 0;
};

HttpServer::HttpServer(std::string db_path, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(db_path), std::move(options))) {}
HttpServer::~HttpServer() = default;
void HttpServer::start() { impl_->start(); }
void HttpServer::stop() { impl_->stop(); }
int HttpServer::port() const { return impl_->port(); }
std::string HttpServer::url() const { return impl_->url(); }

}  // namespace thermomaven::exporter
