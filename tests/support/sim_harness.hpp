// Test helpers for the simulated cloud: a private temp dir, the simulator
// as a child process, signed HTTPS calls with libcurl, and external tools
// (mosquitto_sub, thermomaven) run with a deadline. Everything is cleaned
// up by destructors, whichever way a test ends.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace simtest {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct SimInfo {
  std::string api_url, control_url, ca_file, email, password, user_id, published_file;
  std::string mqtt_host;
  int mqtt_port = 0;
};

// thermomaven-sim in its own temp dir; stopped (SIGTERM) by the destructor.
class SimProcess {
 public:
  explicit SimProcess(const std::vector<std::string>& args);
  ~SimProcess();
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  const SimInfo& info() const { return info_; }
  const std::string& work_dir() const { return tmp_.path(); }  // for the test's own files
  std::string log() const;                                     // the simulator's stderr so far
  // SIGTERM and wait; returns the exit status (-1 when it had to be killed).
  int stop();

 private:
  TempDir tmp_;
  pid_t pid_ = -1;
  SimInfo info_;
};

struct HttpReply {
  long status = 0;  // 0: no answer (timeout, TLS failure, ...)
  std::string body;
  std::string content_type;
  std::string error;  // curl's message when status is 0
};

HttpReply https_request(const std::string& method, const std::string& url,
                        const std::map<std::string, std::string>& headers, const std::string& body,
                        const std::string& ca_file, long timeout_ms = 10000);
HttpReply control(const SimProcess& sim, const std::string& path_and_query,
                  const std::string& method = "POST");

// The x-* headers of protocol.md for `body`, signed, with the given token
// and timestamp (0: now).
std::map<std::string, std::string> signed_headers(const std::string& token, const std::string& body,
                                                  std::int64_t timestamp_ms = 0);

// A REST reply's envelope: `code` as text whether it came as a string or a
// number; `code_was_number` says which.
struct ApiReply {
  HttpReply http;
  std::string code, msg;
  bool code_was_number = false;
};
ApiReply api_call(const SimProcess& sim, const std::string& path, const std::string& body,
                  const std::map<std::string, std::string>& headers);
ApiReply api_call(const SimProcess& sim, const std::string& path, const std::string& body,
                  const std::string& token);

std::string login_body(const std::string& email, const std::string& password);
std::string login(const SimProcess& sim);  // returns the token; throws on failure

struct Keystore {
  std::string url, md5, password, client_id, sub_topic;
  std::vector<unsigned char> bytes;  // as downloaded
};
Keystore apply_for_certificate(const SimProcess& sim, const std::string& token);

// Opens a keystore with OpenSSL and writes its certificate and key as PEM
// files (0600) under `dir`. Returns false when OpenSSL cannot open it.
struct ClientPem {
  std::string cert_file, key_file, common_name;
  int ca_certificates = 0;
};
bool extract_pem(const Keystore& keystore, const std::string& dir, ClientPem& out);

struct CommandResult {
  int exit_code = -1;  // -1: killed at the deadline
  std::string output;  // stdout and stderr
};
CommandResult run_command(const std::vector<std::string>& argv, int timeout_s);

// A command started in the background; wait() collects it.
class BackgroundCommand {
 public:
  BackgroundCommand(const std::vector<std::string>& argv, const std::string& output_file);
  ~BackgroundCommand();
  CommandResult wait(int timeout_s);

 private:
  pid_t pid_ = -1;
  std::string output_file_;
};

// mosquitto_sub against the simulator's broker with a client certificate.
std::vector<std::string> mosquitto_sub(const SimProcess& sim, const ClientPem& pem,
                                       const std::string& client_id,
                                       const std::vector<std::string>& topics, int count,
                                       int timeout_s);

std::string read_file(const std::string& path);
std::int64_t status_number(const SimProcess& sim, const std::string& field);

}  // namespace simtest
