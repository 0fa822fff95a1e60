// Runs the session in the background and says when a probe's food gets
// within 5 °C of its target (once per cook), whatever unit the account uses.
// Stops cleanly on Ctrl-C or SIGTERM.
#include <signal.h>

#include <cstdio>
#include <set>
#include <thermomaven/client.hpp>

int main() try {
  // Block the stop signals before the session's threads start: they inherit
  // the mask, and this thread takes the signal with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  thermomaven::client::Cloud cloud(thermomaven::client::account_from_environment());
  thermomaven::client::Session session(cloud);
  std::set<std::string> alerted;  // cookUuid; the callback runs on one thread at a time
  session.on_status_report([&](const thermomaven::StatusReport& report) {
    for (const thermomaven::ProbeSample& probe : report.probes) {
      if (!probe.temperature || !probe.target || probe.cook_uuid.empty()) continue;
      const double food_c = thermomaven::to_celsius(*probe.temperature, report.unit);
      const double target_c = thermomaven::to_celsius(*probe.target, report.unit);
      if (target_c - food_c > 5.0 || !alerted.insert(probe.cook_uuid).second) continue;
      std::printf("%s probe %d: %.1f°%c, target %.1f°%c (%.1f °C to go)\n",
                  report.device_id.c_str(), probe.probe, *probe.temperature / 10.0,
                  thermomaven::unit_letter(report.unit), *probe.target / 10.0,
                  thermomaven::unit_letter(report.unit), target_c - food_c);
      std::fflush(stdout);
    }
  });
  session.start();
  int signal = 0;
  sigwait(&stop_signals, &signal);
  session.stop();
  return session.wait();
} catch (const std::exception& e) {
  std::fprintf(stderr, "target_alert: %s\n", e.what());
  return 2;
}
