// GET /events through a real HttpServer on a real port: events after
// commits of another connection (as another process makes them), coalesced;
// 64 streams and a 503 for the next; a client that stops reading dropped
// while /metrics keeps answering. Streams are read with raw sockets, the way
// a browser's EventSource sees them. Waits are generous (ASan, busy hosts).
#include <poll.h>
#include <simdjson.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "api_test_support.hpp"
#include "exporter_test_support.hpp"
#include "thermomaven/exporter/http_server.hpp"
#include "thermomaven/storage/reading_writer.hpp"

using namespace thermomaven;
using Clock = std::chrono::steady_clock;

namespace {

// The food of probe 1 in a state event, in °C.
std::optional<double> food_c(const std::string& state_json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(state_json).get(doc) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::array probes;
  if (doc["probes"].get_array().get(probes) != simdjson::SUCCESS || probes.size() == 0)
    return std::nullopt;
  double food = 0;
  if (probes.at(0)["food_c"].get_double().get(food) != simdjson::SUCCESS) return std::nullopt;
  return food;
}

// One /events stream, read by hand.
class SseClient {
 public:
  // `receive_buffer` > 0 shrinks the socket's receive buffer (set before
  // connecting, so that the window stays small).
  explicit SseClient(int port, int receive_buffer = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (receive_buffer > 0)
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    const std::string request =
        "GET /events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n";
    REQUIRE(send(fd_, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()));
  }
  ~SseClient() { close(fd_); }
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  // Reads until `done(received)` or `seconds` pass; false on timeout. Sets
  // closed() when the server closed the stream.
  template <typename F>
  bool read_until(F&& done, double seconds) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
    while (!done(received_)) {
      if (closed_) return false;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(std::min<long long>(left, 500))) <= 0) continue;
      char buf[65536];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        continue;
      }
      received_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  bool has(const std::string& text, double seconds) {
    return read_until([&](const std::string& r) { return r.find(text) != std::string::npos; },
                      seconds);
  }
  // Reads and drops everything until the server closes, up to `seconds`.
  bool drained_to_end(double seconds) {
    read_until([](const std::string&) { return false; }, seconds);
    return closed_;
  }

  // The data lines of every `state` event so far.
  std::vector<std::string> states() const {
    std::vector<std::string> out;
    std::size_t at = 0;
    const std::string marker = "event: state\ndata: ";
    while ((at = received_.find(marker, at)) != std::string::npos) {
      const std::size_t start = at + marker.size();
      const std::size_t end = received_.find("\n\n", start);
      if (end == std::string::npos) break;
      out.push_back(received_.substr(start, end - start));
      at = end;
    }
    return out;
  }
  const std::string& received() const { return received_; }
  void forget() { received_.clear(); }
  // The food of probe 1 in the newest state event, if any.
  std::optional<double> last_food() const {
    const auto all = states();
    if (all.empty()) return std::nullopt;
    return food_c(all.back());
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  std::string received_;
  bool closed_ = false;
};

StatusReport report(const std::string& device, std::int64_t at, std::int32_t food) {
  StatusReport r = api_test::heating_report(device, 4, at, 0);
  r.probes[0].temperature = food;
  return r;
}

// A database with one device, served with staleness off.
struct Served {
  exporter_test::TempDir dir;
  std::string db = dir / "events.db";
  std::unique_ptr<exporter::HttpServer> server;
  explicit Served(int devices = 1) {
    storage::Database database(db);
    storage::ReadingWriter writer(database);
    for (int d = 0; d < devices; ++d)
      writer.write(report("dev" + std::to_string(d), api_test::kStartMs, 700));
    writer.commit();
    server = api_test::start_server(db);
  }
  int port() const { return server->port(); }
};

}  // namespace

TEST_CASE("/events sends a device's state after another connection commits, coalesced") {
  Served s;
  SseClient client(s.port());
  REQUIRE(client.has("\n\n", 30));
  CHECK(client.received().starts_with("HTTP/1.1 200"));
  CHECK(client.received().find("Content-Type: text/event-stream") != std::string::npos);
  CHECK(client.received().find("X-Content-Type-Options: nosniff") != std::string::npos);
  // The current state first.
  REQUIRE(client.read_until([&](const std::string&) { return !client.states().empty(); }, 30));
  CHECK(food_c(client.states().at(0)) == to_celsius(700, TemperatureUnit::Fahrenheit));

  // A separate connection writes, as `collect` or `import` would.
  storage::Database other(s.db);
  storage::ReadingWriter writer(other);
  writer.write(report("dev0", api_test::kStartMs + 2000, 800));
  writer.commit();
  const double wanted = to_celsius(800, TemperatureUnit::Fahrenheit);
  REQUIRE(client.read_until([&](const std::string&) { return client.last_food() == wanted; }, 30));
  const std::size_t before = client.states().size();
  // The logger's health is an event of its own, sent first and on change.
  CHECK(client.received().find("event: logger\ndata: {\"version\": ") != std::string::npos);
  CHECK(client.received().find("\"broker_connected\": null, \"collector\": null}") !=
        std::string::npos);
  CollectorStatus status;
  status.updated_ms = api_test::kStartMs;
  status.state = "connected";
  status.mqtt_connected = true;
  writer.write(status);
  writer.commit();
  CHECK(client.has(
      "\"broker_connected\": true, \"collector\": {\"state\": \"connected\", \"running\": true",
      30));

  // An import's batches: 60 commits in a burst reach the client as a few
  // events ending with the newest state, not as 60.
  constexpr int kCommits = 60;
  for (int i = 1; i <= kCommits; ++i) {
    writer.write(report("dev0", api_test::kStartMs + 2000 + i * 2000, 800 + i));
    writer.commit();
  }
  const double last = to_celsius(800 + kCommits, TemperatureUnit::Fahrenheit);
  REQUIRE(client.read_until([&](const std::string&) { return client.last_food() == last; }, 30));
  const std::size_t events = client.states().size() - before;
  INFO(events << " events for " << kCommits << " commits");
  CHECK(events >= 1);
  CHECK(events < kCommits / 2);
}

TEST_CASE("/events admits 64 clients, refuses the 65th with a 503, and /metrics still answers") {
  Served s;
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < 64; ++i) {
    clients.push_back(std::make_unique<SseClient>(s.port()));
    INFO("client " << i);
    REQUIRE(clients.back()->has("retry: ", 60));
    CHECK(clients.back()->received().starts_with("HTTP/1.1 200"));
  }
  SseClient refused(s.port());
  REQUIRE(refused.has("}", 60));
  CHECK(refused.received().starts_with("HTTP/1.1 503"));
  CHECK(refused.received().find("\"error\": \"too many /events clients") != std::string::npos);
  // The scrape has its own workers.
  const auto start = Clock::now();
  const auto metrics = exporter_test::http_request(s.server->url() + "/metrics");
  CHECK(metrics.status == 200);
  CHECK(exporter_test::http_request(s.server->url() + "/api/devices").status == 200);
  CHECK(Clock::now() - start < std::chrono::seconds(10));
  // Every admitted stream gets the current state.
  for (auto& c : clients)
    CHECK(c->read_until([&](const std::string&) { return !c->states().empty(); }, 30));

  // A client that leaves frees its slot once the server notices (the next
  // event or heartbeat it fails to send).
  clients.pop_back();
  storage::Database other(s.db);
  storage::ReadingWriter writer(other);
  bool admitted = false;
  for (int i = 0; i < 60 && !admitted; ++i) {
    writer.write(report("dev0", api_test::kStartMs + (i + 1) * 2000, 900 + i));
    writer.commit();
    SseClient next(s.port());
    REQUIRE(next.has("\r\n", 30));
    admitted = next.received().starts_with("HTTP/1.1 200");
    if (!admitted) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  CHECK(admitted);
}

TEST_CASE("/events drops a client that stops reading, without holding up the writer or scrape") {
  // 100 devices of 4 probes: each commit changes ~100 KB of entries, so
  // that a client that reads nothing fills its socket buffers quickly.
  Served s(100);
  SseClient stalled(s.port(), 4096);  // connects, then never reads
  SseClient healthy(s.port());
  REQUIRE(healthy.has("retry: ", 60));

  storage::Database other(s.db);
  storage::ReadingWriter writer(other);
  const auto started = Clock::now();
  std::int32_t food = 1000;
  double slowest_commit_s = 0, slowest_scrape_s = 0;
  // Keep changing every device for 40 s: the stalled stream's buffers fill
  // within a few commits, then its send times out (10 s) and it is dropped.
  while (Clock::now() - started < std::chrono::seconds(40)) {
    ++food;
    const auto t0 = Clock::now();
    for (int d = 0; d < 100; ++d)
      writer.write(report("dev" + std::to_string(d), api_test::kStartMs + food * 1000LL, food));
    writer.commit();
    const auto t1 = Clock::now();
    const auto scrape = exporter_test::http_request(s.server->url() + "/metrics");
    const auto t2 = Clock::now();
    CHECK(scrape.status == 200);
    slowest_commit_s = std::max(slowest_commit_s, std::chrono::duration<double>(t1 - t0).count());
    slowest_scrape_s = std::max(slowest_scrape_s, std::chrono::duration<double>(t2 - t1).count());
    // The healthy client keeps up.
    healthy.read_until([](const std::string&) { return false; }, 0.3);
    healthy.forget();
  }
  INFO("slowest commit " << slowest_commit_s << " s, slowest scrape " << slowest_scrape_s << " s");
  CHECK(slowest_commit_s < 10);
  CHECK(slowest_scrape_s < 10);
  // One more change after the buffer was last emptied: the healthy client gets it.
  ++food;
  writer.write(report("dev0", api_test::kStartMs + food * 1000LL, food));
  writer.commit();
  const double newest = to_celsius(food, TemperatureUnit::Fahrenheit);
  CHECK(healthy.read_until([&](const std::string&) { return healthy.last_food() == newest; }, 30));
  CHECK_FALSE(healthy.closed());
  // The stalled client was cut off: once it reads what its buffers hold,
  // the stream ends instead of waiting for the next heartbeat.
  CHECK(stalled.drained_to_end(60));
  CHECK(stalled.received().starts_with("HTTP/1.1 200"));
}
