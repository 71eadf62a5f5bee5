#pragma once
// Bounds-checked big-endian reading of packet bytes, and the helpers every decoder shares.
// Private to capture/.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "capture/decode.h"

namespace edgeid::capture::detail {

using Bytes = std::span<const std::uint8_t>;

// A cursor over a byte span whose failure is sticky: after the first out-of-range read every
// read returns zero/empty and ok() stays false, so a decoder checks once at the end of a block
// instead of after every field.
class Reader {
 public:
  constexpr explicit Reader(Bytes data) noexcept : data_(data) {}

  constexpr bool ok() const noexcept { return ok_; }
  constexpr std::size_t offset() const noexcept { return pos_; }
  constexpr std::size_t remaining() const noexcept { return data_.size() - pos_; }
  constexpr bool empty() const noexcept { return remaining() == 0; }
  constexpr Bytes rest() const noexcept { return data_.subspan(pos_); }

  constexpr std::uint8_t u8() noexcept {
    if (!need(1)) return 0;
    return data_[pos_++];
  }
  constexpr std::uint16_t u16() noexcept {
    if (!need(2)) return 0;
    const auto v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  constexpr std::uint32_t u32() noexcept {
    if (!need(4)) return 0;
    const std::uint32_t v = (std::uint32_t{data_[pos_]} << 24) |
                            (std::uint32_t{data_[pos_ + 1]} << 16) |
                            (std::uint32_t{data_[pos_ + 2]} << 8) | data_[pos_ + 3];
    pos_ += 4;
    return v;
  }
  constexpr Bytes bytes(std::size_t n) noexcept {
    if (!need(n)) return {};
    Bytes b = data_.subspan(pos_, n);
    pos_ += n;
    return b;
  }
  constexpr void skip(std::size_t n) noexcept {
    if (need(n)) pos_ += n;
  }

 private:
  constexpr bool need(std::size_t n) noexcept {
    if (!ok_ || n > remaining()) {
      ok_ = false;
      return false;
    }
    return true;
  }

  Bytes data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

inline std::uint16_t load_u16(Bytes b, std::size_t at) noexcept {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

// Counts a decoder fault: as truncation when the capture cut the frame (the bytes were never
// there to read), as malformed when the frame lies about its own lengths.
inline void count_fault(DecodeCounters& c, Decoder d, bool truncated) noexcept {
  if (truncated) {
    ++c.truncated;
  } else {
    ++c.malformed[static_cast<std::size_t>(d)];
  }
}

// Appends a fact for @p mac; false (and counted) when the frame already holds kMaxFacts.
inline Fact* add_fact(FrameFacts& out, DecodeCounters& c, const MacAddress& mac, FactKind kind,
                      Source source) noexcept {
  if (!mac.is_unicast_station()) return nullptr;  // facts never name group or zero MACs
  if (out.fact_count >= FrameFacts::kMaxFacts) {
    ++c.facts_dropped;
    return nullptr;
  }
  Fact& f = out.facts[out.fact_count++];
  f = Fact{};
  f.mac = mac;
  f.kind = kind;
  f.source = source;
  return &f;
}

// Senders written in C often include the string's terminating NUL (LLDP, CDP, DHCP): it is not
// part of the value.
inline Bytes trim_nul(Bytes text) noexcept {
  while (!text.empty() && text.back() == 0) text = text.first(text.size() - 1);
  return text;
}

inline void add_text(FrameFacts& out, DecodeCounters& c, const MacAddress& mac, FactKind kind,
                     Source source, Bytes text) noexcept {
  if (kind != FactKind::dhcp_param_list && kind != FactKind::dhcp_client_id &&
      kind != FactKind::dhcpv6_duid) {
    text = trim_nul(text);
  }
  if (text.empty()) return;  // an empty option says nothing
  if (Fact* f = add_fact(out, c, mac, kind, source)) f->text = text;
}

inline void add_ipv4(FrameFacts& out, DecodeCounters& c, const MacAddress& mac, Source source,
                     Bytes addr4, bool proven) noexcept {
  if (Fact* f = add_fact(out, c, mac, FactKind::ipv4, source)) {
    std::memcpy(f->addr.data(), addr4.data(), 4);
    f->proven = proven;
  }
}

inline void add_ipv6(FrameFacts& out, DecodeCounters& c, const MacAddress& mac, Source source,
                     Bytes addr16, bool proven) noexcept {
  if (Fact* f = add_fact(out, c, mac, FactKind::ipv6, source)) {
    std::memcpy(f->addr.data(), addr16.data(), 16);
    f->proven = proven;
  }
}

inline void add_name(FrameFacts& out, DecodeCounters& c, const MacAddress& mac, Source source,
                     NameSource name, Bytes text) noexcept {
  text = trim_nul(text);
  if (text.empty()) return;
  if (Fact* f = add_fact(out, c, mac, FactKind::host_name, source)) {
    f->name = name;
    f->text = text;
  }
}

// An IPv4 address that can be a host's own: not 0.0.0.0/8, not multicast, not limited broadcast.
inline bool is_host_ipv4(Bytes a) noexcept {
  return a.size() >= 4 && a[0] != 0 && a[0] < 224;
}

// An IPv6 address that can be a host's own unicast address: not ::, not ::1, not multicast.
inline bool is_host_ipv6(Bytes a) noexcept {
  if (a.size() < 16 || a[0] == 0xff) return false;
  bool zero_prefix = true;
  for (std::size_t i = 0; i < 15; ++i) zero_prefix = zero_prefix && a[i] == 0;
  return !(zero_prefix && (a[15] == 0 || a[15] == 1));
}

// Reserves @p n bytes of out.scratch; an empty span when it is full.
inline std::span<std::uint8_t> scratch_alloc(FrameFacts& out, std::size_t n) noexcept {
  if (n > out.scratch.size() - out.scratch_used) return {};
  std::span<std::uint8_t> s(out.scratch.data() + out.scratch_used, n);
  out.scratch_used += n;
  return s;
}

// Reads a DNS name at @p offset of @p message (RFC 1035 §4.1.4 compression allowed when
// @p allow_compression) as dotted text into @p dst. Loop protection: a pointer must point
// strictly before the label that holds it, and at most kMaxJumps are followed; the text is
// capped at 255 bytes. Returns the written length (0 for the root), or -1 on a malformed name.
// @p end_offset receives the offset just past the name in the original position.
int read_dns_name(Bytes message, std::size_t offset, bool allow_compression,
                  std::span<std::uint8_t> dst, std::size_t& end_offset) noexcept;

// The UDP-level dispatch shared by the IPv4 and IPv6 decoders.
void decode_udp(Bytes udp, const L3Context& ctx, FrameFacts& out, DecodeCounters& c) noexcept;
void decode_icmpv6(Bytes icmp, Bytes ip6_src, const L3Context& ctx, FrameFacts& out,
                   DecodeCounters& c) noexcept;

}  // namespace edgeid::capture::detail
