// The simulated cloud's REST side: it must check requests as strictly as
// protocol.md says the real cloud does, answer with the documented shapes
// and codes, and hand out keystores the collector can open.
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <regex>
#include <thread>

#include "sim_harness.hpp"
#include "thermomaven/core/time.hpp"
#include "thermomaven/sim/signing.hpp"

using namespace simtest;

namespace {

using thermomaven::now_ms;

std::string md5_of(const std::vector<unsigned char>& bytes) {
  return thermomaven::sim::md5_hex(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace

TEST_CASE("the simulator's signature matches protocol.md's test vectors") {
  std::map<std::string, std::string> h = {{"x-appId", "ap4060eff28137181bd"},
                                          {"x-appVersion", "1906"},
                                          {"x-deviceSn", "00f6f49c34fe43d4f05519140652f2c3"},
                                          {"x-lang", "en_US"},
                                          {"x-nonce", "0f8e3c2a9b6d4e1f8a7b6c5d4e3f2a1b"},
                                          {"x-region", "US"},
                                          {"x-timestamp", "1764201600000"},
                                          {"x-token", "none"}};
  CHECK(
      thermomaven::sim::request_signature(
          h,
          R"({"accountName":"cook@example.com","accountPassword":"3cb4e732631f47e6eb961f34554b7cde","deviceInfo":"thermomaven-logger"})") ==
      "e819b9e96af98d95d6a9e7a1f21309b3");
  h["x-token"] = "tok_8c1f";
  h["x-nonce"] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  CHECK(thermomaven::sim::request_signature(h, "") == "9bc6d590cefda37698309b22823a6f11");
  CHECK(thermomaven::sim::request_signature(h, " \n") == "9bc6d590cefda37698309b22823a6f11");
  CHECK(thermomaven::sim::md5_hex("correct horse") == "3cb4e732631f47e6eb961f34554b7cde");
}

TEST_CASE("login and signed calls are checked like the real cloud") {
  SimProcess sim({"--unit", "C", "--email", "pit@example.org"});
  const SimInfo& info = sim.info();
  const std::string good_body = login_body(info.email, info.password);

  SECTION("a correct login returns a token, the user id and the unit") {
    const ApiReply r = api_call(sim, "app/account/login", good_body, "none");
    REQUIRE(r.code == "0");
    CHECK_FALSE(r.code_was_number);
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(r.http.body);
    CHECK(std::string_view(doc["data"]["userId"]) == info.user_id);
    CHECK(std::string_view(doc["data"]["token"]).size() >= 16);
    CHECK(std::string_view(doc["data"]["setting"]["temperatureUnit"]) == "C");
    CHECK(status_number(sim, "logins") == 1);
  }

  SECTION("each kind of bad request gets its own code") {
    auto headers = signed_headers("none", good_body);
    headers["x-sign"] = thermomaven::sim::md5_hex("not the signature");
    const ApiReply bad_sign = api_call(sim, "app/account/login", good_body, headers);
    CHECK(bad_sign.code == "1001");
    CHECK_FALSE(bad_sign.code_was_number);  // 1001 goes out as a string ...

    // The body changed after signing: the signature no longer matches.
    headers = signed_headers("none", good_body);
    CHECK(api_call(sim, "app/account/login", good_body + " ", headers).code == "1001");

    headers = signed_headers("none", good_body);
    headers.erase("x-nonce");
    const ApiReply missing = api_call(sim, "app/account/login", good_body, headers);
    CHECK(missing.code == "1002");
    CHECK(missing.code_was_number);  // ... 1002 as a number
    CHECK(missing.msg.find("x-nonce") != std::string::npos);

    headers = signed_headers("none", good_body);
    headers["x-deviceSn"] = "NOT-HEX";
    headers["x-sign"] = thermomaven::sim::request_signature(headers, good_body);
    CHECK(api_call(sim, "app/account/login", good_body, headers).code == "1002");

    // Correctly signed, but ten minutes old.
    headers = signed_headers("none", good_body, now_ms() - 10 * 60 * 1000);
    const ApiReply stale = api_call(sim, "app/account/login", good_body, headers);
    CHECK(stale.code == "1002");
    CHECK(stale.msg.find("timestamp") != std::string::npos);

    CHECK(
        api_call(sim, "app/account/login", login_body(info.email, "wrong password"), "none").code ==
        "1003");
    CHECK(
        api_call(sim, "app/account/login", login_body("nobody@example.org", info.password), "none")
            .code == "1004");
    CHECK(status_number(sim, "logins") == 0);
    CHECK(status_number(sim, "rejected") == 7);
  }

  SECTION("tokens are checked, and can be expired") {
    const ApiReply forged = api_call(sim, "app/device/share/my/device/list", "", "tok_forged");
    CHECK(forged.http.status == 401);  // a token error comes with a 401 and the JSON body
    CHECK(forged.code == "4001");
    CHECK(forged.code_was_number);
    CHECK(forged.msg.find("token") != std::string::npos);

    const std::string token = login(sim);
    const ApiReply list = api_call(sim, "app/device/share/my/device/list", "{}", token);
    REQUIRE(list.code == "0");
    simdjson::dom::parser parser;
    const simdjson::dom::array devices = parser.parse(list.http.body)["data"];
    std::vector<std::string> models;
    for (simdjson::dom::element d : devices) {
      models.emplace_back(std::string_view(d["deviceModel"]));
      CHECK(std::string_view(d["deviceSn"]).starts_with("WT"));
    }
    CHECK(models == std::vector<std::string>{"WT09", "WT11", "WT02"});
    CHECK(api_call(sim, "app/device/share/shared/device/list", "{}", token).code == "0");
    CHECK(api_call(sim, "app/history/page", R"({"page":1,"pageSize":20})", token).code == "0");

    REQUIRE(control(sim, "expire-tokens").status == 200);
    const ApiReply expired = api_call(sim, "app/device/share/my/device/list", "", token);
    CHECK(expired.http.status == 401);
    CHECK(expired.code == "4001");
    const std::string fresh = login(sim);
    CHECK(fresh != token);
    CHECK(api_call(sim, "app/device/share/my/device/list", "{}", fresh).code == "0");
    CHECK(api_call(sim, "app/account/logout", "", fresh).code == "0");
    CHECK(api_call(sim, "app/device/share/my/device/list", "{}", fresh).code == "4001");
  }

  SECTION("only POST is accepted") {
    const HttpReply r =
        https_request("GET", info.api_url + "/app/account/login", {}, "", info.ca_file);
    CHECK(r.status == 405);
  }

  SECTION("HTTPS is verified against the simulator's CA only") {
    const HttpReply r = https_request("GET", info.control_url + "/status", {}, "",
                                      "/etc/ssl/certs/ca-certificates.crt");
    CHECK(r.status == 0);
    CHECK_FALSE(r.error.empty());
  }
  CHECK(sim.stop() == 0);
}

TEST_CASE("certificate apply hands out a PKCS#12 keystore with its MD5") {
  SimProcess sim({"--cert-days", "2"});
  const std::string token = login(sim);
  const Keystore k = apply_for_certificate(sim, token);

  CHECK(std::regex_match(k.client_id,
                         std::regex("android-" + sim.info().user_id + "-US-[0-9a-f]{32}")));
  CHECK(k.sub_topic == "app/user/" + sim.info().user_id + "/sub");
  CHECK(k.url.starts_with(sim.info().api_url + "/sim/p12/"));
  CHECK(md5_of(k.bytes) == k.md5);
  CHECK(status_number(sim, "cert_applies") == 1);

  TempDir tmp;
  ClientPem pem;
  REQUIRE(extract_pem(k, tmp.path(), pem));
  CHECK(pem.common_name == k.client_id);
  CHECK(pem.ca_certificates == 1);

  // The certificate is signed by the simulator's CA and valid for --cert-days.
  FILE* f = std::fopen(pem.cert_file.c_str(), "r");
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  f = std::fopen(sim.info().ca_file.c_str(), "r");
  X509* ca = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  REQUIRE(cert);
  REQUIRE(ca);
  CHECK(X509_verify(cert, X509_get0_pubkey(ca)) == 1);
  int days = 0, seconds = 0;
  REQUIRE(ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert)) == 1);
  CHECK(days * 86400 + seconds > 86400);
  CHECK(days * 86400 + seconds <= 2 * 86400);
  X509_free(cert);
  X509_free(ca);

  Keystore wrong_password = k;
  wrong_password.password = "guess";
  ClientPem unused;
  CHECK_FALSE(extract_pem(wrong_password, tmp.path(), unused));

  SECTION("fault bad_md5 announces a digest that does not match") {
    REQUIRE(control(sim, "fault?name=bad_md5&on=1").status == 200);
    const Keystore bad = apply_for_certificate(sim, token);
    CHECK(bad.md5.size() == 32);
    CHECK(md5_of(bad.bytes) != bad.md5);
    REQUIRE(control(sim, "fault?name=bad_md5&on=0").status == 200);
    const Keystore good = apply_for_certificate(sim, token);
    CHECK(md5_of(good.bytes) == good.md5);
  }

  SECTION("an unknown keystore is not found") {
    CHECK(https_request("GET", sim.info().control_url + "/p12/0123.p12", {}, "", sim.info().ca_file)
              .status == 404);
  }
  CHECK(sim.stop() == 0);
}

namespace {

// The PBE algorithm of each safe bag of a keystore, without decrypting it.
void keystore_algorithms(const std::vector<unsigned char>& bytes, int& cert_nid, int& key_nid) {
  const unsigned char* p = bytes.data();
  PKCS12* p12 = d2i_PKCS12(nullptr, &p, static_cast<long>(bytes.size()));
  REQUIRE(p12);
  STACK_OF(PKCS7)* safes = PKCS12_unpack_authsafes(p12);
  REQUIRE(safes);
  for (int i = 0; i < sk_PKCS7_num(safes); ++i) {
    PKCS7* safe = sk_PKCS7_value(safes, i);
    if (OBJ_obj2nid(safe->type) == NID_pkcs7_encrypted) {
      cert_nid = OBJ_obj2nid(safe->d.encrypted->enc_data->algorithm->algorithm);
    } else if (OBJ_obj2nid(safe->type) == NID_pkcs7_data) {
      STACK_OF(PKCS12_SAFEBAG)* bags = PKCS12_unpack_p7data(safe);
      for (int j = 0; j < sk_PKCS12_SAFEBAG_num(bags); ++j) {
        const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags, j);
        if (PKCS12_SAFEBAG_get_nid(bag) != NID_pkcs8ShroudedKeyBag) continue;
        const X509_ALGOR* alg = nullptr;
        X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &alg, nullptr);
        key_nid = OBJ_obj2nid(alg->algorithm);
      }
      sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
    }
  }
  sk_PKCS7_pop_free(safes, PKCS7_free);
  PKCS12_free(p12);
}

}  // namespace

TEST_CASE("keystores are modern by default and legacy-encrypted on request") {
  SECTION("modern: AES through PBES2") {
    SimProcess sim({});
    const Keystore k = apply_for_certificate(sim, login(sim));
    int cert_nid = 0, key_nid = 0;
    keystore_algorithms(k.bytes, cert_nid, key_nid);
    CHECK(cert_nid == NID_pbes2);
    CHECK(key_nid == NID_pbes2);
    CHECK(sim.stop() == 0);
  }
  SECTION("--legacy-p12 --p12-without-ca: RC2-40 and 3DES, no CA chain") {
    SimProcess sim({"--legacy-p12", "--p12-without-ca"});
    const Keystore k = apply_for_certificate(sim, login(sim));
    CHECK(md5_of(k.bytes) == k.md5);
    int cert_nid = 0, key_nid = 0;
    keystore_algorithms(k.bytes, cert_nid, key_nid);
    CHECK(cert_nid == NID_pbe_WithSHA1And40BitRC2_CBC);
    CHECK(key_nid == NID_pbe_WithSHA1And3_Key_TripleDES_CBC);
    // OpenSSL 3 opens it once the legacy provider is loaded, as the collector must.
    OSSL_PROVIDER* legacy = OSSL_PROVIDER_load(nullptr, "legacy");
    OSSL_PROVIDER* deflt = OSSL_PROVIDER_load(nullptr, "default");
    REQUIRE(legacy);
    TempDir tmp;
    ClientPem pem;
    CHECK(extract_pem(k, tmp.path(), pem));
    CHECK(pem.common_name == k.client_id);
    CHECK(pem.ca_certificates == 0);
    OSSL_PROVIDER_unload(legacy);
    OSSL_PROVIDER_unload(deflt);
    CHECK(sim.stop() == 0);
  }
}

TEST_CASE("API faults: 5xx, HTML and slow answers") {
  SimProcess sim({});
  const std::string token = login(sim);
  const std::string path = "app/device/share/my/device/list";

  REQUIRE(control(sim, "fault?name=api_5xx&on=1").status == 200);
  const ApiReply failing = api_call(sim, path, "{}", token);
  CHECK(failing.http.status == 503);
  REQUIRE(control(sim, "fault?name=api_5xx&on=0").status == 200);

  REQUIRE(control(sim, "fault?name=api_html&on=1").status == 200);
  const ApiReply html = api_call(sim, path, "{}", token);
  CHECK(html.http.status == 200);
  CHECK(html.http.content_type.starts_with("text/html"));
  CHECK(html.http.body.starts_with("<!DOCTYPE html>"));
  CHECK(html.code.empty());
  REQUIRE(control(sim, "fault?name=api_html&on=0").status == 200);

  REQUIRE(control(sim, "fault?name=api_slow&on=1").status == 200);
  const auto started = std::chrono::steady_clock::now();
  const HttpReply slow = https_request("POST", sim.info().api_url + "/" + path,
                                       signed_headers(token, "{}"), "{}", sim.info().ca_file, 1500);
  CHECK(slow.status == 0);  // timed out
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(1400));
  REQUIRE(control(sim, "fault?name=api_slow&on=0").status == 200);

  CHECK(api_call(sim, path, "{}", token).code == "0");
  CHECK(control(sim, "fault?name=no_such_fault&on=1").status == 400);
  CHECK(control(sim, "fault?name=api_5xx&on=maybe").status == 400);
  CHECK(sim.stop() == 0);  // promptly, although a slow request is still waiting
}

namespace {

// Signs `headers` again after a test changed one (Content-Type is not signed).
void sign_again(std::map<std::string, std::string>& headers, const std::string& body) {
  headers.erase("Content-Type");
  headers["x-sign"] = thermomaven::sim::request_signature(headers, body);
  headers["Content-Type"] = "application/json; charset=UTF-8";
}

}  // namespace

TEST_CASE("the clientId names the installation: android-{userId}-{region}-{x-deviceSn}") {
  SimProcess sim({"--region", "UK", "--devices", "1"});
  auto login_as = [&](const std::string& device_sn) {
    const std::string body = login_body(sim.info().email, sim.info().password);
    auto headers = signed_headers("none", body);
    headers["x-deviceSn"] = device_sn;
    headers["x-region"] = "UK";
    sign_again(headers, body);
    const ApiReply r = api_call(sim, "app/account/login", body, headers);
    REQUIRE(r.code == "0");
    simdjson::dom::parser parser;
    return std::string(std::string_view(parser.parse(r.http.body)["data"]["token"]));
  };
  auto client_id = [&](const std::string& device_sn) {
    const std::string token = login_as(device_sn);
    auto headers = signed_headers(token, "");
    headers["x-deviceSn"] = device_sn;
    headers["x-region"] = "UK";
    sign_again(headers, "");
    const ApiReply r = api_call(sim, "app/mqtt/cert/apply", "", headers);
    REQUIRE(r.code == "0");
    simdjson::dom::parser parser;
    return std::string(std::string_view(parser.parse(r.http.body)["data"]["clientId"]));
  };
  const std::string install = thermomaven::sim::md5_hex("install-one");
  const std::string first = client_id(install);
  CHECK(first == "android-" + sim.info().user_id + "-UK-" + install);
  CHECK(client_id(install) == first);  // applying again: the same id
  const std::string other = thermomaven::sim::md5_hex("install-two");
  CHECK(client_id(other) == "android-" + sim.info().user_id + "-UK-" + other);
  // protocol.md: one client sends 16 hex characters and is accepted too.
  CHECK(client_id("0123456789abcdef").ends_with("-UK-0123456789abcdef"));
}

TEST_CASE("the simulator's --region takes exactly protocol.md's 30 codes") {
  for (const char* code : {"GB", "GR", "us", "EU", "XX"}) {
    const CommandResult r =
        run_command({TM_SIM_BINARY, "--dir", "/nonexistent", "--region", code}, 30);
    INFO(code << ": " << r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("--region must be one of protocol.md's codes: US NZ CA AU UK DE") !=
          std::string::npos);
  }
}

TEST_CASE("a REST device-list call publishes the account's user:device:list") {
  SimProcess sim({"--devices", "2"});
  const std::string token = login(sim);
  CHECK(status_number(sim, "device_list_calls") == 0);
  CHECK(api_call(sim, "app/device/share/my/device/list", "", token).code == "0");
  CHECK(api_call(sim, "app/device/share/shared/device/list", "", token).code == "0");
  CHECK(status_number(sim, "device_list_calls") == 2);
  CHECK(status_number(sim, "device_list_bodies") == 0);
  // The known clients send no body: one is counted, so that tests see it.
  CHECK(api_call(sim, "app/device/share/my/device/list", "{}", token).code == "0");
  CHECK(status_number(sim, "device_list_bodies") == 1);
  // Each call asked the fleet for a list on the user topic.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (read_file(sim.info().published_file).find("user:device:list") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(read_file(sim.info().published_file).find("user:device:list") != std::string::npos);
}
