#pragma once
/// @file
/// Error-code helpers shared by every module, and platform/'s own error enum.
///
/// Policy (DESIGN.md §8): I/O boundaries return std::error_code, one `enum class errc` plus one
/// category per module; start-up and configuration errors throw; the capture hot path neither
/// throws nor allocates. platform/ follows the I/O rule: its OS wrappers return error codes, its
/// text parsers return std::optional, and only the explicitly named from_string() helpers throw.

#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>

namespace edgeid::platform {

/// A std::error_category whose messages come from a fixed table indexed by the enum value.
/// Modules define one per error enum as a function-local static (constant after construction).
class TableCategory final : public std::error_category {
 public:
  /// @p messages must outlive the category (use string literals); index 0 is "success".
  constexpr TableCategory(const char* name, const char* const* messages, int count) noexcept
      : name_(name), messages_(messages), count_(count) {}
  const char* name() const noexcept override { return name_; }
  std::string message(int value) const override;

 private:
  const char* name_;
  const char* const* messages_;
  int count_;
};

/// The current errno as a std::error_code in the system category.
inline std::error_code last_os_error() noexcept {
  return {errno, std::system_category()};
}

/// Errors of platform/'s OS wrappers.
enum class errc {
  ok = 0,
  invalid_argument,   ///< a caller-supplied value is malformed
  permission_denied,  ///< a file or peer fails an ownership/mode check
  not_found,          ///< a named user, group, file or interface does not exist
};

const std::error_category& platform_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), platform_category()};
}

}  // namespace edgeid::platform

template <>
struct std::is_error_code_enum<edgeid::platform::errc> : std::true_type {};
