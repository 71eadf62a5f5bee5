#pragma once
/// @file
/// capture/'s error enum and category (DESIGN.md §8: one per module, used at I/O boundaries).

#include <system_error>

namespace edgeid::capture {

enum class errc {
  ok = 0,
  open_failed,            ///< libpcap could not open the file or interface
  unsupported_link_type,  ///< the capture's link type is not one we decode
  bad_filter,             ///< the BPF expression does not compile or cannot be set
  read_failed,            ///< a read error (truncated file, interface gone)
  end_of_file,            ///< an offline capture has no more packets (not a failure)
};

const std::error_category& capture_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), capture_category()};
}

}  // namespace edgeid::capture

template <>
struct std::is_error_code_enum<edgeid::capture::errc> : std::true_type {};
