// collect and run: the live collector, alone or with the exporter.
#include <string>

#include "cli_args.hpp"
#include "commands.hpp"
#include "exporter_flags.hpp"
#include "live_config.hpp"
#include "thermomaven/client/config.hpp"
#include "thermomaven/client/http_client.hpp"
#include "thermomaven/collector/live_collector.hpp"
#include "thermomaven/core/log.hpp"
#include "thermomaven/core/stop_signals.hpp"
#include "thermomaven/exporter/http_server.hpp"

namespace thermomaven::app {
namespace {

// SIGINT and SIGTERM are blocked in every thread (Paho's and curl's inherit
// the mask: construct it before any starts) and taken by one thread that
// asks the collector to stop.
StopSignalThread stop_on_signal(collector::LiveCollector& collector) {
  return StopSignalThread([&collector](int signal) {
    log_info("collector", std::string(stop_signal_name(signal)) + ": stopping");
    collector.stop();
  });
}

int run_collector(const thermomaven::client::CollectorConfig& config) {
  thermomaven::set_log_level(config.log_level);
  thermomaven::client::http_global_init();
  thermomaven::collector::LiveCollector collector(config);
  const StopSignalThread stopper = stop_on_signal(collector);
  return collector.run();
}

}  // namespace

int collect_command(int argc, char** argv) {
  refuse_password_flag(argc, argv);
  CliArgs args(argc, argv, valued_flags({}), {});
  args.no_positional();
  return run_collector(load_config(args));
}

int run_command(int argc, char** argv) {
  refuse_password_flag(argc, argv);
  CliArgs args(argc, argv, valued_flags(kExporterFlags), {});
  args.no_positional();
  exporter::ServerOptions options = exporter_options(args);  // before connecting: fail fast
  const thermomaven::client::CollectorConfig config = load_config(args);
  thermomaven::set_log_level(config.log_level);
  thermomaven::client::http_global_init();
  thermomaven::collector::LiveCollector collector(
      config);  // creates and migrates the database first
  options.collector_state = [&collector]() -> std::optional<CollectorStatus> {
    return collector.live_status();
  };
  const StopSignalThread stopper =
      stop_on_signal(collector);  // before any thread starts: they inherit the mask
  exporter::HttpServer server(config.db_path, options);
  server.start();
  thermomaven::log_info("exporter", "serving metrics, cooks and CSV on " + server.url());
  const int code = collector.run();
  server.stop();
  return code;
}

}  // namespace thermomaven::app
