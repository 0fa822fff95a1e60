// serve: the exporter's HTTP server over a database another process writes.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <string>

#include "cli_args.hpp"
#include "commands.hpp"
#include "thermomaven/exporter/http_server.hpp"
#include "thermomaven/storage/database.hpp"

namespace thermomaven::app {
namespace {

std::int64_t parse_seconds(const std::string& text, const std::string& flag) {
  try {
    std::size_t used = 0;
    const long long seconds = std::stoll(text, &used);
    if (used == text.size() && seconds >= 0) return seconds;
  } catch (const std::exception&) {
  }
  throw UsageError(flag + " must be a number of seconds (0 = never), not '" + text + "'");
}

}  // namespace

int serve_command(int argc, char** argv) {
  CliArgs args(argc, argv, {"--db", "--listen", "--stale-after"}, {});
  const auto db_path = args.get("--db");
  if (!db_path || db_path->empty()) throw UsageError("--db is required");
  exporter::ServerOptions options;
  options.listen = args.get_or("--listen", options.listen);
  options.stale_after_s = parse_seconds(args.get_or("--stale-after", "180"), "--stale-after");
  if (options.listen.rfind(':') == std::string::npos)
    throw UsageError("--listen must be HOST:PORT, not '" + options.listen + "'");

  // Fail early on a typo in the path; a database that becomes unreadable
  // later only turns /healthz to 503.
  struct stat info {};
  if (stat(db_path->c_str(), &info) != 0) {
    std::fprintf(stderr,
                 "serve: error: no database at %s (create it with thermomaven collect or import)\n",
                 db_path->c_str());
    return 2;
  }
  storage::Database(*db_path, storage::OpenMode::ReadOnly);  // throws a clear error if not ours

  // Block the stop signals before civetweb starts its threads, so that they
  // inherit the mask and only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  exporter::HttpServer server(*db_path, options);
  server.start();
  std::fprintf(stderr, "serve: listening on %s (metrics at %s/metrics)\n", server.url().c_str(),
               server.url().c_str());
  int received = 0;
  sigwait(&stop_signals, &received);
  std::fprintf(stderr, "serve: stopping (signal %d)\n", received);
  server.stop();
  return 0;
}

}  // namespace thermomaven::app
