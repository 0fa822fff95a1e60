// Basic authentication against bcrypt hashes, with libxcrypt's crypt_rn
// (Debian's libcrypt knows $2a$, $2b$ and $2y$).
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

#include "thermomaven/exporter/web_config.hpp"

namespace thermomaven::exporter {
namespace {

// Enough for every user of a real deployment; a flood of distinct good
// passwords (there are not many) only empties it.
constexpr std::size_t kMaxRemembered = 1024;

// crypt_rn's output for `password` under the settings (and salt) of `hash`;
// empty if libcrypt refuses (an unknown or malformed hash).
std::string crypt_with(std::string_view password, const std::string& hash) {
  // crypt_data is 32 KiB: too big for the stacks of civetweb's workers.
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const std::string phrase(password);
  const char* out = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  std::string result = out && out[0] != '*' ? out : "";
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return result;
}

bool bcrypt_matches(std::string_view password, const std::string& hash) {
  const std::string computed = crypt_with(password, hash);
  return !computed.empty() && computed.size() == hash.size() &&
         CRYPTO_memcmp(computed.data(), hash.data(), hash.size()) == 0;
}

std::string base64_decode(std::string_view in) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (char c : in) {
    const std::size_t v = alphabet.find(c);
    if (v == std::string_view::npos) return {};
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

std::string sha256(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return std::string(reinterpret_cast<char*>(digest), length);
}

}  // namespace

std::string bcrypt_hash(std::string_view password, int cost) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, setting,
                        sizeof setting))
    throw std::runtime_error("cannot make a bcrypt salt with cost " + std::to_string(cost) +
                             " (4 to 31)");
  const std::string hash = crypt_with(password, setting);
  if (hash.empty()) throw std::runtime_error("bcrypt hashing failed");
  return hash;
}

class BasicAuth::Impl {
 public:
  explicit Impl(std::map<std::string, std::string> users) : users_(std::move(users)) {
    // Checked instead of a missing user's hash, so that a wrong name costs
    // as long as a wrong password and names cannot be guessed by timing.
    if (!users_.empty()) decoy_ = bcrypt_hash("decoy", cost_of(users_.begin()->second));
  }

  bool allows(const char* authorization) {
    if (users_.empty()) return true;
    if (!authorization) return false;
    std::string_view header = authorization;
    constexpr std::string_view scheme = "Basic ";
    if (header.size() <= scheme.size() || !equal_ignoring_case(header.substr(0, 6), scheme))
      return false;
    std::string pair = base64_decode(header.substr(scheme.size()));
    const bool allowed = check(pair);
    OPENSSL_cleanse(pair.data(), pair.size());
    return allowed;
  }

 private:
  // `pair`: "user:password", decoded.
  bool check(const std::string& pair) {
    const std::size_t colon = pair.find(':');
    if (colon == std::string::npos) return false;
    const std::string user = pair.substr(0, colon);
    const std::string_view password = std::string_view(pair).substr(colon + 1);
    const auto it = users_.find(user);
    const std::string& hash = it == users_.end() ? decoy_ : it->second;
    // NULs separate the parts, so that no two different triples run together alike.
    std::string triple = user + '\0' + hash + '\0';
    triple += password;
    const std::string key = sha256(triple);
    OPENSSL_cleanse(triple.data(), triple.size());
    {
      std::lock_guard lock(mutex_);
      if (remembered_.count(key)) return true;
    }
    if (!bcrypt_matches(password, hash) || it == users_.end()) return false;
    std::lock_guard lock(mutex_);
    if (remembered_.size() >= kMaxRemembered) remembered_.clear();
    remembered_.insert(key);
    return true;
  }

  static int cost_of(const std::string& hash) { return std::stoi(hash.substr(4, 2)); }

  static bool equal_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(a[i])) !=
          std::tolower(static_cast<unsigned char>(b[i])))
        return false;
    return true;
  }

  std::map<std::string, std::string> users_;
  std::string decoy_;
  std::mutex mutex_;
  std::unordered_set<std::string> remembered_;  // SHA-256 of (user, hash, password)
};

BasicAuth::BasicAuth(std::map<std::string, std::string> users)
    : impl_(std::make_unique<Impl>(std::move(users))) {}
BasicAuth::~BasicAuth() = default;
bool BasicAuth::allows(const char* authorization) const { return impl_->allows(authorization); }

}  // namespace thermomaven::exporter
