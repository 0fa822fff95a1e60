#include "thermomaven/sim/pki.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace thermomaven::sim {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

PkeyPtr new_key() {
  // P-256 keys: quick to make, so a test can start many simulators.
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) throw_openssl("cannot generate an EC key");
  return key;
}

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (!ext) throw_openssl(std::string("cannot make certificate extension ") + OBJ_nid2sn(nid));
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (!ok) throw_openssl("cannot add certificate extension");
}

X509Ptr new_cert(const std::string& common_name, int days, EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  if (!cert) throw_openssl("X509_new");
  X509_set_version(cert.get(), X509_VERSION_3);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) throw_openssl("RAND_bytes");
  serial[0] &= 0x7f;  // a positive serial number
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  // Backdated a little so that a clock a few seconds behind still accepts it.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("thermomaven-sim"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  if (!X509_set_pubkey(cert.get(), key)) throw_openssl("X509_set_pubkey");
  return cert;
}

}  // namespace

void throw_openssl(const std::string& what) {
  char reason[256] = "no detail";
  const unsigned long code = ERR_get_error();
  if (code) ERR_error_string_n(code, reason, sizeof reason);
  ERR_clear_error();
  throw std::runtime_error(what + " (" + reason + ")");
}

std::string KeyAndCert::cert_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_X509(bio.get(), cert.get())) throw_openssl("cannot write PEM");
  return bio_text(bio.get());
}

std::string KeyAndCert::key_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      !PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
    throw_openssl("cannot write PEM");
  return bio_text(bio.get());
}

CertificateAuthority::CertificateAuthority(const std::string& common_name) {
  root_.key = new_key();
  root_.cert = new_cert(common_name, 3650, root_.key.get());
  X509_set_issuer_name(root_.cert.get(), X509_get_subject_name(root_.cert.get()));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, root_.cert.get(), root_.cert.get(), nullptr, nullptr, 0);
  add_extension(root_.cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(root_.cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(root_.cert.get(), &ctx, NID_subject_key_identifier, "hash");
  if (!X509_sign(root_.cert.get(), root_.key.get(), EVP_sha256())) throw_openssl("cannot sign CA");
}

KeyAndCert CertificateAuthority::issue_server(const std::string& common_name, int days) const {
  return issue(common_name, days, true);
}

KeyAndCert CertificateAuthority::issue_client(const std::string& common_name, int days) const {
  return issue(common_name, days, false);
}

KeyAndCert CertificateAuthority::issue(const std::string& common_name, int days,
                                       bool server) const {
  KeyAndCert out;
  out.key = new_key();
  out.cert = new_cert(common_name, days, out.key.get());
  X509_set_issuer_name(out.cert.get(), X509_get_subject_name(root_.cert.get()));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, root_.cert.get(), out.cert.get(), nullptr, nullptr, 0);
  add_extension(out.cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(out.cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyAgreement");
  add_extension(out.cert.get(), &ctx, NID_ext_key_usage, server ? "serverAuth" : "clientAuth");
  add_extension(out.cert.get(), &ctx, NID_subject_key_identifier, "hash");
  add_extension(out.cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  if (server)
    add_extension(out.cert.get(), &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  if (!X509_sign(out.cert.get(), root_.key.get(), EVP_sha256()))
    throw_openssl("cannot sign certificate for " + common_name);
  return out;
}

std::vector<unsigned char> make_pkcs12(const KeyAndCert& leaf, const X509* ca,
                                       const std::string& password, KeystoreCipher cipher) {
  struct StackFree {
    void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
  };
  std::unique_ptr<STACK_OF(X509), StackFree> chain(sk_X509_new_null());
  if (ca) {
    X509* copy = X509_dup(ca);
    if (!copy || !sk_X509_push(chain.get(), copy)) throw_openssl("cannot build the CA chain");
  }
  struct Pkcs12Free {
    void operator()(PKCS12* p) const { PKCS12_free(p); }
  };
  std::unique_ptr<PKCS12, Pkcs12Free> p12;
  if (cipher == KeystoreCipher::Legacy) {
    // RC2-40 lives only in the legacy provider, so make the keystore in a
    // private library context that has it, leaving the process default alone.
    struct CtxFree {
      void operator()(OSSL_LIB_CTX* c) const { OSSL_LIB_CTX_free(c); }
    };
    std::unique_ptr<OSSL_LIB_CTX, CtxFree> libctx(OSSL_LIB_CTX_new());
    OSSL_PROVIDER* legacy = OSSL_PROVIDER_load(libctx.get(), "legacy");
    OSSL_PROVIDER* deflt = OSSL_PROVIDER_load(libctx.get(), "default");
    if (!legacy || !deflt) throw_openssl("cannot load OpenSSL's legacy provider");
    // -1: no MAC here; a SHA-1 MAC is added below, as legacy keystores have.
    p12.reset(PKCS12_create_ex(password.c_str(), "thermomaven client", leaf.key.get(),
                               leaf.cert.get(), chain.get(), NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
                               NID_pbe_WithSHA1And40BitRC2_CBC, 2048, -1, 0, libctx.get(),
                               nullptr));
    if (p12 && !PKCS12_set_mac(p12.get(), password.c_str(), -1, nullptr, 0, 2048, EVP_sha1()))
      p12.reset();
    std::vector<unsigned char> der;
    if (p12) {
      unsigned char* out = nullptr;
      const int n = i2d_PKCS12(p12.get(), &out);
      if (n > 0) der.assign(out, out + n);
      OPENSSL_free(out);
    }
    p12.reset();  // free it while its library context still exists
    OSSL_PROVIDER_unload(legacy);
    OSSL_PROVIDER_unload(deflt);
    if (der.empty()) throw_openssl("cannot make a legacy PKCS#12 keystore");
    return der;
  }
  p12.reset(PKCS12_create(password.c_str(), "thermomaven client", leaf.key.get(), leaf.cert.get(),
                          chain.get(), NID_aes_256_cbc, NID_aes_256_cbc, 0, 0, 0));
  if (!p12) throw_openssl("cannot make a PKCS#12 keystore");
  unsigned char* out = nullptr;
  const int n = i2d_PKCS12(p12.get(), &out);
  if (n <= 0) throw_openssl("cannot encode a PKCS#12 keystore");
  std::vector<unsigned char> der(out, out + n);
  OPENSSL_free(out);
  return der;
}

void write_file(const std::string& path, const std::string& text, unsigned mode) {
  // O_CREAT with the mode, then fchmod in case the file already existed.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  const bool ok = ::fchmod(fd, mode) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int saved = errno;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path + ": " + std::strerror(saved));
}

}  // namespace thermomaven::sim
