#include "cli_args.hpp"

namespace thermomaven::app {

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

}  // namespace thermomaven::app
