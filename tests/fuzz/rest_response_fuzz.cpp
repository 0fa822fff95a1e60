// A REST answer from the cloud, as the collector parses it: the envelope
// {"code", "msg", "data"}, then the data of a login, of the account's
// settings and of a certificate grant. Whatever the body, the only failure
// is an ApiError with a one-line reason.
#include <cstdint>
#include <string>
#include <string_view>

#include "thermomaven/client/cloud_api.hpp"

namespace {

using thermomaven::client::ApiError;

void check_one_line(const ApiError& e) {
  if (std::string_view(e.what()).find('\n') != std::string_view::npos) __builtin_trap();
  if (e.kind != ApiError::Kind::BadResponse) __builtin_trap();
}

// Both data parsers on `data`: the same bytes may come back from either call.
void parse_data(std::string_view data) {
  using namespace thermomaven::client;
  try {
    parse_login_data(data);
  } catch (const ApiError& e) {
    check_one_line(e);
  }
  try {
    parse_setting_unit(data);  // app/user/setting/get
  } catch (const ApiError& e) {
    check_one_line(e);
  }
  try {
    const CertificateGrant grant = parse_certificate_grant(data);
    // What the collector relies on after a successful parse.
    if (grant.p12_url.empty() || grant.p12_md5.empty() || grant.client_id.empty()) __builtin_trap();
    for (const auto& topic : grant.sub_topics)
      if (topic.empty()) __builtin_trap();
  } catch (const ApiError& e) {
    check_one_line(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  using namespace thermomaven::client;
  const std::string body(reinterpret_cast<const char*>(bytes), size);
  HttpResponse response;
  response.status = 200;
  response.content_type = "application/json";
  response.body = body;
  try {
    const ApiEnvelope envelope = parse_api_envelope("app/account/login", response);
    parse_data(envelope.data);
  } catch (const ApiError& e) {
    check_one_line(e);
  }
  // The data shapes on their own, so that the corpus reaches them directly.
  parse_data(body);
  return 0;
}
