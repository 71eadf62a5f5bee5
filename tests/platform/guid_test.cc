#include "platform/guid.h"

#include <stdexcept>

#include <doctest/doctest.h>

using edgeid::platform::Guid;

TEST_CASE("Guid accepts the canonical form in any case, with or without braces") {
  struct Row {
    const char* text;
    const char* canonical;
  };
  const Row rows[] = {
      {"0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2a", "0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2a"},
      {"0C8AC0A8-57A5-4B8C-9A4D-2C1C0E1D1F2A", "0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2a"},
      {"{0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2a}", "0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2a"},
      {"{0C8AC0A8-57a5-4B8C-9a4d-2C1C0E1D1F2A}", "0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2a"},
      {"00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"},
      {"ffffffff-ffff-ffff-ffff-ffffffffffff", "ffffffff-ffff-ffff-ffff-ffffffffffff"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.text);
    const auto g = Guid::parse(row.text);
    REQUIRE(g.has_value());
    CHECK(g->to_string() == row.canonical);
    CHECK(Guid::parse(g->to_string()) == g);
  }
  // Byte order is text order.
  const auto g = Guid::from_string("01020304-0506-0708-090a-0b0c0d0e0f10");
  for (std::size_t i = 0; i < 16; ++i) CHECK(g.bytes()[i] == i + 1);
}

TEST_CASE("Guid rejects malformed text") {
  const char* bad[] = {
      "",
      "0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2",       // short
      "0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2a0",     // long
      "0c8ac0a857a54b8c9a4d2c1c0e1d1f2a",          // no dashes (not accepted)
      "0c8ac0a8-57a5-4b8c-9a4d_2c1c0e1d1f2a",      // wrong separator
      "0c8ac0a8-57a54-b8c-9a4d-2c1c0e1d1f2a",      // dash misplaced
      "0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2g",      // bad hex
      "{0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2a",     // unbalanced brace
      "0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2a}",     // unbalanced brace
      "(0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2a)",    // wrong brackets
      " 0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2a",     // leading space
      "0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2a ",     // trailing space
      "{{0c8ac0a8-57a5-4b8c-9a4d-2c1c0e1d1f2a}}",  // double braces
      "0c8ac0a8--57a5-4b8c-9a4d-2c1c0e1d1f2",      // doubled dash
      "null",
  };
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(Guid::parse(text).has_value());
  }
  CHECK_THROWS_AS(Guid::from_string("x"), std::invalid_argument);
}

TEST_CASE("Guid nil, ordering and hashing") {
  CHECK(Guid().is_nil());
  CHECK(Guid::from_string("00000000-0000-0000-0000-000000000000").is_nil());
  const auto a = Guid::from_string("00000000-0000-0000-0000-000000000001");
  const auto b = Guid::from_string("10000000-0000-0000-0000-000000000000");
  CHECK_FALSE(a.is_nil());
  CHECK(a < b);
  CHECK(std::hash<Guid>()(a) != std::hash<Guid>()(b));
}
