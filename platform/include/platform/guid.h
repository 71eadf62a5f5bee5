#pragma once
/// @file
/// Guid: a 16-byte identifier (Intune managed-device ids, Entra object and device ids).
///
/// Stored in text order: the bytes are the 32 hex digits of the canonical form read left to right
/// (not the mixed-endian Windows GUID struct layout), so byte order equals text order and the
/// store's 16-byte keys sort like the strings Graph returns.
/// Thread safety: a value type.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace edgeid::platform {

class Guid {
 public:
  using Bytes = std::array<std::uint8_t, 16>;
  static constexpr std::size_t kTextLength = 36;

  /// The nil GUID 00000000-0000-0000-0000-000000000000.
  constexpr Guid() noexcept = default;
  constexpr explicit Guid(const Bytes& bytes) noexcept : bytes_(bytes) {}

  /// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in any letter case, optionally wrapped in one
  /// pair of braces. Returns std::nullopt for anything else; never throws.
  static std::optional<Guid> parse(std::string_view text) noexcept;
  /// Like parse(), but throws std::invalid_argument naming the rejected text.
  static Guid from_string(std::string_view text);

  constexpr const Bytes& bytes() const noexcept { return bytes_; }
  constexpr bool is_nil() const noexcept {
    for (auto b : bytes_) {
      if (b != 0) return false;
    }
    return true;
  }

  /// Lower-case canonical form without braces.
  std::string to_string() const;

  friend constexpr auto operator<=>(const Guid&, const Guid&) noexcept = default;
  friend constexpr bool operator==(const Guid&, const Guid&) noexcept = default;

 private:
  Bytes bytes_{};
};

}  // namespace edgeid::platform

template <>
struct std::hash<edgeid::platform::Guid> {
  std::size_t operator()(const edgeid::platform::Guid& g) const noexcept {
    // GUIDs are (mostly) random already: fold the two halves.
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      hi = (hi << 8) | g.bytes()[i];
      lo = (lo << 8) | g.bytes()[i + 8];
    }
    return static_cast<std::size_t>(hi ^ (lo * 0x9e3779b97f4a7c15ULL));
  }
};
