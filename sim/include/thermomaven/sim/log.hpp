// One line per event on stderr, with a UTC timestamp and a level. Never pass
// a secret (password, token, keystore password, private key) to these.
#pragma once

#include <string_view>

namespace thermomaven::sim {

void log_info(std::string_view line);
void log_warn(std::string_view line);
void log_error(std::string_view line);

}  // namespace thermomaven::sim
