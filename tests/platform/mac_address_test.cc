#include "platform/mac_address.h"

#include <stdexcept>
#include <string>
#include <unordered_set>

#include <doctest/doctest.h>

using edgeid::platform::MacAddress;

TEST_CASE("MacAddress accepts every documented text form and round-trips") {
  struct Row {
    const char* text;
    const char* canonical;
  };
  const Row rows[] = {
      {"3c:22:fb:00:00:01", "3c:22:fb:00:00:01"}, {"3C:22:FB:00:00:01", "3c:22:fb:00:00:01"},
      {"3c-22-fb-00-00-01", "3c:22:fb:00:00:01"}, {"3C-22-Fb-00-00-01", "3c:22:fb:00:00:01"},
      {"3c22.fb00.0001", "3c:22:fb:00:00:01"},    {"3C22.FB00.0001", "3c:22:fb:00:00:01"},
      {"3c22fb000001", "3c:22:fb:00:00:01"},      {"84AD8DB5B351", "84:ad:8d:b5:b3:51"},
      {"ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff"}, {"000000000000", "00:00:00:00:00:00"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.text);
    const auto mac = MacAddress::parse(row.text);
    REQUIRE(mac.has_value());
    CHECK(mac->to_string() == row.canonical);
    const auto again = MacAddress::parse(mac->to_string());
    REQUIRE(again.has_value());
    CHECK(*again == *mac);
  }
}

TEST_CASE("MacAddress rejects malformed text") {
  const char* bad[] = {
      "",                      // empty
      "3c:22:fb:00:00",        // too short
      "3c:22:fb:00:00:01:02",  // too long
      "3c:22:fb:00:00:0",      // short last byte
      "3c:22:fb:00:00:011",    // trailing digit
      "3c:22:fb:00:00:01 ",    // trailing space
      " 3c:22:fb:00:00:01",    // leading space
      "3c:22:fb:00:00:0g",     // bad hex
      "zz:22:fb:00:00:01",     // bad hex
      "3c-22:fb:00:00:01",     // mixed separators
      "3c:22:fb-00:00:01",     // mixed separators
      "3c.22.fb.00.00.01",     // dots in the wrong form
      "3c:22:fb:00:00:01x",    // trailing garbage
      "3c22fb00000",           // 11 digits
      "3c22fb0000011",         // 13 digits
      "3c22fb00000g",          // bad hex in bare form
      "3c22.fb00-0001",        // mixed dotted separators
      "3c22.fb00.001",         // short dotted group
      "3c2.2fb00.0001",        // misplaced dot
      "3c::22:fb:00:00:01",    // doubled separator
      "3c:22:fb:00:00:+1",     // sign character
      "0x3c22fb000001",        // hex prefix
      "3c 22 fb 00 00 01",     // spaces as separators
      "{3c:22:fb:00:00:01}",   // braces
      "3c:22:fb:00:00:01\n",   // newline
      "3c22fb000001\0",        // embedded terminator (length 12, fine) - guarded below
  };
  for (std::size_t i = 0; i + 1 < std::size(bad); ++i) {
    CAPTURE(bad[i]);
    CHECK_FALSE(MacAddress::parse(bad[i]).has_value());
  }
  // An embedded NUL makes the view 13 characters long.
  CHECK_FALSE(MacAddress::parse(std::string_view("3c22fb000001\0", 13)).has_value());
  CHECK_THROWS_AS(MacAddress::from_string("nope"), std::invalid_argument);
}

TEST_CASE("MacAddress flags multicast, broadcast, locally administered and zero") {
  const auto broadcast = MacAddress::from_string("ff:ff:ff:ff:ff:ff");
  CHECK(broadcast.is_broadcast());
  CHECK(broadcast.is_multicast());
  CHECK_FALSE(broadcast.is_unicast_station());

  const auto mcast = MacAddress::from_string("01:00:5e:00:00:fb");
  CHECK(mcast.is_multicast());
  CHECK_FALSE(mcast.is_broadcast());

  const auto randomized = MacAddress::from_string("c6:2c:03:00:11:22");
  CHECK(randomized.is_locally_administered());
  CHECK_FALSE(randomized.is_multicast());
  CHECK(randomized.is_unicast_station());

  const auto global = MacAddress::from_string("3c:22:fb:00:00:01");
  CHECK_FALSE(global.is_locally_administered());
  CHECK(global.is_unicast_station());

  CHECK(MacAddress().is_zero());
  CHECK_FALSE(MacAddress().is_unicast_station());
}

TEST_CASE("MacAddress orders by bytes, hashes and converts to and from integers and wire bytes") {
  const auto a = MacAddress::from_string("00:00:00:00:00:ff");
  const auto b = MacAddress::from_string("00:00:00:00:01:00");
  CHECK(a < b);
  CHECK(a.to_u64() == 0xff);
  CHECK(MacAddress::from_u64(0x3c22fb000001ULL) == MacAddress::from_string("3c22fb000001"));

  const std::uint8_t wire[] = {0x84, 0xad, 0x8d, 0xb5, 0xb3, 0x51, 0x99};
  CHECK(MacAddress::from_wire(wire)->to_string() == "84:ad:8d:b5:b3:51");
  CHECK_FALSE(MacAddress::from_wire(std::span(wire, 5)).has_value());

  std::unordered_set<MacAddress> set;
  for (std::uint64_t i = 0; i < 1000; ++i) set.insert(MacAddress::from_u64(0x3c22fb000000ULL + i));
  CHECK(set.size() == 1000);
  CHECK(set.count(MacAddress::from_u64(0x3c22fb000010ULL)) == 1);
}
