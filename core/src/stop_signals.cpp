// The one signal-waiting thread of core/stop_signals.hpp.
#include "thermomaven/core/stop_signals.hpp"

#include <pthread.h>

namespace thermomaven {

sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int wait_for_stop_signal() {
  const sigset_t set = block_stop_signals();
  int received = 0;
  while (sigwait(&set, &received) != 0) {
  }
  return received;
}

const char* stop_signal_name(int signal) {
  return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal";
}

StopSignalThread::StopSignalThread(std::function<void(int)> on_stop) {
  block_stop_signals();
  thread_ = std::thread([this, on_stop = std::move(on_stop)] {
    for (;;) {
      const int signal = wait_for_stop_signal();
      if (done_) return;
      on_stop(signal);
    }
  });
}

StopSignalThread::~StopSignalThread() {
  // Wake the thread with a signal of the set; done_ tells it to end.
  done_ = true;
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

}  // namespace thermomaven
