#include "thermomaven/client/keystore.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>

namespace thermomaven::client {

const std::string_view kAmazonRootCa1Pem =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDQTCCAimgAwIBAgITBmyfz5m/jAo54vB4ikPmljZbyjANBgkqhkiG9w0BAQsF\n"
    "ADA5MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRkwFwYDVQQDExBBbWF6\n"
    "b24gUm9vdCBDQSAxMB4XDTE1MDUyNjAwMDAwMFoXDTM4MDExNzAwMDAwMFowOTEL\n"
    "MAkGA1UEBhMCVVMxDzANBgNVBAoTBkFtYXpvbjEZMBcGA1UEAxMQQW1hem9uIFJv\n"
    "b3QgQ0EgMTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBALJ4gHHKeNXj\n"
    "ca9HgFB0fW7Y14h29Jlo91ghYPl0hAEvrAIthtOgQ3pOsqTQNroBvo3bSMgHFzZM\n"
    "9O6II8c+6zf1tRn4SWiw3te5djgdYZ6k/oI2peVKVuRF4fn9tBb6dNqcmzU5L/qw\n"
    "IFAGbHrQgLKm+a/sRxmPUDgH3KKHOVj4utWp+UhnMJbulHheb4mjUcAwhmahRWa6\n"
    "VOujw5H5SNz/0egwLX0tdHA114gk957EWW67c4cX8jJGKLhD+rcdqsq08p8kDi1L\n"
    "93FcXmn/6pUCyziKrlA4b9v7LWIbxcceVOF34GfID5yHI9Y/QCB/IIDEgEw+OyQm\n"
    "jgSubJrIqg0CAwEAAaNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMC\n"
    "AYYwHQYDVR0OBBYEFIQYzIU07LwMlJQuCFmcx7IQTgoIMA0GCSqGSIb3DQEBCwUA\n"
    "A4IBAQCY8jdaQZChGsV2USggNiMOruYou6r4lK5IpDB/G/wkjUu0yKGX9rbxenDI\n"
    "U5PMCCjjmCXPI6T53iHTfIUJrU6adTrCC2qJeHZERxhlbI1Bjjt/msv0tadQ1wUs\n"
    "N+gDS63pYaACbvXy8MWy7Vu33PqUXHeeE6V/Uq2V8viTO96LXFvKWlJbYK8U90vv\n"
    "o/ufQJVtMVT8QtPHRh8jrdkPSHCa2XV4cdFyQzR1bldZwgJcJmApzyMZFo6IQ6XU\n"
    "5MsI+yMRQ+hDKXJioaldXgjUkK642M4UwtBV8ob2xJNDd2ZhwLnoQdeXeGADbkpy\n"
    "rqXRfboQnoZsG4q5WTP468SQvvG5\n"
    "-----END CERTIFICATE-----\n";

namespace {

// Java-made keystores use RC2-40/3DES, which OpenSSL 3 only has in its legacy
// provider. Rather than change the process-wide library context that curl and
// Paho use, the keystore is opened in a private one with the legacy and
// default providers, made this thread's default only while it is in scope.
// Everything created inside must be freed before it ends.
class LegacyCapableContext {
 public:
  LegacyCapableContext() : context_(OSSL_LIB_CTX_new()) {
    if (!context_) throw KeystoreError("OpenSSL cannot create a library context");
    legacy_ = OSSL_PROVIDER_load(context_, "legacy");  // optional: modern keystores need none
    default_ = OSSL_PROVIDER_load(context_, "default");
    if (!default_) {
      release();
      throw KeystoreError("OpenSSL cannot load its default provider");
    }
    previous_ = OSSL_LIB_CTX_set0_default(context_);
    ERR_clear_error();
  }
  ~LegacyCapableContext() {
    OSSL_LIB_CTX_set0_default(previous_);
    release();
  }
  LegacyCapableContext(const LegacyCapableContext&) = delete;
  LegacyCapableContext& operator=(const LegacyCapableContext&) = delete;

 private:
  void release() {
    if (legacy_) OSSL_PROVIDER_unload(legacy_);
    if (default_) OSSL_PROVIDER_unload(default_);
    OSSL_LIB_CTX_free(context_);
    ERR_clear_error();
  }
  OSSL_LIB_CTX* context_;
  OSSL_PROVIDER* legacy_ = nullptr;
  OSSL_PROVIDER* default_ = nullptr;
  OSSL_LIB_CTX* previous_ = nullptr;
};

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Pkcs12Ptr = std::unique_ptr<PKCS12, Deleter<PKCS12, PKCS12_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
struct ChainDeleter {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string cert_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    throw KeystoreError("cannot encode a certificate as PEM");
  return bio_text(bio.get());
}

std::int64_t epoch_seconds(const ASN1_TIME* time) {
  struct tm tm {};
  if (!time || ASN1_TIME_to_tm(time, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (!code) return "unknown error";
  const char* reason = ERR_reason_error_string(code);
  return reason ? reason : "unknown error";
}

}  // namespace

ClientCredentials::~ClientCredentials() {
  if (!private_key_pem.empty()) OPENSSL_cleanse(private_key_pem.data(), private_key_pem.size());
}

ClientCredentials open_pkcs12(std::string_view der, const std::string& password) {
  LegacyCapableContext context;  // first: outlives every OpenSSL object below
  BioPtr in(BIO_new_mem_buf(der.data(), static_cast<int>(der.size())));
  Pkcs12Ptr p12(in ? d2i_PKCS12_bio(in.get(), nullptr) : nullptr);
  if (!p12) {
    ERR_clear_error();
    throw KeystoreError("the downloaded keystore is not a PKCS#12 file");
  }
  EVP_PKEY* raw_key = nullptr;
  X509* raw_cert = nullptr;
  STACK_OF(X509)* raw_chain = nullptr;
  if (PKCS12_parse(p12.get(), password.c_str(), &raw_key, &raw_cert, &raw_chain) != 1)
    throw KeystoreError(
        "cannot open the PKCS#12 keystore (wrong password or unsupported "
        "encryption: " +
        openssl_reason() + ")");
  KeyPtr key(raw_key);
  X509Ptr cert(raw_cert);
  std::unique_ptr<STACK_OF(X509), ChainDeleter> chain(raw_chain);
  if (!key || !cert) throw KeystoreError("the PKCS#12 keystore lacks a private key or certificate");

  ClientCredentials out;
  out.certificate_pem = cert_pem(cert.get());
  BioPtr key_bio(BIO_new(BIO_s_secmem()));
  if (!key_bio) key_bio.reset(BIO_new(BIO_s_mem()));
  if (!key_bio || PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                           nullptr) != 1)
    throw KeystoreError("cannot encode the private key");
  out.private_key_pem = bio_text(key_bio.get());
  if (chain) {
    for (int i = 0; i < sk_X509_num(chain.get()); ++i)
      out.trust_pem += cert_pem(sk_X509_value(chain.get(), i));
  }
  out.chain_from_keystore = !out.trust_pem.empty();
  if (!out.chain_from_keystore) out.trust_pem = std::string(kAmazonRootCa1Pem);
  out.not_before_s = epoch_seconds(X509_get0_notBefore(cert.get()));
  out.not_after_s = epoch_seconds(X509_get0_notAfter(cert.get()));
  char cn[256] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
  out.subject_cn = cn;
  ERR_clear_error();
  return out;
}

std::int64_t renewal_time_s(const ClientCredentials& c) {
  const std::int64_t lifetime = std::max<std::int64_t>(0, c.not_after_s - c.not_before_s);
  const std::int64_t margin = std::min(std::max<std::int64_t>(86400, lifetime / 10), lifetime / 2);
  return c.not_after_s - margin;
}

}  // namespace thermomaven::client
