#include "thermomaven/sim/publisher.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "thermomaven/core/log.hpp"
#include "thermomaven/core/time.hpp"
#include "thermomaven/sim/json_writer.hpp"

namespace thermomaven::sim {
namespace {}  // namespace

Publisher::Publisher(PublisherConfig config) : config_(std::move(config)) {
  if (!config_.capture_file.empty()) capture_ = std::fopen(config_.capture_file.c_str(), "ae");
  if (!capture_ && !config_.capture_file.empty())
    throw std::runtime_error("cannot open " + config_.capture_file + ": " + std::strerror(errno));
  int rc = MQTTClient_create(&client_, config_.uri.c_str(), config_.client_id.c_str(),
                             MQTTCLIENT_PERSISTENCE_NONE, nullptr);
  // With callbacks Paho runs its own receive thread and reports each PUBACK;
  // MQTTClient_waitForCompletion would poll in 100 ms steps instead.
  if (rc == MQTTCLIENT_SUCCESS)
    rc = MQTTClient_setCallbacks(
        client_, this,
        [](void* self, char*) {
          auto* p = static_cast<Publisher*>(self);
          std::lock_guard lock(p->acks_mutex_);
          p->connection_lost_ = true;
          p->acked_.notify_all();
        },
        [](void*, char* topic, int, MQTTClient_message* m) {
          MQTTClient_freeMessage(&m);
          MQTTClient_free(topic);
          return 1;
        },
        [](void* self, MQTTClient_deliveryToken token) {
          auto* p = static_cast<Publisher*>(self);
          std::lock_guard lock(p->acks_mutex_);
          p->acked_tokens_.insert(token);
          p->acked_.notify_all();
        });
  if (rc != MQTTCLIENT_SUCCESS) {
    if (capture_) std::fclose(capture_);
    throw std::runtime_error("cannot create the MQTT publisher: " +
                             std::string(MQTTClient_strerror(rc)));
  }
}

Publisher::~Publisher() {
  disconnect();
  MQTTClient_destroy(&client_);
  if (capture_) std::fclose(capture_);
}

void Publisher::disconnect() {
  if (MQTTClient_isConnected(client_)) MQTTClient_disconnect(client_, 1000);
}

bool Publisher::connect() {
  MQTTClient_SSLOptions ssl = MQTTClient_SSLOptions_initializer;
  ssl.trustStore = config_.trust_file.c_str();
  ssl.keyStore = config_.cert_file.c_str();
  ssl.privateKey = config_.key_file.c_str();
  ssl.enableServerCertAuth = 1;
  ssl.verify = 1;
  ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
  MQTTClient_connectOptions options = MQTTClient_connectOptions_initializer;
  options.keepAliveInterval = 30;
  options.cleansession = 1;
  options.connectTimeout = 3;
  options.ssl = &ssl;
  {
    std::lock_guard lock(acks_mutex_);
    acked_tokens_.clear();
    connection_lost_ = false;
  }
  const int rc = MQTTClient_connect(client_, &options);
  if (rc == MQTTCLIENT_SUCCESS) {
    if (!was_available_) log_info("sim", "publisher: connected to the broker again");
    was_available_ = true;
    return true;
  }
  if (was_available_)
    log_warn("sim", "publisher: broker unavailable (" + std::string(MQTTClient_strerror(rc)) +
                        "); device messages are not published until it is back");
  was_available_ = false;
  return false;
}

bool Publisher::try_publish(const std::string& topic, const std::string& payload) {
  MQTTClient_deliveryToken token = 0;
  const int rc = MQTTClient_publish(client_, topic.c_str(), static_cast<int>(payload.size()),
                                    payload.data(), 1, 0, &token);
  if (rc != MQTTCLIENT_SUCCESS) return false;
  std::unique_lock lock(acks_mutex_);
  const bool acked = acked_.wait_for(lock, std::chrono::seconds(5), [&] {
    return acked_tokens_.count(token) > 0 || connection_lost_;
  }) && acked_tokens_.count(token) > 0;
  acked_tokens_.erase(token);
  return acked;
}

bool Publisher::publish(const std::string& topic, const std::string& payload) {
  if (MQTTClient_isConnected(client_) && try_publish(topic, payload)) {
    record(topic, payload);
    return true;
  }
  // The broker went away (stopped, restarted, or the connection broke):
  // reconnect once and try again.
  if (MQTTClient_isConnected(client_)) MQTTClient_disconnect(client_, 100);
  if (!connect() || !try_publish(topic, payload)) return false;
  record(topic, payload);
  return true;
}

void Publisher::record(const std::string& topic, const std::string& payload) {
  ++published_;
  if (!capture_) return;
  JsonWriter line;
  line.begin_object().field("topic", topic).key("payload").raw(payload).field("ts", now_ms());
  line.end_object();
  std::string text = line.take();
  text += '\n';
  // Flushed at once: tests read this file while the simulator runs.
  if (std::fwrite(text.data(), 1, text.size(), capture_) != text.size() ||
      std::fflush(capture_) != 0)
    log_error("sim", "cannot append to " + config_.capture_file + ": " + std::strerror(errno));
}

}  // namespace thermomaven::sim
