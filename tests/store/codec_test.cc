#include "store/codec.h"

#include <cstdint>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

using edgeid::store::ByteReader;
using edgeid::store::ByteWriter;

TEST_CASE("varints, strings and big-endian words round-trip") {
  const std::uint64_t values[] = {
      0, 1, 127, 128, 300, 16383, 16384, 0xffffffffULL, std::numeric_limits<std::uint64_t>::max()};
  const std::int64_t signed_values[] = {0,
                                        -1,
                                        1,
                                        -64,
                                        64,
                                        std::numeric_limits<std::int64_t>::min(),
                                        std::numeric_limits<std::int64_t>::max()};
  ByteWriter w;
  for (auto v : values) w.varint(v);
  for (auto v : signed_values) w.svarint(v);
  w.string("Apple, Inc.");
  w.string("");
  w.be64(0x0102030405060708ULL);
  w.u8(0xee);

  ByteReader r(w.data());
  for (auto v : values) CHECK(r.varint() == v);
  for (auto v : signed_values) CHECK(r.svarint() == v);
  CHECK(r.string() == "Apple, Inc.");
  CHECK(r.string().empty());
  CHECK(r.be64() == 0x0102030405060708ULL);
  CHECK(r.u8() == 0xee);
  CHECK(r.ok());
  CHECK(r.at_end());
}

TEST_CASE("varint sizes are minimal and big-endian keys sort numerically") {
  ByteWriter w;
  w.varint(127);
  CHECK(w.data().size() == 1);
  w.varint(128);
  CHECK(w.data().size() == 3);
  ByteWriter a, b;
  a.be64(255);
  b.be64(256);
  CHECK(a.data() < b.data());
}

TEST_CASE("every truncation of a valid value fails cleanly") {
  ByteWriter w;
  w.varint(1u << 20);
  w.string("hostname-0001");
  w.be64(42);
  const auto full = w.data();
  for (std::size_t n = 0; n < full.size(); ++n) {
    CAPTURE(n);
    ByteReader r(std::span(full.data(), n));
    (void)r.varint();
    (void)r.string();
    (void)r.be64();
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("lying lengths and overlong varints are errors, not reads past the end") {
  {
    const std::vector<std::uint8_t> lie = {0x7f, 'a', 'b'};  // says 127 bytes follow
    ByteReader r(lie);
    CHECK(r.string().empty());
    CHECK_FALSE(r.ok());
    CHECK(r.u8() == 0);  // stays failed
  }
  {
    const std::vector<std::uint8_t> overlong(11, 0x80);
    ByteReader r(overlong);
    CHECK(r.varint() == 0);
    CHECK_FALSE(r.ok());
  }
  {
    // Ten bytes whose last carries more than the 64th bit.
    std::vector<std::uint8_t> too_big(9, 0xff);
    too_big.push_back(0x02);
    ByteReader r(too_big);
    (void)r.varint();
    CHECK_FALSE(r.ok());
  }
  {
    const std::vector<std::uint8_t> huge_len = {0xff, 0xff, 0xff, 0xff, 0xff,
                                                0xff, 0xff, 0xff, 0x7f};
    ByteReader r(huge_len);
    CHECK(r.bytes().empty());
    CHECK_FALSE(r.ok());
  }
}
