#include "agent/merge.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <unordered_map>

#include "agent/record_json.h"
#include "device_json.h"

namespace edgeid::agent {

namespace {

using platform::Guid;
using platform::MacAddress;

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Most recent last_sync first; the smaller key breaks ties so results are deterministic.
bool fresher(const IdentitySummary& a, const IdentitySummary& b) noexcept {
  if (a.last_sync != b.last_sync) return a.last_sync > b.last_sync;
  return a.intune_id < b.intune_id;
}

// The part of a host name that same_host_name() compares.
std::string_view name_part(std::string_view name) noexcept {
  return name.substr(0, name.find('.'));
}

std::uint64_t name_hash(std::string_view name) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (const char c : name_part(name)) {
    h ^= static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(c)));
    h *= 0x100000001b3ULL;
  }
  return h;
}

// A round's correlation indexes: sorted arrays of 16-byte entries, built in one pass and one
// sort each. Hash maps of vectors keyed by lower-cased name strings cost ~150 B per identity
// and an allocation per name, rebuilt for 100 k identities at every flush.
template <typename Target>
struct Entry {
  std::uint64_t key;  // a MAC as an integer, or name_hash()
  Target target;
  friend bool operator<(const Entry& a, const Entry& b) noexcept { return a.key < b.key; }
};

template <typename Target>
std::pair<typename std::vector<Entry<Target>>::const_iterator,
          typename std::vector<Entry<Target>>::const_iterator>
entries(const std::vector<Entry<Target>>& index, std::uint64_t key) {
  return std::equal_range(index.begin(), index.end(), Entry<Target>{key, {}});
}

bool contains(const std::vector<Guid>& sorted, const Guid& key) {
  return std::binary_search(sorted.begin(), sorted.end(), key);
}

// An event (docs/UPSTREAM.md): what happened, to which MAC, and the facts an analyst filters on.
std::string event_json(std::string_view type, const store::DeviceRecord& d,
                       const store::IdentityRecord* identity, const Guid& previous,
                       const MergeOptions& options) {
  std::string out = "{\"type\":";
  append_json_string(out, type);
  out += ",\"time\":\"" + options.now.to_rfc3339() + "\",\"mac\":\"" + d.mac.to_string() + '"';
  out += d.randomized ? ",\"randomized\":true" : ",\"randomized\":false";
  out += ",\"state\":";
  append_json_string(out, to_string(static_cast<RecordState>(d.state)));
  auto text = [&](std::string_view key, std::string_view value) {
    if (value.empty()) return;
    out += ",\"";
    out += key;
    out += "\":";
    append_json_string(out, value);
  };
  text("vendor", d.vendor);
  text("hostname", d.hostname);
  if (!d.ipv4.empty()) text("ipv4", ipv4_text(d.ipv4.front().data()));
  if (identity != nullptr) {
    text("intune_id", d.intune_id.to_string());
    text("device_name", identity->device_name);
    text("user_principal_name", identity->user_principal_name);
    text("compliance_state", identity->compliance_state);
    text("match_by", to_string(static_cast<MatchBy>(d.match_by)));
  }
  if (!previous.is_nil() && previous != d.intune_id) {
    text("previous_intune_id", previous.to_string());
  }
  out += ",\"sensor_id\":";
  append_json_string(out, options.sensor_id);
  out += ",\"record_version\":" + std::to_string(d.version) + "}";
  return out;
}

std::string guid_entity(const Guid& id) {
  return std::string("i") + std::string(reinterpret_cast<const char*>(id.bytes().data()), 16);
}

// The merge fields of a record, to tell an identity/match/state change (priority 1) from an
// observation change (priority 0).
// (Records in the store's form or packed: the merge fields have the same names in both.)
template <typename A, typename B>
bool same_merge(const A& a, const B& b) noexcept {
  return a.state == b.state && a.intune_id == b.intune_id &&
         a.entra_device_id == b.entra_device_id && a.match_by == b.match_by &&
         a.match_confidence_permille == b.match_confidence_permille && a.conflicts == b.conflicts;
}

// Sets the merge fields (those same_merge() compares) of @p to from @p from.
template <typename To, typename From>
void assign_merge(To& to, const From& from) {
  to.state = from.state;
  to.intune_id = from.intune_id;
  to.entra_device_id = from.entra_device_id;
  to.match_by = from.match_by;
  to.match_confidence_permille = from.match_confidence_permille;
  to.conflicts = from.conflicts;
}

std::size_t items(const store::Batch& b) noexcept {
  return b.devices.size() + b.removed_devices.size() + b.identities.size() +
         b.removed_identities.size() + b.outbox.size();
}

// Hands a full batch to the caller's spill (MergeOptions::spill), leaving an empty one.
void maybe_spill(store::Batch& batch, const MergeOptions& options) {
  if (!options.spill || items(batch) < std::max<std::size_t>(1, options.spill_items)) return;
  options.spill(std::move(batch));
  batch = store::Batch();
}

// What a round needs to know about an observed device's former self.
enum ObservedFlags : std::uint8_t {
  kNew = 1,              // the MAC was not in the state
  kObservedChanged = 2,  // its observed part differs from the stored one
};

}  // namespace

bool is_dhcp_name_source(std::uint8_t source) noexcept {
  if (source == 0) return false;
  const auto s = static_cast<capture::NameSource>(source - 1);
  return s == capture::NameSource::dhcp || s == capture::NameSource::dhcp_fqdn ||
         s == capture::NameSource::dhcpv6_fqdn;
}

std::uint64_t host_name_hash(std::string_view name) noexcept {
  return name_hash(name);
}

bool same_host_name(std::string_view a, std::string_view b) noexcept {
  return iequals(name_part(a), name_part(b));
}

std::string mac_entity(const MacAddress& mac) {
  return std::string("d") + std::string(reinterpret_cast<const char*>(mac.bytes().data()), 6);
}

std::string_view to_string(RecordState state) noexcept {
  switch (state) {
    case RecordState::managed: return "managed";
    case RecordState::unmanaged: return "unmanaged";
    case RecordState::identity_only: return "identity_only";
    case RecordState::none: break;
  }
  return "";
}

std::string_view to_string(MatchBy by) noexcept {
  switch (by) {
    case MatchBy::wifi_mac: return "wifi_mac";
    case MatchBy::ethernet_mac: return "ethernet_mac";
    case MatchBy::hostname: return "hostname";
    case MatchBy::none: break;
  }
  return "";
}

std::string_view os_group(std::string_view os) noexcept {
  if (istarts_with(os, "windows")) return "Windows";
  if (istarts_with(os, "macos") || istarts_with(os, "mac os") || iequals(os, "macmdm") ||
      istarts_with(os, "os x")) {
    return "macOS";
  }
  if (istarts_with(os, "ipados")) return "iPadOS";
  if (iequals(os, "ios") || istarts_with(os, "ios ")) return "iOS";
  if (istarts_with(os, "android")) return "Android";
  if (istarts_with(os, "linux") || istarts_with(os, "ubuntu") || istarts_with(os, "redhat") ||
      istarts_with(os, "red hat")) {
    return "Linux";
  }
  if (istarts_with(os, "chrome")) return "ChromeOS";
  return "other";
}

store::IdentityRecord to_identity_record(const cloud::Identity& id) {
  using T = cloud::IdentityText;
  store::IdentityRecord r;
  r.intune_id = id.intune_id.is_nil() ? id.entra_object_id : id.intune_id;
  r.entra_device_id = id.azure_ad_device_id;
  r.entra_object_id = id.entra_object_id;
  r.device_name = id.text(T::device_name);
  r.os = id.text(T::os);
  r.os_version = id.text(T::os_version);
  r.enrollment_type = id.text(T::enrollment_type);
  r.user_principal_name = id.text(T::user_principal_name);
  r.email = id.text(T::email);
  r.model = id.text(T::model);
  r.manufacturer = id.text(T::manufacturer);
  r.serial_number = id.text(T::serial_number);
  r.compliance_state = id.text(T::compliance_state);
  r.management_agent = id.text(T::management_agent);
  r.ownership = id.text(T::ownership);
  r.trust_type = id.text(T::trust_type);
  if (id.last_sync) {
    // The store keeps whole seconds: round here so that a reloaded record compares equal.
    r.last_sync = platform::Timestamp::from_unix_seconds(id.last_sync->unix_seconds());
  }
  if (id.wifi_mac) r.wifi_mac = *id.wifi_mac;
  if (id.ethernet_mac) r.ethernet_mac = *id.ethernet_mac;
  return r;
}

Guid identity_key(const store::IdentityRecord& identity) noexcept {
  return identity.intune_id;
}

bool is_entra_only(const store::IdentityRecord& identity) noexcept {
  return !identity.entra_object_id.is_nil() && identity.intune_id == identity.entra_object_id;
}

store::DeviceRecord observed_record(const capture::DeviceRecord& d) {
  store::DeviceRecord r;
  r.mac = d.mac;
  r.randomized = d.randomized;
  r.router = d.router;
  r.vendor = d.vendor;
  std::set<std::uint16_t> vlans;
  for (const auto& v : d.vlans) {
    if (v.depth > 0) vlans.insert(v.ids[v.depth - 1]);
  }
  r.vlans.assign(vlans.begin(), vlans.end());
  r.ipv4 = d.ipv4;
  r.ipv6 = d.ipv6;
  if (d.hostname_source) {
    r.hostname = d.hostname;
    r.hostname_source = static_cast<std::uint8_t>(static_cast<unsigned>(*d.hostname_source) + 1);
  }
  r.dhcp_vendor_class = d.dhcp_vendor_class;
  r.dhcp_param_list = d.dhcp_param_list;
  r.dhcp_client_id = d.dhcp_client_id;
  // Whole seconds, like the store keeps them (a reloaded record then compares equal).
  r.first_seen = platform::Timestamp::from_unix_seconds(d.first_seen.unix_seconds());
  r.last_seen = platform::Timestamp::from_unix_seconds(d.last_seen.unix_seconds());
  r.packets = d.packets;
  r.bytes = d.bytes;
  r.sources = d.sources;
  return r;
}

void complete_observed(store::DeviceRecord& record, std::uint32_t carried,
                       const store::DeviceRecord& known) {
  if ((carried & capture::change_created) != 0) return;
  if ((carried & capture::change_vlans) == 0) record.vlans = known.vlans;
  if ((carried & capture::change_ipv4) == 0) record.ipv4 = known.ipv4;
  if ((carried & capture::change_ipv6) == 0) record.ipv6 = known.ipv6;
  if ((carried & capture::change_names) == 0) {
    record.hostname = known.hostname;
    record.hostname_source = known.hostname_source;
  }
  if ((carried & capture::change_dhcp) == 0) {
    record.dhcp_vendor_class = known.dhcp_vendor_class;
    record.dhcp_param_list = known.dhcp_param_list;
    record.dhcp_client_id = known.dhcp_client_id;
  }
}

MergeResult merge(const MergeState& state, MergeInput input, const MergeOptions& options) {
  MergeState next = state;
  MergeResult result = merge_into(next, std::move(input), options);
  result.next = std::move(next);
  return result;
}

MergeResult merge_into(MergeState& s, MergeInput input, const MergeOptions& options) {
  MergeResult result;

  // Identities: the new complete set, or the current one. changed_ids: added or modified.
  // Both filled in key order, hence sorted.
  std::vector<Guid> changed_ids;
  std::vector<Guid> was_noncompliant;  // of the changed identities, before the change
  if (input.identities) {
    // Key order; of a key listed twice, the last one counts.
    auto& records = *input.identities;
    std::vector<std::pair<Guid, std::size_t>> order;
    order.reserve(records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
      const Guid key = identity_key(records[i]);
      if (!key.is_nil()) order.emplace_back(key, i);
    }
    std::stable_sort(order.begin(), order.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::pair<Guid, IdentitySummary>> incoming;
    incoming.reserve(order.size());
    for (std::size_t n = 0; n < order.size(); ++n) {
      if (n + 1 < order.size() && order[n + 1].first == order[n].first) continue;
      auto& id = records[order[n].second];
      incoming.emplace_back(order[n].first, IdentitySummary(id));
    }
    auto next = FlatMap<Guid, IdentitySummary>::from(std::move(incoming));
    for (const auto& [key, id] : s.identities) {
      if (!next.contains(key)) {
        result.batch.removed_identities.push_back(key);
        maybe_spill(result.batch, options);
      }
    }
    for (std::size_t n = 0; n < order.size(); ++n) {
      if (n + 1 < order.size() && order[n + 1].first == order[n].first) continue;
      const Guid& key = order[n].first;
      auto& id = records[order[n].second];
      const auto old = s.identities.find(key);
      if (old == s.identities.end() || !(old->second == next.at(key))) {
        changed_ids.push_back(key);
        if (old != s.identities.end() && old->second.noncompliant) was_noncompliant.push_back(key);
        result.batch.identities.push_back(std::move(id));
        maybe_spill(result.batch, options);
      }
      id = store::IdentityRecord();  // free its strings as the round goes on
    }
    input.identities.reset();
    s.identities = std::move(next);
    // The changed identities go first, so that MergeOptions::identity can read them back.
    if (options.spill && !result.batch.identities.empty()) {
      options.spill(std::move(result.batch));
      result.batch = store::Batch();
    }
  }
  // This round's changed identities still in its batch: read from there. Only without a spill
  // (with one they were handed over above), so the batch is never replaced under the index.
  std::vector<std::pair<Guid, std::size_t>> unspilled;
  for (std::size_t i = 0; i < result.batch.identities.size(); ++i) {
    unspilled.emplace_back(identity_key(result.batch.identities[i]), i);
  }
  const auto unspilled_index = FlatMap<Guid, std::size_t>::from(std::move(unspilled));
  const auto full_record = [&](const IdentitySummary& id) {
    if (const auto it = unspilled_index.find(id.intune_id); it != unspilled_index.end()) {
      return result.batch.identities[it->second];
    }
    if (options.identity) {
      if (auto record = options.identity(id.intune_id);
          record && identity_key(*record) == id.intune_id) {
        return std::move(*record);
      }
    }
    ++result.identity_misses;
    return id.partial_record();
  };

  // Devices: this round's observations replace their observed part; the merge fields stay
  // until this round's are computed below. `observed` keeps, per observed MAC, whether it is new
  // and whether its observed part changed (ObservedFlags), and its record until the merged
  // record is written. New MACs join the state in one merge after the loop (`fresh`), not an
  // insertion each.
  constexpr std::size_t kNotFresh = static_cast<std::size_t>(-1);
  struct Observed {
    std::uint8_t flags = 0;
    std::size_t fresh = kNotFresh;  // index in `fresh` of a MAC new in this round
    store::DeviceRecord record;     // the latest observation, first_seen kept from before
  };
  std::unordered_map<MacAddress, Observed> observed;
  observed.reserve(input.observed.size());
  std::vector<std::pair<MacAddress, DeviceSummary>> fresh;
  for (auto& o : input.observed) {
    auto& seen = observed[o.mac];
    DeviceSummary* known = nullptr;
    if (seen.fresh != kNotFresh) {
      known = &fresh[seen.fresh].second;
    } else if (const auto it = s.devices.find(o.mac); it != s.devices.end()) {
      known = &it->second;
    }
    if (known == nullptr) {
      seen.flags |= kNew;
      seen.fresh = fresh.size();
      fresh.emplace_back(o.mac, DeviceSummary(o));
      seen.record = std::move(o);
      continue;
    }
    store::DeviceRecord merged = std::move(o);
    merged.first_seen = std::min(merged.first_seen, known->first_seen);
    // A MAC listed twice keeps "new" and accumulates "changed".
    if (observed_digest(merged) != known->digest) {
      seen.flags |= kObservedChanged;
      known->set_observed(merged);
    }
    seen.record = std::move(merged);
  }
  input.observed = {};
  s.devices.insert_or_assign_all(std::move(fresh));

  // Indexes of the identities: by MAC (Intune only: Entra has no MACs), by name; and how many
  // devices carry each DHCP name.
  std::vector<Entry<const IdentitySummary*>> by_mac;
  std::vector<Entry<const IdentitySummary*>> by_name;
  by_mac.reserve(s.identities.size());
  by_name.reserve(s.identities.size());
  for (const auto& [key, id] : s.identities) {
    if (!id.wifi_mac.is_zero()) by_mac.push_back({id.wifi_mac.to_u64(), &id});
    if (!id.ethernet_mac.is_zero() && id.ethernet_mac != id.wifi_mac) {
      by_mac.push_back({id.ethernet_mac.to_u64(), &id});
    }
    if (id.name_hash != 0) by_name.push_back({id.name_hash, &id});
  }
  std::sort(by_mac.begin(), by_mac.end());
  std::sort(by_name.begin(), by_name.end());
  std::vector<std::uint64_t> device_names;  // name hashes of the devices with a DHCP name
  for (const auto& [mac, d] : s.devices) {
    if (d.name_hash != 0) device_names.push_back(d.name_hash);
  }
  std::sort(device_names.begin(), device_names.end());

  std::vector<Guid> referenced;  // sorted after the loop
  for (auto& [mac, d] : s.devices) {
    // This round's merge fields, computed apart so that an unchanged record is not copied.
    store::DeviceRecord m;
    m.state = static_cast<std::uint8_t>(RecordState::unmanaged);
    const IdentitySummary* winner = nullptr;
    if (const auto [first, last] = entries(by_mac, mac.to_u64()); first != last) {
      std::vector<const IdentitySummary*> candidates;
      candidates.reserve(static_cast<std::size_t>(last - first));
      for (auto e = first; e != last; ++e) candidates.push_back(e->target);
      std::sort(candidates.begin(), candidates.end(),
                [](const auto* a, const auto* b) { return fresher(*a, *b); });
      winner = candidates.front();
      m.match_by = static_cast<std::uint8_t>(winner->wifi_mac == mac ? MatchBy::wifi_mac
                                                                     : MatchBy::ethernet_mac);
      m.match_confidence_permille = kMacConfidence;
      for (std::size_t i = 1; i < candidates.size(); ++i) {
        m.conflicts.push_back(candidates[i]->intune_id);
        referenced.push_back(candidates[i]->intune_id);
      }
    } else if (d.name_hash != 0) {
      // Unique on both sides: one identity and one device with this name (both sides keep
      // only the names' hashes, see IdentitySummary).
      const std::uint64_t h = d.name_hash;
      const auto [first_named, last_named] = entries(by_name, h);
      const IdentitySummary* only = first_named != last_named ? first_named->target : nullptr;
      const auto identities_named = static_cast<std::size_t>(last_named - first_named);
      const auto [first_device, last_device] =
          std::equal_range(device_names.begin(), device_names.end(), h);
      const auto devices_named = static_cast<std::size_t>(last_device - first_device);
      if (identities_named == 1 && devices_named == 1) {
        winner = only;
        m.match_by = static_cast<std::uint8_t>(MatchBy::hostname);
        m.match_confidence_permille = kHostnameConfidence;
      }
    }
    if (winner != nullptr) {
      m.state = static_cast<std::uint8_t>(RecordState::managed);
      m.intune_id = winner->intune_id;
      m.entra_device_id = winner->entra_device_id;
      referenced.push_back(m.intune_id);
      ++result.managed;
    } else {
      ++result.unmanaged;
    }

    // Versioning: d still carries the merge fields it was stored with (a new MAC: none).
    const bool identity_changed = !m.intune_id.is_nil() && contains(changed_ids, m.intune_id);
    const auto seen = observed.find(mac);
    const std::uint8_t flags = seen != observed.end() ? seen->second.flags : 0;
    const bool is_new = (flags & kNew) != 0;
    bool changed = true;
    bool important = m.state == static_cast<std::uint8_t>(RecordState::managed);
    if (!is_new) {
      important = !same_merge(d, m) || identity_changed;
      changed = important || (flags & kObservedChanged) != 0;
    }
    // Events compare the merge fields before and after this round.
    const Guid old_id = is_new ? Guid() : d.intune_id;
    const bool old_unmanaged =
        !is_new && d.state == static_cast<std::uint8_t>(RecordState::unmanaged);
    const bool had_noncompliant =
        !is_new && old_id == m.intune_id && !old_id.is_nil() &&
        (contains(changed_ids, old_id) ? contains(was_noncompliant, old_id) : winner->noncompliant);
    assign_merge(d, m);
    if (!changed) continue;
    if (is_new) d.version = 0;
    ++d.version;
    ++result.changed_records;
    // The observed part: this round's observation, else the stored record.
    store::DeviceRecord record;
    if (seen != observed.end()) {
      record = std::move(seen->second.record);
    } else if (auto stored = options.device ? options.device(mac) : std::nullopt) {
      record = std::move(*stored);
    } else {
      ++result.device_misses;
      record = d.partial_record(mac);
    }
    record.mac = mac;
    d.copy_merge_fields(record);
    result.batch.devices.push_back(record);
    store::OutboxItem item;
    item.kind = kOutboxDevice;
    item.priority = important ? 1 : 0;
    item.entity = mac_entity(mac);
    item.entity_version = d.version;
    item.created = options.now;
    // The store form of the winner, for the payload and the events (changed records only).
    std::optional<store::IdentityRecord> identity;
    if (winner != nullptr) identity = full_record(*winner);
    const store::IdentityRecord* const unpacked = identity ? &*identity : nullptr;
    item.payload = device_record_json(record, unpacked, options.sensor_id);
    result.batch.outbox.push_back(std::move(item));

    auto event = [&](std::string_view type, std::uint8_t priority) {
      store::OutboxItem e;
      e.kind = kOutboxEvent;
      e.priority = priority;
      // Unique per record version and type: events never supersede one another.
      e.entity = "e" + std::string(type) + mac_entity(record.mac) + std::to_string(record.version);
      e.entity_version = record.version;
      e.created = options.now;
      e.payload = event_json(type, record, unpacked, old_id, options);
      result.batch.outbox.push_back(std::move(e));
    };
    const bool is_managed = winner != nullptr;
    if (is_new) event("device.new", 0);
    if (!is_new && old_id != d.intune_id) event("device.identity_changed", 1);
    if (is_managed && winner->noncompliant && !had_noncompliant) {
      event("device.noncompliant_seen", 1);
    }
    if (!is_managed && (is_new || !old_unmanaged)) event("device.unmanaged_seen", 0);
    if (is_managed && record.randomized && (is_new || old_id != d.intune_id)) {
      event("device.randomized_matched", 1);
    }
    maybe_spill(result.batch, options);
  }

  std::sort(referenced.begin(), referenced.end());
  referenced.erase(std::unique(referenced.begin(), referenced.end()), referenced.end());

  // identity_only records: Intune-backed identities nothing on the wire matched.
  for (const auto& [key, id] : s.identities) {
    if (id.entra_only() || contains(referenced, key)) continue;
    ++result.identity_only;
    auto& io = s.identity_only[key];
    if (io.active && !contains(changed_ids, key)) continue;
    io.active = true;
    ++io.version;
    ++result.changed_records;
    store::OutboxItem item;
    item.kind = kOutboxIdentityOnly;
    item.priority = 1;
    item.entity = guid_entity(key);
    item.entity_version = io.version;
    item.created = options.now;
    item.payload = identity_only_json(full_record(id), io.version, options.sensor_id);
    result.batch.outbox.push_back(std::move(item));
    result.batch.cache.emplace_back(identity_only_cache_key(key), encode_identity_only(io));
    maybe_spill(result.batch, options);
  }
  // identity_only records that went away: seen on the wire now, or deleted from the tenant.
  for (auto& [key, io] : s.identity_only) {
    if (!io.active) continue;
    const auto id = s.identities.find(key);
    if (id != s.identities.end() && !contains(referenced, key)) continue;
    io.active = false;
    ++io.version;
    ++result.changed_records;
    store::OutboxItem item;
    item.kind = kOutboxIdentityOnly;
    item.priority = 1;
    item.entity = guid_entity(key);
    item.entity_version = io.version;
    item.created = options.now;
    std::string payload = "{\"intune_id\":\"" + key.to_string() + "\",\"removed\":true";
    payload += contains(referenced, key) ? ",\"reason\":\"seen\"" : ",\"reason\":\"deleted\"";
    payload += ",\"sensor_id\":";
    append_json_string(payload, options.sensor_id);
    payload += ",\"version\":" + std::to_string(io.version) + "}";
    item.payload = std::move(payload);
    result.batch.outbox.push_back(std::move(item));
    result.batch.cache.emplace_back(identity_only_cache_key(key), encode_identity_only(io));
    maybe_spill(result.batch, options);
  }
  return result;
}

std::string identity_only_cache_key(const Guid& intune_id) {
  return "identity_only/" + intune_id.to_string();
}

std::string encode_identity_only(const MergeState::IdentityOnly& value) {
  return std::to_string(value.version) + (value.active ? " 1" : " 0");
}

std::optional<MergeState::IdentityOnly> decode_identity_only(std::string_view value) {
  MergeState::IdentityOnly out;
  const auto space = value.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto r = std::from_chars(value.data(), value.data() + space, out.version);
  if (r.ec != std::errc() || r.ptr != value.data() + space) return std::nullopt;
  const auto flag = value.substr(space + 1);
  if (flag != "0" && flag != "1") return std::nullopt;
  out.active = flag == "1";
  return out;
}

}  // namespace edgeid::agent
