// The REST request signature of protocol.md, as the cloud checks it. The
// simulator keeps its own implementation so that it checks the collector
// against the written protocol, not against the collector's own code.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace thermomaven::sim {

inline constexpr std::string_view kAppId = "ap4060eff28137181bd";
inline constexpr std::string_view kAppKey = "bcd4596f1bb8419a92669c8017bf25e8";

// Lowercase hex MD5 of `data`.
std::string md5_hex(std::string_view data);

// `headers` maps each x-* header name (as in protocol.md, e.g. "x-appId")
// to its value; x-sign, if present, is ignored. `body` is the raw body.
std::string request_signature(const std::map<std::string, std::string>& headers,
                              std::string_view body);

// True when `text` is exactly `length` lowercase hex digits.
bool is_lower_hex(std::string_view text, std::size_t length);

// A fresh random lowercase hex string of `length` characters (RAND_bytes).
std::string random_hex(std::size_t length);

}  // namespace thermomaven::sim
