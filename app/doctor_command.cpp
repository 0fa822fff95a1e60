// doctor: the client library's doctor (thermomaven/doctor.hpp) with the
// configuration `collect` would use, or, beside a running logger, its live
// state (collector/running_logger.hpp). This file reads the flags, keeps the
// temporary state directory, prints each step's result as it comes and maps
// the results to the exit code. See docs/collector.md.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_args.hpp"
#include "commands.hpp"
#include "live_config.hpp"
#include "logger_link.hpp"
#include "thermomaven/client/http_client.hpp"
#include "thermomaven/collector/running_logger.hpp"
#include "thermomaven/core/log.hpp"
#include "thermomaven/core/stop_signals.hpp"
#include "thermomaven/core/time.hpp"
#include "thermomaven/doctor.hpp"

namespace thermomaven::app {
namespace {

namespace cl = thermomaven::client;

// One line per result: "ok   step: detail", "warn step: detail", "FAIL step:
// detail — fix" with a "why  reason" line per likely reason, and the
// skipped steps gathered in one "skip a, b: why" line. Never a secret.
class StepPrinter {
 public:
  void operator()(const cl::StepResult& r) {
    if (r.status == cl::StepStatus::Skipped) {
      if (!skipped_.empty() && r.detail != skip_detail_) finish();
      skipped_ += (skipped_.empty() ? "" : ", ") + r.step;
      skip_detail_ = r.detail;
      return;
    }
    finish();
    switch (r.status) {
      case cl::StepStatus::Passed:
        line("ok  ", r.step, r.detail);
        break;
      case cl::StepStatus::Warning:
        line("warn", r.step, r.detail);
        break;
      case cl::StepStatus::Failed:
        line("FAIL", r.step, r.detail + (r.advice.empty() ? "" : " — " + r.advice));
        break;
      case cl::StepStatus::Skipped:
        break;
    }
    for (const std::string& reason : r.reasons) std::printf("why  %s\n", reason.c_str());
    std::fflush(stdout);
  }
  // Prints the skipped steps gathered so far.
  void finish() {
    if (skipped_.empty()) return;
    std::printf("skip %s: %s\n", skipped_.c_str(), skip_detail_.c_str());
    std::fflush(stdout);
    skipped_.clear();
  }

 private:
  static void line(const char* mark, const std::string& step, const std::string& detail) {
    std::printf("%s %s: %s\n", mark, step.c_str(), detail.c_str());
  }
  std::string skipped_, skip_detail_;
};

int print_results(const std::vector<cl::StepResult>& results) {
  StepPrinter print;
  for (const cl::StepResult& r : results) print(r);
  print.finish();
  return cl::doctor_passed(results) ? 0 : 1;
}

class TemporaryDir {
 public:
  TemporaryDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/thermomaven-doctor-XXXXXX";
    if (!::mkdtemp(pattern.data()))
      throw std::runtime_error("cannot create a temporary state directory in " + pattern);
    path_ = pattern;  // mkdtemp makes it 0700
  }
  ~TemporaryDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// SIGINT and SIGTERM end doctor, but only after the temporary state
// directory is gone: it holds a session token. Constructed before any
// thread starts (curl's and Paho's inherit the signal mask).
StopSignalThread remove_on_interrupt(const std::string& path) {
  return StopSignalThread([path](int signal) {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
    std::fprintf(stderr, "thermomaven doctor: interrupted\n");
    std::_Exit(128 + signal);
  });
}

// The steps with a session of doctor's own, printed as they finish.
int run_standalone(const thermomaven::client::CollectorConfig& config, int wait_s) {
  thermomaven::client::http_global_init();
  TemporaryDir state;
  const StopSignalThread cleanup = remove_on_interrupt(state.path());
  // A state directory of its own: doctor always logs in afresh, since a
  // stored token would hide a wrong password.
  cl::Account account = cl::account_from_config(config);
  account.state_dir = state.path();
  cl::DoctorOptions options;
  options.wait_s = wait_s;
  StepPrinter print;
  const auto results = cl::run_doctor(account, options, [&](const cl::StepResult& r) { print(r); });
  print.finish();
  return cl::doctor_passed(results) ? 0 : 1;
}

}  // namespace

int doctor_command(int argc, char** argv) {
  refuse_password_flag(argc, argv);
  CliArgs args(argc, argv, valued_flags({"--wait"}), {});
  args.no_positional();
  const int wait_s =
      static_cast<int>(args.seconds("--wait", std::chrono::seconds(60), 1, 3600).count());
  // Beside a running logger: its live state; a session of doctor's own would
  // compete with it for the account.
  const std::string state_dir = state_dir_of(args);
  if (auto logger = collector::find_running_logger(state_dir)) {
    const int code =
        print_results(collector::logger_doctor_results(logger->status(), state_dir, now_ms()));
    print_second_account_advice();
    return code;
  }
  const thermomaven::client::CollectorConfig config = load_config(args);
  // The library's own log lines would interleave with the steps; they show
  // with an explicit --log-level (or THERMOMAVEN_LOG_LEVEL).
  const bool log_level_given = args.get("--log-level") || std::getenv("THERMOMAVEN_LOG_LEVEL");
  thermomaven::set_log_level(log_level_given ? config.log_level : thermomaven::LogLevel::Error);
  const int code = run_standalone(config, wait_s);
  print_second_account_advice();
  return code;
}

}  // namespace thermomaven::app
