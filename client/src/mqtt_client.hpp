// One MQTT connection over mutual TLS with the Paho C async client: MQTT
// 3.1.1, TLS 1.2+ with the server certificate and host name verified, ALPN
// x-amzn-mqtt-ca, clean session, keep-alive 30 s, QoS 1 subscriptions of at
// most 8 topic filters per SUBSCRIBE (the AWS IoT quota). No
// automatic reconnect: the owner decides when and with which certificate.
// Every callback runs on a Paho thread and must only hand work over.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace thermomaven::client {

struct MqttSettings {
  std::string host;
  int port = 8883;
  std::string client_id;
  std::string trust_path;        // PEM CAs to trust for the broker
  std::string certificate_path;  // client certificate PEM
  std::string key_path;          // client key PEM
  int keep_alive_s = 30;
  int connect_timeout_s = 15;
};

class MqttListener {
 public:
  virtual ~MqttListener() = default;
  virtual void on_connected() = 0;
  // `tls_error` holds what OpenSSL reported during the handshake, if anything.
  virtual void on_connect_failed(int code, const std::string& reason,
                                 const std::string& tls_error) = 0;
  virtual void on_connection_lost(const std::string& reason) = 0;
  // granted[i] is the QoS granted for topics[i], or 0x80 when refused.
  virtual void on_subscribed(const std::vector<std::string>& topics,
                             const std::vector<int>& granted) = 0;
  virtual void on_subscribe_failed(const std::vector<std::string>& topics,
                                   const std::string& reason) = 0;
  virtual void on_message(std::string_view topic, std::string_view payload) = 0;
};

class MqttClient {
 public:
  MqttClient(MqttSettings settings, MqttListener& listener);  // throws std::runtime_error
  ~MqttClient();  // disconnects (briefly waiting) and frees the Paho client
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // AWS IoT Core accepts at most 8 topic filters in one SUBSCRIBE (protocol.md).
  static constexpr std::size_t kMaxFiltersPerSubscribe = 8;

  void connect();  // the result arrives through the listener
  // One SUBSCRIBE per 8 topics; each SUBACK reaches the listener on its own.
  void subscribe(const std::vector<std::string>& topics);

  // Paho's C callbacks.
  struct Batch {
    MqttClient* owner;
    std::vector<std::string> topics;
  };
  void finish(Batch* batch, const std::vector<int>* granted, const std::string& error);
  void note_tls_error(std::string_view text);
  std::string take_tls_error();
  MqttListener& listener() { return listener_; }

 private:
  void subscribe_packet(const std::vector<std::string>& topics);

  MqttSettings settings_;
  MqttListener& listener_;
  void* client_ = nullptr;  // MQTTAsync
  std::mutex mutex_;
  std::list<Batch> batches_;  // pending subscriptions, owned here
  std::string tls_error_;
};

}  // namespace thermomaven::client
