// A small command-line parser: --flag VALUE, --flag=VALUE, --switch, and
// positional arguments ("-" is positional: standard input). The typed
// getters check a flag's value where it is read and fail with one line that
// names the flag (a UsageError: exit 2 with the command's usage).
#pragma once

#include <chrono>
#include <cstdint>
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

  // The value as given (possibly empty); nullopt when the flag is absent.
  std::optional<std::string> get(const std::string& flag) const;
  std::string get_or(const std::string& flag, const std::string& fallback) const;
  // A value that must be there and not empty: "--db is required".
  std::string required(const std::string& flag) const;

  // A whole number in [min, max]: "--probe must be a whole number from 1 to
  // 4, not '5'". The fallback when absent (not checked against the range).
  std::int64_t integer(const std::string& flag, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) const;
  std::optional<std::int64_t> optional_integer(const std::string& flag, std::int64_t min,
                                               std::int64_t max) const;
  // Whole seconds in [min, max]: "--wait must be a number of seconds from 1
  // to 3600, not 'soon'".
  std::chrono::seconds seconds(const std::string& flag, std::chrono::seconds fallback,
                               std::int64_t min, std::int64_t max) const;

  // A switch (a flag without a value) given.
  bool has(const std::string& flag) const { return switches_.count(flag) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }
  // UsageError "unexpected argument X" when any positional argument was given.
  void no_positional() const;

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> switches_;
  std::vector<std::string> positional_;
};

}  // namespace thermomaven::app
