#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

#include "cli_args.hpp"
#include "commands.hpp"

namespace {

struct Subcommand {
  const char* name;
  int (*run)(int argc, char** argv);
  const char* summary;
};

constexpr Subcommand kSubcommands[] = {
    {"import", thermomaven::app::import_command,
     "--db FILE [--source-unit F|C] [--strict] CAPTURE...   store a JSON Lines capture"},
    {"cooks", thermomaven::app::cooks_command, "--db FILE [--json]   list cooking sessions"},
    {"export", thermomaven::app::export_command,
     "--db FILE --cook UUID|latest [--unit C|F] [-o FILE]   one cook as CSV"},
    {"collect", thermomaven::app::collect_command,
     "[--config FILE] [--email E] [--password-file F] [--region R] [--api-url URL]\n"
     "           [--mqtt-endpoint HOST[:PORT]] [--ca-file PEM] [--state-dir DIR] [--db FILE]\n"
     "           [--log-level debug|info|warn|error]   log the account's thermometers live"},
    {"run", thermomaven::app::run_command,
     "[collect's options] [--listen HOST:PORT] [--web.config.file FILE]\n"
     "           collector and exporter in one process"},
    {"doctor", thermomaven::app::doctor_command,
     "[collect's options] [--wait SECONDS]   check every step of the live path, say what\n"
     "           fails and how to fix it; exit 0 only when all passed. Beside a running\n"
     "           logger (same --state-dir): its live state, without a login of its own"},
    {"command", thermomaven::app::command_command,
     "[collect's options] --device ID|NAME [--probe N] [--timeout S] ACTION\n"
     "           ACTION: set-target TEMP[C|F] | stop | finish | rest (with --probe),\n"
     "           volume high|medium|quiet; waits for the device's receipt; exit 0 done,\n"
     "           1 refused, 2 not sent (no running cook, no report yet, ...), 3 no receipt,\n"
     "           4 acknowledged but the cook did not end (take the probe out of the food),\n"
     "           5 acknowledged, unverified. --list [--db FILE]: the audit trail.\n"
     "           Beside a running logger (same --state-dir): sent through it"},
    {"serve", thermomaven::app::serve_command,
     "--db FILE [--listen HOST:PORT] [--stale-after SECONDS] [--web.config.file FILE]\n"
     "           metrics, cooks and CSV over HTTP(S); FILE: TLS and basic auth"},
    {"hash-password", thermomaven::app::hash_password_command,
     "[--cost 4..31]   bcrypt hash of the password on stdin, for basic_auth_users"},
};

void usage(std::FILE* to) {
  std::fprintf(to, "usage: thermomaven COMMAND [OPTIONS]\n\ncommands:\n");
  for (const Subcommand& s : kSubcommands) std::fprintf(to, "  %-8s %s\n", s.name, s.summary);
}

}  // namespace

int main(int argc, char** argv) {
  // The exporter keeps a civetweb worker per /events stream (up to 64 more
  // threads), and glibc gives each thread that allocates a malloc arena of
  // its own: ~0.5 MB resident each. Two arenas hold `thermomaven run` near
  // 35 MB under a flood of reports instead of 68 MB (network_flood_test).
  mallopt(M_ARENA_MAX, 2);
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const Subcommand& s : kSubcommands) {
    if (std::string_view(argv[1]) != s.name) continue;
    for (int i = 2; i < argc; ++i) {
      if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
        std::printf("usage: thermomaven %s %s\n", s.name, s.summary);
        return 0;
      }
    }
    try {
      return s.run(argc - 2, argv + 2);
    } catch (const thermomaven::app::UsageError& e) {
      std::fprintf(stderr, "thermomaven %s: %s\nusage: thermomaven %s %s\n", s.name, e.what(),
                   s.name, s.summary);
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "thermomaven %s: error: %s\n", s.name, e.what());
      return 2;
    }
  }
  std::fprintf(stderr, "thermomaven: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
