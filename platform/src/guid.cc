#include "platform/guid.h"

#include <stdexcept>

#include "hex.h"

namespace edgeid::platform {

namespace {
constexpr bool is_dash_position(std::size_t i) noexcept {
  return i == 8 || i == 13 || i == 18 || i == 23;
}
}  // namespace

std::optional<Guid> Guid::parse(std::string_view text) noexcept {
  if (text.size() == kTextLength + 2) {
    if (text.front() != '{' || text.back() != '}') return std::nullopt;
    text = text.substr(1, kTextLength);
  }
  if (text.size() != kTextLength) return std::nullopt;
  Guid::Bytes b{};
  std::size_t nibble = 0;
  for (std::size_t i = 0; i < kTextLength; ++i) {
    if (is_dash_position(i)) {
      if (text[i] != '-') return std::nullopt;
      continue;
    }
    const int v = detail::hex_value(text[i]);
    if (v < 0) return std::nullopt;
    b[nibble / 2] = static_cast<std::uint8_t>(b[nibble / 2] | (v << ((nibble % 2) ? 0 : 4)));
    ++nibble;
  }
  return Guid(b);
}

Guid Guid::from_string(std::string_view text) {
  if (auto g = parse(text)) return *g;
  throw std::invalid_argument("not a GUID: '" + std::string(text) + "'");
}

std::string Guid::to_string() const {
  std::string s;
  s.reserve(kTextLength);
  for (std::size_t i = 0; i < bytes_.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(detail::kHexDigits[bytes_[i] >> 4]);
    s.push_back(detail::kHexDigits[bytes_[i] & 0x0f]);
  }
  return s;
}

}  // namespace edgeid::platform
