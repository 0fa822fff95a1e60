// The exporter's HTTP server on one port: the page (/, /history,
// /cooks/{uuid}) and its files, /metrics, /cooks, /cooks/{uuid}.csv,
// /healthz, the page API (/api/devices, /api/cooks, /api/cooks/{uuid},
// /api/cooks/{uuid}/series) and its live stream (/events), everything read
// from the database at request time (docs/exporter.md).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "thermomaven/core/records.hpp"
#include "thermomaven/exporter/web_config.hpp"
#include "thermomaven/storage/collector_status.hpp"

namespace thermomaven::exporter {

struct ServerOptions {
  // IPv4 HOST:PORT (Debian 12's civetweb has no IPv6). Port 0 picks a free
  // port (see port()).
  std::string listen = "127.0.0.1:9469";
  // See MetricsOptions::stale_after_ms; 0 turns staleness off.
  std::int64_t stale_after_s = 180;
  // When a cook without news counts as timed out in /cooks.
  std::int64_t cook_gap_ms = 30 * 60 * 1000;
  // Workers for requests; civetweb gets 64 more, one per /events stream
  // (at most 64), so that the streams never take these.
  int threads = 4;
  // Set by a process that also runs the collector: its live state for
  // /healthz, fresher than what it last wrote to the database.
  std::function<std::optional<CollectorStatus>()> collector_state;
  // Where the cook page's chart library (dygraphs 2.2.1, MIT) is read from:
  // Debian's libjs-dygraphs installs it here.
  std::string chart_library_dir = "/usr/share/javascript/dygraphs";
  // TLS and basic authentication (load_web_config). With users, every path
  // needs them, /healthz too; with TLS, plain HTTP is not answered.
  std::optional<WebConfig> web_config;
};

// Opens the database read-only, per worker thread, and never writes to it.
// Thread-safe; start() and stop() from the owning thread only.
class HttpServer {
 public:
  HttpServer(std::string db_path, ServerOptions options = {});
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens and serves on worker threads. Throws std::runtime_error with a
  // one-line reason when it cannot listen (bad address, port in use) or the
  // TLS certificate or key does not load.
  void start();
  // Finishes the requests in flight and closes the port.
  void stop();

  // The port listened on, once started.
  int port() const;
  // http://HOST:PORT (https:// with TLS), once started.
  std::string url() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace thermomaven::exporter
