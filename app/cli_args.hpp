// A small command-line parser: --flag VALUE, --flag=VALUE, --switch, and
// positional arguments ("-" is positional: standard input).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace thermomaven::app {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CliArgs {
 public:
  // `valued` names the flags that take a value, `switches` those that don't.
  CliArgs(int argc, char** argv, std::set<std::string> valued, std::set<std::string> switches);

  std::optional<std::string> get(const std::string& flag) const;
  std::string get_or(const std::string& flag, const std::string& fallback) const;
  bool has(const std::string& flag) const { return switches_.count(flag) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> switches_;
  std::vector<std::string> positional_;
};

}  // namespace thermomaven::app
