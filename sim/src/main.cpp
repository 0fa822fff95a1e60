// thermomaven-sim: runs a simulated ThermoMaven cloud on loopback until
// SIGINT or SIGTERM. See docs/simulated-cloud.md.
#include <civetweb.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "thermomaven/core/log.hpp"
#include "thermomaven/core/numbers.hpp"
#include "thermomaven/core/stop_signals.hpp"
#include "thermomaven/sim/broker.hpp"
#include "thermomaven/sim/cloud.hpp"
#include "thermomaven/sim/fleet.hpp"
#include "thermomaven/sim/json_writer.hpp"
#include "thermomaven/sim/pki.hpp"
#include "thermomaven/sim/publisher.hpp"
#include "thermomaven/sim/signing.hpp"

namespace thermomaven::sim {
namespace {

constexpr const char* kUsage =
    "usage: thermomaven-sim --dir DIR [--devices N] [--models WT09,WT11,WT02]\n"
    "         [--interval-ms MS] [--speed X] [--api-port P] [--mqtt-port P]\n"
    "         [--email E] [--region R] [--unit F|C] [--seed N] [--cert-days N] [--legacy-p12]\n"
    "         [--p12-without-ca] [--no-offline] [--mosquitto PATH]\n"
    "         [--list-on-subscribe] [--numeric-device-id]\n"
    "Runs a simulated ThermoMaven cloud on 127.0.0.1 until SIGINT/SIGTERM and\n"
    "writes DIR/sim.json when it is ready. See docs/simulated-cloud.md.\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string dir;
  int devices = 3;
  std::vector<std::string> models = {"WT09", "WT11", "WT02"};
  int interval_ms = 2000;
  double speed = 1;
  int api_port = 0, mqtt_port = 0;
  std::string email = "cook@example.com";
  std::string region = "US";  // the account's region: logins with another x-region are refused
  char unit = 'F';
  std::uint64_t seed = 0;
  bool seed_given = false;
  int cert_days = 30;
  bool legacy_p12 = false, p12_without_ca = false, offline_spells = true;
  std::string mosquitto;
  // Protocol variations (docs/simulated-cloud.md): the device list also on
  // a subscription to the user topic (by default only after a REST
  // device-list call), and the first device's deviceId as a JSON number.
  bool list_on_subscribe = false;
  bool numeric_device_id = false;
};

long long parse_number(const std::string& flag, const std::string& text, long long lo,
                       long long hi) {
  if (const auto v = parse_int64_in(text, lo, hi)) return *v;
  throw UsageError(flag + " must be a whole number from " + std::to_string(lo) + " to " +
                   std::to_string(hi) + ", not '" + text + "'");
}

std::vector<std::string> split_models(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string model = text.substr(start, comma - start);
    if (model.empty() || model.size() > 8) throw UsageError("--models: bad model '" + model + "'");
    for (char c : model)
      if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
        throw UsageError("--models: bad model '" + model + "' (like WT09)");
    out.push_back(model);
    start = comma + 1;
  }
  return out;
}

std::string find_mosquitto() {
  // Debian installs it in /usr/sbin, which is not on every user's PATH.
  for (const char* path :
       {"/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"})
    if (::access(path, X_OK) == 0) return path;
  return "mosquitto";
}

// Mosquitto's dynamic-security plugin, shipped in Debian's mosquitto package.
std::string find_dynsec_plugin(const std::string& mosquitto) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  const fs::path prefix = fs::path(mosquitto).parent_path().parent_path();  // /usr
  for (const fs::path& lib : {prefix / "lib", fs::path("/usr/lib"), fs::path("/usr/local/lib")}) {
    candidates.push_back(lib / "mosquitto_dynamic_security.so");
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(lib, ec))  // multiarch dirs
      if (entry.is_directory(ec))
        candidates.push_back(entry.path() / "mosquitto_dynamic_security.so");
  }
  for (const fs::path& p : candidates)
    if (fs::exists(p)) return p.string();
  throw std::runtime_error(
      "cannot find mosquitto_dynamic_security.so (Debian package mosquitto 2.x)");
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (flag == "--dir")
      o.dir = value();
    else if (flag == "--devices")
      o.devices = static_cast<int>(parse_number(flag, value(), 0, 64));
    else if (flag == "--models")
      o.models = split_models(value());
    else if (flag == "--interval-ms")
      o.interval_ms = static_cast<int>(parse_number(flag, value(), 10, 3600000));
    else if (flag == "--speed") {
      const std::string text = value();
      char* end = nullptr;
      o.speed = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end || !(o.speed > 0 && o.speed <= 100000))
        throw UsageError("--speed must be a number above 0, not '" + text + "'");
    } else if (flag == "--api-port")
      o.api_port = static_cast<int>(parse_number(flag, value(), 0, 65535));
    else if (flag == "--mqtt-port")
      o.mqtt_port = static_cast<int>(parse_number(flag, value(), 0, 65535));
    else if (flag == "--email")
      o.email = value();
    else if (flag == "--region") {
      o.region = value();
      if (!is_known_region(o.region))
        throw UsageError("--region must be one of protocol.md's codes: " +
                         std::string(known_regions_text()));
    } else if (flag == "--unit") {
      const std::string u = value();
      if (u != "F" && u != "C") throw UsageError("--unit must be F or C, not '" + u + "'");
      o.unit = u[0];
    } else if (flag == "--seed") {
      o.seed = static_cast<std::uint64_t>(parse_number(flag, value(), 0, 1LL << 62));
      o.seed_given = true;
    } else if (flag == "--cert-days")
      o.cert_days = static_cast<int>(parse_number(flag, value(), 1, 3650));
    else if (flag == "--legacy-p12")
      o.legacy_p12 = true;
    else if (flag == "--p12-without-ca")
      o.p12_without_ca = true;
    else if (flag == "--no-offline")
      o.offline_spells = false;
    else if (flag == "--mosquitto")
      o.mosquitto = value();
    else if (flag == "--list-on-subscribe")
      o.list_on_subscribe = true;
    else if (flag == "--numeric-device-id")
      o.numeric_device_id = true;
    else
      throw UsageError("unknown option '" + flag + "'");
  }
  if (o.dir.empty()) throw UsageError("--dir is required");
  if (o.email.empty() || o.email.find('@') == std::string::npos)
    throw UsageError("--email must be an e-mail address");
  if (o.mosquitto.empty()) o.mosquitto = find_mosquitto();
  if (!o.seed_given) o.seed = std::random_device{}() & 0xffffffff;
  return o;
}

void make_private_dir(const std::string& dir) {
  std::filesystem::create_directories(dir);
  if (::chmod(dir.c_str(), 0700) != 0)
    throw std::runtime_error("cannot make " + dir + " private: " + std::strerror(errno));
}

// Replaces `path` in one step, so that a reader never sees half a file.
void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  write_file(tmp, text, 0644);
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot rename " + tmp + ": " + std::strerror(errno));
}

std::string make_user_id(std::uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0x5eedULL);
  return std::to_string(
      std::uniform_int_distribution<std::uint64_t>(1000000000ULL, 4294967295ULL)(rng));
}

int run(const Options& o) {
  const std::string dir = std::filesystem::absolute(o.dir).lexically_normal().string();
  make_private_dir(dir);
  const std::string user_id = make_user_id(o.seed);
  const std::string password = random_hex(16);
  write_file(dir + "/password", password + "\n", 0600);

  // Certificates: the CA that everything trusts, one server certificate
  // for the API and the broker, the publisher's client certificate, and a
  // broker certificate from an unrelated CA for the untrusted_broker fault.
  const CertificateAuthority ca("thermomaven-sim CA");
  const CertificateAuthority rogue("thermomaven-sim untrusted CA");
  const std::string publisher_id = "thermomaven-sim-publisher";
  const KeyAndCert server = ca.issue_server("127.0.0.1", 825);
  const KeyAndCert publisher_cert = ca.issue_client(publisher_id, 825);
  const KeyAndCert untrusted = rogue.issue_server("127.0.0.1", 825);
  write_file(dir + "/ca.pem", ca.root().cert_pem(), 0644);
  write_file(dir + "/ca.key", ca.root().key_pem(), 0600);
  write_file(dir + "/broker.pem", server.cert_pem(), 0644);
  write_file(dir + "/broker.key", server.key_pem(), 0600);
  write_file(dir + "/https.pem", server.cert_pem() + server.key_pem(), 0600);
  write_file(dir + "/publisher.pem", publisher_cert.cert_pem(), 0644);
  write_file(dir + "/publisher.key", publisher_cert.key_pem(), 0600);
  write_file(dir + "/publisher-trust.pem", ca.root().cert_pem() + rogue.root().cert_pem(), 0644);
  write_file(dir + "/untrusted-broker.pem", untrusted.cert_pem(), 0644);
  write_file(dir + "/untrusted-broker.key", untrusted.key_pem(), 0600);
  std::filesystem::remove(dir + "/published.jsonl");
  std::filesystem::remove(dir + "/sim.json");

  const int mqtt_port = o.mqtt_port ? o.mqtt_port : pick_free_port();
  Publisher publisher({"ssl://127.0.0.1:" + std::to_string(mqtt_port), publisher_id,
                       dir + "/publisher-trust.pem", dir + "/publisher.pem", dir + "/publisher.key",
                       dir + "/published.jsonl"});
  FleetOptions fleet_options;
  for (int i = 0; i < o.devices; ++i)
    fleet_options.models.push_back(o.models[static_cast<std::size_t>(i) % o.models.size()]);
  fleet_options.interval_ms = o.interval_ms;
  fleet_options.speed = o.speed;
  fleet_options.unit = o.unit;
  fleet_options.seed = o.seed;
  fleet_options.offline_spells = o.offline_spells;
  fleet_options.user_id = user_id;
  fleet_options.numeric_device_id = o.numeric_device_id;
  Fleet fleet(fleet_options, publisher);
  const std::string user_topic = fleet.user_topic();
  std::atomic<Cloud*> cloud_ptr = nullptr;  // set while `cloud` lives
  Broker broker(
      {o.mosquitto, dir + "/mosquitto.conf", dir + "/ca.pem", dir + "/broker.pem",
       dir + "/broker.key", find_dynsec_plugin(o.mosquitto), dir + "/dynsec.json"},
      mqtt_port,
      [&](const std::string& client, const std::string& topic) {
        // --list-on-subscribe: a logger subscribed to its user topic.
        if (o.list_on_subscribe && topic == user_topic && client != publisher_id)
          fleet.publish_device_list();
      },
      [&](const std::string& client, int filters) {
        if (Cloud* c = cloud_ptr.load()) c->refuse_oversized_subscribe(client, filters);
      });
  CloudOptions cloud_options;
  cloud_options.email = o.email;
  cloud_options.region = o.region;
  cloud_options.password = password;
  cloud_options.user_id = user_id;
  cloud_options.unit = o.unit;
  cloud_options.cert_days = o.cert_days;
  cloud_options.legacy_p12 = o.legacy_p12;
  cloud_options.p12_without_ca = o.p12_without_ca;
  cloud_options.dynsec_file = dir + "/dynsec.json";
  cloud_options.publisher_id = publisher_id;
  cloud_options.admin = {"ssl://127.0.0.1:" + std::to_string(mqtt_port),
                         "thermomaven-sim-admin",
                         dir + "/publisher-trust.pem",
                         dir + "/publisher.pem",
                         dir + "/publisher.key",
                         ""};
  cloud_options.untrusted_cert = dir + "/untrusted-broker.pem";
  cloud_options.untrusted_key = dir + "/untrusted-broker.key";
  Cloud cloud(cloud_options, ca, broker, fleet);
  cloud_ptr = &cloud;
  struct Forget {
    std::atomic<Cloud*>& ptr;
    ~Forget() { ptr = nullptr; }
  } forget{cloud_ptr};

  cloud.start_broker();
  const int api_port = cloud.listen(o.api_port, dir + "/https.pem");
  fleet.start();

  const std::string api_url = "https://127.0.0.1:" + std::to_string(api_port);
  JsonWriter info;
  info.begin_object()
      .field("api_url", api_url)
      .field("mqtt_endpoint", "127.0.0.1:" + std::to_string(mqtt_port))
      .field("ca_file", dir + "/ca.pem")
      .field("email", o.email)
      .field("region", o.region)
      .field("password_file", dir + "/password")
      .field("user_id", user_id)
      .field("control_url", api_url + "/sim")
      .field("published_file", dir + "/published.jsonl")
      .field("seed", static_cast<std::int64_t>(o.seed))
      .end_object();
  write_atomically(dir + "/sim.json", info.str() + "\n");
  log_info("sim", "ready: api " + api_url + ", mqtt 127.0.0.1:" + std::to_string(mqtt_port) + ", " +
                      std::to_string(o.devices) + " devices, seed " + std::to_string(o.seed) +
                      "; see " + dir + "/sim.json");

  const int signal_number = wait_for_stop_signal();
  log_info("sim", std::string("stopping on ") + stop_signal_name(signal_number));
  cloud.stop();
  fleet.stop();
  publisher.disconnect();
  broker.stop();
  log_info("sim", "stopped; " + std::to_string(publisher.published()) + " messages published");
  return 0;
}

}  // namespace
}  // namespace thermomaven::sim

int main(int argc, char** argv) {
  using namespace thermomaven::sim;
  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only wait_for_stop_signal() in run() receives them.
  thermomaven::block_stop_signals();
  signal(SIGPIPE, SIG_IGN);
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "thermomaven-sim: %s\n%s", e.what(), kUsage);
    return 2;
  }
  try {
    mg_init_library(0);  // plain HTTP: TLS is TlsFront's job
    const int rc = run(options);
    mg_exit_library();
    return rc;
  } catch (const std::exception& e) {
    thermomaven::log_error("sim", e.what());
    return 1;
  }
}
