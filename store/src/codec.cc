#include "store/codec.h"

namespace edgeid::store {

void ByteWriter::varint(std::uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<std::uint8_t>(v));
}

void ByteWriter::bytes(std::span<const std::uint8_t> b) {
  varint(b.size());
  raw(b);
}

void ByteWriter::string(std::string_view s) {
  bytes(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

void ByteWriter::be64(std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out_.push_back(static_cast<std::uint8_t>(v >> shift));
  }
}

std::uint8_t ByteReader::u8() noexcept {
  if (failed_ || pos_ >= in_.size()) {
    failed_ = true;
    return 0;
  }
  return in_[pos_++];
}

std::uint64_t ByteReader::varint() noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 10; ++i) {
    if (failed_ || pos_ >= in_.size()) break;
    const std::uint8_t b = in_[pos_++];
    // The tenth byte may only carry the top bit of a 64-bit value.
    if (i == 9 && b > 1) break;
    v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return v;
  }
  failed_ = true;
  return 0;
}

std::span<const std::uint8_t> ByteReader::raw(std::size_t n) noexcept {
  if (failed_ || n > remaining()) {
    failed_ = true;
    return {};
  }
  auto out = in_.subspan(pos_, n);
  pos_ += n;
  return out;
}

std::span<const std::uint8_t> ByteReader::bytes() noexcept {
  const auto n = varint();
  if (failed_ || n > remaining()) {
    failed_ = true;
    return {};
  }
  return raw(static_cast<std::size_t>(n));
}

std::string_view ByteReader::string() noexcept {
  const auto b = bytes();
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::uint64_t ByteReader::be64() noexcept {
  const auto b = raw(8);
  if (failed_) return 0;
  std::uint64_t v = 0;
  for (auto byte : b) v = (v << 8) | byte;
  return v;
}

}  // namespace edgeid::store
