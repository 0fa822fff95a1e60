// The REST request signature of protocol.md: plain MD5 over the app key, the
// sorted x-* headers and the body. Also the MD5 and random-id helpers the
// protocol needs (password digest, x-nonce, x-deviceSn).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace thermomaven::client {

// The Android app's identity (protocol.md).
inline constexpr std::string_view kAppId = "ap4060eff28137181bd";
inline constexpr std::string_view kAppKey = "bcd4596f1bb8419a92669c8017bf25e8";
inline constexpr std::string_view kAppVersion = "1906";

// Lowercase hex MD5 (OpenSSL EVP).
std::string md5_hex(std::string_view data);

// `bytes` random bytes from OpenSSL's CSPRNG as lowercase hex.
std::string random_hex(std::size_t bytes);

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// x-sign for these x-* headers (x-sign itself is ignored if present) and body.
std::string request_signature(std::string_view app_key, HeaderList headers, std::string_view body);

}  // namespace thermomaven::client
