#pragma once
// Hex helpers shared by the vocabulary types' parsers and formatters.

namespace edgeid::platform::detail {

inline constexpr char kHexDigits[] = "0123456789abcdef";

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace edgeid::platform::detail
