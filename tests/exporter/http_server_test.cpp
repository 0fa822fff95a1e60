// The exporter's HTTP server on a real port, over the sample capture's
// database, talked to with libcurl and raw sockets.
#include "thermomaven/exporter/http_server.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <regex>
#include <thread>

#include "exporter_test_support.hpp"
#include "test_support.hpp"
#include "thermomaven/storage/reading_writer.hpp"

using namespace thermomaven;
using exporter_test::http_request;

namespace {

// The sample capture imported by the real binary, served on a free port.
struct Served {
  exporter_test::TempDir dir;
  std::string db = dir / "sample.db";
  std::unique_ptr<exporter::HttpServer> server;

  explicit Served(exporter::ServerOptions options = {}) {
    const auto imported = tm_test::thermomaven({"import", "--db", db, TM_SAMPLE_CAPTURE});
    REQUIRE(imported.exit_code == 0);
    options.listen = "127.0.0.1:0";
    options.stale_after_s = 0;
    server = std::make_unique<exporter::HttpServer>(db, std::move(options));
    server->start();
    REQUIRE(server->port() > 0);
  }
  std::string url(const std::string& path) const { return server->url() + path; }
  bool healthy() const { return http_request(url("/healthz")).status == 200; }
};

// civetweb takes about 2 s to stop, so the tests that need no options of
// their own share one server.
Served& shared() {
  static Served served;
  return served;
}

exporter::ServerOptions listening_on(std::string address) {
  exporter::ServerOptions options;
  options.listen = std::move(address);
  return options;
}

std::vector<std::string> cook_ids(const std::string& json) {
  std::vector<std::string> ids;
  const std::regex id("\"cook_uuid\": \"([0-9a-f]+)\"");
  for (auto it = std::sregex_iterator(json.begin(), json.end(), id); it != std::sregex_iterator();
       ++it)
    ids.push_back((*it)[1]);
  return ids;
}

}  // namespace

TEST_CASE("/cooks is what `thermomaven cooks --json` prints") {
  Served& s = shared();
  const auto r = http_request(s.url("/cooks"));
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "application/json");
  const auto cli = tm_test::thermomaven({"cooks", "--db", s.db, "--json"});
  REQUIRE(cli.exit_code == 0);
  CHECK(r.body == cli.out);
  CHECK(cook_ids(r.body).size() == 5);
}

TEST_CASE("a cook downloads as the same CSV as `thermomaven export`, as an attachment") {
  Served& s = shared();
  const auto ids = cook_ids(http_request(s.url("/cooks")).body);
  REQUIRE_FALSE(ids.empty());
  for (const std::string& id : ids) {
    for (const std::string unit : {"", "C", "F"}) {
      const auto r =
          http_request(s.url("/cooks/" + id + ".csv" + (unit.empty() ? "" : "?unit=" + unit)));
      INFO(id << " unit " << unit);
      REQUIRE(r.status == 200);
      CHECK(r.header("content-type") == "text/csv; charset=utf-8");
      const std::regex disposition(
          "attachment; filename=\"thermomaven-\\d{4}-\\d\\d-\\d\\d-probe[1-4]-" + id + "\\.csv\"");
      CHECK(std::regex_match(r.header("content-disposition"), disposition));
      std::vector<std::string> args{"export", "--db", s.db, "--cook", id};
      if (!unit.empty()) args.insert(args.end(), {"--unit", unit});
      const auto cli = tm_test::thermomaven(args);
      REQUIRE(cli.exit_code == 0);
      CHECK(r.body == cli.out);
      CHECK(r.header("content-length") == std::to_string(cli.out.size()));
    }
  }
  const auto latest = http_request(s.url("/cooks/latest.csv"));
  CHECK(latest.status == 200);
  CHECK(latest.body == tm_test::thermomaven({"export", "--db", s.db, "--cook", "latest"}).out);
}

TEST_CASE("unknown paths, unknown cooks and bad parameters get short errors") {
  Served& s = shared();
  for (const std::string path :
       {"/index.html", "/nope", "/metrics/extra", "/cooks/", "/cooks/.csv",
        "/cooks/0123456789abcdef.csv", "/cooks/../../etc/passwd",
        "/cooks/%22%0d%0aSet-Cookie:x.csv", "/cooks/a%2Fb.csv", "/healthz.csv", "/COOKS"}) {
    const auto r = http_request(s.url(path));
    INFO(path);
    CHECK(r.status == 404);
    CHECK(r.body.size() < 320);
    CHECK(r.headers.count("content-disposition") == 0);
  }
  const auto id = cook_ids(http_request(s.url("/cooks")).body).at(0);
  const auto bad_unit = http_request(s.url("/cooks/" + id + ".csv?unit=K"));
  CHECK(bad_unit.status == 400);
  CHECK(bad_unit.body == "unit must be C or F\n");
  const auto post = http_request(s.url("/metrics"), "POST");
  CHECK(post.status == 405);
  CHECK(post.header("allow") == "GET, HEAD");
  const auto head = http_request(s.url("/metrics"), "HEAD");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(std::stoul(head.header("content-length")) > 1000);
}

TEST_CASE("malformed and over-long requests are refused and the server keeps serving") {
  Served& s = shared();
  const int port = s.server->port();
  const std::vector<std::pair<std::string, std::string>> attacks = {
      {"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n"},
      {"no version", "GET /metrics\r\n\r\n"},
      {"bad version", "GET /metrics HTTP/9.9\r\n\r\n"},
      {"long uri", "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"long header",
       "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'b') + "\r\n\r\n"},
      {"many headers", "GET /metrics HTTP/1.1\r\n" +
                           [] {
                             std::string h;
                             for (int i = 0; i < 800; ++i)
                               h += "X-" + std::to_string(i) + ": yyyyyyyy\r\n";  // 12 KiB
                             return h;
                           }() +
                           "\r\n"},
      {"NUL bytes", std::string("GET /met\0rics HTTP/1.1\r\n\r\n", 26)},
      {"huge body", "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\nabc"},
      {"negative length", "POST /cooks HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"},
      {"half a request", "GET /metr"},
  };
  for (const auto& [name, bytes] : attacks) {
    INFO(name);
    const std::string reply = exporter_test::raw_exchange(port, bytes);
    CHECK(reply.rfind("HTTP/1.1 200", 0) != 0);
    CHECK(s.healthy());
  }
  // And a well-formed raw request still works on the same server.
  const std::string ok = exporter_test::raw_exchange(
      port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(ok.rfind("HTTP/1.1 200", 0) == 0);
}

TEST_CASE("/healthz says whether the database is readable and what the collector does") {
  SECTION("readable, no collector ever ran") {
    Served& s = shared();
    const auto r = http_request(s.url("/healthz"));
    CHECK(r.status == 200);
    CHECK(r.header("content-type") == "application/json");
    CHECK(r.body.find("\"database\": \"readable\"") != std::string::npos);
    CHECK(r.body.find("\"collector\": null") != std::string::npos);
  }
  SECTION("the in-process collector's state when the server runs next to it") {
    exporter::ServerOptions options;
    options.collector_state = [] {
      CollectorStatus c;
      c.state = "backoff";
      c.last_error = "broker refused \"us\"";
      c.mqtt_reconnects = 7;
      return std::optional<CollectorStatus>(c);
    };
    Served s(options);
    const auto r = http_request(s.url("/healthz"));
    CHECK(r.status == 200);
    CHECK(r.body.find("\"state\": \"backoff\"") != std::string::npos);
    CHECK(r.body.find("\"mqtt_connected\": false") != std::string::npos);
    CHECK(r.body.find("\"mqtt_reconnects\": 7") != std::string::npos);
    CHECK(r.body.find("\"last_error\": \"broker refused \\\"us\\\"\"") != std::string::npos);
  }
  SECTION("a database that is not there: 503, and the metrics say so too") {
    exporter_test::TempDir dir;
    exporter::HttpServer server(dir / "missing.db", listening_on("127.0.0.1:0"));
    server.start();
    const auto health = http_request(server.url() + "/healthz");
    CHECK(health.status == 503);
    CHECK(health.body.find("\"status\": \"unavailable\"") != std::string::npos);
    CHECK(http_request(server.url() + "/metrics").status == 503);
    // Once the database appears, the same server serves it.
    storage::Database created(dir / "missing.db");
    CHECK(http_request(server.url() + "/healthz").status == 200);
  }
  SECTION("a file that is not a database") {
    exporter_test::TempDir dir;
    exporter_test::write_file(dir / "junk.db", std::string(8192, 'x'));
    exporter::HttpServer server(dir / "junk.db", listening_on("127.0.0.1:0"));
    server.start();
    CHECK(http_request(server.url() + "/healthz").status == 503);
  }
}

TEST_CASE("a scrape neither waits for a writer's open batch nor sees part of it") {
  Served s;
  storage::Database db(s.db);
  storage::ReadingWriter writer(db);
  StatusReport r;
  r.device_id = "777";
  r.model = "WT10";
  r.time_ms = 1'777'790'000'000;
  r.online = true;
  writer.write(r);  // uncommitted: the write transaction stays open
  REQUIRE(writer.pending_reports() == 1);
  const auto during = http_request(s.url("/metrics"));
  CHECK(during.status == 200);
  CHECK(during.body.find("device_id=\"777\"") == std::string::npos);
  writer.commit();
  const auto after = http_request(s.url("/metrics"));
  CHECK(after.body.find("thermomaven_device_up{device_id=\"777\"") != std::string::npos);
}

TEST_CASE("the server refuses an address it cannot listen on, with the reason") {
  Served& s = shared();
  exporter::HttpServer second(s.db, listening_on("127.0.0.1:" + std::to_string(s.server->port())));
  CHECK_THROWS_WITH(second.start(), Catch::Contains("cannot listen on 127.0.0.1:"));
  exporter::HttpServer nonsense(s.db, listening_on("not-an-address:x"));
  CHECK_THROWS_WITH(nonsense.start(), Catch::Contains("cannot listen on not-an-address:x"));
  CHECK(s.healthy());
}

TEST_CASE("thermomaven serve refuses bad flags and a missing database with one clear line") {
  exporter_test::TempDir dir;
  const auto no_db = tm_test::thermomaven({"serve"});
  CHECK(no_db.exit_code == 2);
  CHECK(no_db.err.find("--db is required") != std::string::npos);
  const auto missing = tm_test::thermomaven({"serve", "--db", dir / "none.db"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("no database at") != std::string::npos);
  const auto stale = tm_test::thermomaven({"serve", "--db", shared().db, "--stale-after", "soon"});
  CHECK(stale.exit_code == 2);
  CHECK(stale.err.find("--stale-after must be a number of seconds") != std::string::npos);
  const auto listen = tm_test::thermomaven({"serve", "--db", shared().db, "--listen", "9469"});
  CHECK(listen.exit_code == 2);
  CHECK(listen.err.find("--listen must be HOST:PORT") != std::string::npos);
  exporter_test::write_file(dir / "junk.db", std::string(4096, 'j'));
  const auto junk = tm_test::thermomaven({"serve", "--db", dir / "junk.db"});
  CHECK(junk.exit_code == 2);
  CHECK(junk.err.find("not a database") != std::string::npos);
  const auto taken = tm_test::thermomaven({"serve", "--db", shared().db, "--listen",
                                           "127.0.0.1:" + std::to_string(shared().server->port())});
  CHECK(taken.exit_code == 2);
  CHECK(taken.err.find("cannot listen on") != std::string::npos);
}

TEST_CASE("scrapes during a stream of commits always see whole batches") {
  Served s;
  const auto count_devices = [](const std::string& metrics) {
    std::size_t n = 0;
    for (std::size_t at = 0;
         (at = metrics.find("\nthermomaven_device_up{", at)) != std::string::npos; ++at)
      ++n;
    return n;
  };
  const std::size_t before = count_devices(http_request(s.url("/metrics")).body);
  REQUIRE(before > 0);

  // Each batch adds two devices in one transaction; a scrape that saw half a
  // batch would count an odd number of new devices.
  std::atomic<bool> done{false};
  std::thread writer_thread([&] {
    storage::Database db(s.db);
    storage::ReadingWriter writer(db);
    for (int batch = 0; batch < 60; ++batch) {
      for (int i = 0; i < 2; ++i) {
        StatusReport r;
        r.device_id = "9";
        r.device_id += std::to_string(batch * 2 + i);
        r.model = "WT10";
        r.time_ms = 1'777'790'000'000 + batch;
        r.online = true;
        writer.write(r);
      }
      writer.commit();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    done = true;
  });
  std::vector<std::size_t> seen;
  int failures = 0;
  while (!done) {
    const auto r = http_request(s.url("/metrics"));
    if (r.status != 200)
      ++failures;
    else
      seen.push_back(count_devices(r.body) - before);
  }
  writer_thread.join();
  CHECK(failures == 0);
  CHECK(seen.size() > 3);
  for (std::size_t added : seen) CHECK(added % 2 == 0);
  CHECK(count_devices(http_request(s.url("/metrics")).body) == before + 120);
}
