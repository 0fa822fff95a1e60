#include "sim_harness.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "thermomaven/core/time.hpp"
#include "thermomaven/sim/signing.hpp"

namespace simtest {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

using thermomaven::now_ms;

// fork + exec with stdout and stderr into `output_file`.
pid_t spawn(const std::vector<std::string>& argv, const std::string& output_file) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int fd = ::open(output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + output_file);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fd);
  if (pid < 0) throw std::runtime_error("fork failed");
  return pid;
}

// Waits up to `timeout`; on expiry kills the child. Returns its exit code, or -1.
int reap(pid_t pid, std::chrono::milliseconds timeout, int first_signal = 0) {
  if (first_signal) ::kill(pid, first_signal);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(10ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string get_string(simdjson::dom::element e, const char* key) {
  std::string_view v;
  if (e[key].get(v)) return "";
  return std::string(v);
}

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "tm-sim-test-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

SimProcess::SimProcess(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {TM_SIM_BINARY, "--dir", tmp_.path() + "/sim"};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = spawn(argv, tmp_.path() + "/sim.log");
  const std::string json_path = tmp_.path() + "/sim/sim.json";
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!fs::exists(json_path)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("thermomaven-sim exited before it was ready:\n" + log());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("thermomaven-sim not ready after 30 s:\n" + log());
    }
    std::this_thread::sleep_for(20ms);
  }
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.load(json_path);
  info_.api_url = get_string(doc, "api_url");
  info_.control_url = get_string(doc, "control_url");
  info_.ca_file = get_string(doc, "ca_file");
  info_.email = get_string(doc, "email");
  info_.user_id = get_string(doc, "user_id");
  info_.published_file = get_string(doc, "published_file");
  const std::string endpoint = get_string(doc, "mqtt_endpoint");
  info_.mqtt_host = endpoint.substr(0, endpoint.find(':'));
  info_.mqtt_port = std::stoi(endpoint.substr(endpoint.find(':') + 1));
  info_.password = read_file(get_string(doc, "password_file"));
  while (!info_.password.empty() && info_.password.back() == '\n') info_.password.pop_back();
}

SimProcess::~SimProcess() { stop(); }

int SimProcess::stop() {
  if (pid_ < 0) return -1;
  const int code = reap(pid_, 15s, SIGTERM);
  pid_ = -1;
  return code;
}

std::string SimProcess::log() const { return read_file(tmp_.path() + "/sim.log"); }

HttpReply https_request(const std::string& method, const std::string& url,
                        const std::map<std::string, std::string>& headers, const std::string& body,
                        const std::string& ca_file, long timeout_ms) {
  HttpReply reply;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  curl_slist* list = nullptr;
  for (const auto& [name, value] : headers)
    list = curl_slist_append(list, (name + ": " + value).c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> list_owner(list, curl_slist_free_all);
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") {
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &reply.body);
  if (curl_easy_perform(curl.get()) != CURLE_OK) {
    reply.error = error;
    reply.body.clear();
    return reply;
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &reply.status);
  char* type = nullptr;
  curl_easy_getinfo(curl.get(), CURLINFO_CONTENT_TYPE, &type);
  if (type) reply.content_type = type;
  return reply;
}

HttpReply control(const SimProcess& sim, const std::string& path_and_query,
                  const std::string& method) {
  return https_request(method, sim.info().control_url + "/" + path_and_query, {}, "",
                       sim.info().ca_file);
}

std::map<std::string, std::string> signed_headers(const std::string& token, const std::string& body,
                                                  std::int64_t timestamp_ms) {
  std::map<std::string, std::string> h = {
      {"x-appId", std::string(thermomaven::sim::kAppId)},
      {"x-appVersion", "1906"},
      {"x-deviceSn", thermomaven::sim::md5_hex("sim-test-install")},
      {"x-lang", "en_US"},
      {"x-nonce", thermomaven::sim::random_hex(32)},
      {"x-region", "US"},
      {"x-timestamp", std::to_string(timestamp_ms ? timestamp_ms : now_ms())},
      {"x-token", token},
  };
  h["x-sign"] = thermomaven::sim::request_signature(h, body);
  h["Content-Type"] = "application/json; charset=UTF-8";
  return h;
}

ApiReply api_call(const SimProcess& sim, const std::string& path, const std::string& body,
                  const std::map<std::string, std::string>& headers) {
  ApiReply out;
  out.http =
      https_request("POST", sim.info().api_url + "/" + path, headers, body, sim.info().ca_file);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  // The JSON envelope is read whatever the status (a token error is a 401).
  if (out.http.status == 0 || parser.parse(out.http.body).get(doc) || !doc.is_object()) return out;
  std::int64_t number = 0;
  std::string_view text;
  if (!doc["code"].get(number)) {
    out.code = std::to_string(number);
    out.code_was_number = true;
  } else if (!doc["code"].get(text)) {
    out.code = std::string(text);
  }
  out.msg = get_string(doc, "msg");
  return out;
}

ApiReply api_call(const SimProcess& sim, const std::string& path, const std::string& body,
                  const std::string& token) {
  return api_call(sim, path, body, signed_headers(token, body));
}

std::string login_body(const std::string& email, const std::string& password) {
  return R"({"accountName":")" + email + R"(","accountPassword":")" +
         thermomaven::sim::md5_hex(password) + R"(","deviceInfo":"sim-test"})";
}

std::string login(const SimProcess& sim) {
  const ApiReply r =
      api_call(sim, "app/account/login", login_body(sim.info().email, sim.info().password), "none");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view token;
  if (r.code != "0" || parser.parse(r.http.body).get(doc) || doc["data"]["token"].get(token))
    throw std::runtime_error("login failed: " + r.http.body);
  return std::string(token);
}

Keystore apply_for_certificate(const SimProcess& sim, const std::string& token) {
  const ApiReply r = api_call(sim, "app/mqtt/cert/apply", "", token);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (r.code != "0" || parser.parse(r.http.body).get(doc))
    throw std::runtime_error("cert apply failed: " + r.http.body);
  const simdjson::dom::element data = doc["data"];
  Keystore k;
  k.url = get_string(data, "p12Url");
  k.md5 = get_string(data, "p12Md5");
  k.password = get_string(data, "p12Password");
  k.client_id = get_string(data, "clientId");
  std::string_view topic;
  if (!data["subTopics"].at(0).get(topic)) k.sub_topic = std::string(topic);
  const HttpReply download = https_request("GET", k.url, {}, "", sim.info().ca_file);
  if (download.status != 200)
    throw std::runtime_error("keystore download failed: " + download.error);
  k.bytes.assign(download.body.begin(), download.body.end());
  return k;
}

bool extract_pem(const Keystore& keystore, const std::string& dir, ClientPem& out) {
  const unsigned char* p = keystore.bytes.data();
  PKCS12* p12 = d2i_PKCS12(nullptr, &p, static_cast<long>(keystore.bytes.size()));
  if (!p12) return false;
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  const bool ok = PKCS12_parse(p12, keystore.password.c_str(), &key, &cert, &ca) == 1;
  PKCS12_free(p12);
  if (ok) {
    char cn[256] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    out.common_name = cn;
    out.ca_certificates = ca ? sk_X509_num(ca) : 0;
    out.cert_file = dir + "/client.pem";
    out.key_file = dir + "/client.key";
    FILE* f = std::fopen(out.cert_file.c_str(), "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
    const int fd = ::open(out.key_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    f = ::fdopen(fd, "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
  }
  EVP_PKEY_free(key);
  X509_free(cert);
  sk_X509_pop_free(ca, X509_free);
  return ok;
}

CommandResult run_command(const std::vector<std::string>& argv, int timeout_s) {
  TempDir tmp;
  BackgroundCommand command(argv, tmp.path() + "/output");
  return command.wait(timeout_s);
}

BackgroundCommand::BackgroundCommand(const std::vector<std::string>& argv,
                                     const std::string& output_file)
    : output_file_(output_file) {
  pid_ = spawn(argv, output_file);
}

BackgroundCommand::~BackgroundCommand() {
  if (pid_ > 0) reap(pid_, 0ms, SIGKILL);
}

CommandResult BackgroundCommand::wait(int timeout_s) {
  CommandResult r;
  r.exit_code = reap(pid_, std::chrono::seconds(timeout_s));
  pid_ = -1;
  r.output = read_file(output_file_);
  return r;
}

std::vector<std::string> mosquitto_sub(const SimProcess& sim, const ClientPem& pem,
                                       const std::string& client_id,
                                       const std::vector<std::string>& topics, int count,
                                       int timeout_s) {
  std::vector<std::string> argv = {"/usr/bin/mosquitto_sub",
                                   "-h",
                                   sim.info().mqtt_host,
                                   "-p",
                                   std::to_string(sim.info().mqtt_port),
                                   "--cafile",
                                   sim.info().ca_file,
                                   "-V",
                                   "mqttv311",
                                   "-q",
                                   "1",
                                   "-v",
                                   "-C",
                                   std::to_string(count),
                                   "-W",
                                   std::to_string(timeout_s)};
  if (!pem.cert_file.empty()) {
    argv.insert(argv.end(), {"--cert", pem.cert_file, "--key", pem.key_file});
  }
  if (!client_id.empty()) argv.insert(argv.end(), {"-i", client_id});
  for (const std::string& t : topics) argv.insert(argv.end(), {"-t", t});
  return argv;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::int64_t status_number(const SimProcess& sim, const std::string& field) {
  const HttpReply r = control(sim, "status", "GET");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::int64_t value = -1;
  if (r.status != 200 || parser.parse(r.body).get(doc) || doc[field].get(value)) return -1;
  return value;
}

}  // namespace simtest
