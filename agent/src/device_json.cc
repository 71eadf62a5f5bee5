#include "device_json.h"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <span>
#include <vector>

namespace edgeid::agent {

namespace {

// Length of the valid UTF-8 sequence at @p s[i], or 0 if it is invalid (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  }
  return n;
}

void append_hex_escape(std::string& out, unsigned char c, bool json) {
  char buf[8];
  std::snprintf(buf, sizeof buf, json ? "\\u%04x" : "\\x%02x", c);
  out.append(buf);
}

void key(std::string& out, std::string_view name) {
  if (out.back() != '{') out.push_back(',');
  out.push_back('"');
  out.append(name);
  out.append("\":");
}

void field(std::string& out, std::string_view name, std::string_view value) {
  key(out, name);
  append_json_string(out, value);
}

void field_if(std::string& out, std::string_view name, std::string_view value) {
  if (!value.empty()) field(out, name, value);
}

void append_number(std::string& out, std::uint64_t value) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, r.ptr);
}

void field_number(std::string& out, std::string_view name, std::uint64_t value) {
  key(out, name);
  append_number(out, value);
}

// Timestamp::to_rfc3339() (seconds precision) as a quoted string, formatted in place for the
// usual years; anything else goes through to_rfc3339() itself.
void append_time(std::string& out, const platform::Timestamp& t) {
  using namespace std::chrono;
  const auto since = t.since_epoch();
  const auto day_point = floor<days>(sys_time<nanoseconds>(since));
  const year_month_day ymd(day_point);
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    append_json_string(out, t.to_rfc3339());
    return;
  }
  const hh_mm_ss<nanoseconds> tod(since - day_point.time_since_epoch());
  char buf[22];
  const auto two = [&](std::size_t at, unsigned v) {
    buf[at] = static_cast<char>('0' + v / 10);
    buf[at + 1] = static_cast<char>('0' + v % 10);
  };
  buf[0] = '"';
  two(1, static_cast<unsigned>(year) / 100);
  two(3, static_cast<unsigned>(year) % 100);
  buf[5] = '-';
  two(6, static_cast<unsigned>(ymd.month()));
  buf[8] = '-';
  two(9, static_cast<unsigned>(ymd.day()));
  buf[11] = 'T';
  two(12, static_cast<unsigned>(tod.hours().count()));
  buf[14] = ':';
  two(15, static_cast<unsigned>(tod.minutes().count()));
  buf[17] = ':';
  two(18, static_cast<unsigned>(tod.seconds().count()));
  buf[20] = 'Z';
  buf[21] = '"';
  out.append(buf, sizeof buf);
}

// A quoted IPv4/IPv6 address (the text needs no escaping).
void append_address(std::string& out, int family, const std::uint8_t* a) {
  char buf[kAddressTextMax + 2];
  buf[0] = '"';
  const std::size_t n = 1 + (family == AF_INET ? format_ipv4(a, buf + 1) : format_ipv6(a, buf + 1));
  buf[n] = '"';
  out.append(buf, n + 1);
}

// capture::format_hex() of @p raw as a quoted string, without the temporary.
void hex_field(std::string& out, std::string_view name, std::string_view raw, char separator) {
  static constexpr char kDigits[] = "0123456789abcdef";
  key(out, name);
  out.push_back('"');
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (i > 0 && separator != '\0') out.push_back(separator);
    const auto b = static_cast<unsigned char>(raw[i]);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  out.push_back('"');
}

void field_bool(std::string& out, std::string_view name, bool value) {
  key(out, name);
  out.append(value ? "true" : "false");
}

template <class Range, class Fn>
void field_array(std::string& out, std::string_view name, const Range& items, Fn&& render) {
  key(out, name);
  out.push_back('[');
  bool first = true;
  for (const auto& item : items) {
    if (!first) out.push_back(',');
    first = false;
    render(item);
  }
  out.push_back(']');
}

// Bit names of LLDP system capabilities (IEEE 802.1AB Table 8-4) and CDP capabilities.
constexpr std::array<std::string_view, 11> kLldpCaps = {"other",  "repeater",  "bridge", "wlan_ap",
                                                        "router", "telephone", "docsis", "station",
                                                        "cvlan",  "svlan",     "tpmr"};
constexpr std::array<std::string_view, 11> kCdpCaps = {
    "router",   "trans_bridge", "source_route_bridge",
    "switch",   "host",         "igmp",
    "repeater", "phone",        "remote",
    "cvta",     "mac_relay"};

// The names of the set bits of @p bits as a JSON array field ("bitN" beyond the known names).
template <std::size_t N>
void bit_names(std::string& out, std::string_view name, std::uint32_t bits,
               const std::array<std::string_view, N>& names) {
  key(out, name);
  out.push_back('[');
  bool first = true;
  for (std::size_t i = 0; i < 32; ++i) {
    if ((bits & (1U << i)) == 0) continue;
    if (!first) out.push_back(',');
    first = false;
    if (i < N) {
      append_json_string(out, names[i]);
    } else {
      out.append("\"bit");
      append_number(out, i);
      out.push_back('"');
    }
  }
  out.push_back(']');
}

// An LLDP id or management address as text: MAC and network-address subtypes decoded, the rest
// are strings (interface names, locally assigned ids).
std::string address_text(std::uint8_t family, std::string_view raw) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(raw.data());
  if (family == 1 && raw.size() == 4) return ipv4_text(p);
  if (family == 2 && raw.size() == 16) return ipv6_text(p);
  if (family == 6 && raw.size() == 6) return capture::format_hex(raw, ':');
  return capture::format_hex(raw, '\0');
}

std::string lldp_id_text(std::uint8_t subtype, std::string_view raw, bool chassis) {
  const std::uint8_t mac_subtype = chassis ? 4 : 3;
  const std::uint8_t net_subtype = chassis ? 5 : 4;
  if (subtype == mac_subtype && raw.size() == 6) return capture::format_hex(raw, ':');
  if (subtype == net_subtype && !raw.empty()) {
    return address_text(static_cast<std::uint8_t>(raw[0]), raw.substr(1));
  }
  return std::string(raw);
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    // Printable ASCII other than '"' and '\\' (nearly every name) is copied a run at a time.
    std::size_t run = i;
    while (run < s.size()) {
      const auto c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') break;
      ++run;
    }
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        default:
          if (c < 0x20 || c == 0x7f) {
            append_hex_escape(out, c, true);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) {
      append_hex_escape(out, c, true);
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out.push_back('"');
}

std::string printable(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    const std::size_t n = c >= 0x80 ? utf8_sequence(s, i) : 0;
    if (n == 0) {
      append_hex_escape(out, c, false);
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

// inet_ntop() formats with sprintf(), byte by byte and group by group: most of the time of
// rendering a device's addresses. These write the same text directly (tests compare the two).
std::size_t format_ipv4(const std::uint8_t* a, char* out) noexcept {
  char* p = out;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) *p++ = '.';
    const unsigned v = a[i];
    if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
    if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
    *p++ = static_cast<char>('0' + v % 10);
  }
  return static_cast<std::size_t>(p - out);
}

std::size_t format_ipv6(const std::uint8_t* a, char* out) noexcept {
  std::array<unsigned, 8> words{};
  for (std::size_t i = 0; i < 8; ++i) words[i] = (unsigned{a[2 * i]} << 8) | a[2 * i + 1];
  // The first longest run of two or more zero groups becomes "::" (RFC 5952 §4.2).
  int best = -1;
  int best_len = 0;
  for (int i = 0; i < 8;) {
    if (words[static_cast<std::size_t>(i)] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && words[static_cast<std::size_t>(j)] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best = -1;
  static constexpr char kHex[] = "0123456789abcdef";
  char* p = out;
  for (int i = 0; i < 8; ++i) {
    if (best >= 0 && i >= best && i < best + best_len) {
      if (i == best) *p++ = ':';
      continue;
    }
    if (i != 0) *p++ = ':';
    // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses end in dotted form.
    if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
      p += format_ipv4(a + 12, p);
      return static_cast<std::size_t>(p - out);
    }
    const unsigned w = words[static_cast<std::size_t>(i)];
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned digit = (w >> shift) & 0xfU;
      started = started || digit != 0 || shift == 0;
      if (started) *p++ = kHex[digit];
    }
  }
  if (best >= 0 && best + best_len == 8) *p++ = ':';
  return static_cast<std::size_t>(p - out);
}

std::string ipv4_text(const std::uint8_t* a) {
  char buf[kAddressTextMax];
  return {buf, format_ipv4(a, buf)};
}

std::string ipv6_text(const std::uint8_t* a) {
  char buf[kAddressTextMax];
  return {buf, format_ipv6(a, buf)};
}

void append_device_json(std::string& out, const capture::DeviceRecord& d) {
  using capture::NameSource;
  out.push_back('{');
  {
    std::array<char, platform::MacAddress::kTextLength> mac;
    d.mac.format_to(mac);
    field(out, "mac", std::string_view(mac.data(), mac.size()));
  }
  field_bool(out, "randomized", d.randomized);
  field_if(out, "vendor", d.vendor);
  if (d.router) field_bool(out, "router", true);
  if (d.multi_vlan) field_bool(out, "multi_vlan", true);
  if (!d.vlans.empty()) {
    // Distinct inner ids, ascending (a device is on a handful of VLANs: a small sorted array).
    std::array<std::uint16_t, 64> inline_ids;
    std::vector<std::uint16_t> many;
    std::span<std::uint16_t> inner;
    if (d.vlans.size() <= inline_ids.size()) {
      inner = std::span<std::uint16_t>(inline_ids.data(), d.vlans.size());
    } else {
      many.resize(d.vlans.size());
      inner = many;
    }
    bool stacked = false;
    for (std::size_t i = 0; i < d.vlans.size(); ++i) {
      inner[i] = d.vlans[i].ids[d.vlans[i].depth - 1];
      stacked = stacked || d.vlans[i].depth > 1;
    }
    std::sort(inner.begin(), inner.end());
    inner = inner.first(
        static_cast<std::size_t>(std::unique(inner.begin(), inner.end()) - inner.begin()));
    field_array(out, "vlans", inner, [&](std::uint16_t id) { append_number(out, id); });
    if (stacked) {
      field_array(out, "vlan_stacks", d.vlans, [&](const capture::VlanStack& v) {
        out.push_back('"');  // digits and dots only: nothing to escape
        for (std::size_t i = 0; i < v.depth; ++i) {
          if (i > 0) out.push_back('.');
          append_number(out, v.ids[i]);
        }
        out.push_back('"');
      });
    }
  }
  if (!d.ipv4.empty()) {
    field_array(out, "ipv4", d.ipv4,
                [&](const auto& a) { append_address(out, AF_INET, a.data()); });
  }
  if (!d.ipv6.empty()) {
    field_array(out, "ipv6", d.ipv6,
                [&](const auto& a) { append_address(out, AF_INET6, a.data()); });
  }
  if (d.hostname_source) {
    field(out, "hostname", d.hostname);
    field(out, "hostname_source", capture::hostname_source_name(*d.hostname_source));
    key(out, "names");
    out.push_back('{');
    for (std::size_t i = 0; i < capture::kNameSourceCount; ++i) {
      field_if(out, capture::to_string(static_cast<NameSource>(i)), d.names[i]);
    }
    out.push_back('}');
  }
  if (!d.dhcp_vendor_class.empty() || !d.dhcp_param_list.empty() || !d.dhcp_client_id.empty()) {
    key(out, "dhcp");
    out.push_back('{');
    field_if(out, "vendor_class", d.dhcp_vendor_class);
    if (!d.dhcp_param_list.empty()) {  // "1,3,6": capture::format_param_list, in place
      key(out, "param_list");
      out.push_back('"');
      for (std::size_t i = 0; i < d.dhcp_param_list.size(); ++i) {
        if (i > 0) out.push_back(',');
        append_number(out, static_cast<unsigned char>(d.dhcp_param_list[i]));
      }
      out.push_back('"');
    }
    if (!d.dhcp_client_id.empty()) hex_field(out, "client_id", d.dhcp_client_id, ':');
    out.push_back('}');
  }
  if (!d.dhcpv6_duid.empty() || !d.dhcpv6_vendor_class.empty()) {
    key(out, "dhcpv6");
    out.push_back('{');
    if (!d.dhcpv6_duid.empty()) hex_field(out, "duid", d.dhcpv6_duid, '\0');
    field_if(out, "vendor_class", d.dhcpv6_vendor_class);
    out.push_back('}');
  }
  if (d.lldp.present) {
    const auto& l = d.lldp;
    key(out, "lldp");
    out.push_back('{');
    if (!l.chassis_id.empty()) {
      field(out, "chassis_id", lldp_id_text(l.chassis_id_subtype, l.chassis_id, true));
      field_number(out, "chassis_id_subtype", l.chassis_id_subtype);
    }
    if (!l.port_id.empty()) {
      field(out, "port_id", lldp_id_text(l.port_id_subtype, l.port_id, false));
      field_number(out, "port_id_subtype", l.port_id_subtype);
    }
    field_if(out, "port_description", l.port_description);
    field_if(out, "system_name", l.system_name);
    field_if(out, "system_description", l.system_description);
    if (l.capabilities) bit_names(out, "capabilities", *l.capabilities, kLldpCaps);
    if (l.capabilities_enabled) {
      bit_names(out, "capabilities_enabled", *l.capabilities_enabled, kLldpCaps);
    }
    if (!l.management_address.empty()) {
      field(out, "management_address", address_text(l.management_family, l.management_address));
    }
    out.push_back('}');
  }
  if (d.cdp.present) {
    const auto& c = d.cdp;
    key(out, "cdp");
    out.push_back('{');
    field_if(out, "device_id", c.device_id);
    field_if(out, "port_id", c.port_id);
    field_if(out, "platform", c.platform);
    field_if(out, "software", c.software);
    if (c.address) {
      key(out, "address");
      append_address(out, AF_INET, c.address->data());
    }
    if (c.capabilities) bit_names(out, "capabilities", *c.capabilities, kCdpCaps);
    if (c.native_vlan) field_number(out, "native_vlan", *c.native_vlan);
    out.push_back('}');
  }
  key(out, "first_seen");
  append_time(out, d.first_seen);
  key(out, "last_seen");
  append_time(out, d.last_seen);
  field_number(out, "packets", d.packets);
  field_number(out, "bytes", d.bytes);
  key(out, "sources");
  out.push_back('[');
  bool first = true;
  for (std::size_t i = 0; i < capture::kSourceCount; ++i) {
    const auto bit = static_cast<capture::Source>(1U << i);
    if ((d.sources & static_cast<capture::SourceMask>(bit)) == 0) continue;
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, capture::to_string(bit));
  }
  out.push_back(']');
  out.push_back('}');
}

std::string device_to_json(const capture::DeviceRecord& d) {
  std::string out;
  append_device_json(out, d);
  return out;
}

}  // namespace edgeid::agent
