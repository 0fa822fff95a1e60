// thermomaven-sim and the real thermomaven collector as child processes, for
// the end-to-end tests: start, wait for readiness, drive the sim's control
// API, read what each side recorded.
#pragma once

#include <curl/curl.h>
#include <simdjson.h>

#include <chrono>
#include <ctime>
#include <set>
#include <tuple>

#include "live_test_support.hpp"
#include "thermomaven/client/http_client.hpp"
#include "thermomaven/core/time.hpp"
#include "thermomaven/storage/cook_reader.hpp"
#include "thermomaven/storage/database.hpp"

namespace live_test {

// A plain-HTTP GET of the exporter (it listens on loopback without TLS),
// given at most `timeout_ms`; status 0 when there was no answer.
struct HttpAnswer {
  long status = 0;
  std::string body;
  double seconds = 0;
};

inline HttpAnswer http_get(const std::string& url, long timeout_ms = 10000) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  HttpAnswer out;
  auto on_body = +[](char* data, size_t size, size_t n, void* sink) {
    static_cast<std::string*>(sink)->append(data, size * n);
    return size * n;
  };
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  const auto start = std::chrono::steady_clock::now();
  if (curl_easy_perform(curl.get()) == CURLE_OK)
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &out.status);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

using thermomaven::now_ms;

// The time stamp (epoch ms) at the start of a log line
// ("2026-11-27T10:00:00.123Z ..."), or 0 when it has none.
inline std::int64_t log_line_ms(const std::string& line) {
  std::tm tm{};
  int ms = 0;
  if (line.size() < 24 ||
      std::sscanf(line.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}
// The fields of sim.json.
struct SimInfo {
  std::string api_url, mqtt_endpoint, ca_file, email, password_file, user_id, control_url;
};

class Sim {
 public:
  Sim(const std::string& dir, const std::vector<std::string>& extra_args = {})
      : dir_(dir), process_(args(dir, extra_args), dir + ".log") {
    if (!wait_until([&] { return fs::exists(dir + "/sim.json") || process_.poll() >= 0; }, 30) ||
        process_.poll() >= 0)
      throw std::runtime_error("thermomaven-sim did not start:\n" + process_.log());
    info_ = parse(read_file(dir + "/sim.json"));
    http_ = std::make_unique<thermomaven::client::HttpClient>(
        thermomaven::client::HttpOptions{.ca_file = info_.ca_file});
  }

  const SimInfo& info() const { return info_; }
  const std::string& dir() const { return dir_; }
  std::string published_file() const { return dir_ + "/published.jsonl"; }
  std::string log() const { return process_.log(); }

  // POST /sim/<path>; throws unless the sim answers 200.
  std::string control(const std::string& path) {
    auto response = http_->post(info_.control_url + "/" + path, {}, "");
    if (response.status != 200)
      throw std::runtime_error("sim control " + path + ": HTTP " + std::to_string(response.status) +
                               " " + response.body);
    return response.body;
  }
  void fault(const std::string& name, bool on) {
    control("fault?name=" + name + "&on=" + (on ? "1" : "0"));
  }

  // MQTT connections the sim's broker took so far (Mosquitto's own log
  // lines): a client knocked off and back on counts twice.
  int connections() const {
    std::istringstream lines(log());
    int n = 0;
    for (std::string line; std::getline(lines, line);)
      n += line.find("mosquitto: New client connected") != std::string::npos;
    return n;
  }

  // A number from GET /sim/status: published, logins, cert_applies.
  std::int64_t status_number(const std::string& key) {
    auto response = http_->get(info_.control_url + "/status");
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(response.body);
    auto doc = parser.iterate(padded);
    return int64_t(doc[key].get_int64());
  }

 private:
  static std::vector<std::string> args(const std::string& dir,
                                       const std::vector<std::string>& extra) {
    std::vector<std::string> a = {TM_SIM_BINARY, "--dir", dir, "--interval-ms", "200"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  static SimInfo parse(const std::string& text) {
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(text);
    auto doc = parser.iterate(padded);
    SimInfo info;
    auto get = [&](const char* key) {
      return std::string(std::string_view(doc.find_field_unordered(key).get_string()));
    };
    info.api_url = get("api_url");
    info.mqtt_endpoint = get("mqtt_endpoint");
    info.ca_file = get("ca_file");
    info.email = get("email");
    info.password_file = get("password_file");
    info.user_id = get("user_id");
    info.control_url = get("control_url");
    return info;
  }

  std::string dir_;
  ChildProcess process_;
  SimInfo info_;
  std::unique_ptr<thermomaven::client::HttpClient> http_;
};

// The environment that points the collector at a sim.
inline std::map<std::string, std::string> sim_env(const SimInfo& info) {
  return {{"THERMOMAVEN_EMAIL", info.email},
          {"THERMOMAVEN_PASSWORD_FILE", info.password_file},
          {"THERMOMAVEN_API_URL", info.api_url},
          {"THERMOMAVEN_MQTT_ENDPOINT", info.mqtt_endpoint},
          {"THERMOMAVEN_CA_FILE", info.ca_file}};
}

// `thermomaven collect` (the real binary) against a sim.
class Collector {
 public:
  Collector(const std::string& dir, const std::map<std::string, std::string>& env,
            const std::vector<std::string>& extra_args = {}, const std::string& command = "collect")
      : log_path_(dir + "/collector-" + std::to_string(next_log_number()) + ".log"),
        process_(args(dir, extra_args, command), log_path_, env) {}

  static std::vector<std::string> args(const std::string& dir,
                                       const std::vector<std::string>& extra,
                                       const std::string& command) {
    std::vector<std::string> a = {
        TM_BINARY,           command, "--db", dir + "/collector.db", "--state-dir", dir + "/state",
        "--backoff-base-ms", "200"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  // Each run logs to its own file, so that waiting for a line never sees an
  // earlier run's.
  static int next_log_number() {
    static int number = 0;
    return ++number;
  }

  ChildProcess& process() { return process_; }
  std::string log() const { return process_.log(); }

  // Waits until the log has `count` lines containing `text` (or the process ended).
  // On failure the end of the log goes to stderr, to show why.
  bool wait_log(const std::string& text, double seconds, int count = 1) {
    wait_until([&] { return count_lines(text) >= count || process_.poll() >= 0; }, seconds);
    if (count_lines(text) >= count) return true;
    const std::string text_log = log();
    const auto from = text_log.size() > 3000 ? text_log.size() - 3000 : 0;
    std::fprintf(stderr, "---- waited for %d x '%s'; end of %s:\n%s----\n", count, text.c_str(),
                 log_path_.c_str(), text_log.substr(from).c_str());
    return false;
  }
  int count_lines(const std::string& text) const {
    std::istringstream lines(log());
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) n += line.find(text) != std::string::npos;
    return n;
  }
  // The exporter's base URL (http://127.0.0.1:PORT) that `run` logs once it
  // serves, or "" before.
  std::string exporter_url() const {
    const std::string marker = "serving metrics, cooks and CSV on ";
    const std::string text = log();
    const auto at = text.find(marker);
    if (at == std::string::npos) return "";
    return text.substr(at + marker.size(), text.find('\n', at) - at - marker.size());
  }
  // The time stamp (epoch ms) of the last log line containing `text`, or 0.
  std::int64_t last_log_ms(const std::string& text) const {
    std::istringstream lines(log());
    std::string line, found;
    while (std::getline(lines, line))
      if (line.find(text) != std::string::npos) found = line;
    return log_line_ms(found);
  }

 private:
  std::string log_path_;
  ChildProcess process_;
};

// One reading, as both databases must agree on it.
using ReadingKey = std::tuple<std::string, int, std::int64_t, std::int32_t, std::string>;

inline std::set<ReadingKey> readings_in(const std::string& db_path) {
  std::set<ReadingKey> out;
  if (!fs::exists(db_path)) return out;
  thermomaven::storage::Database db(db_path, thermomaven::storage::OpenMode::ReadOnly);
  thermomaven::storage::CookReader reader(db);
  for (const auto& cook : reader.list_cooks())
    reader.for_each_reading(cook, [&](const thermomaven::storage::CookReading& r) {
      out.emplace(cook.device_id, cook.probe, r.time_ms, r.values.temperature.value_or(-99999),
                  cook.cook_uuid);
    });
  return out;
}

// The capture lines of `published` with ts in [from_ms, to_ms], written to `out`;
// returns how many status reports they hold.
inline int filter_capture(const std::string& published, const std::string& out,
                          std::int64_t from_ms, std::int64_t to_ms = INT64_MAX) {
  std::ifstream in(published);
  std::ofstream sink(out, std::ios::trunc);
  std::string line;
  int reports = 0;
  simdjson::ondemand::parser parser;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    simdjson::padded_string padded(line);
    auto doc = parser.iterate(padded);
    std::int64_t ts = 0;
    std::string topic;
    for (auto field : doc.get_object()) {
      const std::string_view key = field.unescaped_key();
      if (key == "ts")
        ts = int64_t(field.value().get_int64());
      else if (key == "topic")
        topic = std::string(std::string_view(field.value().get_string()));
    }
    if (ts < from_ms || ts > to_ms) continue;
    sink << line << '\n';
    reports += topic.rfind("device/", 0) == 0;
  }
  return reports;
}

inline std::string run_ok(const std::vector<std::string>& argv) {
  std::string output;
  const int code = run(argv, output);
  if (code != 0) throw std::runtime_error(argv[1] + " failed: " + output);
  return output;
}

}  // namespace live_test
