// SIGINT and SIGTERM as an ordinary event: the programs (the logger, serve,
// doctor, the simulator) run threads of their own and of Paho, curl and
// civetweb, and a signal must reach one known thread, not interrupt any.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace thermomaven {

// Blocks SIGINT and SIGTERM in the calling thread, so that every thread
// started after it inherits the mask. Call it first in main(), before any
// library starts a thread; returns the blocked set.
sigset_t block_stop_signals();

// Waits in the calling thread for SIGINT or SIGTERM (block_stop_signals()
// first) and returns the signal number.
int wait_for_stop_signal();

// The name a log line gives a stop signal: "SIGINT", "SIGTERM".
const char* stop_signal_name(int signal);

// One thread that waits for SIGINT or SIGTERM and calls `on_stop` with the
// signal number, for each one received, until this object is destroyed.
// Blocks the signals itself (in the constructing thread, so threads started
// afterwards inherit the mask).
class StopSignalThread {
 public:
  explicit StopSignalThread(std::function<void(int signal)> on_stop);
  ~StopSignalThread();
  StopSignalThread(const StopSignalThread&) = delete;
  StopSignalThread& operator=(const StopSignalThread&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace thermomaven
