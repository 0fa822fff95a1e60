// A real `thermomaven serve` with a web configuration file: HTTPS with a
// client certificate and basic authentication, reached by the curl CLI and
// scraped by a real Prometheus; the page's live stream (/events) through the
// same TLS front and authentication, read by libcurl. Certificates come from
// the openssl CLI.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "api_test_support.hpp"
#include "event_stream.hpp"
#include "exporter_test_support.hpp"
#include "live_test_support.hpp"
#include "test_support.hpp"
#include "thermomaven/exporter/http_server.hpp"
#include "thermomaven/exporter/web_config.hpp"
#include "thermomaven/storage/reading_writer.hpp"

using exporter_test::TempDir;
using tm_test::write_file;

namespace {

const std::string kPassword = "correct horse battery";

void new_key_and_request(const std::string& dir, const std::string& name, const std::string& cn) {
  live_test::openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", dir + "/" + name + ".key", "-out", dir + "/" + name + ".csr",
                      "-subj", "/CN=" + cn});
  REQUIRE(chmod((dir + "/" + name + ".key").c_str(), 0600) == 0);
}

void sign(const std::string& dir, const std::string& name, const std::string& extensions = "") {
  std::vector<std::string> args = {"x509",
                                   "-req",
                                   "-in",
                                   dir + "/" + name + ".csr",
                                   "-CA",
                                   dir + "/ca.pem",
                                   "-CAkey",
                                   dir + "/ca.key",
                                   "-out",
                                   dir + "/" + name + ".crt",
                                   "-days",
                                   "2",
                                   "-CAcreateserial"};
  if (!extensions.empty()) {
    write_file(dir + "/" + name + ".ext", extensions);
    args.insert(args.end(), {"-extfile", dir + "/" + name + ".ext"});
  }
  live_test::openssl(args);
}

// ca.pem; server.crt/key for 127.0.0.1; client.crt/key signed by the CA;
// stranger.crt/key self-signed.
void make_pki(const std::string& dir) {
  live_test::openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", dir + "/ca.key", "-out", dir + "/ca.pem", "-days", "2",
                      "-subj", "/CN=Exporter Test CA"});
  new_key_and_request(dir, "server", "127.0.0.1");
  sign(dir, "server", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  new_key_and_request(dir, "client", "prometheus");
  sign(dir, "client");
  live_test::openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", dir + "/stranger.key", "-out", dir + "/stranger.crt",
                      "-days", "2", "-subj", "/CN=prometheus"});
}

struct CurlResult {
  int exit_code = -1;
  std::string headers;  // status line and headers of the response, if any
  std::string status;   // "200", or "" when no HTTP response came
  std::string error;
};

// The curl CLI; the password goes in a config file, not on its command line.
CurlResult curl(const TempDir& dir, const std::string& url, std::vector<std::string> options) {
  std::vector<std::string> args = {"-sS", "--max-time", "10", "-D", "-", "-o", dir / "body"};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back(url);
  const tm_test::RunResult run = tm_test::run("/usr/bin/curl", args);
  CurlResult r{run.exit_code, run.out, "", run.err};
  if (run.out.rfind("HTTP/", 0) == 0) r.status = run.out.substr(run.out.find(' ') + 1, 3);
  return r;
}

// Ports this process (its network namespace) listens on at 127.0.0.1.
std::set<int> loopback_listening_ports() {
  std::istringstream table(tm_test::read_file("/proc/net/tcp"));
  std::string line;
  std::set<int> ports;
  std::getline(table, line);  // the header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (state == "0A" && local.rfind("0100007F:", 0) == 0)
      ports.insert(std::stoi(local.substr(9), nullptr, 16));
  }
  return ports;
}

}  // namespace

TEST_CASE("serve over TLS with client certificates and basic authentication") {
  TempDir dir;
  make_pki(dir.path());
  const std::string db = dir / "sample.db";
  const auto imported = tm_test::thermomaven({"import", "--db", db, TM_SAMPLE_CAPTURE});
  REQUIRE(imported.exit_code == 0);

  // The hash made the way the README says, by the binary itself.
  const auto hashed = tm_test::thermomaven({"hash-password"}, kPassword + "\n");
  INFO(hashed.err);
  REQUIRE(hashed.exit_code == 0);
  const std::string hash = hashed.out.substr(0, hashed.out.find('\n'));
  write_file(dir / "web.yml",
             "tls_server_config:\n"
             "  cert_file: server.crt\n"
             "  key_file: server.key\n"
             "  client_auth_type: RequireAndVerifyClientCert\n"
             "  client_ca_file: ca.pem\n"
             "basic_auth_users:\n"
             "  alice: " +
                 hash + "\n");
  write_file(dir / "alice.curlrc", "user = \"alice:" + kPassword + "\"\n");
  write_file(dir / "mallory.curlrc", "user = \"alice:" + kPassword + "!\"\n");

  const int port = exporter_test::free_port();
  const std::string url = "https://127.0.0.1:" + std::to_string(port);
  exporter_test::ChildProcess serve(
      {TM_BINARY, "serve", "--db", db, "--web.listen-address", "127.0.0.1:" + std::to_string(port),
       "--web.config.file", dir / "web.yml"},
      dir / "serve.log");
  const std::vector<std::string> trusted = {"--cacert",         dir / "ca.pem", "--cert",
                                            dir / "client.crt", "--key",        dir / "client.key"};
  auto as_alice = trusted;
  as_alice.insert(as_alice.end(), {"-K", dir / "alice.curlrc"});
  REQUIRE(exporter_test::wait_until(
      [&] { return curl(dir, url + "/metrics", as_alice).status == "200"; }, 15));
  INFO("serve log:\n" << serve.log());
  CHECK(serve.log().find("listening on " + url + " (TLS, basic authentication)") !=
        std::string::npos);
  CHECK(tm_test::read_file(dir / "body").find("# TYPE thermomaven_") != std::string::npos);

  {  // every path needs the right user and password, /healthz too
    for (const std::string path : {"/metrics", "/cooks", "/healthz"}) {
      INFO(path);
      CHECK(curl(dir, url + path, as_alice).status == "200");
      const CurlResult anonymous = curl(dir, url + path, trusted);
      CHECK(anonymous.status == "401");
      CHECK(anonymous.headers.find("WWW-Authenticate: Basic realm=\"thermomaven\"") !=
            std::string::npos);
      auto wrong = trusted;
      wrong.insert(wrong.end(), {"-K", dir / "mallory.curlrc"});
      CHECK(curl(dir, url + path, wrong).status == "401");
    }
  }
  {  // no TLS handshake without a client certificate from the CA, nor over plain HTTP
    const CurlResult no_certificate =
        curl(dir, url + "/metrics", {"--cacert", dir / "ca.pem", "-K", dir / "alice.curlrc"});
    CHECK(no_certificate.exit_code != 0);
    CHECK(no_certificate.status == "");
    const CurlResult stranger = curl(dir, url + "/metrics",
                                     {"--cacert", dir / "ca.pem", "--cert", dir / "stranger.crt",
                                      "--key", dir / "stranger.key", "-K", dir / "alice.curlrc"});
    CHECK(stranger.exit_code != 0);
    CHECK(stranger.status == "");
    const CurlResult plain = curl(dir, "http://127.0.0.1:" + std::to_string(port) + "/metrics",
                                  {"-K", dir / "alice.curlrc"});
    CHECK(plain.exit_code != 0);
    CHECK(plain.status == "");
  }
  {  // a real Prometheus scrapes it with tls_config and basic_auth
    write_file(dir / "alice.password", kPassword);
    write_file(dir / "prometheus.yml",
               "global:\n"
               "  scrape_interval: 1s\n"
               "  scrape_timeout: 1s\n"
               "scrape_configs:\n"
               "  - job_name: thermomaven\n"
               "    scheme: https\n"
               "    tls_config:\n"
               "      ca_file: " +
                   (dir / "ca.pem") +
                   "\n"
                   "      cert_file: " +
                   (dir / "client.crt") +
                   "\n"
                   "      key_file: " +
                   (dir / "client.key") +
                   "\n"
                   "    basic_auth:\n"
                   "      username: alice\n"
                   "      password_file: " +
                   (dir / "alice.password") +
                   "\n"
                   "    static_configs:\n"
                   "      - targets: [\"127.0.0.1:" +
                   std::to_string(port) + "\"]\n");
    const int prometheus_port = exporter_test::free_port();
    exporter_test::ChildProcess prometheus(
        {TM_PROMETHEUS, "--config.file=" + (dir / "prometheus.yml"),
         "--storage.tsdb.path=" + (dir / "tsdb"),
         "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port), "--log.level=warn"},
        dir / "prometheus.log");
    const std::string query = "http://127.0.0.1:" + std::to_string(prometheus_port) +
                              "/api/v1/query?query=up%7Bjob%3D%22thermomaven%22%7D%3D%3D1";
    const bool up = exporter_test::wait_until(
        [&] {
          return exporter_test::http_request(query).body.find("\"result\":[{") != std::string::npos;
        },
        30);
    INFO("prometheus log:\n" << prometheus.log());
    CHECK(up);
    CHECK(prometheus.stop() == 0);
  }
  CHECK(serve.stop() == 0);
  CHECK(serve.log().find(kPassword) == std::string::npos);
}

TEST_CASE("serve refuses to start when the TLS key does not belong to the certificate") {
  TempDir dir;
  make_pki(dir.path());
  const std::string db = dir / "sample.db";
  REQUIRE(tm_test::thermomaven({"import", "--db", db, TM_SAMPLE_CAPTURE}).exit_code == 0);
  write_file(dir / "web.yml",
             "tls_server_config:\n  cert_file: server.crt\n  key_file: stranger.key\n");
  const auto serve = tm_test::thermomaven(
      {"serve", "--db", db, "--listen", "127.0.0.1:0", "--web.config.file", dir / "web.yml"});
  CHECK(serve.exit_code == 2);
  CHECK(serve.err.find("thermomaven serve: error: the TLS key " + (dir / "stranger.key") +
                       " does not belong to the certificate " + (dir / "server.crt")) == 0);

  {  // nor with an unreadable web configuration file, which it names
    const auto missing =
        tm_test::thermomaven({"serve", "--db", db, "--web.config.file", dir / "absent.yml"});
    CHECK(missing.exit_code == 2);
    CHECK(missing.err.find(dir / "absent.yml") != std::string::npos);
    // run (collector and exporter) reads it before it connects anywhere.
    const auto run = tm_test::thermomaven({"run", "--web.config.file", dir / "absent.yml"});
    CHECK(run.exit_code == 2);
    CHECK(run.err.find(dir / "absent.yml" + ": cannot read the web configuration file") !=
          std::string::npos);
  }
}

TEST_CASE("the private plain-HTTP port behind the TLS front answers nobody but the front") {
  TempDir dir;
  make_pki(dir.path());
  const std::string db = dir / "sample.db";
  REQUIRE(tm_test::thermomaven({"import", "--db", db, TM_SAMPLE_CAPTURE}).exit_code == 0);
  thermomaven::exporter::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.web_config.emplace();
  options.web_config->tls.emplace();
  options.web_config->tls->cert_file = dir / "server.crt";
  options.web_config->tls->key_file = dir / "server.key";
  const std::set<int> before = loopback_listening_ports();
  thermomaven::exporter::HttpServer server(db, options);
  server.start();
  CHECK(server.url() == "https://127.0.0.1:" + std::to_string(server.port()));
  // Through the front: served.
  const CurlResult through_front =
      curl(dir, server.url() + "/metrics", {"--cacert", dir / "ca.pem"});
  INFO(tm_test::read_file(dir / "body"));
  CHECK(through_front.status == "200");

  // civetweb's own port is the new one that is not the front's (other
  // processes' ports may have appeared meanwhile: they do not answer so).
  int refused = 0;
  for (int port : loopback_listening_ports()) {
    if (before.count(port) || port == server.port()) continue;
    const std::string reply = exporter_test::raw_exchange(
        port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    INFO(reply);
    CHECK(reply.find("HTTP/1.1 200") == std::string::npos);
    if (reply.rfind("HTTP/1.1 403", 0) == 0 &&
        reply.find("connect over HTTPS") != std::string::npos)
      ++refused;
  }
  CHECK(refused == 1);
  server.stop();
}

TEST_CASE("the exporter listens on loopback unless told otherwise") {
  TempDir dir;
  const std::string db = dir / "sample.db";
  REQUIRE(tm_test::thermomaven({"import", "--db", db, TM_SAMPLE_CAPTURE}).exit_code == 0);
  exporter_test::ChildProcess serve({TM_BINARY, "serve", "--db", db}, dir / "serve.log");
  // Listening, or (port taken by someone else) refusing to: either way it says where.
  REQUIRE(exporter_test::wait_until(
      [&] { return serve.poll() >= 0 || serve.log().find("listening on") != std::string::npos; },
      10));
  INFO(serve.log());
  CHECK((serve.log().find("listening on http://127.0.0.1:9469 ") != std::string::npos ||
         serve.log().find("cannot listen on 127.0.0.1:9469") != std::string::npos));
}

TEST_CASE("/events through the TLS front: 401 without the password, live state events with it") {
  TempDir dir;
  make_pki(dir.path());
  const std::string db = dir / "events.db";
  // One device whose probe 1 reads `food_tenths` °C at `at_ms`.
  const auto commit_food = [&](std::int64_t at_ms, std::int32_t food_tenths) {
    thermomaven::storage::Database database(db);
    thermomaven::storage::ReadingWriter writer(database);
    auto report =
        api_test::heating_report("dev0", 4, at_ms, 0, thermomaven::TemperatureUnit::Celsius);
    report.probes[0].temperature = food_tenths;
    writer.write(report);
    writer.commit();
  };
  commit_food(api_test::kStartMs, 450);
  thermomaven::exporter::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.stale_after_s = 0;
  options.web_config.emplace();
  options.web_config->tls.emplace();
  options.web_config->tls->cert_file = dir / "server.crt";
  options.web_config->tls->key_file = dir / "server.key";
  options.web_config->basic_auth_users = {
      {"alice", thermomaven::exporter::bcrypt_hash(kPassword, 4)}};
  thermomaven::exporter::HttpServer server(db, options);
  server.start();
  const std::string events = server.url() + "/events";
  REQUIRE(events.starts_with("https://"));

  for (const std::string password : {"", "wrong"}) {
    INFO("password '" << password << "'");
    tm_test::EventStream refused(
        events,
        {.ca_file = dir / "ca.pem", .user = password.empty() ? "" : "alice", .password = password});
    REQUIRE(refused.wait_ended(30));
    CHECK(refused.status() == 401);
    CHECK(refused.count("event: ") == 0);
  }

  tm_test::EventStream stream(events,
                              {.ca_file = dir / "ca.pem", .user = "alice", .password = kPassword});
  // The current state first, then the state another connection commits.
  REQUIRE(stream.wait_for("\"food_c\": 45, \"zones_c\"", 30));
  CHECK(stream.status() == 200);
  commit_food(api_test::kStartMs + 2000, 1000);
  CHECK(stream.wait_for("\"food_c\": 100, \"zones_c\"", 30));
  CHECK(stream.count("event: state\n") >= 2);
  CHECK_FALSE(stream.ended());
}
