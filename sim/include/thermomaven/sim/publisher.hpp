// The simulator's own MQTT client (Paho C, synchronous): the cloud side that
// publishes the devices' messages. It has its own client certificate, which
// the ACL lets write every topic. Every message the broker acknowledged is
// appended to the published capture, so tests can compare what the logger
// stored with what was really sent.
#pragma once

#include <MQTTClient.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>

namespace thermomaven::sim {

struct PublisherConfig {
  std::string uri;         // ssl://127.0.0.1:PORT
  std::string client_id;   // also the CN of its certificate
  std::string trust_file;  // CA certificates it accepts for the broker
  std::string cert_file;
  std::string key_file;
  std::string capture_file;  // published.jsonl; empty: record nothing
};

class Publisher {
 public:
  explicit Publisher(PublisherConfig config);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // QoS 1. Returns false when the broker is unavailable (then nothing is
  // recorded: a message is recorded only once the broker acknowledged it).
  // `payload` must be a JSON object. Not thread-safe: one caller thread.
  bool publish(const std::string& topic, const std::string& payload);
  std::uint64_t published() const { return published_; }
  // Disconnects cleanly; call it before the broker stops for good (a
  // connection Paho finds lost during destruction leaks its TLS session).
  void disconnect();

 private:
  bool connect();
  bool try_publish(const std::string& topic, const std::string& payload);
  void record(const std::string& topic, const std::string& payload);

  PublisherConfig config_;
  MQTTClient client_ = nullptr;
  std::FILE* capture_ = nullptr;
  std::mutex acks_mutex_;  // guards the two below; Paho's thread reports PUBACKs
  std::condition_variable acked_;
  std::set<MQTTClient_deliveryToken> acked_tokens_;
  bool connection_lost_ = false;
  bool was_available_ = true;  // to log only changes of broker availability
  std::atomic<std::uint64_t> published_ = 0;
};

}  // namespace thermomaven::sim
