#include "device_json.h"

#include <arpa/inet.h>
#include <array>
#include <cstdint>
#include <random>
#include <string>

#include <doctest/doctest.h>

namespace edgeid::agent {
namespace {

std::string ntop(int family, const std::uint8_t* a) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  REQUIRE(inet_ntop(family, a, buf.data(), buf.size()) != nullptr);
  return buf.data();
}

std::string json(std::string_view bytes) {
  std::string out;
  append_json_string(out, bytes);
  return out;
}

TEST_CASE("device json: IPv6 text is inet_ntop's for every pattern of zero groups") {
  std::mt19937_64 rng(42);
  std::array<std::uint8_t, 16> a{};
  // Each of the 256 patterns of zero/non-zero groups, with small and large group values, and
  // the IPv4-mapped and -compatible shapes (group 5 = ffff) on top.
  for (unsigned pattern = 0; pattern < 256; ++pattern) {
    for (unsigned variant = 0; variant < 8; ++variant) {
      for (std::size_t g = 0; g < 8; ++g) {
        std::uint16_t w = 0;
        if (pattern & (1U << g)) {
          w = static_cast<std::uint16_t>(variant % 2 == 0 ? rng() % 16 + 1 : rng() % 0xffff + 1);
        }
        if (variant >= 4 && g == 5 && (pattern & (1U << g))) w = 0xffff;
        a[2 * g] = static_cast<std::uint8_t>(w >> 8);
        a[2 * g + 1] = static_cast<std::uint8_t>(w);
      }
      INFO("pattern " << pattern << " variant " << variant);
      CHECK(ipv6_text(a.data()) == ntop(AF_INET6, a.data()));
    }
  }
  for (int i = 0; i < 20000; ++i) {
    for (auto& b : a) b = static_cast<std::uint8_t>(rng() % 4 == 0 ? rng() : 0);
    CHECK(ipv6_text(a.data()) == ntop(AF_INET6, a.data()));
  }
  const std::array<std::uint8_t, 16> mapped = {0, 0, 0,    0,    0,  0, 0, 0,
                                               0, 0, 0xff, 0xff, 10, 0, 0, 1};
  CHECK(ipv6_text(mapped.data()) == "::ffff:10.0.0.1");
  const std::array<std::uint8_t, 16> zero{};
  CHECK(ipv6_text(zero.data()) == "::");
}

TEST_CASE("device json: IPv4 text is inet_ntop's") {
  for (unsigned v = 0; v < 256; ++v) {
    const std::array<std::uint8_t, 4> a = {static_cast<std::uint8_t>(v), 0, 99,
                                           static_cast<std::uint8_t>(255 - v)};
    CHECK(ipv4_text(a.data()) == ntop(AF_INET, a.data()));
  }
  const std::array<std::uint8_t, 4> a = {192, 168, 100, 10};
  CHECK(ipv4_text(a.data()) == "192.168.100.10");
  std::array<char, kAddressTextMax> buf{};
  CHECK(format_ipv4(a.data(), buf.data()) == 14);
}

TEST_CASE("device json: strings are escaped byte for byte") {
  CHECK(json("") == "\"\"");
  CHECK(json("LAPTOP-7.corp") == "\"LAPTOP-7.corp\"");
  CHECK(json("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json("tab\there\nnl") == "\"tab\\there\\nnl\"");
  CHECK(json(std::string_view("nul\0x", 5)) == "\"nul\\u0000x\"");
  CHECK(json("del\x7f") == "\"del\\u007f\"");
  CHECK(json("caf\xc3\xa9 \xe2\x82\xac") == "\"caf\xc3\xa9 \xe2\x82\xac\"");  // valid UTF-8 kept
  CHECK(json("bad\xc3(") == "\"bad\\u00c3(\"");                               // truncated sequence
  CHECK(json("\xed\xa0\x80") == "\"\\u00ed\\u00a0\\u0080\"");  // a surrogate is not UTF-8
  CHECK(json("\xc0\xaf") == "\"\\u00c0\\u00af\"");             // overlong
}

}  // namespace
}  // namespace edgeid::agent
