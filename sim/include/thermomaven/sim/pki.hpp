// The simulator's certificates, made in-process with OpenSSL 3: a CA, the
// TLS server certificates (HTTPS API and broker), and client certificates
// handed out as PKCS#12 keystores like the cloud's `app/mqtt/cert/apply`.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

namespace thermomaven::sim {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* c) const { X509_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Throws std::runtime_error naming `what` and OpenSSL's first queued error.
[[noreturn]] void throw_openssl(const std::string& what);

struct KeyAndCert {
  PkeyPtr key;
  X509Ptr cert;
  std::string cert_pem() const;
  std::string key_pem() const;  // unencrypted PKCS#8: write only to 0600 files
};

class CertificateAuthority {
 public:
  explicit CertificateAuthority(const std::string& common_name);

  const KeyAndCert& root() const { return root_; }

  // A TLS server certificate for 127.0.0.1 and localhost.
  KeyAndCert issue_server(const std::string& common_name, int days) const;
  // A TLS client certificate whose subject CN is `common_name`.
  KeyAndCert issue_client(const std::string& common_name, int days) const;

 private:
  KeyAndCert issue(const std::string& common_name, int days, bool server) const;
  KeyAndCert root_;
};

enum class KeystoreCipher { Modern, Legacy };

// A PKCS#12 keystore (DER bytes) holding `leaf` and, if `ca` is non-null,
// the CA certificate. Modern: PBES2/AES-256 with a SHA-256 MAC. Legacy:
// RC2-40 for the certificates, 3DES for the key and a SHA-1 MAC, as Java
// tools write them (needs OpenSSL's legacy provider to read).
std::vector<unsigned char> make_pkcs12(const KeyAndCert& leaf, const X509* ca,
                                       const std::string& password, KeystoreCipher cipher);

// Writes `text` to `path` with the given mode (created or replaced).
void write_file(const std::string& path, const std::string& text, unsigned mode);

}  // namespace thermomaven::sim
