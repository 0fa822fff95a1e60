// Prints every status report of every device of the account as one line.
//
//   export THERMOMAVEN_EMAIL=me@example.com THERMOMAVEN_PASSWORD_FILE=~/.tm-password
//   build/examples/print_reports
#include <cstdio>
#include <thermomaven/client.hpp>

namespace {

std::string degrees(std::optional<std::int32_t> tenths, thermomaven::TemperatureUnit unit) {
  if (!tenths) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%c", *tenths / 10.0, thermomaven::unit_letter(unit));
  return text;
}

}  // namespace

int main() try {
  thermomaven::client::Cloud cloud(thermomaven::client::account_from_environment());
  thermomaven::client::Session session(cloud);
  session.on_status_report([](const thermomaven::StatusReport& report) {
    std::string line = std::to_string(report.time_ms) + " " + report.model + " " + report.device_id;
    for (const thermomaven::ProbeSample& probe : report.probes)
      line += " | probe" + std::to_string(probe.probe) + " " + probe.state + " " +
              degrees(probe.temperature, report.unit) + " -> " + degrees(probe.target, report.unit);
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  return session.run();  // until the process is interrupted
} catch (const std::exception& e) {
  std::fprintf(stderr, "print_reports: %s\n", e.what());
  return 2;
}
