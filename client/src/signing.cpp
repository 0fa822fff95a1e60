#include "thermomaven/client/signing.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace thermomaven::client {
namespace {

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

bool is_blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

std::string md5_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(EVP_MD_fetch(nullptr, "MD5", nullptr),
                                                     EVP_MD_free);
  if (!md || EVP_Digest(data.data(), data.size(), digest, &size, md.get(), nullptr) != 1)
    throw std::runtime_error("OpenSSL cannot compute MD5");
  return to_hex(digest, size);
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("OpenSSL cannot produce random bytes");
  return to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string request_signature(std::string_view app_key, HeaderList headers, std::string_view body) {
  std::erase_if(headers, [](const auto& h) { return h.first == "x-sign"; });
  std::sort(headers.begin(), headers.end());  // byte order of the names
  std::string text(app_key);
  text += '|';
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i) text += ';';
    text += headers[i].first + '=' + headers[i].second;
  }
  if (!is_blank(body)) {
    text += '|';
    text += body;
  }
  std::erase(text, '\n');
  return md5_hex(text);
}

}  // namespace thermomaven::client
