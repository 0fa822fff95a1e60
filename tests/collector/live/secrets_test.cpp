// The secrets the logger handles (the account password and its MD5, the
// session token, the keystore password, the private key) never reach a log
// line, a file others could read, its command line or environment, /metrics
// or /healthz. The real `thermomaven run` at --log-level debug against
// thermomaven-sim; everything it printed and wrote is searched afterwards.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <memory>
#include <set>

#include "live_sim_support.hpp"
#include "thermomaven/client/signing.hpp"

using namespace live_test;

namespace {

struct Haystack {
  std::string where, text;
};

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// Every regular file below `root` (but not `skip` or below it), as haystacks.
void add_files(const fs::path& root, const std::set<fs::path>& skip, const std::string& label,
               std::vector<Haystack>& out) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::end(it); it.increment(ec)) {
    if (ec) break;
    if (skip.count(it->path())) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    try {
      out.push_back({label + " " + it->path().string(), read_file(it->path().string())});
    } catch (const std::exception&) {
      // Removed meanwhile (a -wal or -journal at commit): nothing to search.
    }
  }
}

// The contents of the collector's memory file holding its private key, read
// through /proc while it runs (same user), so the test knows the real key.
std::string private_key_of(pid_t pid) {
  const fs::path fds = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& fd : fs::directory_iterator(fds)) {
    std::error_code ec;
    if (fs::read_symlink(fd.path(), ec).string().rfind("/memfd:tm-key", 0) == 0)
      return read_file(fd.path().string());
  }
  return {};
}

// The base64 lines of a PEM private key (each 64 characters but the last).
std::vector<std::string> pem_body_lines(const std::string& pem) {
  std::vector<std::string> lines;
  std::istringstream in(pem);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.find("-----BEGIN") == 0 && line.find("PRIVATE KEY") != std::string::npos)
      inside = true;
    else if (line.find("-----END") == 0)
      inside = false;
    else if (inside && line.size() >= 32)
      lines.push_back(line);
  }
  return lines;
}

// The sim's keystore passwords are exactly 24 lowercase hex digits
// (sim/src/cloud.cpp); nothing the collector legitimately prints or
// stores has that shape (tokens: 40, ids and MD5s: 32), so such a run is a
// leaked keystore password. (The sim does not publish the password it handed
// out, so the test cannot search for the value itself.) Returns the first.
std::string keystore_password_shaped(const std::string& text) {
  auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  std::size_t i = 0;
  while (i < text.size()) {
    if (!hex(text[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    bool lower = true;
    for (; end < text.size() && hex(text[end]); ++end) lower &= !std::isupper(text[end]);
    if (end - i == 24 && lower) return text.substr(i, 24);
    i = end;
  }
  return {};
}

}  // namespace

TEST_CASE("thermomaven run at debug level: no secret in logs, files, argv, metrics or health") {
  TempDir dir;
  Sim sim(dir.file("sim"));
  std::string password = read_file(sim.info().password_file);
  password = password.substr(0, password.find('\n'));
  REQUIRE(password.size() >= 8);
  const std::string password_md5 = thermomaven::client::md5_hex(password);

  // What the working directory (the test's, shared with other tests) held
  // before, so that only what appeared or changed since is searched.
  std::map<fs::path, fs::file_time_type> before;
  for (const auto& entry : fs::directory_iterator(fs::current_path()))
    before[entry.path()] = entry.last_write_time();
  Collector run(dir.path().string(), sim_env(sim.info()),
                {"--listen", "127.0.0.1:0", "--log-level", "debug"}, "run");
  REQUIRE(run.wait_log("subscribed to device/", 30));
  REQUIRE(wait_until([&] { return readings_in(dir.file("collector.db")).size() >= 5; }, 20));
  const pid_t pid = run.process().pid();
  REQUIRE(pid > 0);

  std::vector<Haystack> haystacks;
  // The sim's own files (its password file, its log) are not the logger's.
  const std::set<fs::path> sim_files = {dir.path() / "sim", dir.path() / "sim.log"};
  // While it runs: its argv and environment, its working directory, every
  // file it has written so far (the database's -wal exists only now).
  const std::string proc = "/proc/" + std::to_string(pid);
  haystacks.push_back({"cmdline", read_file(proc + "/cmdline")});
  haystacks.push_back({"environ", read_file(proc + "/environ")});
  const std::string private_key = private_key_of(pid);
  const fs::path working_dir = fs::read_symlink(proc + "/cwd");
  add_files(dir.path(), sim_files, "file (running)", haystacks);
  CHECK(fs::exists(dir.file("collector.db-wal")));

  const std::string base = run.exporter_url();
  REQUIRE(!base.empty());
  const auto metrics = http_get(base + "/metrics");
  const auto health = http_get(base + "/healthz");
  CHECK(metrics.status == 200);
  CHECK(health.status == 200);
  CHECK_THAT(metrics.body, Catch::Contains("thermomaven_cloud_logins_total 1"));
  haystacks.push_back({"/metrics", metrics.body});
  haystacks.push_back({"/healthz", health.body});

  CHECK(run.process().stop() == 0);
  // After it: every line it printed (stdout and stderr), every file left.
  haystacks.push_back({"log", run.log()});
  add_files(dir.path(), sim_files, "file (stopped)", haystacks);
  // Whatever it may have dropped in its working directory.
  REQUIRE(working_dir == fs::current_path());
  for (const auto& entry : fs::directory_iterator(working_dir)) {
    const auto was = before.find(entry.path());
    if (entry.is_regular_file() && (was == before.end() || was->second != entry.last_write_time()))
      haystacks.push_back({"cwd " + entry.path().string(), read_file(entry.path().string())});
  }

  // The one place the token may be: the session file, 0600 in a 0700 dir.
  const std::string session_path = dir.file("state/session");
  const std::string session = read_file(session_path);
  // (Parsed by hand: std::regex trips GCC 12's -Wmaybe-uninitialized under ASan.)
  const auto token_at = session.find("token=");
  REQUIRE(token_at != std::string::npos);
  const std::string token =
      session.substr(token_at + 6, session.find('\n', token_at) - token_at - 6);
  REQUIRE(token.size() == 40);  // the sim's tokens: 40 hex digits
  CHECK(mode_of(dir.file("state")) == 0700);
  for (const auto& entry : fs::directory_iterator(dir.file("state"))) {
    INFO(entry.path());
    CHECK(mode_of(entry.path().string()) == 0600);
  }
  // The database holds no secret either, yet is the operator's data: it must
  // not be world-writable. (Its mode follows the umask, like any data file.)
  CHECK((mode_of(dir.file("collector.db")) & S_IWOTH) == 0);

  const auto key_lines = pem_body_lines(private_key);
  // The key the collector really uses, read from its memfd (an EC key: three
  // lines of base64; RSA: many more).
  REQUIRE(private_key.find("PRIVATE KEY-----") != std::string::npos);
  REQUIRE(key_lines.size() >= 2);

  std::vector<std::pair<std::string, std::string>> secrets = {
      {"password", password},
      {"password MD5", password_md5},
      {"password MD5 (upper)", upper(password_md5)},
      {"token", token},
      {"PEM marker", "PRIVATE KEY"},
      {"keystore password field", "p12Password"}};
  for (std::size_t i = 0; i < key_lines.size(); ++i)
    secrets.push_back({"private key line " + std::to_string(i), key_lines[i]});

  int searched_files = 0;
  for (const auto& haystack : haystacks) {
    INFO(haystack.where);
    searched_files += haystack.where.rfind("file", 0) == 0;
    for (const auto& [name, secret] : secrets) {
      if (name == "token" && haystack.where.find(session_path) != std::string::npos) continue;
      INFO("secret: " << name);
      CHECK(haystack.text.find(secret) == std::string::npos);
    }
    // Text only: in the database's binary pages an 18-digit device id next to
    // a few header bytes that happen to be hex characters would look alike.
    // (An error message with the keystore password would be logged too.)
    if (haystack.where.find("collector.db") == std::string::npos)
      CHECK(keystore_password_shaped(haystack.text).empty());
  }
  // Logs, session, install id, database: the search really covered them.
  CHECK(searched_files >= 6);
  CHECK(run.count_lines("DEBUG") >= 1);
}
