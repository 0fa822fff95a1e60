// The collector's private state directory (0700): the installation id behind
// x-deviceSn and the login session (token, user id, temperature unit), so a
// restart reuses the token instead of logging in again. Files are 0600 and
// replaced atomically (write a temporary file, fsync, rename).
//
// It also decides which process holds the account's cloud session: the
// cloud hands out one MQTT clientId per installation (per state directory),
// and two connections with one clientId knock each other off. The process
// that holds the exclusive flock on `lock` in the directory is the one that
// may connect; the kernel releases it when that process ends, however.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "thermomaven/core/records.hpp"

namespace thermomaven::client {

struct StoredSession {
  std::string email;  // the account the token belongs to
  std::string token;  // secret
  std::string user_id;
  TemperatureUnit unit = TemperatureUnit::Fahrenheit;
};

class StateDir {
 public:
  // Creates the directory (and parents) if needed and makes it 0700.
  // Throws std::runtime_error when that is impossible.
  explicit StateDir(std::string path);

  const std::string& path() const { return path_; }

  // 32 lowercase hex, stable for this directory: md5 of a random id kept in it.
  std::string device_sn();

  std::optional<StoredSession> load_session() const;
  void save_session(const StoredSession& session);
  void clear_session();

  // Writes `name` in the directory atomically with mode 0600.
  void write_private_file(const std::string& name, const std::string& content);

 private:
  std::string path_;
};

// Who holds a state directory's session lock: its pid and its role, as it
// wrote them in the lock file ("logger" for run/collect, "command").
struct LockHolder {
  long pid = 0;
  std::string role;
  bool is_logger() const { return role == "logger"; }
  std::string describe() const;  // "a running logger (pid 123)"
};

// Another process holds the lock.
class SessionLockBusy : public std::runtime_error {
 public:
  SessionLockBusy(const std::string& what, LockHolder holder)
      : std::runtime_error(what), holder(std::move(holder)) {}
  LockHolder holder;
};

// The exclusive flock on `<state dir>/lock`, held for this object's life.
class SessionLock {
 public:
  // Takes it without waiting and writes "pid role" into the file. Throws
  // SessionLockBusy when another process holds it, std::runtime_error when
  // the file cannot be opened. The directory must exist (StateDir).
  SessionLock(const std::string& state_dir, const std::string& role);
  ~SessionLock();
  SessionLock(const SessionLock&) = delete;
  SessionLock& operator=(const SessionLock&) = delete;

 private:
  int fd_ = -1;
};

// The holder of the lock right now; nullopt when nobody holds it (or there
// is no lock file). Never takes the lock for longer than the check.
std::optional<LockHolder> session_lock_holder(const std::string& state_dir);

}  // namespace thermomaven::client
