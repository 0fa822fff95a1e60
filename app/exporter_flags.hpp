// The exporter's flags, shared by `serve` and `run`: where it listens and
// its web configuration file (TLS, basic authentication).
#pragma once

#include <set>
#include <string>

#include "cli_args.hpp"
#include "thermomaven/exporter/http_server.hpp"

namespace thermomaven::app {

// --listen (alias --web.listen-address, the name Prometheus exporters use)
// and --web.config.file (or THERMOMAVEN_WEB_CONFIG_FILE).
inline const std::set<std::string> kExporterFlags = {"--listen", "--web.listen-address",
                                                     "--web.config.file"};

// Throws UsageError for a bad address or web configuration file.
exporter::ServerOptions exporter_options(const CliArgs& args);

}  // namespace thermomaven::app
