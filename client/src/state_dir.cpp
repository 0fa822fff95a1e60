#include "thermomaven/client/state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "thermomaven/core/log.hpp"
#include "thermomaven/client/signing.hpp"

namespace thermomaven::client {
namespace {

constexpr const char* kSessionFile = "session";
constexpr const char* kInstallIdFile = "install-id";
constexpr const char* kLockFile = "lock";

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool is_hex32(const std::string& text) {
  return text.size() == 32 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

// The directory holds the session token: it must be ours and private. One
// owned by another user is refused (someone else could read or swap our
// secrets); one of ours with a looser mode is tightened to 0700, with a
// warning, since only its mode is wrong.
StateDir::StateDir(std::string path) : path_(std::move(path)) {
  std::error_code ec;
  const bool created = std::filesystem::create_directories(path_, ec);
  if (ec) throw std::runtime_error("cannot create state directory " + path_ + ": " + ec.message());
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) fail("cannot read state directory " + path_);
  if (!S_ISDIR(st.st_mode))
    throw std::runtime_error("state directory " + path_ + " is not a directory");
  if (st.st_uid != ::geteuid())
    throw std::runtime_error("state directory " + path_ + " is owned by uid " +
                             std::to_string(st.st_uid) + ", not by this user (uid " +
                             std::to_string(::geteuid()) +
                             "); refusing to keep the session in it: chown it or use another "
                             "--state-dir");
  const mode_t mode = st.st_mode & 07777;
  if (mode == 0700) return;
  if (::chmod(path_.c_str(), 0700) != 0) fail("cannot make state directory " + path_ + " private");
  if (created) return;  // new, with the umask's mode: nothing was ever in it
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
  log_warn("state", "state directory " + path_ + " had mode " + text +
                        "; made it 0700 (it holds the session token)");
}

void StateDir::write_private_file(const std::string& name, const std::string& content) {
  const std::string final_path = path_ + "/" + name;
  const std::string temp_path = final_path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot write " + temp_path);
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      ::unlink(temp_path.c_str());
      errno = saved;
      fail("cannot write " + temp_path);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
    const int saved = errno;
    ::close(fd);
    ::unlink(temp_path.c_str());
    errno = saved;
    fail("cannot write " + temp_path);
  }
  ::close(fd);
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp_path.c_str());
    errno = saved;
    fail("cannot replace " + final_path);
  }
}

std::string StateDir::device_sn() {
  const std::string path = path_ + "/" + kInstallIdFile;
  if (auto text = read_small_file(path)) {
    while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
    if (is_hex32(*text)) return md5_hex(*text);
  }
  const std::string id = random_hex(16);
  write_private_file(kInstallIdFile, id + "\n");
  return md5_hex(id);
}

std::optional<StoredSession> StateDir::load_session() const {
  auto text = read_small_file(path_ + "/" + kSessionFile);
  if (!text) return std::nullopt;
  StoredSession session;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "email")
      session.email = value;
    else if (key == "token")
      session.token = value;
    else if (key == "user_id")
      session.user_id = value;
    else if (key == "unit")
      session.unit = value == "C" ? TemperatureUnit::Celsius : TemperatureUnit::Fahrenheit;
  }
  if (session.token.empty() || session.user_id.empty()) return std::nullopt;
  return session;
}

void StateDir::save_session(const StoredSession& session) {
  for (const std::string* field : {&session.email, &session.token, &session.user_id})
    if (field->find('\n') != std::string::npos)
      throw std::runtime_error("refusing to store a session field with a newline");
  write_private_file(kSessionFile, "email=" + session.email + "\ntoken=" + session.token +
                                       "\nuser_id=" + session.user_id +
                                       "\nunit=" + unit_letter(session.unit) + "\n");
}

void StateDir::clear_session() { ::unlink((path_ + "/" + kSessionFile).c_str()); }

namespace {

// "pid role\n" as the holder wrote it; a half-written or foreign file reads
// as pid 0.
LockHolder read_holder(int fd) {
  char text[128] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  LockHolder holder;
  if (n <= 0) return holder;
  std::istringstream in(std::string(text, static_cast<std::size_t>(n)));
  in >> holder.pid >> holder.role;
  if (!in) holder = {};
  return holder;
}

}  // namespace

std::string LockHolder::describe() const {
  const std::string who = is_logger()         ? "a running logger (run or collect)"
                          : role == "command" ? "a running `thermomaven command`"
                          : role.empty()      ? "another thermomaven process"
                                              : "thermomaven " + role;
  return who + (pid > 0 ? " (pid " + std::to_string(pid) + ")" : "");
}

SessionLock::SessionLock(const std::string& state_dir, const std::string& role) {
  const std::string path = state_dir + "/" + kLockFile;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) fail("cannot open the session lock " + path);
  // A reader's check (session_lock_holder) holds it shared for a moment and
  // names nobody: that is worth a few more tries, a holder is not.
  int tries = 0;
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int saved = errno;
    LockHolder holder = read_holder(fd_);
    if (saved == EWOULDBLOCK && holder.pid == 0 && ++tries < 50) {
      ::usleep(20000);
      continue;
    }
    ::close(fd_);
    fd_ = -1;
    errno = saved;
    if (saved != EWOULDBLOCK) fail("cannot lock " + path);
    // Worded before the holder is moved into the exception.
    const std::string what =
        holder.describe() + " holds the cloud session of state directory " + state_dir;
    throw SessionLockBusy(what, std::move(holder));
  }
  const std::string text = std::to_string(::getpid()) + " " + role + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) < 0)
    log_warn("state", "cannot write the holder into " + path + ": " + std::strerror(errno));
}

SessionLock::~SessionLock() {
  if (fd_ < 0) return;
  // Emptied first, so that a reader never names a process that let go.
  if (::ftruncate(fd_, 0) != 0) {
  }
  ::close(fd_);
}

std::optional<LockHolder> session_lock_holder(const std::string& state_dir) {
  const std::string path = state_dir + "/" + kLockFile;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  std::optional<LockHolder> holder;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0)
    holder = read_holder(fd);
  else
    ::flock(fd, LOCK_UN);
  ::close(fd);
  return holder;
}

}  // namespace thermomaven::client
