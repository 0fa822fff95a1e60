// collect and run: the live collector, alone or with the exporter.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "cli_args.hpp"
#include "commands.hpp"
#include "exporter_flags.hpp"
#include "live_config.hpp"
#include "thermomaven/client/config.hpp"
#include "thermomaven/client/http_client.hpp"
#include "thermomaven/collector/live_collector.hpp"
#include "thermomaven/core/log.hpp"
#include "thermomaven/exporter/http_server.hpp"

namespace thermomaven::app {
namespace {


// SIGINT and SIGTERM are blocked in every thread (Paho's and curl's inherit
// the mask) and taken by one thread that asks the collector to stop.
class SignalStopper {
 public:
  explicit SignalStopper(thermomaven::collector::LiveCollector& collector) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this, &collector] {
      for (;;) {
        int signal = 0;
        if (sigwait(&set_, &signal) != 0) continue;
        if (done_) return;
        thermomaven::log_info("collector", signal == SIGINT ? "SIGINT: stopping" : "SIGTERM: stopping");
        collector.stop();
      }
    });
  }
  ~SignalStopper() {
    done_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

int run_collector(const thermomaven::client::CollectorConfig& config) {
  thermomaven::set_log_level(config.log_level);
  thermomaven::client::http_global_init();
  thermomaven::collector::LiveCollector collector(config);
  SignalStopper stopper(collector);
  return collector.run();
}

}  // namespace

int collect_command(int argc, char** argv) {
  refuse_password_flag(argc, argv);
  CliArgs args(argc, argv, valued_flags({}), {});
  if (!args.positional().empty()) throw UsageError("unexpected argument " + args.positional()[0]);
  return run_collector(load_config(args));
}

int run_command(int argc, char** argv) {
  refuse_password_flag(argc, argv);
  CliArgs args(argc, argv, valued_flags(kExporterFlags), {});
  if (!args.positional().empty()) throw UsageError("unexpected argument " + args.positional()[0]);
  exporter::ServerOptions options = exporter_options(args);  // before connecting: fail fast
  const thermomaven::client::CollectorConfig config = load_config(args);
  thermomaven::set_log_level(config.log_level);
  thermomaven::client::http_global_init();
  thermomaven::collector::LiveCollector collector(config);  // creates and migrates the database first
  options.collector_state = [&collector]() -> std::optional<CollectorStatus> {
    return collector.live_status();
  };
  SignalStopper stopper(collector);  // before any thread starts: they inherit the mask
  exporter::HttpServer server(config.db_path, options);
  server.start();
  thermomaven::log_info("exporter", "serving metrics, cooks and CSV on " + server.url());
  const int code = collector.run();
  server.stop();
  return code;
}

}  // namespace thermomaven::app
