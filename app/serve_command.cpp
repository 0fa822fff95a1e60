// serve: the exporter's HTTP server over a database another process writes;
// hash-password: a bcrypt hash for its web configuration file.
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "cli_args.hpp"
#include "commands.hpp"
#include "exporter_flags.hpp"
#include "thermomaven/core/stop_signals.hpp"
#include "thermomaven/exporter/http_server.hpp"
#include "thermomaven/exporter/web_config.hpp"
#include "thermomaven/storage/database.hpp"

namespace thermomaven::app {
namespace {

// --stale-after: 0 (never) up to a year.
constexpr std::int64_t kMaxStaleAfterS = 365 * 24 * 3600;

// The line typed, without echoing it when it comes from a terminal.
std::string read_password() {
  termios saved{};
  const bool terminal = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (terminal) {
    std::fprintf(stderr, "password: ");
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string password;
  std::getline(std::cin, password);
  if (terminal) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fprintf(stderr, "\n");
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  return password;
}

}  // namespace

exporter::ServerOptions exporter_options(const CliArgs& args) {
  exporter::ServerOptions options;
  if (args.get("--listen") && args.get("--web.listen-address"))
    throw UsageError("--listen and --web.listen-address are the same flag; give one");
  options.listen =
      args.get("--web.listen-address").value_or(args.get_or("--listen", options.listen));
  if (options.listen.rfind(':') == std::string::npos)
    throw UsageError("--listen must be HOST:PORT, not '" + options.listen + "'");
  std::optional<std::string> web_config = args.get("--web.config.file");
  if (const char* env = std::getenv("THERMOMAVEN_WEB_CONFIG_FILE"); !web_config && env && *env)
    web_config = env;
  // Its errors name the file and line; they are not usage errors.
  if (web_config) options.web_config = exporter::load_web_config(*web_config);
  return options;
}

int serve_command(int argc, char** argv) {
  std::set<std::string> flags = kExporterFlags;
  flags.insert({"--db", "--stale-after"});
  CliArgs args(argc, argv, flags, {});
  const std::string db_path = args.required("--db");
  exporter::ServerOptions options = exporter_options(args);
  options.stale_after_s =
      args.seconds("--stale-after", std::chrono::seconds(180), 0, kMaxStaleAfterS).count();

  // Fail early on a typo in the path; a database that becomes unreadable
  // later only turns /healthz to 503.
  struct stat info {};
  if (stat(db_path.c_str(), &info) != 0) {
    std::fprintf(stderr,
                 "serve: error: no database at %s (create it with thermomaven collect or import)\n",
                 db_path.c_str());
    return 2;
  }
  storage::Database(db_path, storage::OpenMode::ReadOnly);  // throws a clear error if not ours

  // Block the stop signals before civetweb starts its threads, so that they
  // inherit the mask and only wait_for_stop_signal below sees them.
  block_stop_signals();

  exporter::HttpServer server(db_path, options);
  server.start();
  const bool tls = options.web_config && options.web_config->tls;
  const bool auth = options.web_config && !options.web_config->basic_auth_users.empty();
  const char* security = tls && auth ? " (TLS, basic authentication)"
                         : tls       ? " (TLS, no authentication)"
                         : auth      ? " (basic authentication without TLS)"
                                     : "";
  std::fprintf(stderr, "serve: listening on %s%s (the page at %s/, metrics at %s/metrics)\n",
               server.url().c_str(), security, server.url().c_str(), server.url().c_str());
  const int received = wait_for_stop_signal();
  std::fprintf(stderr, "serve: stopping (signal %d)\n", received);
  server.stop();
  return 0;
}

int hash_password_command(int argc, char** argv) {
  CliArgs args(argc, argv, {"--cost"}, {});
  if (!args.positional().empty()) throw UsageError("the password is read from standard input");
  const int cost = static_cast<int>(args.integer("--cost", 10, 4, 31));
  std::string password = read_password();
  if (password.empty()) throw UsageError("empty password (type it on standard input)");
  std::printf("%s\n", exporter::bcrypt_hash(password, cost).c_str());
  return 0;
}

}  // namespace thermomaven::app
