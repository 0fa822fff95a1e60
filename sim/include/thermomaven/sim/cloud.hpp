// The HTTPS side of the simulated cloud (civetweb with TLS): the REST
// endpoints of protocol.md, checked as strictly as the real cloud checks
// them, the keystore downloads, and the control API under /sim/ that tests
// use to expire tokens, stop the broker and switch faults on and off.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "thermomaven/sim/broker.hpp"
#include "thermomaven/sim/fleet.hpp"
#include "thermomaven/sim/pki.hpp"
#include "thermomaven/sim/publisher.hpp"
#include "thermomaven/tls/tls_front.hpp"

struct mg_context;
struct mg_connection;

namespace thermomaven::sim {

struct CloudOptions {
  std::string email;
  std::string password;  // the account password, clear text (kept in memory only)
  std::string user_id;
  std::string region = "US";  // the account's region (x-region of a login must match)
  char unit = 'F';            // the account's setting; POST /sim/unit?to=C changes it
  int cert_days = 30;
  bool legacy_p12 = false;
  bool p12_without_ca = false;
  std::string dynsec_file;     // the broker's access control (see broker.hpp)
  std::string publisher_id;    // CN of the simulator's own MQTT certificate
  PublisherConfig admin;       // its client that changes access control
  std::string untrusted_cert;  // broker certificate from another CA ...
  std::string untrusted_key;   // ... for the untrusted_broker fault
  std::string base_url;        // set by listen()
};

// The 30 region codes of the app's dictionary (protocol.md, "Regions"): the
// simulator's own copy, apart from the client's.
bool is_known_region(std::string_view code);
const char* known_regions_text();

class Cloud {
 public:
  Cloud(CloudOptions options, const CertificateAuthority& ca, Broker& broker, Fleet& fleet);
  ~Cloud();
  Cloud(const Cloud&) = delete;
  Cloud& operator=(const Cloud&) = delete;

  // Starts HTTPS on 127.0.0.1:port (0: any free port) with the PEM file
  // holding the server certificate and key. Returns the port.
  int listen(int port, const std::string& cert_and_key_file);
  void stop();
  // Writes the access control for the current clients, devices and faults
  // and starts the broker with the certificate the faults call for.
  void start_broker();
  // Lets logger certificates read a new device's topic (announce it after).
  void allow_device_topic(const std::string& topic);
  // A logger sent a SUBSCRIBE with more topic filters than AWS IoT accepts:
  // it is disconnected (on a thread of its own: called by the broker's log
  // reader, which must not wait for the broker) and counted.
  void refuse_oversized_subscribe(const std::string& client_id, int filters);

 private:
  struct Reply {
    int http_status = 200;
    std::string content_type = "application/json";
    std::string body;
  };
  struct Faults {
    bool bad_md5 = false, refuse_subscriptions = false, untrusted_broker = false;
    bool api_5xx = false, api_html = false, api_slow = false;
    bool drop_receipts = false;  // devices obey commands but send no receipt
    bool bad_p12_password = false, refuse_clients = false, devices_offline = false,
         probes_docked = false;
    bool blackhole_broker = false;
    bool seconds_only_times = false;  // envelopes carry only the *TimeSecond fields
  };

  static int on_request(mg_connection* conn, void* self);
  Reply handle(mg_connection* conn);
  Reply handle_api(mg_connection* conn, const std::string& path);
  Reply handle_control(mg_connection* conn, const std::string& path, const std::string& method);
  Reply check_request(mg_connection* conn, const std::string& body, std::string& error_code);
  Reply login(const std::string& body, const std::string& region);
  Reply apply_for_certificate(const std::string& device_sn);
  Reply device_list(const std::string& path, const std::string& body);
  Reply user_settings();
  Reply set_unit(const std::string& to);
  std::string settings_json() const;  // under mutex_
  Reply send_command(const std::string& body);
  Reply move_probe(mg_connection* conn, const std::string& where);
  Reply set_fault(const std::string& name, bool on);
  Reply status();
  Faults faults() const;
  bool wait_or_stop(int seconds);
  std::string dynsec_config() const;
  // Sends dynamic-security commands to a running broker; a stopped one
  // reads the whole configuration again when it starts.
  void change_access(const std::string& commands);

  CloudOptions options_;
  const CertificateAuthority& ca_;
  Broker& broker_;
  Fleet& fleet_;
  std::mutex admin_mutex_;
  Publisher admin_;  // guarded by admin_mutex_
  mg_context* server_ = nullptr;
  int backend_port_ = 0;
  std::unique_ptr<tls::TlsFront> tls_;

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable stopping_cv_;
  bool stopping_ = false;
  Faults faults_;
  std::set<std::string> tokens_;
  std::set<std::string> client_ids_;                             // every clientId handed out
  std::map<std::string, std::vector<unsigned char>> keystores_;  // by URL file name
  std::deque<std::string> keystore_order_;
  std::uint64_t logins_ = 0, cert_applies_ = 0, rejected_ = 0;
  std::uint64_t device_list_calls_ = 0, device_list_bodies_ = 0, oversized_subscribes_ = 0;
  std::vector<std::thread> kickers_;  // refuse_oversized_subscribe's, joined by stop()
  std::uint64_t setting_reads_ = 0;
};

}  // namespace thermomaven::sim
