#pragma once
// A small reader for subcommand arguments: flags, options with values, and nothing else.
// Bad usage throws UsageError (exit code 2).

#include <span>
#include <string>
#include <string_view>

#include "commands.h"

namespace edgeid::agent {

class ArgReader {
 public:
  explicit ArgReader(std::span<const std::string_view> args) : args_(args) {}

  bool done() const noexcept { return pos_ >= args_.size(); }
  /// The next argument, consumed.
  std::string_view next() { return args_[pos_++]; }
  /// The value of the option just read by next(); throws when it is missing.
  std::string value_of(std::string_view option) {
    if (done()) throw UsageError(std::string(option) + " needs a value");
    return std::string(next());
  }
  [[noreturn]] static void unknown(std::string_view arg) {
    throw UsageError("unknown argument '" + std::string(arg) + "'");
  }

 private:
  std::span<const std::string_view> args_;
  std::size_t pos_ = 0;
};

}  // namespace edgeid::agent
