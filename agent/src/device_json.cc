#include "device_json.h"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstdio>
#include <set>

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

void field_number(std::string& out, std::string_view name, std::uint64_t value) {
  key(out, name);
  out.append(std::to_string(value));
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

void string_array(std::string& out, std::string_view name, const std::vector<std::string>& v) {
  field_array(out, name, v, [&](const std::string& s) { append_json_string(out, s); });
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

template <std::size_t N>
std::vector<std::string> bit_names(std::uint32_t bits,
                                   const std::array<std::string_view, N>& names) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < 32; ++i) {
    if ((bits & (1U << i)) == 0) continue;
    out.push_back(i < N ? std::string(names[i]) : "bit" + std::to_string(i));
  }
  return out;
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

std::string vlan_stack_text(const capture::VlanStack& v) {
  std::string s;
  for (std::size_t i = 0; i < v.depth; ++i) {
    if (i > 0) s.push_back('.');
    s.append(std::to_string(v.ids[i]));
  }
  return s;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
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

std::string ipv4_text(const std::uint8_t* a) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, a, buf, sizeof buf);
  return buf;
}

std::string ipv6_text(const std::uint8_t* a) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, a, buf, sizeof buf);
  return buf;
}

std::string device_to_json(const capture::DeviceRecord& d) {
  using capture::NameSource;
  std::string out = "{";
  field(out, "mac", d.mac.to_string());
  field_bool(out, "randomized", d.randomized);
  field_if(out, "vendor", d.vendor);
  if (d.router) field_bool(out, "router", true);
  if (d.multi_vlan) field_bool(out, "multi_vlan", true);
  if (!d.vlans.empty()) {
    std::set<std::uint16_t> inner;
    bool stacked = false;
    for (const auto& v : d.vlans) {
      inner.insert(v.ids[v.depth - 1]);
      stacked = stacked || v.depth > 1;
    }
    field_array(out, "vlans", inner, [&](std::uint16_t id) { out.append(std::to_string(id)); });
    if (stacked) {
      std::vector<std::string> stacks;
      for (const auto& v : d.vlans) stacks.push_back(vlan_stack_text(v));
      string_array(out, "vlan_stacks", stacks);
    }
  }
  if (!d.ipv4.empty()) {
    field_array(out, "ipv4", d.ipv4,
                [&](const auto& a) { append_json_string(out, ipv4_text(a.data())); });
  }
  if (!d.ipv6.empty()) {
    field_array(out, "ipv6", d.ipv6,
                [&](const auto& a) { append_json_string(out, ipv6_text(a.data())); });
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
    field_if(out, "param_list", capture::format_param_list(d.dhcp_param_list));
    field_if(out, "client_id", capture::format_hex(d.dhcp_client_id, ':'));
    out.push_back('}');
  }
  if (!d.dhcpv6_duid.empty() || !d.dhcpv6_vendor_class.empty()) {
    key(out, "dhcpv6");
    out.push_back('{');
    field_if(out, "duid", capture::format_hex(d.dhcpv6_duid, '\0'));
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
    if (l.capabilities) string_array(out, "capabilities", bit_names(*l.capabilities, kLldpCaps));
    if (l.capabilities_enabled) {
      string_array(out, "capabilities_enabled", bit_names(*l.capabilities_enabled, kLldpCaps));
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
    if (c.address) field(out, "address", ipv4_text(c.address->data()));
    if (c.capabilities) string_array(out, "capabilities", bit_names(*c.capabilities, kCdpCaps));
    if (c.native_vlan) field_number(out, "native_vlan", *c.native_vlan);
    out.push_back('}');
  }
  field(out, "first_seen", d.first_seen.to_rfc3339());
  field(out, "last_seen", d.last_seen.to_rfc3339());
  field_number(out, "packets", d.packets);
  field_number(out, "bytes", d.bytes);
  std::vector<std::string> sources;
  for (std::size_t i = 0; i < capture::kSourceCount; ++i) {
    const auto bit = static_cast<capture::Source>(1U << i);
    if (d.sources & static_cast<capture::SourceMask>(bit)) {
      sources.emplace_back(capture::to_string(bit));
    }
  }
  string_array(out, "sources", sources);
  out.push_back('}');
  return out;
}

}  // namespace edgeid::agent
