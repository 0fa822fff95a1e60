// The MQTT client credentials: the PKCS#12 keystore the cloud hands out,
// opened with OpenSSL 3 (legacy RC2/3DES keystores too), turned into the PEM
// pieces the MQTT library needs. The key PEM is a secret: it only ever goes
// to a MemoryFile, never to disk.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace thermomaven::client {

class KeystoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ClientCredentials {
  std::string certificate_pem;       // the client certificate
  std::string private_key_pem;       // secret, unencrypted PEM
  std::string trust_pem;             // CAs to trust for the broker
  bool chain_from_keystore = false;  // else Amazon Root CA 1
  std::string subject_cn;
  std::int64_t not_before_s = 0, not_after_s = 0;  // epoch seconds

  ClientCredentials() = default;
  ClientCredentials(const ClientCredentials&) = default;
  ClientCredentials& operator=(const ClientCredentials&) = default;
  ~ClientCredentials();  // wipes the key from memory
};

// Amazon Root CA 1, which signs AWS IoT Core's endpoints: trusted for the
// broker when the keystore brings no chain of its own.
extern const std::string_view kAmazonRootCa1Pem;

// Throws KeystoreError (no secret in the message) when the bytes are not a
// PKCS#12 keystore, the password does not open it, or it lacks a key or cert.
ClientCredentials open_pkcs12(std::string_view der, const std::string& password);

// When to apply for a new certificate: when less than a day or a tenth of the
// lifetime remains (but never earlier than half of it).
std::int64_t renewal_time_s(const ClientCredentials& credentials);

}  // namespace thermomaven::client
