// The command-line parser and typed getters of cli_args.hpp; integers are
// read with core's strict parse_int64_in (no sign games, no trailing text).
#include "cli_args.hpp"

#include "thermomaven/core/numbers.hpp"

namespace thermomaven::app {
namespace {

// One checked number, or the one-line error naming the flag.
std::int64_t number_in(const std::string& flag, const std::string& text, std::int64_t min,
                       std::int64_t max, const char* what) {
  if (auto value = parse_int64_in(text, min, max)) return *value;
  throw UsageError(flag + " must be " + what + " from " + std::to_string(min) + " to " +
                   std::to_string(max) + ", not '" + text + "'");
}

}  // namespace

CliArgs::CliArgs(int argc, char** argv, std::set<std::string> valued,
                 std::set<std::string> switches) {
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.size() < 2 || arg[0] != '-') {
      positional_.push_back(arg);
      continue;
    }
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    if (valued.count(arg)) {
      if (!inline_value && i + 1 >= argc) throw UsageError(arg + " needs a value");
      values_[arg] = inline_value ? *inline_value : argv[++i];
    } else if (switches.count(arg) && !inline_value) {
      switches_.insert(arg);
    } else {
      throw UsageError("unknown option " + arg);
    }
  }
}

std::optional<std::string> CliArgs::get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string CliArgs::get_or(const std::string& flag, const std::string& fallback) const {
  return get(flag).value_or(fallback);
}

std::string CliArgs::required(const std::string& flag) const {
  auto value = get(flag);
  if (!value || value->empty()) throw UsageError(flag + " is required");
  return *value;
}

std::int64_t CliArgs::integer(const std::string& flag, std::int64_t fallback, std::int64_t min,
                              std::int64_t max) const {
  return optional_integer(flag, min, max).value_or(fallback);
}

std::optional<std::int64_t> CliArgs::optional_integer(const std::string& flag, std::int64_t min,
                                                      std::int64_t max) const {
  const auto text = get(flag);
  if (!text) return std::nullopt;
  return number_in(flag, *text, min, max, "a whole number");
}

std::chrono::seconds CliArgs::seconds(const std::string& flag, std::chrono::seconds fallback,
                                      std::int64_t min, std::int64_t max) const {
  const auto text = get(flag);
  if (!text) return fallback;
  return std::chrono::seconds(number_in(flag, *text, min, max, "a number of seconds"));
}

void CliArgs::no_positional() const {
  if (!positional_.empty()) throw UsageError("unexpected argument " + positional_[0]);
}

}  // namespace thermomaven::app
