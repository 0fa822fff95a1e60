#include "mqtt_client.hpp"

#include <MQTTAsync.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace thermomaven::client {
namespace {

// ALPN in wire format: a length byte, then the protocol name.
constexpr unsigned char kAlpn[] =
    "\x0e"
    "x-amzn-mqtt-ca";

std::string text_or(const char* text, const char* fallback) {
  return text && *text ? text : fallback;
}

int on_tls_error(const char* text, std::size_t len, void* context) {
  static_cast<MqttClient*>(context)->note_tls_error(std::string_view(text, len));
  return 0;
}

void on_connect_success(void* context, MQTTAsync_successData*) {
  auto* client = static_cast<MqttClient*>(context);
  client->take_tls_error();
  client->listener().on_connected();
}

void on_connect_failure(void* context, MQTTAsync_failureData* data) {
  auto* client = static_cast<MqttClient*>(context);
  const int code = data ? data->code : MQTTASYNC_FAILURE;
  client->listener().on_connect_failed(code, text_or(data ? data->message : nullptr, ""),
                                       client->take_tls_error());
}

void on_connection_lost(void* context, char* cause) {
  static_cast<MqttClient*>(context)->listener().on_connection_lost(
      text_or(cause, "the broker closed the connection"));
  // Paho hands the cause over to us... but documents that it must not be freed
  // in 1.3 (it is static or NULL), so it is left alone.
}

int on_message(void* context, char* topic, int topic_len, MQTTAsync_message* message) {
  auto* client = static_cast<MqttClient*>(context);
  const std::string_view topic_view(topic, topic_len > 0 ? static_cast<std::size_t>(topic_len)
                                                         : std::char_traits<char>::length(topic));
  client->listener().on_message(topic_view,
                                std::string_view(static_cast<const char*>(message->payload),
                                                 static_cast<std::size_t>(message->payloadlen)));
  MQTTAsync_freeMessage(&message);
  MQTTAsync_free(topic);
  return 1;
}

void on_subscribe_success(void* context, MQTTAsync_successData* data) {
  auto* batch = static_cast<MqttClient::Batch*>(context);
  std::vector<int> granted(batch->topics.size(), 0x80);
  if (data) {
    if (batch->topics.size() == 1)
      granted[0] = data->alt.qos;
    else if (data->alt.qosList)
      for (std::size_t i = 0; i < granted.size(); ++i) granted[i] = data->alt.qosList[i];
  }
  batch->owner->finish(batch, &granted, "");
}

void on_subscribe_failure(void* context, MQTTAsync_failureData* data) {
  auto* batch = static_cast<MqttClient::Batch*>(context);
  if (data && data->code == MQTT_BAD_SUBSCRIBE) {
    const std::vector<int> refused(batch->topics.size(), 0x80);
    batch->owner->finish(batch, &refused, "");
    return;
  }
  batch->owner->finish(batch, nullptr,
                       text_or(data ? data->message : nullptr, "no answer from the broker") +
                           " (code " + std::to_string(data ? data->code : -1) + ")");
}

struct DisconnectWait {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
};

void on_disconnected(void* context) {
  auto* wait = static_cast<DisconnectWait*>(context);
  std::lock_guard lock(wait->mutex);
  wait->done = true;
  wait->done_cv.notify_all();
}

}  // namespace

MqttClient::MqttClient(MqttSettings settings, MqttListener& listener)
    : settings_(std::move(settings)), listener_(listener) {
  // OpenSSL 3 initialises itself; Paho's own initialisation (error strings,
  // all algorithms) would only cost memory.
  static std::once_flag once;
  std::call_once(once, [] {
    MQTTAsync_init_options init = MQTTAsync_init_options_initializer;
    init.do_openssl_init = 0;
    MQTTAsync_global_init(&init);
  });
  const std::string uri = "ssl://" + settings_.host + ":" + std::to_string(settings_.port);
  MQTTAsync client = nullptr;
  int rc = MQTTAsync_create(&client, uri.c_str(), settings_.client_id.c_str(),
                            MQTTCLIENT_PERSISTENCE_NONE, nullptr);
  if (rc != MQTTASYNC_SUCCESS)
    throw std::runtime_error("cannot create the MQTT client for " + uri + ": " +
                             text_or(MQTTAsync_strerror(rc), "error"));
  client_ = client;
  rc = MQTTAsync_setCallbacks(client, this, ::thermomaven::client::on_connection_lost,
                              ::thermomaven::client::on_message, nullptr);
  if (rc != MQTTASYNC_SUCCESS) {
    MQTTAsync_destroy(&client);
    throw std::runtime_error("cannot set the MQTT callbacks");
  }
}

MqttClient::~MqttClient() {
  MQTTAsync client = client_;
  if (MQTTAsync_isConnected(client)) {
    DisconnectWait wait;
    MQTTAsync_disconnectOptions options = MQTTAsync_disconnectOptions_initializer;
    options.timeout = 1000;
    options.context = &wait;
    options.onSuccess = [](void* c, MQTTAsync_successData*) { on_disconnected(c); };
    options.onFailure = [](void* c, MQTTAsync_failureData*) { on_disconnected(c); };
    if (MQTTAsync_disconnect(client, &options) == MQTTASYNC_SUCCESS) {
      std::unique_lock lock(wait.mutex);
      wait.done_cv.wait_for(lock, std::chrono::milliseconds(2000), [&] { return wait.done; });
    }
  }
  MQTTAsync_setCallbacks(client, nullptr, nullptr, nullptr, nullptr);
  MQTTAsync_destroy(&client);
}

void MqttClient::connect() {
  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
  ssl.struct_version = 5;
  ssl.trustStore = settings_.trust_path.c_str();
  ssl.keyStore = settings_.certificate_path.c_str();
  ssl.privateKey = settings_.key_path.c_str();
  ssl.enableServerCertAuth = 1;  // never switched off
  ssl.verify = 1;                // and the host name checked
  ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
  ssl.ssl_error_cb = on_tls_error;
  ssl.ssl_error_context = this;
  ssl.disableDefaultTrustStore = 1;  // trust exactly the broker's chain
  ssl.protos = kAlpn;
  ssl.protos_len = sizeof kAlpn - 1;

  MQTTAsync_connectOptions options = MQTTAsync_connectOptions_initializer;
  options.MQTTVersion = MQTTVERSION_3_1_1;
  options.keepAliveInterval = settings_.keep_alive_s;
  options.cleansession = 1;
  options.connectTimeout = settings_.connect_timeout_s;
  options.automaticReconnect = 0;
  options.ssl = &ssl;
  options.onSuccess = on_connect_success;
  options.onFailure = on_connect_failure;
  options.context = this;
  const int rc = MQTTAsync_connect(client_, &options);
  if (rc != MQTTASYNC_SUCCESS)
    throw std::runtime_error(std::string("cannot start connecting: ") +
                             text_or(MQTTAsync_strerror(rc), "error"));
}

void MqttClient::subscribe(const std::vector<std::string>& topics) {
  for (std::size_t first = 0; first < topics.size(); first += kMaxFiltersPerSubscribe) {
    const std::size_t last = std::min(topics.size(), first + kMaxFiltersPerSubscribe);
    subscribe_packet(std::vector<std::string>(topics.begin() + static_cast<std::ptrdiff_t>(first),
                                              topics.begin() + static_cast<std::ptrdiff_t>(last)));
  }
}

void MqttClient::subscribe_packet(const std::vector<std::string>& topics) {
  if (topics.empty()) return;
  Batch* batch;
  {
    std::lock_guard lock(mutex_);
    batch = &batches_.emplace_back(Batch{this, topics});
  }
  std::vector<char*> names;
  for (std::string& t : batch->topics) names.push_back(t.data());
  std::vector<int> qos(topics.size(), 1);
  MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;
  options.onSuccess = on_subscribe_success;
  options.onFailure = on_subscribe_failure;
  options.context = batch;
  const int rc = MQTTAsync_subscribeMany(client_, static_cast<int>(topics.size()), names.data(),
                                         qos.data(), &options);
  if (rc != MQTTASYNC_SUCCESS)
    finish(
        batch, nullptr,
        std::string("cannot send the subscription: ") + text_or(MQTTAsync_strerror(rc), "error"));
}

void MqttClient::finish(Batch* batch, const std::vector<int>* granted, const std::string& error) {
  std::vector<std::string> topics;
  {
    std::lock_guard lock(mutex_);
    topics = std::move(batch->topics);
    batches_.remove_if([&](const Batch& b) { return &b == batch; });
  }
  if (granted)
    listener_.on_subscribed(topics, *granted);
  else
    listener_.on_subscribe_failed(topics, error);
}

// OpenSSL's error lines look like
// "C0F6...:error:0A000086:SSL routines:FUNCTION:certificate verify failed:FILE:LINE:";
// the reason, the sixth field, is what a reader needs.
std::string tls_reason(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (std::size_t colon; (colon = text.find(':', start)) != std::string_view::npos;
       start = colon + 1)
    fields.push_back(text.substr(start, colon - start));
  fields.push_back(text.substr(start));
  if (fields.size() >= 6 && fields[1] == "error") return std::string(fields[5]);
  std::string line(text);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

void MqttClient::note_tls_error(std::string_view text) {
  std::lock_guard lock(mutex_);
  const std::string line = tls_reason(text);
  if (tls_error_.find(line) != std::string::npos) return;
  if (!tls_error_.empty()) tls_error_ += "; ";
  tls_error_ += line;
  if (tls_error_.size() > 600) tls_error_.erase(0, tls_error_.size() - 600);
}

std::string MqttClient::take_tls_error() {
  std::lock_guard lock(mutex_);
  return std::exchange(tls_error_, {});
}

}  // namespace thermomaven::client
