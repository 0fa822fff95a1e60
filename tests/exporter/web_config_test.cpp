// The exporter's web configuration file (TLS and basic authentication, in
// the format of Prometheus's exporters): how it is read, how passwords are
// checked, and a real `thermomaven serve` behind it, reached by curl and
// scraped by a real Prometheus over TLS with basic authentication.
#include "thermomaven/exporter/web_config.hpp"

#include <crypt.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "exporter_test_support.hpp"
#include "test_support.hpp"

using namespace thermomaven::exporter;
using thermomaven::tls::ClientAuth;
using thermomaven::tls::TlsVersion;
using exporter_test::TempDir;
using tm_test::write_file;

namespace {

// A bcrypt hash made by libxcrypt directly, not by the code under test.
std::string libxcrypt_hash(const std::string& password, const char* prefix, int cost) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn(prefix, static_cast<unsigned long>(cost), nullptr, 0, setting,
                           sizeof setting) != nullptr);
  crypt_data data{};
  const char* hash = crypt_rn(password.c_str(), setting, &data, sizeof data);
  REQUIRE(hash != nullptr);
  return hash;
}

std::string basic(const std::string& user_and_password) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  const std::string& in = user_and_password;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? alphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? alphabet[v & 63] : '=';
  }
  return "Basic " + out;
}

void write_private(const std::string& path, const std::string& text, mode_t mode = 0600) {
  write_file(path, text);
  REQUIRE(chmod(path.c_str(), mode) == 0);
}

// The message load_web_config throws for `text`, or "" if it accepts it.
std::string config_error(const TempDir& dir, const std::string& text) {
  write_file(dir / "web.yml", text);
  try {
    load_web_config(dir / "web.yml");
  } catch (const WebConfigError& e) {
    return e.what();
  }
  return "";
}

const std::string kHash = "$2y$10$4Ap7cGxaCcMDf6QLzWdcOeaT3zCcC6dg7eVxCsbdk9lzITvNXrAMq";

}  // namespace

TEST_CASE("a web configuration file in the format of Prometheus's exporters is read") {
  TempDir dir;
  std::filesystem::create_directory(dir / "tls");
  write_file(dir / "tls/server.crt", "certificate");
  write_private(dir / "tls/server.key", "key", 0640);
  write_file(dir / "clients.pem", "client CA");
  write_file(dir / "web.yml",
             "---\n"
             "# TLS and users for the exporter\n"
             "tls_server_config:\n"
             "  cert_file: tls/server.crt   # relative to this file\n"
             "  key_file: 'tls/server.key'\n"
             "  client_ca_file: \"" +
                 (dir / "clients.pem") +
                 "\"\n"
                 "  client_auth_type: VerifyClientCertIfGiven\n"
                 "  min_version: TLS13\n"
                 "\n"
                 "basic_auth_users:\n"
                 "    alice: " +
                 kHash +
                 "\n"
                 "    'bob smith': \"" +
                 kHash + "\"\n");
  // Read from another working directory: paths follow the file, not the caller.
  const WebConfig config = load_web_config(dir / "web.yml");
  REQUIRE(config.tls);
  CHECK(config.tls->cert_file == dir / "tls/server.crt");
  CHECK(config.tls->key_file == dir / "tls/server.key");
  CHECK(config.tls->client_ca_file == dir / "clients.pem");
  CHECK(config.tls->client_auth == ClientAuth::VerifyClientCertIfGiven);
  CHECK(config.tls->min_version == TlsVersion::Tls13);
  CHECK(config.basic_auth_users ==
        std::map<std::string, std::string>{{"alice", kHash}, {"bob smith", kHash}});

  SECTION("a client CA alone means client certificates are required and verified") {
    write_file(dir / "web.yml",
               "tls_server_config:\n  cert_file: tls/server.crt\n"
               "  key_file: tls/server.key\n  client_ca_file: clients.pem\n");
    const WebConfig ca_only = load_web_config(dir / "web.yml");
    CHECK(ca_only.tls->client_auth == ClientAuth::RequireAndVerifyClientCert);
    CHECK(ca_only.tls->min_version == TlsVersion::Tls12);
    CHECK(ca_only.basic_auth_users.empty());
  }
  SECTION("users alone, without TLS") {
    write_file(dir / "web.yml", "basic_auth_users:\n  alice: " + kHash + "\n");
    const WebConfig users_only = load_web_config(dir / "web.yml");
    CHECK_FALSE(users_only.tls);
    CHECK(users_only.basic_auth_users.size() == 1);
  }
}

TEST_CASE("a web configuration file that is wrong is refused with its file and line") {
  TempDir dir;
  write_file(dir / "server.crt", "certificate");
  write_private(dir / "server.key", "key");
  const std::string tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
  const std::string path = dir / "web.yml";

  CHECK(config_error(dir, tls) == "");  // the base the cases below spoil
  // {file text, error after "PATH"}
  const std::vector<std::pair<std::string, std::string>> cases = {
      {tls + "  cert_fiel: server.crt\n", ":4: unknown key 'cert_fiel' in tls_server_config"},
      {"basic_auth_user:\n  alice: " + kHash + "\n",
       ":1: unknown key 'basic_auth_user' (expected tls_server_config or basic_auth_users)"},
      {tls + "  cipher_suites: TLS_AES_128_GCM_SHA256\n",
       ":4: tls_server_config.cipher_suites is not supported by thermomaven"},
      {tls + "   min_version: TLS12\n",
       ":4: bad indentation: 3 spaces where the lines above have 2"},
      {"tls_server_config:\n\tcert_file: server.crt\n", ":2: tabs are not allowed for indentation"},
      {"  cert_file: server.crt\n", ":1: indented line outside a section"},
      {tls + "  key_file: server.key\n", ":4: duplicate key key_file"},
      {tls + "  min_version: TLS11\n",
       ":4: min_version must be TLS12 or TLS13 (older ones are not offered)"},
      {tls + "  client_auth_type: RequireAndVerifyClientCert\n",
       ":1: client_auth_type verifies client certificates: it needs client_ca_file"},
      {"tls_server_config:\n  cert_file: server.crt\n",
       ":1: tls_server_config needs both cert_file and key_file"},
      {"tls_server_config:\n  cert_file: 'server.crt\n", ":2: unterminated quoted string"},
      {"basic_auth_users:\n  alice: secret\n",
       ":2: the password of alice is not a bcrypt hash ($2y$10$... ; see thermomaven "
       "hash-password)"},
      {"basic_auth_users:\n  - alice\n", ":2: lists are not part of this format"},
      {"basic_auth_users:\n  'a:b': " + kHash + "\n",
       ":2: a user name cannot contain ':' (basic authentication splits there)"},
      {"http_server_config:\n  http2: false\n",
       ":1: http_server_config is not supported by thermomaven"},
      {tls + "  client_ca_file: missing.pem\n",
       ":4: client_ca_file " + (dir / "missing.pem") + ": No such file or directory"},
  };
  for (const auto& [text, error] : cases) {
    INFO(text);
    CHECK(config_error(dir, text) == path + error);
  }

  SECTION("a missing file") {
    try {
      load_web_config(dir / "absent.yml");
      FAIL("accepted a missing file");
    } catch (const WebConfigError& e) {
      CHECK(std::string(e.what()) == (dir / "absent.yml") +
                                         ": cannot read the web configuration file: No such file "
                                         "or directory");
    }
  }
  SECTION("a private key every user can read") {
    REQUIRE(chmod((dir / "server.key").c_str(), 0644) == 0);
    CHECK(config_error(dir, tls) == path + ":3: the private key " + (dir / "server.key") +
                                        " is readable by every user (mode 0644); chmod o-r it");
  }
}

TEST_CASE("basic authentication checks bcrypt hashes made by libxcrypt") {
  const std::string alice = libxcrypt_hash("correct horse", "$2y$", 5);
  const std::string bob = libxcrypt_hash("battery: staple", "$2b$", 4);
  BasicAuth auth({{"alice", alice}, {"bob", bob}});

  CHECK(auth.allows(basic("alice:correct horse").c_str()));
  CHECK(auth.allows(basic("bob:battery: staple").c_str()));  // only the first ':' separates
  // Asked again: the remembered answer must be the same, for right and wrong.
  CHECK(auth.allows(basic("alice:correct horse").c_str()));
  CHECK_FALSE(auth.allows(basic("alice:correct horsE").c_str()));
  CHECK_FALSE(auth.allows(basic("alice:battery: staple").c_str()));  // bob's password
  CHECK_FALSE(auth.allows(basic("carol:correct horse").c_str()));
  CHECK_FALSE(auth.allows(basic("alice:").c_str()));
  CHECK_FALSE(auth.allows(nullptr));
  CHECK_FALSE(auth.allows(""));
  CHECK_FALSE(auth.allows("Bearer abc"));
  CHECK_FALSE(auth.allows("Basic !!!!"));
  CHECK_FALSE(auth.allows(basic("alice").c_str()));  // no ':' at all

  SECTION("no users: everyone") {
    BasicAuth open({});
    CHECK(open.allows(nullptr));
  }
}

TEST_CASE("bcrypt_hash makes hashes libxcrypt accepts") {
  const std::string hash = bcrypt_hash("pässword", 4);
  CHECK(hash.rfind("$2b$04$", 0) == 0);
  CHECK(hash.size() == 60);
  crypt_data data{};
  CHECK(std::string(crypt_rn("pässword", hash.c_str(), &data, sizeof data)) == hash);
  CHECK(std::string(crypt_rn("password", hash.c_str(), &data, sizeof data)) != hash);
  CHECK(bcrypt_hash("pässword", 4) != hash);  // a fresh salt each time
  CHECK_THROWS(bcrypt_hash("x", 3));
}
