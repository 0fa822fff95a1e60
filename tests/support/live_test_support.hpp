// Real processes, files and certificates for the live collector's tests:
// temp dirs, child processes (the real thermomaven and thermomaven-sim
// binaries), keystores made with the openssl CLI.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

extern char** environ;

namespace live_test {

namespace fs = std::filesystem;

using tm_test::read_file;
using tm_test::TempDir;

inline void write_private_file(const std::string& path, const std::string& content) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) throw std::runtime_error("cannot write " + path);
  }
  ::chmod(path.c_str(), 0600);
}

// A child process with its stdout+stderr in a file and extra environment
// variables; SIGTERM (then SIGKILL after 10 s) and reaped when it goes away.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
               const std::map<std::string, std::string>& env = {})
      : log_path_(log_path) {
    std::vector<std::string> env_text;
    for (char** e = environ; *e; ++e) {
      const std::string entry = *e;
      const std::string name = entry.substr(0, entry.find('='));
      if (name.rfind("THERMOMAVEN_", 0) == 0 || env.count(name)) continue;
      env_text.push_back(entry);
    }
    for (const auto& [name, value] : env) env_text.push_back(name + "=" + value);
    std::vector<char*> envp, args;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (auto& a : argv_copy) args.push_back(a.data());
    args.push_back(nullptr);
    const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || null_fd < 0) throw std::runtime_error("cannot open " + log_path);
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
      // Only async-signal-safe calls until exec. The child dies with the test
      // process, even when that one is killed and cannot clean up.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(null_fd, 0);
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
      ::execve(args[0], args.data(), envp.data());
      ::_exit(127);
    }
    ::close(log_fd);
    ::close(null_fd);
    if (pid < 0) throw std::runtime_error("cannot start " + argv[0]);
    pid_ = pid;
  }
  ~ChildProcess() { stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Exit status (128+signal when killed), or -1 while running.
  int poll() {
    if (pid_ <= 0) return status_;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return pid_ > 0 ? -1 : status_;
  }

  int wait_exit(double seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (poll() < 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return poll();
  }

  int signal_and_wait(int signal, double seconds = 10) {
    if (pid_ <= 0) return status_;
    ::kill(pid_, signal);
    if (wait_exit(seconds) < 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = 0;
      status_ = 137;
    }
    return status_;
  }
  int stop() { return signal_and_wait(SIGTERM); }

  std::string log() const {
    try {
      return read_file(log_path_);
    } catch (const std::exception&) {
      return {};
    }
  }

 private:
  pid_t pid_ = 0;
  int status_ = -1;
  std::string log_path_;
};

// Runs a command to its end; its stdout+stderr in `output`.
inline int run(const std::vector<std::string>& argv, std::string& output,
               const std::map<std::string, std::string>& env = {}) {
  char log[] = "/tmp/tm-live-run-XXXXXX";
  const int fd = mkstemp(log);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  int status;
  {
    ChildProcess child(argv, log, env);
    status = child.wait_exit(120);
  }
  output = read_file(log);
  ::unlink(log);
  return status;
}

using tm_test::wait_until;

inline void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string output;
  if (run(argv, output) != 0) throw std::runtime_error("openssl failed: " + output);
}

// dir/ca.pem, dir/ca.key, dir/client.pem, dir/client.key: a CA and a client
// certificate valid for 30 days with the CN of a cloud client id.
inline void make_test_pki(const std::string& dir) {
  openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/ca.key", "-out",
           dir + "/ca.pem", "-days", "30", "-subj", "/CN=Test CA"});
  openssl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/client.key", "-out",
           dir + "/client.csr", "-subj", "/CN=android-42-US-0123456789abcdef0123456789abcdef"});
  openssl({"x509", "-req", "-in", dir + "/client.csr", "-CA", dir + "/ca.pem", "-CAkey",
           dir + "/ca.key", "-CAcreateserial", "-out", dir + "/client.pem", "-days", "30"});
}

inline void make_p12(const std::string& dir, const std::string& out, const std::string& password,
                     bool legacy, bool with_ca) {
  std::vector<std::string> args = {"pkcs12",   "-export",           "-in",  dir + "/client.pem",
                                   "-inkey",   dir + "/client.key", "-out", out,
                                   "-passout", "pass:" + password};
  if (with_ca) args.insert(args.end(), {"-certfile", dir + "/ca.pem"});
  if (legacy) args.push_back("-legacy");
  openssl(args);
}

}  // namespace live_test
