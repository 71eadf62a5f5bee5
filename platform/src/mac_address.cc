#include "platform/mac_address.h"

#include <stdexcept>

#include "hex.h"

namespace edgeid::platform {

namespace {

// Reads 2*count hex digits starting at text[pos] into out[first..first+count).
bool read_hex_bytes(std::string_view text, std::size_t pos, std::size_t count,
                    MacAddress::Bytes& out, std::size_t first) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    const int hi = detail::hex_value(text[pos + 2 * i]);
    const int lo = detail::hex_value(text[pos + 2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[first + i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return true;
}

}  // namespace

std::optional<MacAddress> MacAddress::parse(std::string_view text) noexcept {
  MacAddress::Bytes b{};
  if (text.size() == 12) {
    if (!read_hex_bytes(text, 0, 6, b, 0)) return std::nullopt;
    return MacAddress(b);
  }
  if (text.size() == 17) {
    const char sep = text[2];
    if (sep != ':' && sep != '-') return std::nullopt;
    for (std::size_t i = 0; i < 6; ++i) {
      if (i > 0 && text[3 * i - 1] != sep) return std::nullopt;
      if (!read_hex_bytes(text, 3 * i, 1, b, i)) return std::nullopt;
    }
    return MacAddress(b);
  }
  if (text.size() == 14) {  // Cisco dotted form aabb.ccdd.eeff
    if (text[4] != '.' || text[9] != '.') return std::nullopt;
    for (std::size_t g = 0; g < 3; ++g) {
      if (!read_hex_bytes(text, 5 * g, 2, b, 2 * g)) return std::nullopt;
    }
    return MacAddress(b);
  }
  return std::nullopt;
}

MacAddress MacAddress::from_string(std::string_view text) {
  if (auto mac = parse(text)) return *mac;
  throw std::invalid_argument("not a MAC address: '" + std::string(text) + "'");
}

void MacAddress::format_to(std::span<char, kTextLength> out) const noexcept {
  for (std::size_t i = 0; i < 6; ++i) {
    out[3 * i] = detail::kHexDigits[bytes_[i] >> 4];
    out[3 * i + 1] = detail::kHexDigits[bytes_[i] & 0x0f];
    if (i < 5) out[3 * i + 2] = ':';
  }
}

std::string MacAddress::to_string() const {
  std::string s(kTextLength, '\0');
  format_to(std::span<char, kTextLength>(s.data(), kTextLength));
  return s;
}

}  // namespace edgeid::platform
