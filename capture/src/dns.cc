// mDNS (RFC 6762) responses and NetBIOS name service (RFC 1002) registrations and responses.
// Both are announcements by the frame's source about itself, so their facts name eth.src; their
// addresses are "claimed", not proven (a Bonjour sleep proxy or WINS proxy speaks for others).
#include "capture/decode.h"
#include "wire.h"

namespace edgeid::capture {

using detail::Bytes;

namespace {

constexpr std::size_t kDnsHeader = 12;
constexpr std::uint16_t kTypeA = 1;
constexpr std::uint16_t kTypePtr = 12;
constexpr std::uint16_t kTypeAaaa = 28;
constexpr std::uint16_t kTypeSrv = 33;
constexpr std::uint16_t kTypeNb = 32;
// Records looked at per message: enough for any real announcement, bounded for hostile ones
// (records beyond it are ignored, not an error).
constexpr std::size_t kMaxRecords = 64;

bool iequals_suffix(Bytes name, std::string_view suffix) noexcept {
  if (name.size() < suffix.size()) return false;
  const std::size_t at = name.size() - suffix.size();
  for (std::size_t i = 0; i < suffix.size(); ++i) {
    auto ch = static_cast<char>(name[at + i]);
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    if (ch != suffix[i]) return false;
  }
  return true;
}

// A host name as announced: "<label>.local" with no service label ("_tcp"); returned without
// ".local". Anything else (service instances, the root) is not a host name.
Bytes mdns_host_name(Bytes name) noexcept {
  if (!iequals_suffix(name, ".local")) return {};
  name = name.first(name.size() - 6);
  if (name.empty()) return {};
  bool label_start = true;
  for (auto ch : name) {
    if (label_start && ch == '_') return {};
    label_start = ch == '.';
  }
  return name;
}

// Skips a (possibly compressed) name without decoding it; -1 when malformed.
long skip_name(Bytes msg, std::size_t at) noexcept {
  std::array<std::uint8_t, 256> sink{};
  std::size_t end = 0;
  if (detail::read_dns_name(msg, at, true, sink, end) < 0) return -1;
  return static_cast<long>(end);
}

}  // namespace

void decode_mdns(std::span<const std::uint8_t> msg, const L3Context& ctx, FrameFacts& out,
                 DecodeCounters& c) noexcept {
  if (!ctx.has_eth_src) return;
  if (msg.size() < kDnsHeader) return detail::count_fault(c, Decoder::mdns, ctx.truncated);
  const std::uint16_t flags = detail::load_u16(msg, 2);
  if ((flags & 0x8000U) == 0) return;  // queries announce nothing
  const std::size_t qd = detail::load_u16(msg, 4);
  const std::size_t rr =
      std::size_t{detail::load_u16(msg, 6)} + detail::load_u16(msg, 8) + detail::load_u16(msg, 10);
  std::size_t pos = kDnsHeader;
  for (std::size_t i = 0; i < qd && i < kMaxRecords; ++i) {
    const long end = skip_name(msg, pos);
    if (end < 0 || static_cast<std::size_t>(end) + 4 > msg.size()) {
      return detail::count_fault(c, Decoder::mdns, ctx.truncated);
    }
    pos = static_cast<std::size_t>(end) + 4;
  }
  // One host name per message is enough: A/AAAA owner first, then reverse PTR or SRV target.
  Bytes best_name;
  int best_rank = 3;
  std::array<std::uint8_t, 256> name_buf{};
  for (std::size_t i = 0; i < rr && i < kMaxRecords; ++i) {
    std::size_t end = 0;
    const int owner_len = detail::read_dns_name(msg, pos, true, name_buf, end);
    if (owner_len < 0 || end + 10 > msg.size()) {
      return detail::count_fault(c, Decoder::mdns, ctx.truncated);
    }
    const std::uint16_t type = detail::load_u16(msg, end);
    const std::uint32_t ttl =
        (std::uint32_t{detail::load_u16(msg, end + 4)} << 16) | detail::load_u16(msg, end + 6);
    const std::size_t rdlen = detail::load_u16(msg, end + 8);
    const std::size_t rdata = end + 10;
    if (rdata + rdlen > msg.size()) return detail::count_fault(c, Decoder::mdns, ctx.truncated);
    pos = rdata + rdlen;
    if (ttl == 0) continue;  // a goodbye withdraws the record
    const Bytes owner(name_buf.data(), static_cast<std::size_t>(owner_len));
    int rank = 3;
    Bytes candidate;
    std::array<std::uint8_t, 256> target_buf{};
    if (type == kTypeA && rdlen == 4) {
      detail::add_ipv4(out, c, ctx.eth_src, Source::mdns, msg.subspan(rdata, 4), false);
      candidate = mdns_host_name(owner);
      rank = 0;
    } else if (type == kTypeAaaa && rdlen == 16) {
      if (detail::is_host_ipv6(msg.subspan(rdata, 16))) {
        detail::add_ipv6(out, c, ctx.eth_src, Source::mdns, msg.subspan(rdata, 16), false);
      }
      candidate = mdns_host_name(owner);
      rank = 0;
    } else if ((type == kTypePtr &&
                (iequals_suffix(owner, ".in-addr.arpa") || iequals_suffix(owner, ".ip6.arpa"))) ||
               (type == kTypeSrv && rdlen > 6)) {
      std::size_t target_end = 0;
      const std::size_t at = type == kTypeSrv ? rdata + 6 : rdata;
      const int len = detail::read_dns_name(msg, at, true, target_buf, target_end);
      if (len < 0) return detail::count_fault(c, Decoder::mdns, false);
      candidate = mdns_host_name(Bytes(target_buf.data(), static_cast<std::size_t>(len)));
      rank = type == kTypePtr ? 1 : 2;
    }
    if (!candidate.empty() && rank < best_rank) {
      auto dst = detail::scratch_alloc(out, candidate.size());
      if (dst.size() == candidate.size()) {
        std::copy(candidate.begin(), candidate.end(), dst.begin());
        best_name = Bytes(dst.data(), dst.size());
        best_rank = rank;
      }
    }
  }
  detail::add_name(out, c, ctx.eth_src, Source::mdns, NameSource::mdns, best_name);
}

namespace {

// Undoes NetBIOS first-level encoding (RFC 1001 §14.1): 32 letters 'A'..'P' → 16 bytes, the
// last of which is the suffix (service type). Returns false for anything else.
bool nb_decode(Bytes label, std::array<std::uint8_t, 16>& raw) noexcept {
  if (label.size() != 32) return false;
  for (std::size_t i = 0; i < 16; ++i) {
    const int hi = label[2 * i] - 'A';
    const int lo = label[2 * i + 1] - 'A';
    if (hi < 0 || hi > 15 || lo < 0 || lo > 15) return false;
    raw[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return true;
}

}  // namespace

void decode_nbns(std::span<const std::uint8_t> msg, const L3Context& ctx, FrameFacts& out,
                 DecodeCounters& c) noexcept {
  if (!ctx.has_eth_src) return;
  if (msg.size() < kDnsHeader) return detail::count_fault(c, Decoder::nbns, ctx.truncated);
  const std::uint16_t flags = detail::load_u16(msg, 2);
  const bool response = (flags & 0x8000U) != 0;
  const unsigned opcode = (flags >> 11) & 0xfU;
  const unsigned rcode = flags & 0xfU;
  const std::size_t qd = detail::load_u16(msg, 4);
  const std::size_t an = detail::load_u16(msg, 6);
  const std::size_t ar = detail::load_u16(msg, 10);
  // Registration (5), refresh (8, and 9 as sent by Microsoft stacks): the question names the
  // registered name, the additional record carries NB_FLAGS and the address. A positive query
  // response (opcode 0, rcode 0) answers with the name and the responder's address.
  const bool registration =
      !response && (opcode == 5 || opcode == 8 || opcode == 9) && qd == 1 && ar >= 1;
  const bool positive = response && opcode == 0 && rcode == 0 && an >= 1;
  if (!registration && !positive) return;

  std::array<std::uint8_t, 256> name_buf{};
  std::size_t end = 0;
  const int len = detail::read_dns_name(msg, kDnsHeader, true, name_buf, end);
  if (len < 0) return detail::count_fault(c, Decoder::nbns, ctx.truncated);
  // The first label is the encoded name; a scope id may follow after a dot.
  std::size_t first = 0;
  while (first < static_cast<std::size_t>(len) && name_buf[first] != '.') ++first;
  std::array<std::uint8_t, 16> raw{};
  if (!nb_decode(Bytes(name_buf.data(), first), raw)) {
    return detail::count_fault(c, Decoder::nbns, false);
  }
  std::size_t pos = end;
  if (registration) {
    pos += 4;  // question type and class
    const long rr_end = skip_name(msg, pos);
    if (rr_end < 0) return detail::count_fault(c, Decoder::nbns, ctx.truncated);
    pos = static_cast<std::size_t>(rr_end);
  }
  // RR: type(2) class(2) ttl(4) rdlength(2), then NB entries: flags(2) address(4).
  if (pos + 10 > msg.size()) return detail::count_fault(c, Decoder::nbns, ctx.truncated);
  const std::uint16_t type = detail::load_u16(msg, pos);
  const std::size_t rdlen = detail::load_u16(msg, pos + 8);
  if (type != kTypeNb || rdlen < 6) return;
  if (pos + 10 + 6 > msg.size()) return detail::count_fault(c, Decoder::nbns, ctx.truncated);
  const std::uint16_t nb_flags = detail::load_u16(msg, pos + 10);
  const Bytes address = msg.subspan(pos + 12, 4);
  if (positive && (ctx.ipv6 || !std::equal(address.begin(), address.end(), ctx.ip_src.begin()))) {
    return;  // an answer about another host (WINS, proxy)
  }
  if (detail::is_host_ipv4(address)) {
    detail::add_ipv4(out, c, ctx.eth_src, Source::nbns, address, false);
  }
  const bool group = (nb_flags & 0x8000U) != 0;
  const std::uint8_t suffix = raw[15];
  // Unique workstation (<00>) or server (<20>) names are the machine's name; group names are
  // workgroups/domains and <1d>/<1e>/… are roles.
  if (group || (suffix != 0x00 && suffix != 0x20)) return;
  std::size_t n = 15;
  while (n > 0 && (raw[n - 1] == ' ' || raw[n - 1] == 0)) --n;
  auto dst = detail::scratch_alloc(out, n);
  if (dst.size() != n || n == 0) return;
  std::copy(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(n), dst.begin());
  detail::add_name(out, c, ctx.eth_src, Source::nbns, NameSource::nbns, Bytes(dst.data(), n));
}

}  // namespace edgeid::capture
