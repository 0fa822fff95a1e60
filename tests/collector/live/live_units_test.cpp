// The live collector's pieces that need no cloud: the signature of
// protocol.md, configuration precedence, the state directory, backoff,
// PKCS#12 keystores made with the openssl CLI, and the log line format.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <set>

#include "live_test_support.hpp"
#include "thermomaven/client.hpp"
#include "thermomaven/client/cloud_api.hpp"
#include "thermomaven/client/config.hpp"
#include "thermomaven/client/keystore.hpp"
#include "thermomaven/client/signing.hpp"
#include "thermomaven/client/state_dir.hpp"
#include "thermomaven/core/backoff.hpp"
#include "thermomaven/core/log.hpp"

using live_test::TempDir;

namespace {

thermomaven::client::HeaderList vector_headers(const std::string& token, const std::string& nonce) {
  // Deliberately not in sorted order: the signer must sort.
  return {{"x-token", token},
          {"x-timestamp", "1764201600000"},
          {"x-appId", "ap4060eff28137181bd"},
          {"x-region", "US"},
          {"x-nonce", nonce},
          {"x-lang", "en_US"},
          {"x-deviceSn", "00f6f49c34fe43d4f05519140652f2c3"},
          {"x-appVersion", "1906"}};
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("md5 helpers match protocol.md's examples") {
  CHECK(thermomaven::client::md5_hex("correct horse") == "3cb4e732631f47e6eb961f34554b7cde");
  CHECK(thermomaven::client::md5_hex("example-install") == "00f6f49c34fe43d4f05519140652f2c3");
  const std::string nonce = thermomaven::client::random_hex(16);
  CHECK(nonce.size() == 32);
  CHECK(nonce.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(thermomaven::client::random_hex(16) != nonce);
}

TEST_CASE("the signature matches protocol.md's test vectors") {
  const std::string login_body =
      R"({"accountName":"cook@example.com","accountPassword":"3cb4e732631f47e6eb961f34554b7cde","deviceInfo":"thermomaven-logger"})";
  CHECK(thermomaven::client::request_signature(
            thermomaven::client::kAppKey,
            vector_headers("none", "0f8e3c2a9b6d4e1f8a7b6c5d4e3f2a1b"),
            login_body) == "e819b9e96af98d95d6a9e7a1f21309b3");
  CHECK(thermomaven::client::request_signature(thermomaven::client::kAppKey,
                                               vector_headers("tok_8c1f", std::string(32, 'a')),
                                               "") == "9bc6d590cefda37698309b22823a6f11");
}

TEST_CASE("the signature ignores x-sign, blank bodies and newlines") {
  auto headers = vector_headers("tok_8c1f", std::string(32, 'a'));
  const std::string bare =
      thermomaven::client::request_signature(thermomaven::client::kAppKey, headers, "");
  CHECK(thermomaven::client::request_signature(thermomaven::client::kAppKey, headers, "  \n") ==
        bare);
  headers.push_back({"x-sign", "whatever"});
  CHECK(thermomaven::client::request_signature(thermomaven::client::kAppKey, headers, "") == bare);
  CHECK(thermomaven::client::request_signature(thermomaven::client::kAppKey, headers,
                                               "{\"a\":\n1}") ==
        thermomaven::client::request_signature(thermomaven::client::kAppKey, headers, "{\"a\":1}"));
  CHECK(thermomaven::client::request_signature("another key", headers, "") != bare);
}

TEST_CASE("configuration: flags beat the environment, which beats the file") {
  TempDir dir;
  const std::string password_file = dir.file("password");
  live_test::write_private_file(password_file, "from-file\n");
  thermomaven::client::Settings file = {{"THERMOMAVEN_EMAIL", "file@example.com"},
                                        {"THERMOMAVEN_PASSWORD", "from-config"},
                                        {"THERMOMAVEN_REGION", "DE"},
                                        {"THERMOMAVEN_DB", "file.db"}};
  thermomaven::client::Settings env = {{"THERMOMAVEN_EMAIL", "env@example.com"},
                                       {"THERMOMAVEN_DB", "env.db"}};
  thermomaven::client::Settings flags = {{"THERMOMAVEN_DB", "flag.db"}};

  auto config = thermomaven::client::resolve_config(flags, env, file);
  CHECK(config.email == "env@example.com");
  CHECK(config.password == "from-config");
  CHECK(config.db_path == "flag.db");
  CHECK(config.region == "DE");
  CHECK(config.api_url == "https://api.iot.thermomaven.de");
  CHECK(config.mqtt.host == "a2ubmaqm3a642j-ats.iot.eu-central-1.amazonaws.com");
  CHECK(config.mqtt.port == 8883);

  env["THERMOMAVEN_PASSWORD_FILE"] = password_file;  // a file wins over a password
  config = thermomaven::client::resolve_config(flags, env, file);
  CHECK(config.password == "from-file");
}

TEST_CASE("configuration defaults and endpoints") {
  auto config = thermomaven::client::resolve_config(
      {}, {{"THERMOMAVEN_EMAIL", "a@b"}, {"THERMOMAVEN_PASSWORD", "p"}}, {});
  CHECK(config.region == "US");
  CHECK(config.api_url == "https://api.iot.thermomaven.com");
  CHECK(config.mqtt.host == "a2ubmaqm3a642j-ats.iot.us-west-2.amazonaws.com");
  CHECK(config.db_path == "./thermomaven.db");
  CHECK(config.backoff_base_ms == 5000);
  CHECK(config.backoff_max_ms == 120000);

  CHECK(thermomaven::client::parse_endpoint("127.0.0.1:1884").port == 1884);
  CHECK(thermomaven::client::parse_endpoint("127.0.0.1:1884").host == "127.0.0.1");
  CHECK(thermomaven::client::parse_endpoint("broker.example").port == 8883);
  CHECK_THROWS_AS(thermomaven::client::parse_endpoint("host:0"), thermomaven::client::ConfigError);
  CHECK_THROWS_AS(thermomaven::client::parse_endpoint("host:http"),
                  thermomaven::client::ConfigError);
  CHECK_THROWS_AS(thermomaven::client::parse_endpoint(":1883"), thermomaven::client::ConfigError);

  CHECK_THROWS_WITH(thermomaven::client::resolve_config({}, {{"THERMOMAVEN_PASSWORD", "p"}}, {}),
                    Catch::Contains("THERMOMAVEN_EMAIL"));
  CHECK_THROWS_WITH(thermomaven::client::resolve_config({}, {{"THERMOMAVEN_EMAIL", "a@b"}}, {}),
                    Catch::Contains("THERMOMAVEN_PASSWORD_FILE"));
  CHECK_THROWS_WITH(thermomaven::client::resolve_config({},
                                                        {{"THERMOMAVEN_EMAIL", "a@b"},
                                                         {"THERMOMAVEN_PASSWORD", "p"},
                                                         {"THERMOMAVEN_API_URL", "http://plain"}},
                                                        {}),
                    Catch::Contains("https://"));
}

TEST_CASE("regions: exactly protocol.md's 30 codes, each with its two servers") {
  const thermomaven::client::Settings account = {{"THERMOMAVEN_EMAIL", "a@b"},
                                                 {"THERMOMAVEN_PASSWORD", "p"}};
  auto with_region = [&](const std::string& code) {
    thermomaven::client::Settings env = account;
    env["THERMOMAVEN_REGION"] = code;
    return thermomaven::client::resolve_config({}, env, {});
  };
  const std::vector<std::string> america = {"US", "NZ", "CA", "AU"};
  const std::vector<std::string> europe = {"UK", "DE", "FR", "DK", "FI", "IS", "NO", "CH", "SE",
                                           "ZA", "AT", "BE", "BG", "CZ", "HU", "IE", "IT", "LU",
                                           "NL", "PL", "PT", "RO", "RS", "SK", "ES", "TR"};
  CHECK(america.size() + europe.size() == 30);
  for (const std::string& code : america) {
    const auto config = with_region(code);
    CHECK(config.region == code);
    CHECK(config.api_url == "https://api.iot.thermomaven.com");
    CHECK(config.mqtt.host == "a2ubmaqm3a642j-ats.iot.us-west-2.amazonaws.com");
    CHECK(thermomaven::client::other_region_broker(code, config.mqtt.host).empty());
  }
  for (const std::string& code : europe) {
    const auto config = with_region(code);
    CHECK(config.region == code);
    CHECK(config.api_url == "https://api.iot.thermomaven.de");
    CHECK(config.mqtt.host == "a2ubmaqm3a642j-ats.iot.eu-central-1.amazonaws.com");
    CHECK(thermomaven::client::other_region_broker(code, config.mqtt.host) ==
          "a2ubmaqm3a642j-ats.iot.us-west-2.amazonaws.com");
  }
  // Iceland and Serbia are European (the earlier guess sent them to the US).
  CHECK(with_region("is").api_url == "https://api.iot.thermomaven.de");
  CHECK(with_region("rs").region == "RS");
  for (const std::string code : {"GB", "GR", "HR", "EU", "USA", "", " US"}) {
    thermomaven::client::Settings env = account;
    env["THERMOMAVEN_REGION"] = code.empty() ? "x" : code;
    INFO("region '" << code << "'");
    CHECK_THROWS_WITH(thermomaven::client::resolve_config({}, env, {}),
                      Catch::Contains("unknown region") &&
                          Catch::Contains("US NZ CA AU (https://api.iot.thermomaven.com, MQTT "
                                          "a2ubmaqm3a642j-ats.iot.us-west-2.amazonaws.com)") &&
                          Catch::Contains("ES TR (https://api.iot.thermomaven.de, MQTT "
                                          "a2ubmaqm3a642j-ats.iot.eu-central-1.amazonaws.com)"));
  }
  CHECK_THROWS_WITH(with_region("GB"), Catch::Contains("(the United Kingdom is UK)"));
  // The client library's Account is held to the same list.
  thermomaven::client::Account bad;
  bad.email = "a@b";
  bad.password = "p";
  bad.region = "GB";
  CHECK_THROWS_AS(thermomaven::client::Cloud(bad), std::invalid_argument);
}

TEST_CASE("REST answers: the JSON code is read whatever the HTTP status") {
  using thermomaven::client::ApiError;
  // A token error with a 401 is the cloud's answer, not a transport failure.
  const auto expired = thermomaven::client::parse_api_envelope(
      "app/device/share/my/device/list",
      {401, "application/json", R"({"code":4001,"msg":"token expired","data":null})"});
  CHECK(expired.code == "4001");
  CHECK(expired.msg == "token expired");
  const auto ok = thermomaven::client::parse_api_envelope(
      "p", {200, "application/json", R"({"code":"0","data":[]})"});
  CHECK(ok.code == "0");
  CHECK(ok.data == "[]");
  // Without the JSON envelope an error status stays a bad response naming it.
  try {
    thermomaven::client::parse_api_envelope("app/mqtt/cert/apply",
                                            {503, "text/html", "<html>down</html>"});
    FAIL("an HTML 503 was accepted");
  } catch (const ApiError& e) {
    CHECK(e.kind == ApiError::Kind::BadResponse);
    CHECK_THAT(std::string(e.what()), Catch::Contains("app/mqtt/cert/apply: HTTP 503"));
  }
  // An error status cannot carry a success.
  CHECK_THROWS_AS(
      thermomaven::client::parse_api_envelope("p", {500, "application/json", R"({"code":0})"}),
      ApiError);
  CHECK_THROWS_WITH(
      thermomaven::client::parse_api_envelope("p", {401, "application/json", R"({"msg":"no"})"}),
      Catch::Contains("HTTP 401"));
}

TEST_CASE("a password file readable by others is refused") {
  TempDir dir;
  const std::string path = dir.file("password");
  live_test::write_private_file(path, "secret-words\n");
  CHECK(thermomaven::client::read_password_file(path) == "secret-words");
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  try {
    thermomaven::client::read_password_file(path);
    FAIL("a world-readable password file was accepted");
  } catch (const thermomaven::client::ConfigError& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("readable by other users") && Catch::Contains("chmod 600"));
    CHECK_THAT(what, !Catch::Contains("secret-words"));
  }
}

TEST_CASE("config files: KEY=VALUE, comments, quotes; typos and exposed passwords refused") {
  TempDir dir;
  const std::string path = dir.file("thermomaven.conf");
  live_test::write_private_file(path,
                                "# account\n\nTHERMOMAVEN_EMAIL = \"cook@example.com\"\n"
                                "export THERMOMAVEN_REGION=de\nTHERMOMAVEN_PASSWORD=pw\n");
  auto settings = thermomaven::client::read_config_file(path);
  CHECK(settings["THERMOMAVEN_EMAIL"] == "cook@example.com");
  CHECK(thermomaven::client::resolve_config({}, {}, settings).region == "DE");
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  CHECK_THROWS_WITH(thermomaven::client::read_config_file(path),
                    Catch::Contains("readable by other users"));

  live_test::write_private_file(path, "THERMOMAVEN_EMIAL=cook@example.com\n");
  CHECK_THROWS_WITH(thermomaven::client::read_config_file(path),
                    Catch::Contains("unknown setting 'THERMOMAVEN_EMIAL'"));
}

TEST_CASE("state directory: private, stable device serial, atomic session") {
  TempDir dir;
  const std::string path = dir.file("state/nested");
  std::string serial;
  {
    thermomaven::client::StateDir state(path);
    CHECK(mode_of(path) == 0700);
    serial = state.device_sn();
    CHECK(serial.size() == 32);
    CHECK(state.device_sn() == serial);
    CHECK_FALSE(state.load_session().has_value());
    state.save_session(
        {"cook@example.com", "tok-123", "42", thermomaven::TemperatureUnit::Celsius});
    CHECK(mode_of(path + "/session") == 0600);
    CHECK(mode_of(path + "/install-id") == 0600);
  }
  REQUIRE(::chmod(path.c_str(), 0755) == 0);
  thermomaven::client::StateDir again(path);
  CHECK(mode_of(path) == 0700);
  CHECK(again.device_sn() == serial);
  auto session = again.load_session();
  REQUIRE(session.has_value());
  CHECK(session->token == "tok-123");
  CHECK(session->user_id == "42");
  CHECK(session->email == "cook@example.com");
  CHECK(session->unit == thermomaven::TemperatureUnit::Celsius);
  for (const auto& entry : std::filesystem::directory_iterator(path))
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
  again.clear_session();
  CHECK_FALSE(again.load_session().has_value());
  CHECK(thermomaven::client::StateDir(dir.file("other")).device_sn() != serial);
}

TEST_CASE("backoff doubles from the base to the cap, with jitter") {
  thermomaven::Backoff backoff(5000, 120000, 7);
  std::vector<std::int64_t> delays;
  for (int i = 0; i < 8; ++i) delays.push_back(backoff.next_delay_ms());
  const std::int64_t ceilings[] = {5000, 10000, 20000, 40000, 80000, 120000, 120000, 120000};
  for (int i = 0; i < 8; ++i) {
    CHECK(delays[i] >= ceilings[i] / 2);
    CHECK(delays[i] <= ceilings[i]);
  }
  std::set<std::int64_t> distinct(delays.begin() + 5, delays.end());
  CHECK(distinct.size() > 1);  // jittered, not in lockstep
  backoff.reset();
  CHECK(backoff.next_delay_ms() <= 5000);
}

TEST_CASE("log lines: UTC timestamp, level, component, one line") {
  const std::string line = thermomaven::format_log_line(1795773600123, thermomaven::LogLevel::Info,
                                                        "mqtt", "connected to h:1\nnext");
  CHECK(line == "2026-11-27T10:00:00.123Z INFO  mqtt: connected to h:1 next");
  CHECK(thermomaven::format_log_line(0, thermomaven::LogLevel::Error, "api", "x") ==
        "1970-01-01T00:00:00.000Z ERROR api: x");
  CHECK(thermomaven::parse_log_level("debug") == thermomaven::LogLevel::Debug);
  CHECK_FALSE(thermomaven::parse_log_level("loud").has_value());
}

TEST_CASE("PKCS#12 keystores made by openssl open, legacy ones too") {
  TempDir dir;
  live_test::make_test_pki(dir.path().string());
  for (bool legacy : {false, true}) {
    for (bool with_ca : {true, false}) {
      CAPTURE(legacy, with_ca);
      const std::string p12 = dir.file(std::string("client") + (legacy ? "-legacy" : "") +
                                       (with_ca ? "-ca" : "") + ".p12");
      live_test::make_p12(dir.path().string(), p12, "k3y-pass", legacy, with_ca);
      const auto credentials =
          thermomaven::client::open_pkcs12(live_test::read_file(p12), "k3y-pass");
      CHECK(credentials.subject_cn == "android-42-US-0123456789abcdef0123456789abcdef");
      CHECK_THAT(credentials.certificate_pem, Catch::StartsWith("-----BEGIN CERTIFICATE-----"));
      CHECK_THAT(credentials.private_key_pem, Catch::Contains("PRIVATE KEY-----"));
      CHECK(credentials.chain_from_keystore == with_ca);
      if (with_ca) {
        CHECK(credentials.trust_pem == live_test::read_file(dir.file("ca.pem")));
      } else {
        CHECK(credentials.trust_pem == std::string(thermomaven::client::kAmazonRootCa1Pem));
      }
      CHECK(credentials.not_after_s - credentials.not_before_s == 30 * 86400);
      CHECK(thermomaven::client::renewal_time_s(credentials) ==
            credentials.not_after_s - 3 * 86400);
      try {
        thermomaven::client::open_pkcs12(live_test::read_file(p12), "wrong");
        FAIL("a wrong keystore password was accepted");
      } catch (const thermomaven::client::KeystoreError& e) {
        CHECK_THAT(std::string(e.what()), Catch::Contains("cannot open the PKCS#12 keystore"));
        CHECK_THAT(std::string(e.what()), !Catch::Contains("k3y-pass"));
      }
    }
  }
  CHECK_THROWS_WITH(thermomaven::client::open_pkcs12("<html>not a keystore</html>", "x"),
                    Catch::Contains("not a PKCS#12"));
}

TEST_CASE("the built-in Amazon Root CA 1 is the real one") {
  const std::string system_copy = "/usr/share/ca-certificates/mozilla/Amazon_Root_CA_1.crt";
  // ca-certificates is one of the packages scripts/lib.sh installs.
  CHECK(live_test::read_file(system_copy) == std::string(thermomaven::client::kAmazonRootCa1Pem));
  CHECK(thermomaven::client::md5_hex(thermomaven::client::kAmazonRootCa1Pem).size() == 32);
}

TEST_CASE("the account's unit from app/user/setting/get, whose answer is not documented") {
  using thermomaven::TemperatureUnit;
  CHECK(thermomaven::client::parse_setting_unit(R"({"temperatureUnit":"C","language":"en_US"})") ==
        TemperatureUnit::Celsius);
  CHECK(thermomaven::client::parse_setting_unit(R"({"temperatureUnit":"F"})") ==
        TemperatureUnit::Fahrenheit);
  // The same settings as the login answer's `setting`, wrapped or not.
  CHECK(thermomaven::client::parse_setting_unit(
            R"({"token":"t","setting":{"temperatureUnit":"C"}})") == TemperatureUnit::Celsius);
  CHECK(thermomaven::client::parse_setting_unit(R"({"setting":{"temperatureUnit":"c"}})") ==
        TemperatureUnit::Celsius);
  // No unit, an unknown one, or not an object: nothing to go by.
  CHECK_FALSE(thermomaven::client::parse_setting_unit(R"({"language":"en_US"})").has_value());
  CHECK_FALSE(thermomaven::client::parse_setting_unit(R"({"temperatureUnit":"K"})").has_value());
  CHECK_FALSE(thermomaven::client::parse_setting_unit(R"({"temperatureUnit":1})").has_value());
  CHECK_FALSE(thermomaven::client::parse_setting_unit("null").has_value());
  CHECK_FALSE(thermomaven::client::parse_setting_unit("[]").has_value());
  CHECK_THROWS_AS(thermomaven::client::parse_setting_unit(R"({"temperatureUnit":)"),
                  thermomaven::client::ApiError);
}

TEST_CASE("THERMOMAVEN_UNIT_REFRESH_MS sets how often the unit is read again") {
  thermomaven::client::Settings env = {{"THERMOMAVEN_EMAIL", "a@b"}, {"THERMOMAVEN_PASSWORD", "p"}};
  CHECK(thermomaven::client::resolve_config({}, env, {}).unit_refresh_ms == 600000);
  env["THERMOMAVEN_UNIT_REFRESH_MS"] = "1500";
  CHECK(thermomaven::client::resolve_config({}, env, {}).unit_refresh_ms == 1500);
  env["THERMOMAVEN_UNIT_REFRESH_MS"] = "0";
  CHECK_THROWS_WITH(thermomaven::client::resolve_config({}, env, {}),
                    Catch::Contains("THERMOMAVEN_UNIT_REFRESH_MS"));
}
