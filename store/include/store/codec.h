#pragma once
/// @file
/// The primitives of store/'s compact value encoding: LEB128 varints, zig-zag signed varints,
/// length-prefixed byte strings and fixed-width big-endian keys.
///
/// Every value in LMDB is written with a ByteWriter and read back with a ByteReader. The reader
/// checks every length against what is left: corrupt or truncated bytes make it fail (and stay
/// failed), never read out of bounds. Callers check ok() once after decoding a whole value.
/// Errors: no exceptions; a failed read returns a zero/empty value and sets the reader's failed
/// state. Thread safety: none needed; each writer/reader is used by one thread.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace edgeid::store {

class ByteWriter {
 public:
  void reserve(std::size_t n) { out_.reserve(n); }
  void u8(std::uint8_t v) { out_.push_back(v); }
  void varint(std::uint64_t v);
  /// Zig-zag encoding keeps small negative numbers small.
  void svarint(std::int64_t v) {
    varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  /// A varint length followed by the bytes.
  void bytes(std::span<const std::uint8_t> b);
  void string(std::string_view s);
  /// Fixed width, big-endian: keys whose byte order must equal numeric order.
  void be64(std::uint64_t v);
  void raw(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }

  const std::vector<std::uint8_t>& data() const noexcept { return out_; }
  std::vector<std::uint8_t> take() noexcept { return std::move(out_); }

 private:
  std::vector<std::uint8_t> out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> in) noexcept : in_(in) {}

  std::uint8_t u8() noexcept;
  /// At most 10 bytes; an overlong or truncated varint fails.
  std::uint64_t varint() noexcept;
  std::int64_t svarint() noexcept {
    const auto u = varint();
    return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
  }
  /// A view into the input; valid as long as the input is.
  std::span<const std::uint8_t> bytes() noexcept;
  std::string_view string() noexcept;
  std::uint64_t be64() noexcept;
  std::span<const std::uint8_t> raw(std::size_t n) noexcept;

  bool ok() const noexcept { return !failed_; }
  bool at_end() const noexcept { return pos_ == in_.size(); }
  std::size_t remaining() const noexcept { return in_.size() - pos_; }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace edgeid::store
