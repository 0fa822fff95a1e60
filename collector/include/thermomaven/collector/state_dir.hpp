// The collector's private state directory (0700): the installation id behind
// x-deviceSn and the login session (token, user id, temperature unit), so a
// restart reuses the token instead of logging in again. Files are 0600 and
// replaced atomically (write a temporary file, fsync, rename).
#pragma once

#include <optional>
#include <string>

#include "thermomaven/storage/records.hpp"

namespace thermomaven::collector {

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

}  // namespace thermomaven::collector
