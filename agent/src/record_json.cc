#include "agent/record_json.h"

#include "agent/merge.h"
#include "device_json.h"

namespace edgeid::agent {

namespace {

void field(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;  // absent facts are omitted
  if (out.back() != '{') out += ',';
  append_json_string(out, key);
  out += ':';
  append_json_string(out, value);
}

void raw_field(std::string& out, std::string_view key, std::string_view json) {
  if (out.back() != '{') out += ',';
  append_json_string(out, key);
  out += ':';
  out += json;
}

std::string guid_text(const platform::Guid& g) {
  return g.is_nil() ? "" : g.to_string();
}
std::string mac_text(const platform::MacAddress& m) {
  return m.is_zero() ? "" : m.to_string();
}

// 1000 -> "1.0", 600 -> "0.6", 875 -> "0.875".
std::string confidence_text(std::uint16_t permille) {
  std::string s = std::to_string(permille / 1000) + ".";
  std::string frac = std::to_string(1000 + permille % 1000).substr(1);
  while (frac.size() > 1 && frac.back() == '0') frac.pop_back();
  return s + frac;
}

void tail(std::string& out, std::string_view state, std::string_view sensor_id,
          std::uint64_t version) {
  field(out, "state", state);
  field(out, "sensor_id", sensor_id);
  raw_field(out, "version", std::to_string(version));
  out += '}';
}

}  // namespace

capture::DeviceRecord to_capture_record(const store::DeviceRecord& d) {
  capture::DeviceRecord r;
  r.mac = d.mac;
  r.randomized = d.randomized;
  r.vendor = d.vendor;
  r.router = d.router;
  for (const auto v : d.vlans) {
    capture::VlanStack s;
    s.ids[0] = v;
    s.depth = 1;
    r.vlans.push_back(s);
  }
  r.ipv4 = d.ipv4;
  r.ipv6 = d.ipv6;
  if (d.hostname_source > 0 && d.hostname_source <= capture::kNameSourceCount) {
    const auto source = static_cast<capture::NameSource>(d.hostname_source - 1);
    r.hostname_source = source;
    r.hostname = d.hostname;
    r.names[static_cast<std::size_t>(source)] = d.hostname;
  }
  r.dhcp_vendor_class = d.dhcp_vendor_class;
  r.dhcp_param_list = d.dhcp_param_list;
  r.dhcp_client_id = d.dhcp_client_id;
  r.first_seen = d.first_seen;
  r.last_seen = d.last_seen;
  r.packets = d.packets;
  r.bytes = d.bytes;
  r.sources = static_cast<capture::SourceMask>(d.sources);
  return r;
}

std::string identity_object_json(const store::IdentityRecord& id) {
  const bool entra_only = is_entra_only(id);
  std::string out = "{";
  field(out, "intune_id", entra_only ? "" : guid_text(id.intune_id));
  field(out, "entra_device_id", guid_text(id.entra_device_id));
  field(out, "entra_object_id", guid_text(id.entra_object_id));
  field(out, "device_name", id.device_name);
  field(out, "os", id.os);
  field(out, "os_group", os_group(id.os));
  field(out, "os_version", id.os_version);
  field(out, "enrollment_type", id.enrollment_type);
  field(out, "user_principal_name", id.user_principal_name);
  field(out, "email", id.email);
  field(out, "model", id.model);
  field(out, "manufacturer", id.manufacturer);
  field(out, "serial_number", id.serial_number);
  field(out, "compliance_state", id.compliance_state);
  field(out, "management_agent", id.management_agent);
  field(out, "ownership", id.ownership);
  field(out, "trust_type", id.trust_type);
  if (id.last_sync.since_epoch().count() != 0) field(out, "last_sync", id.last_sync.to_rfc3339());
  field(out, "wifi_mac", mac_text(id.wifi_mac));
  field(out, "ethernet_mac", mac_text(id.ethernet_mac));
  out += '}';
  return out;
}

std::string device_record_json(const store::DeviceRecord& d, const store::IdentityRecord* identity,
                               std::string_view sensor_id) {
  std::string out = device_to_json(to_capture_record(d));
  out.pop_back();  // the closing brace: the merged fields follow
  if (identity != nullptr) raw_field(out, "identity", identity_object_json(*identity));
  const auto by = static_cast<MatchBy>(d.match_by);
  if (by != MatchBy::none) {
    std::string match = "{";
    field(match, "by", to_string(by));
    raw_field(match, "confidence", confidence_text(d.match_confidence_permille));
    if (!d.conflicts.empty()) {
      std::string list = "[";
      for (const auto& c : d.conflicts) {
        if (list.size() > 1) list += ',';
        append_json_string(list, c.to_string());
      }
      list += ']';
      raw_field(match, "conflicts", list);
    }
    match += '}';
    raw_field(out, "match", match);
  }
  tail(out, to_string(static_cast<RecordState>(d.state)), sensor_id, d.version);
  return out;
}

std::string identity_only_json(const store::IdentityRecord& id, std::uint64_t version,
                               std::string_view sensor_id) {
  std::string out = "{";
  field(out, "mac", mac_text(!id.wifi_mac.is_zero() ? id.wifi_mac : id.ethernet_mac));
  raw_field(out, "identity", identity_object_json(id));
  tail(out, to_string(RecordState::identity_only), sensor_id, version);
  return out;
}

}  // namespace edgeid::agent
