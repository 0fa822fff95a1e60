// A file that lives only in memory (memfd_create), reachable by path through
// /proc/self/fd/N for libraries that want file names (Paho's SSL options).
// Nothing reaches a disk, other users cannot open it, and it vanishes with
// the descriptor, on every exit path, SIGKILL included.
#pragma once

#include <string>
#include <string_view>

namespace thermomaven::client {

class MemoryFile {
 public:
  MemoryFile(const char* name, std::string_view content);  // throws std::system_error
  ~MemoryFile();
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace thermomaven::client
