// The merge state's summaries (merge.h): IdentitySummary, DeviceSummary and their digests.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <span>

#include "agent/merge.h"
#include "platform/hash.h"

namespace edgeid::agent {

namespace {

using platform::Guid;

// Whether @p text, ignoring case, is @p lower (given in lower case).
bool is_lower_case_of(std::string_view text, std::string_view lower) noexcept {
  return text.size() == lower.size() &&
         std::equal(text.begin(), text.end(), lower.begin(), [](char t, char l) {
           return std::tolower(static_cast<unsigned char>(t)) == l;
         });
}

// IdentityRecord's strings, every one (identity_digest() covers them all).
constexpr std::array<std::string store::IdentityRecord::*, 13> kIdentityTexts{
    &store::IdentityRecord::device_name,
    &store::IdentityRecord::os,
    &store::IdentityRecord::os_version,
    &store::IdentityRecord::enrollment_type,
    &store::IdentityRecord::user_principal_name,
    &store::IdentityRecord::email,
    &store::IdentityRecord::model,
    &store::IdentityRecord::manufacturer,
    &store::IdentityRecord::serial_number,
    &store::IdentityRecord::compliance_state,
    &store::IdentityRecord::management_agent,
    &store::IdentityRecord::ownership,
    &store::IdentityRecord::trust_type,
};

// A 64-bit digest fed eight bytes at a time (splitmix64's finaliser after each word): every
// input bit reaches every output bit, which FNV over long texts does not guarantee.
class Digest {
 public:
  void add(std::uint64_t word) noexcept { h_ = platform::mix64(h_ ^ word); }
  void add(std::span<const std::uint8_t> bytes) noexcept {
    add(bytes.size());  // a length first: ("ab","c") and ("a","bc") differ
    std::size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, bytes.data() + i, 8);
      add(w);
    }
    std::uint64_t tail = 0;
    if (i < bytes.size()) std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
    add(tail);
  }
  void add(std::string_view text) noexcept {
    add(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }
  std::uint64_t value() const noexcept { return h_; }

 private:
  std::uint64_t h_ = 0x9e3779b97f4a7c15ULL;
};

}  // namespace

std::uint64_t identity_digest(const store::IdentityRecord& identity) noexcept {
  const auto& r = identity;
  Digest d;
  for (const Guid* g : {&r.intune_id, &r.entra_device_id, &r.entra_object_id}) d.add(g->bytes());
  for (const auto text : kIdentityTexts) d.add(std::string_view(r.*text));
  d.add(static_cast<std::uint64_t>(r.last_sync.since_epoch().count()));
  d.add(r.wifi_mac.to_u64());
  d.add(r.ethernet_mac.to_u64());
  return d.value();
}

IdentitySummary::IdentitySummary(const store::IdentityRecord& r) noexcept
    : intune_id(r.intune_id),
      entra_device_id(r.entra_device_id),
      entra_object_id(r.entra_object_id),
      last_sync(r.last_sync),
      wifi_mac(r.wifi_mac),
      ethernet_mac(r.ethernet_mac),
      noncompliant(is_lower_case_of(r.compliance_state, "noncompliant")),
      name_hash(r.device_name.empty() ? 0 : host_name_hash(r.device_name)),
      digest(identity_digest(r)) {}

store::IdentityRecord IdentitySummary::partial_record() const {
  store::IdentityRecord r;
  r.intune_id = intune_id;
  r.entra_device_id = entra_device_id;
  r.entra_object_id = entra_object_id;
  r.last_sync = last_sync;
  r.wifi_mac = wifi_mac;
  r.ethernet_mac = ethernet_mac;
  if (noncompliant) r.compliance_state = "noncompliant";
  return r;
}

std::uint64_t observed_digest(const store::DeviceRecord& r) noexcept {
  Digest d;
  d.add(r.mac.to_u64() | (r.randomized ? 1ULL << 48 : 0) | (r.router ? 1ULL << 49 : 0) |
        (std::uint64_t{r.hostname_source} << 56));
  for (const auto* text :
       {&r.vendor, &r.hostname, &r.dhcp_vendor_class, &r.dhcp_param_list, &r.dhcp_client_id}) {
    d.add(std::string_view(*text));
  }
  d.add(std::span(reinterpret_cast<const std::uint8_t*>(r.vlans.data()), r.vlans.size() * 2));
  d.add(std::span(reinterpret_cast<const std::uint8_t*>(r.ipv4.data()), r.ipv4.size() * 4));
  d.add(std::span(reinterpret_cast<const std::uint8_t*>(r.ipv6.data()), r.ipv6.size() * 16));
  d.add(static_cast<std::uint64_t>(r.first_seen.since_epoch().count()));
  d.add(static_cast<std::uint64_t>(r.last_seen.since_epoch().count()));
  d.add(r.packets);
  d.add(r.bytes);
  d.add(r.sources);
  return d.value();
}

DeviceSummary::DeviceSummary(const store::DeviceRecord& r)
    : state(r.state),
      match_by(r.match_by),
      match_confidence_permille(r.match_confidence_permille),
      intune_id(r.intune_id),
      entra_device_id(r.entra_device_id),
      conflicts(r.conflicts),
      version(r.version) {
  set_observed(r);
}

void DeviceSummary::set_observed(const store::DeviceRecord& r) noexcept {
  first_seen = r.first_seen;
  last_seen = r.last_seen;
  digest = observed_digest(r);
  name_hash = is_dhcp_name_source(r.hostname_source) && !r.hostname.empty()
                  ? host_name_hash(r.hostname)
                  : 0;
  randomized = r.randomized;
}

store::DeviceRecord DeviceSummary::partial_record(const platform::MacAddress& mac) const {
  store::DeviceRecord r;
  r.mac = mac;
  r.randomized = randomized;
  r.first_seen = first_seen;
  r.last_seen = last_seen;
  copy_merge_fields(r);
  return r;
}

void DeviceSummary::copy_merge_fields(store::DeviceRecord& r) const {
  r.state = state;
  r.intune_id = intune_id;
  r.entra_device_id = entra_device_id;
  r.match_by = match_by;
  r.match_confidence_permille = match_confidence_permille;
  r.conflicts = conflicts;
  r.version = version;
}

}  // namespace edgeid::agent
