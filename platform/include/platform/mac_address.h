#pragma once
/// @file
/// MacAddress: a 48-bit IEEE 802 MAC address as a 6-byte value type.
///
/// Trivially copyable, no heap. Ordering is byte-wise (network order), so a sorted container of
/// MacAddress iterates in the same order as the big-endian LMDB keys of the store.
/// Thread safety: a value type; distinct objects are independent, const use is safe concurrently.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "platform/hash.h"

namespace edgeid::platform {

class MacAddress {
 public:
  using Bytes = std::array<std::uint8_t, 6>;
  /// Length of the canonical text form "aa:bb:cc:dd:ee:ff".
  static constexpr std::size_t kTextLength = 17;

  /// The all-zero address.
  constexpr MacAddress() noexcept = default;
  constexpr explicit MacAddress(const Bytes& bytes) noexcept : bytes_(bytes) {}

  /// Reads exactly 6 bytes from @p wire (e.g. a packet buffer). The caller guarantees the span is
  /// at least 6 bytes long; shorter spans yield std::nullopt.
  static constexpr std::optional<MacAddress> from_wire(
      std::span<const std::uint8_t> wire) noexcept {
    if (wire.size() < 6) return std::nullopt;
    Bytes b{};
    for (std::size_t i = 0; i < 6; ++i) b[i] = wire[i];
    return MacAddress(b);
  }

  /// Builds an address from the low 48 bits of @p value (most significant byte first).
  static constexpr MacAddress from_u64(std::uint64_t value) noexcept {
    Bytes b{};
    for (std::size_t i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(value >> (8 * (5 - i)));
    return MacAddress(b);
  }

  /// Parses the accepted text forms, in any letter case:
  ///   "aa:bb:cc:dd:ee:ff", "aa-bb-cc-dd-ee-ff", "aabb.ccdd.eeff", "aabbccddeeff".
  /// Exactly two hex digits per byte, one separator kind throughout, nothing before or after.
  /// Returns std::nullopt for anything else; never throws.
  static std::optional<MacAddress> parse(std::string_view text) noexcept;

  /// Like parse(), but throws std::invalid_argument naming the rejected text. For configuration
  /// and command-line input, never for packet or cloud data.
  static MacAddress from_string(std::string_view text);

  constexpr const Bytes& bytes() const noexcept { return bytes_; }
  constexpr std::uint64_t to_u64() const noexcept {
    std::uint64_t v = 0;
    for (auto byte : bytes_) v = (v << 8) | byte;
    return v;
  }

  /// Group bit (I/G) of the first octet: multicast, including broadcast.
  constexpr bool is_multicast() const noexcept { return (bytes_[0] & 0x01) != 0; }
  constexpr bool is_broadcast() const noexcept { return to_u64() == 0xffffffffffffULL; }
  /// U/L bit of the first octet. Set on randomized (private) addresses, but also on a few legacy
  /// vendor blocks and virtual interfaces: a strong hint, not proof.
  constexpr bool is_locally_administered() const noexcept { return (bytes_[0] & 0x02) != 0; }
  constexpr bool is_zero() const noexcept { return to_u64() == 0; }
  /// A unicast, non-zero address: the only kind that can name a device.
  constexpr bool is_unicast_station() const noexcept { return !is_multicast() && !is_zero(); }

  /// Writes the lower-case colon form into @p out (exactly kTextLength chars, no terminator).
  /// Allocation-free, for hot paths.
  void format_to(std::span<char, kTextLength> out) const noexcept;
  /// Lower-case colon form "aa:bb:cc:dd:ee:ff".
  std::string to_string() const;

  friend constexpr auto operator<=>(const MacAddress&, const MacAddress&) noexcept = default;
  friend constexpr bool operator==(const MacAddress&, const MacAddress&) noexcept = default;

 private:
  Bytes bytes_{};
};

}  // namespace edgeid::platform

template <>
struct std::hash<edgeid::platform::MacAddress> {
  std::size_t operator()(const edgeid::platform::MacAddress& mac) const noexcept {
    // The low bytes vary most between devices of one vendor; mix all 48 bits.
    return static_cast<std::size_t>(edgeid::platform::mix64(mac.to_u64()));
  }
};
