#pragma once
// Hand-built frames for the decoder tests: every byte is visible in the test that uses it.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "capture/decode.h"

namespace edgeid::capture::test {

using Frame = std::vector<std::uint8_t>;

inline void put16(Frame& f, unsigned v) {
  f.push_back(static_cast<std::uint8_t>(v >> 8));
  f.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Frame& f, std::uint32_t v) {
  put16(f, v >> 16);
  put16(f, v & 0xffff);
}
// The appends go byte by byte: GCC 12 at -O3 warns (-Wstringop-overread, -Warray-bounds) about
// inlined range inserts of small spans, which -Werror turns into a failed Release build.
inline void put(Frame& f, std::initializer_list<int> bytes) {
  for (int b : bytes) f.push_back(static_cast<std::uint8_t>(b));
}
inline void put(Frame& f, const Frame& bytes) {
  for (const std::uint8_t b : bytes) f.push_back(b);
}
inline void put(Frame& f, std::string_view text) {
  for (const char c : text) f.push_back(static_cast<std::uint8_t>(c));
}
inline void put(Frame& f, const MacAddress& mac) {
  for (const std::uint8_t b : mac.bytes()) f.push_back(b);
}

inline const MacAddress kHost = MacAddress::from_u64(0x3c22fb000001);
inline const MacAddress kOther = MacAddress::from_u64(0x3c22fb000002);
inline const MacAddress kRelay = MacAddress::from_u64(0x001122334455);
inline const MacAddress kBroadcast = MacAddress::from_u64(0xffffffffffff);

/// Ethernet header with optional tags (TPID, VLAN id pairs) and EtherType.
inline Frame ethernet(const MacAddress& dst, const MacAddress& src, std::uint16_t type,
                      std::initializer_list<std::pair<std::uint16_t, std::uint16_t>> tags = {}) {
  Frame f;
  put(f, dst);
  put(f, src);
  for (const auto& [tpid, id] : tags) {
    put16(f, tpid);
    put16(f, id);
  }
  put16(f, type);
  return f;
}

/// IPv4 header (no options, no checksum) + UDP header around @p payload.
inline Frame ipv4_udp(std::initializer_list<int> src, std::initializer_list<int> dst,
                      std::uint16_t sport, std::uint16_t dport, const Frame& payload) {
  Frame f;
  const auto total = static_cast<unsigned>(20 + 8 + payload.size());
  put(f, {0x45, 0});
  put16(f, total);
  put(f, {0, 0, 0, 0, 64, 17, 0, 0});
  put(f, src);
  put(f, dst);
  put16(f, sport);
  put16(f, dport);
  put16(f, static_cast<unsigned>(8 + payload.size()));
  put16(f, 0);
  put(f, payload);
  return f;
}

/// IPv6 header with next header @p next around @p payload.
inline Frame ipv6(const Frame& src16, const Frame& dst16, std::uint8_t next, const Frame& payload) {
  Frame f;
  put(f, {0x60, 0, 0, 0});
  put16(f, static_cast<unsigned>(payload.size()));
  put(f, {next, 255});
  put(f, src16);
  put(f, dst16);
  put(f, payload);
  return f;
}

inline Frame udp(std::uint16_t sport, std::uint16_t dport, const Frame& payload) {
  Frame f;
  put16(f, sport);
  put16(f, dport);
  put16(f, static_cast<unsigned>(8 + payload.size()));
  put16(f, 0);
  put(f, payload);
  return f;
}

inline Frame ip6(std::initializer_list<int> bytes16) {
  return Frame(bytes16.begin(), bytes16.end());
}
inline const Frame kLinkLocal =
    ip6({0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x3e, 0x22, 0xfb, 0xff, 0xfe, 0, 0, 1});
inline const Frame kAllNodes = ip6({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
inline const Frame kUnspecified = Frame(16, 0);

/// A BOOTP/DHCP message: fixed part, magic cookie, then @p options verbatim.
inline Frame dhcp(std::uint8_t op, const MacAddress& chaddr, const Frame& options,
                  std::initializer_list<int> ciaddr = {0, 0, 0, 0},
                  std::initializer_list<int> yiaddr = {0, 0, 0, 0},
                  std::initializer_list<int> giaddr = {0, 0, 0, 0}, bool cookie = true,
                  const Frame& sname = {}, const Frame& file = {}) {
  Frame f;
  put(f, {op, 1, 6, 0});
  put32(f, 0x12345678);
  put(f, {0, 0, 0, 0});
  put(f, ciaddr);
  put(f, yiaddr);
  put(f, {0, 0, 0, 0});
  put(f, giaddr);
  put(f, chaddr);
  f.resize(f.size() + 10, 0);
  Frame s = sname;
  s.resize(64, 0);
  put(f, s);
  Frame b = file;
  b.resize(128, 0);
  put(f, b);
  if (cookie) put(f, {0x63, 0x82, 0x53, 0x63});
  put(f, options);
  return f;
}

/// Decodes @p frame as a complete Ethernet frame.
inline FrameFacts& decode(const Frame& frame, FrameFacts& out, DecodeCounters& counters,
                          LinkType link = LinkType::ethernet) {
  decode_frame(link, frame, static_cast<std::uint32_t>(frame.size()), out, counters);
  return out;
}

/// The facts of @p kind about @p mac.
inline std::vector<Fact> facts_of(const FrameFacts& f, FactKind kind, const MacAddress& mac) {
  std::vector<Fact> out;
  for (const auto& fact : f.view()) {
    if (fact.kind == kind && fact.mac == mac) out.push_back(fact);
  }
  return out;
}

inline std::string text_of(const Fact& f) {
  return std::string(f.text_view());
}

/// Runs one payload decoder (DHCP, DNS, ...) on a copy of the bytes it is given and keeps that
/// copy alive: facts are views into the decoded bytes.
struct PayloadDecoder {
  std::unique_ptr<FrameFacts> out = std::make_unique<FrameFacts>();
  DecodeCounters counters;
  L3Context ctx;
  Frame last;
  using Fn = void (*)(std::span<const std::uint8_t>, const L3Context&, FrameFacts&,
                      DecodeCounters&) noexcept;
  FrameFacts& run(Fn decode, const Frame& payload) {
    last = payload;
    out->reset();
    decode(last, ctx, *out, counters);
    return *out;
  }
  std::uint64_t malformed(Decoder d) const {
    return counters.malformed[static_cast<std::size_t>(d)];
  }
};

}  // namespace edgeid::capture::test
