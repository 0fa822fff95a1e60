// Raw bytes from the network as an HTTP request to the exporter: one real
// HttpServer (civetweb on a loopback port, over a small real database)
// serves every input through a fresh TCP connection. The server must never
// crash, and must keep answering /healthz.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "thermomaven/exporter/http_server.hpp"
#include "thermomaven/storage/reading_writer.hpp"

namespace {

namespace fs = std::filesystem;
using namespace thermomaven;

constexpr const char* kCookId = "c0ffee01";  // the seeds ask for it

// A device with one cook of a few readings, and a collector status.
void fill_database(const std::string& path) {
  storage::Database db(path);
  storage::ReadingWriter writer(db);
  writer.write(DeviceInfo{"dev1", "Grill \"north\", =1+1", "WT09", "SN1", {}});
  for (int i = 0; i < 5; ++i) {
    StatusReport r;
    r.device_id = "dev1";
    r.model = "WT09";
    r.time_ms = 1764201600000 + i * 60000;
    ProbeSample& p = r.probes.emplace_back();
    p.probe = 1;
    p.state = "cooking";
    p.cook_uuid = kCookId;
    p.notes = "brisket\r\nline two";
    p.has_notes = true;
    p.temperature = 700 + 10 * i;
    p.ambient = 2200;
    p.target = 2030;
    writer.write(r);
  }
  CollectorStatus status;
  status.updated_ms = 1764201600000;
  status.state = "connected";
  status.mqtt_connected = true;
  status.last_error = "none \"quoted\"";
  writer.write(status);
  writer.commit();
}

// The server lives for the whole process (civetweb takes seconds to stop);
// a static keeps it reachable, so the leak checker does not count it.
exporter::HttpServer* server = nullptr;
std::string temp_dir;  // holds the database; removed at exit

void start_server() {
  char pattern[] = "/tmp/tm-fuzz-http-XXXXXX";
  const char* dir = mkdtemp(pattern);
  if (!dir) std::abort();
  temp_dir = dir;
  std::atexit([] {
    std::error_code ignored;
    fs::remove_all(temp_dir, ignored);
  });
  const std::string db = temp_dir + "/fuzz.db";
  fill_database(db);
  exporter::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.threads = 2;
  options.stale_after_s = 0;
  server = new exporter::HttpServer(db, options);
  server->start();
}

// Sends `request` on a fresh connection, half-closes it so the server sees
// the end, and returns what came back within a short timeout.
std::string exchange(const std::string& request, int timeout_ms) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) std::abort();
  timeval timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(server->port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    for (std::size_t sent = 0; sent < request.size();) {
      const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the server may cut a request off early
      sent += static_cast<std::size_t>(n);
    }
    shutdown(fd, SHUT_WR);
    char buffer[16384];
    for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) answer.append(buffer, n);
  }
  close(fd);
  return answer;
}

bool healthy() {
  const std::string answer = exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 5000);
  return answer.starts_with("HTTP/1.1 200");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  start_server();
  if (!healthy()) std::abort();  // set up wrong, not a finding
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static unsigned inputs = 0;
  exchange(std::string(reinterpret_cast<const char*>(data), size), 1000);
  if (++inputs % 64 == 0 && !healthy()) __builtin_trap();
  return 0;
}
