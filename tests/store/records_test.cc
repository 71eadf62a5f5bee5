#include "store/records.h"

#include <doctest/doctest.h>

#include "store/error.h"
#include "store_test_util.h"

using namespace edgeid::store;
using edgeid::store::test::make_device;
using edgeid::store::test::make_identity;

TEST_CASE("device, identity and outbox values round-trip") {
  StringTable strings;
  const auto d = make_device(7);
  const auto bytes = encode(d, strings);
  DeviceRecord back;
  back.mac = d.mac;
  REQUIRE_FALSE(decode(bytes, strings, back));
  CHECK(back == d);

  const auto i = make_identity(7);
  IdentityRecord iback;
  iback.intune_id = i.intune_id;
  REQUIRE_FALSE(decode(encode(i, strings), strings, iback));
  CHECK(iback == i);

  OutboxItem o;
  o.seq = 9;
  o.kind = 1;
  o.priority = 1;
  o.entity = "mac";
  o.entity_version = 17;
  o.created = edgeid::platform::Timestamp::from_unix_seconds(1795201200);
  o.payload = "{\"mac\":\"3c:22:fb:00:00:01\"}";
  OutboxItem oback;
  oback.seq = 9;
  REQUIRE_FALSE(decode(encode(o), oback));
  CHECK(oback == o);

  // Packed lists with one- and two-byte VLAN ids (4095 is the largest valid) and several
  // addresses.
  auto wide = make_device(8);
  wide.vlans = {0, 1, 127, 128, 4094, 4095};
  wide.ipv4 = {{10, 0, 0, 1}, {192, 168, 1, 255}, {0, 0, 0, 0}};
  wide.ipv6.push_back({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42});
  DeviceRecord wide_back;
  wide_back.mac = wide.mac;
  REQUIRE_FALSE(decode(encode(wide, strings), strings, wide_back));
  CHECK(wide_back == wide);

  // An empty record decodes to defaults, and decoding replaces stale content.
  DeviceRecord empty;
  DeviceRecord reused = make_device(1);
  REQUIRE_FALSE(decode(encode(empty, strings), strings, reused));
  reused.mac = {};
  CHECK(reused == empty);
}

TEST_CASE("a typical device value is compact and strings are interned once") {
  StringTable strings;
  const auto first = encode(make_device(1), strings);
  const auto second = encode(make_device(2), strings);
  // Well inside the 160-byte budget of a stored device (the identity is stored once, apart).
  CHECK(second.size() <= 120);
  // vendor, vendor class and fingerprint became ids; the second device added no new strings.
  CHECK(strings.size() == 4);
  strings.commit_pending();
  (void)encode(make_device(3), strings);
  CHECK(strings.pending().empty());
}

TEST_CASE("staged strings roll back with a failed transaction") {
  StringTable strings;
  CHECK(strings.intern("a") == 1);
  strings.commit_pending();
  CHECK(strings.intern("b") == 2);
  CHECK(strings.pending().size() == 1);
  strings.rollback_pending();
  CHECK_FALSE(strings.lookup(2).has_value());
  CHECK(strings.intern("c") == 2);
  CHECK(*strings.lookup(1) == "a");
}

TEST_CASE("every truncation and every single-byte flip of a value is an error or a clean decode") {
  StringTable strings;
  const auto bytes = encode(make_device(5), strings);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    DeviceRecord d;
    const auto ec = decode(Bytes(bytes.data(), n), strings, d);
    // A prefix can end exactly between fields; then it is a valid, shorter record.
    if (ec) CHECK(ec == errc::corrupt_value);
  }
  std::size_t errors = 0;
  for (std::size_t pos = 0; pos < bytes.size(); ++pos) {
    for (int bit = 0; bit < 8; ++bit) {
      auto copy = bytes;
      copy[pos] = static_cast<std::uint8_t>(copy[pos] ^ (1 << bit));
      DeviceRecord d;
      if (decode(copy, strings, d)) ++errors;
    }
  }
  CHECK(errors > 0);
  DeviceRecord d;
  CHECK(decode(Bytes(), strings, d) == errc::corrupt_value);
  const std::uint8_t wrong_version[] = {99};
  CHECK(decode(wrong_version, strings, d) == errc::corrupt_value);
}

TEST_CASE("fields of a newer format are skipped, wrong wire types are errors") {
  StringTable strings;
  auto bytes = encode(make_device(5), strings);
  // Append an unknown varint field (number 60) and an unknown bytes field (number 61).
  bytes.insert(bytes.end(), {60 << 1, 0x05, (61 << 1) | 1, 0x02, 'x', 'y'});
  DeviceRecord d;
  d.mac = make_device(5).mac;
  REQUIRE_FALSE(decode(bytes, strings, d));
  CHECK(d == make_device(5));
  // Field 6 (hostname) with the varint wire type.
  const std::uint8_t bad[] = {kDeviceFormat, 6 << 1, 0x01};
  CHECK(decode(bad, strings, d) == errc::corrupt_value);
  // An interned id that does not exist.
  const std::uint8_t unknown_id[] = {kDeviceFormat, 2 << 1, 0x7f};
  CHECK(decode(unknown_id, strings, d) == errc::corrupt_value);
}
