#include "thermomaven/sim/signing.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace thermomaven::sim {
namespace {

std::string to_hex(const unsigned char* bytes, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0xf];
  }
  return out;
}

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

}  // namespace

std::string md5_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  std::size_t length = 0;
  if (!EVP_Q_digest(nullptr, "MD5", nullptr, data.data(), data.size(), digest, &length))
    throw std::runtime_error("MD5 is not available from OpenSSL");
  return to_hex(digest, length);
}

std::string request_signature(const std::map<std::string, std::string>& headers,
                              std::string_view body) {
  // std::map orders names by byte value, which is the order protocol.md asks for.
  std::string text(kAppKey);
  text += '|';
  bool first = true;
  for (const auto& [name, value] : headers) {
    if (name == "x-sign") continue;
    if (!first) text += ';';
    first = false;
    text += name + "=" + value;
  }
  if (!is_blank(body)) {
    text += '|';
    text += body;
  }
  std::erase(text, '\n');
  return md5_hex(text);
}

bool is_lower_hex(std::string_view text, std::size_t length) {
  return text.size() == length && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string random_hex(std::size_t length) {
  std::vector<unsigned char> bytes((length + 1) / 2);
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  return to_hex(bytes.data(), bytes.size()).substr(0, length);
}

}  // namespace thermomaven::sim
