#include "capture/device_table.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "capture/oui_table.h"

namespace edgeid::capture {

namespace {

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

enum Flag : std::uint8_t {
  flag_router = 1U << 0,
  flag_multi_vlan = 1U << 1,
};

template <std::size_t N>
struct Address {
  std::array<std::uint8_t, N> bytes;
  bool proven;
  std::int64_t last_ns;
};

// Facts from the discovery protocols: only switches, phones and the like send them, so they get
// their own allocation instead of widening every device.
struct NeighborFacts {
  LldpInfo lldp;
  CdpInfo cdp;
};

// Everything beyond the hot counters; allocated with the first fact.
struct Details {
  std::vector<Address<4>> ipv4;
  std::vector<Address<16>> ipv6;
  std::vector<std::uint64_t> vlans;  // VlanStack keys
  std::array<std::string, kNameSourceCount> names;
  std::string dhcp_vendor_class;
  std::string dhcp_param_list;
  std::string dhcp_client_id;
  std::string dhcpv6_duid;
  std::string dhcpv6_vendor_class;
  std::unique_ptr<NeighborFacts> neighbor;
  std::int64_t window_start_ns = 0;  // router detection window
  std::uint32_t window_count = 0;
};

struct Slot {
  platform::MacAddress mac;
  SourceMask sources = 0;
  std::uint8_t flags = 0;
  bool live = false;
  std::uint32_t dirty = 0;
  std::uint32_t lru_prev = kNone;   // towards the most recently seen
  std::uint32_t lru_next = kNone;   // towards the least recently seen
  std::uint64_t last_vlan_key = 0;  // the stack of the previous frame: the usual case is "same"
  std::int64_t first_ns = 0;
  std::int64_t last_ns = 0;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::unique_ptr<Details> details;
};

// Writes @p value into @p slot, capped at @p max bytes; true if it changed. Comparing first keeps
// the per-packet path allocation-free for an already known value.
bool store_text(std::string& slot, std::string_view value, std::size_t max) {
  if (value.size() > max) value = value.substr(0, max);
  if (slot == value) return false;
  slot.assign(value);
  return true;
}

bool is_link_local(const std::array<std::uint8_t, 4>& a) noexcept {
  return a[0] == 169 && a[1] == 254;
}
bool is_link_local(const std::array<std::uint8_t, 16>& a) noexcept {
  return a[0] == 0xfe && (a[1] & 0xc0U) == 0x80;
}

}  // namespace

struct DeviceTable::Impl {
  TableOptions options;
  const OuiTable* oui;
  TableCounters counters;
  std::vector<Slot> slots;
  std::vector<std::uint32_t> free_slots;
  std::vector<std::uint32_t> index;  // open addressing, linear probing; kNone = empty bucket
  std::size_t live = 0;
  std::uint32_t lru_head = kNone;
  std::uint32_t lru_tail = kNone;
  std::vector<std::uint32_t> dirty;
  std::vector<platform::MacAddress> evicted;

  Impl(TableOptions o, const OuiTable* table) : options(o), oui(table) {
    if (options.max_devices == 0) options.max_devices = 1;
    index.assign(64, kNone);
  }

  std::size_t bucket_of(const platform::MacAddress& mac) const noexcept {
    return std::hash<platform::MacAddress>{}(mac) & (index.size() - 1);
  }

  std::uint32_t lookup(const platform::MacAddress& mac) const noexcept {
    for (std::size_t b = bucket_of(mac);; b = (b + 1) & (index.size() - 1)) {
      const std::uint32_t s = index[b];
      if (s == kNone) return kNone;
      if (slots[s].mac == mac) return s;
    }
  }

  void index_insert(std::uint32_t s) {
    if ((live + 1) * 2 > index.size()) {  // keep the load factor at most 1/2
      std::vector<std::uint32_t> old(index.size() * 2, kNone);
      old.swap(index);
      for (const std::uint32_t v : old) {
        if (v != kNone) place(v);
      }
    }
    place(s);
  }
  void place(std::uint32_t s) noexcept {
    std::size_t b = bucket_of(slots[s].mac);
    while (index[b] != kNone) b = (b + 1) & (index.size() - 1);
    index[b] = s;
  }
  // Backward-shift deletion: no tombstones, so lookups stay short under churn.
  void index_erase(const platform::MacAddress& mac) noexcept {
    const std::size_t mask = index.size() - 1;
    std::size_t b = bucket_of(mac);
    while (index[b] != kNone && slots[index[b]].mac != mac) b = (b + 1) & mask;
    if (index[b] == kNone) return;
    std::size_t hole = b;
    for (std::size_t next = (hole + 1) & mask; index[next] != kNone; next = (next + 1) & mask) {
      const std::size_t home = bucket_of(slots[index[next]].mac);
      // Move the entry into the hole if its home is not cyclically in (hole, next].
      const bool movable =
          hole <= next ? (home <= hole || home > next) : (home <= hole && home > next);
      if (movable) {
        index[hole] = index[next];
        hole = next;
      }
    }
    index[hole] = kNone;
  }

  void lru_unlink(std::uint32_t s) noexcept {
    Slot& x = slots[s];
    if (x.lru_prev != kNone)
      slots[x.lru_prev].lru_next = x.lru_next;
    else
      lru_head = x.lru_next;
    if (x.lru_next != kNone)
      slots[x.lru_next].lru_prev = x.lru_prev;
    else
      lru_tail = x.lru_prev;
    x.lru_prev = x.lru_next = kNone;
  }
  void lru_push_front(std::uint32_t s) noexcept {
    Slot& x = slots[s];
    x.lru_prev = kNone;
    x.lru_next = lru_head;
    if (lru_head != kNone) slots[lru_head].lru_prev = s;
    lru_head = s;
    if (lru_tail == kNone) lru_tail = s;
  }
  void touch(std::uint32_t s, std::int64_t now) noexcept {
    Slot& x = slots[s];
    if (now > x.last_ns) x.last_ns = now;
    if (now < x.first_ns) x.first_ns = now;  // out-of-order timestamps across merged files
    if (lru_head != s) {
      lru_unlink(s);
      lru_push_front(s);
    }
  }

  void mark(std::uint32_t s, std::uint32_t bits) {
    if (!options.track_changes) return;
    Slot& x = slots[s];
    if (x.dirty == 0) dirty.push_back(s);
    x.dirty |= bits;
  }

  void evict_oldest() {
    const std::uint32_t s = lru_tail;
    Slot& x = slots[s];
    index_erase(x.mac);
    lru_unlink(s);
    ++counters.evicted;
    if (options.track_changes) {
      if (evicted.size() < options.max_devices) {
        evicted.push_back(x.mac);
      } else {
        ++counters.evictions_unreported;
      }
    }
    x.live = false;
    x.details.reset();
    --live;
    free_slots.push_back(s);
  }

  std::uint32_t find_or_create(const platform::MacAddress& mac, std::int64_t now) {
    std::uint32_t s = lookup(mac);
    if (s != kNone) return s;
    if (live >= options.max_devices) evict_oldest();
    if (!free_slots.empty()) {
      s = free_slots.back();
      free_slots.pop_back();
    } else {
      s = static_cast<std::uint32_t>(slots.size());
      slots.emplace_back();
    }
    Slot& x = slots[s];
    const std::uint32_t pending = x.dirty;  // still listed in `dirty` from the evicted owner
    x = Slot{};
    x.mac = mac;
    x.live = true;
    x.first_ns = x.last_ns = now;
    x.dirty = pending;
    index_insert(s);
    ++live;
    lru_push_front(s);
    ++counters.devices_created;
    if (options.track_changes) {
      if (pending == 0) dirty.push_back(s);
      x.dirty = change_created | change_activity;
    }
    return s;
  }

  Details& details(std::uint32_t s) {
    auto& d = slots[s].details;
    if (!d) d = std::make_unique<Details>();
    return *d;
  }
  NeighborFacts& neighbor(std::uint32_t s) {
    auto& n = details(s).neighbor;
    if (!n) n = std::make_unique<NeighborFacts>();
    return *n;
  }

  void add_vlan(std::uint32_t s, const VlanStack& vlans) {
    Slot& x = slots[s];
    const std::uint64_t key = vlans.key();
    if (key == x.last_vlan_key) return;
    x.last_vlan_key = key;
    if (vlans.depth == 0) return;  // untagged
    Details& d = details(s);
    if (std::find(d.vlans.begin(), d.vlans.end(), key) != d.vlans.end()) return;
    if (x.flags & flag_multi_vlan) return;
    if (d.vlans.size() >= options.max_vlans) {
      x.flags |= flag_multi_vlan;
      ++counters.multi_vlan_detected;
      mark(s, change_flags);
      return;
    }
    d.vlans.push_back(key);
    mark(s, change_vlans);
  }

  template <std::size_t N>
  void add_address(std::uint32_t s, std::vector<Address<N>>& set, const std::uint8_t* bytes,
                   bool proven, std::int64_t now, std::size_t cap, std::uint32_t change) {
    std::array<std::uint8_t, N> a;
    std::memcpy(a.data(), bytes, N);
    Slot& x = slots[s];
    for (auto& e : set) {
      if (e.bytes != a) continue;
      if (now > e.last_ns) e.last_ns = now;
      if (proven && !e.proven) e.proven = true;  // not a visible change: the set is the same
      return;
    }
    if (!proven) {
      if (x.flags & flag_router) {
        ++counters.addresses_suppressed;
        return;
      }
      if (!is_link_local(a) && count_towards_router(s, now)) return;
    }
    if (cap == 0) return;
    if (set.size() >= cap) {
      auto oldest = std::min_element(set.begin(), set.end(), [](const auto& l, const auto& r) {
        return l.last_ns < r.last_ns;
      });
      set.erase(oldest);
      ++counters.addresses_replaced;
    }
    set.push_back(Address<N>{a, proven, now});
    mark(s, change);
  }

  // Counts one new seen-only address; true when that made the MAC a router.
  bool count_towards_router(std::uint32_t s, std::int64_t now) {
    Details& d = details(s);
    const std::int64_t window = std::chrono::nanoseconds(options.router_window).count();
    if (d.window_count == 0 || now - d.window_start_ns > window || now < d.window_start_ns) {
      d.window_start_ns = now;
      d.window_count = 0;
    }
    if (++d.window_count <= options.router_threshold) return false;
    mark_router(s);
    return true;
  }

  void mark_router(std::uint32_t s) {
    Slot& x = slots[s];
    if (x.flags & flag_router) return;
    x.flags |= flag_router;
    ++counters.routers_detected;
    Details& d = details(s);
    const auto unproven = [](const auto& e) { return !e.proven; };
    const auto n4 = d.ipv4.size();
    const auto n6 = d.ipv6.size();
    d.ipv4.erase(std::remove_if(d.ipv4.begin(), d.ipv4.end(), unproven), d.ipv4.end());
    d.ipv6.erase(std::remove_if(d.ipv6.begin(), d.ipv6.end(), unproven), d.ipv6.end());
    counters.addresses_suppressed += (n4 - d.ipv4.size()) + (n6 - d.ipv6.size());
    mark(s, change_flags | change_ipv4 | change_ipv6);
  }

  void apply_fact(std::uint32_t s, const Fact& f, std::int64_t now) {
    Slot& x = slots[s];
    x.sources |= static_cast<SourceMask>(f.source);
    ++counters.facts;
    const std::size_t max = options.max_text;
    const auto text = f.text_view();
    switch (f.kind) {
      case FactKind::ipv4:
        add_address(s, details(s).ipv4, f.addr.data(), f.proven, now, options.max_ipv4,
                    change_ipv4);
        return;
      case FactKind::ipv6:
        add_address(s, details(s).ipv6, f.addr.data(), f.proven, now, options.max_ipv6,
                    change_ipv6);
        return;
      case FactKind::host_name: {
        const auto i = static_cast<std::size_t>(f.name);
        if (i < kNameSourceCount && store_text(details(s).names[i], text, max)) {
          mark(s, change_names);
        }
        return;
      }
      case FactKind::router: mark_router(s); return;
      case FactKind::dhcp_vendor_class:
        if (store_text(details(s).dhcp_vendor_class, text, max)) mark(s, change_dhcp);
        return;
      case FactKind::dhcp_param_list:
        if (store_text(details(s).dhcp_param_list, text, max)) mark(s, change_dhcp);
        return;
      case FactKind::dhcp_client_id:
        if (store_text(details(s).dhcp_client_id, text, max)) mark(s, change_dhcp);
        return;
      case FactKind::dhcpv6_duid:
        if (store_text(details(s).dhcpv6_duid, text, max)) mark(s, change_dhcp);
        return;
      case FactKind::dhcpv6_vendor_class:
        if (store_text(details(s).dhcpv6_vendor_class, text, max)) mark(s, change_dhcp);
        return;
      default: break;
    }
    apply_neighbor_fact(s, f);
  }

  void apply_neighbor_fact(std::uint32_t s, const Fact& f) {
    NeighborFacts& n = neighbor(s);
    const std::size_t max = options.max_text;
    const auto text = f.text_view();
    bool lldp = false;
    bool cdp = false;
    const auto set_u8 = [](std::uint8_t& slot, std::uint32_t v) {
      const auto b = static_cast<std::uint8_t>(v);
      const bool changed = slot != b;
      slot = b;
      return changed;
    };
    const auto set_opt = [](auto& slot, auto v) {
      const bool changed = !slot || *slot != v;
      slot = v;
      return changed;
    };
    switch (f.kind) {
      case FactKind::lldp_chassis_id:
        lldp = set_u8(n.lldp.chassis_id_subtype, f.number);
        lldp = store_text(n.lldp.chassis_id, text, max) || lldp;
        break;
      case FactKind::lldp_port_id:
        lldp = set_u8(n.lldp.port_id_subtype, f.number);
        lldp = store_text(n.lldp.port_id, text, max) || lldp;
        break;
      case FactKind::lldp_port_desc: lldp = store_text(n.lldp.port_description, text, max); break;
      case FactKind::lldp_system_name: lldp = store_text(n.lldp.system_name, text, max); break;
      case FactKind::lldp_system_desc:
        lldp = store_text(n.lldp.system_description, text, max);
        break;
      case FactKind::lldp_capabilities:
        lldp = set_opt(n.lldp.capabilities, static_cast<std::uint16_t>(f.number >> 16));
        lldp = set_opt(n.lldp.capabilities_enabled, static_cast<std::uint16_t>(f.number)) || lldp;
        break;
      case FactKind::lldp_mgmt_addr:
        lldp = set_u8(n.lldp.management_family, f.number);
        lldp = store_text(n.lldp.management_address, text, max) || lldp;
        break;
      case FactKind::cdp_device_id: cdp = store_text(n.cdp.device_id, text, max); break;
      case FactKind::cdp_port_id: cdp = store_text(n.cdp.port_id, text, max); break;
      case FactKind::cdp_platform: cdp = store_text(n.cdp.platform, text, max); break;
      case FactKind::cdp_software: cdp = store_text(n.cdp.software, text, max); break;
      case FactKind::cdp_address: {
        std::array<std::uint8_t, 4> a{};
        std::memcpy(a.data(), f.addr.data(), 4);
        cdp = set_opt(n.cdp.address, a);
        break;
      }
      case FactKind::cdp_capabilities: cdp = set_opt(n.cdp.capabilities, f.number); break;
      case FactKind::cdp_native_vlan:
        cdp = set_opt(n.cdp.native_vlan, static_cast<std::uint16_t>(f.number));
        break;
      default: break;
    }
    if (lldp && !n.lldp.present) n.lldp.present = true;
    if (cdp && !n.cdp.present) n.cdp.present = true;
    if (lldp) mark(s, change_lldp);
    if (cdp) mark(s, change_cdp);
  }

  DeviceRecord make_record(const Slot& x, std::uint32_t groups) const {
    DeviceRecord r;
    r.mac = x.mac;
    if (oui != nullptr) {
      r.vendor = std::string(oui->vendor(x.mac));
      r.randomized = oui->is_randomized(x.mac);
    } else {
      r.randomized = x.mac.is_locally_administered();
    }
    r.router = (x.flags & flag_router) != 0;
    r.multi_vlan = (x.flags & flag_multi_vlan) != 0;
    r.first_seen = platform::Timestamp(std::chrono::nanoseconds(x.first_ns));
    r.last_seen = platform::Timestamp(std::chrono::nanoseconds(x.last_ns));
    r.packets = x.packets;
    r.bytes = x.bytes;
    r.sources = x.sources;
    const Details* d = x.details.get();
    if (d == nullptr) return r;
    if (groups & change_vlans) {
      std::vector<std::uint64_t> keys = d->vlans;
      std::sort(keys.begin(), keys.end());
      for (const auto k : keys) r.vlans.push_back(VlanStack::from_key(k));
    }
    if (groups & change_ipv4) {
      for (const auto& e : d->ipv4) r.ipv4.push_back(e.bytes);
      std::sort(r.ipv4.begin(), r.ipv4.end());
    }
    if (groups & change_ipv6) {
      for (const auto& e : d->ipv6) r.ipv6.push_back(e.bytes);
      std::sort(r.ipv6.begin(), r.ipv6.end());
    }
    if (groups & change_names) {
      r.names = d->names;
      for (std::size_t i = 0; i < kNameSourceCount; ++i) {
        if (d->names[i].empty()) continue;
        r.hostname = d->names[i];
        r.hostname_source = static_cast<NameSource>(i);
        break;
      }
    }
    if (groups & change_dhcp) {
      r.dhcp_vendor_class = d->dhcp_vendor_class;
      r.dhcp_param_list = d->dhcp_param_list;
      r.dhcp_client_id = d->dhcp_client_id;
      r.dhcpv6_duid = d->dhcpv6_duid;
      r.dhcpv6_vendor_class = d->dhcpv6_vendor_class;
    }
    if (d->neighbor) {
      if (groups & change_lldp) r.lldp = d->neighbor->lldp;
      if (groups & change_cdp) r.cdp = d->neighbor->cdp;
    }
    return r;
  }
};

DeviceTable::DeviceTable(TableOptions options, const OuiTable* oui)
    : impl_(std::make_unique<Impl>(options, oui)) {}
DeviceTable::~DeviceTable() = default;
DeviceTable::DeviceTable(DeviceTable&&) noexcept = default;
DeviceTable& DeviceTable::operator=(DeviceTable&&) noexcept = default;

void DeviceTable::apply(const FrameFacts& frame, platform::Timestamp when) noexcept {
  Impl& t = *impl_;
  const std::int64_t now = when.since_epoch().count();
  std::uint32_t src = kNone;
  if (frame.has_src && frame.src.is_unicast_station()) {
    src = t.find_or_create(frame.src, now);
    Slot& x = t.slots[src];
    t.touch(src, now);
    ++x.packets;
    x.bytes += frame.wire_length;
    t.mark(src, change_activity);
    t.add_vlan(src, frame.vlans);
  }
  for (const Fact& f : frame.view()) {
    std::uint32_t s = src;
    // A new subject may have evicted the source under a tiny cap: check the slot's owner.
    if (s == kNone || !t.slots[s].live || t.slots[s].mac != f.mac) {
      s = t.find_or_create(f.mac, now);
      t.touch(s, now);
      t.mark(s, change_activity);
    }
    t.apply_fact(s, f, now);
  }
}

std::size_t DeviceTable::size() const noexcept {
  return impl_->live;
}
const TableCounters& DeviceTable::counters() const noexcept {
  return impl_->counters;
}
const TableOptions& DeviceTable::options() const noexcept {
  return impl_->options;
}

std::optional<DeviceRecord> DeviceTable::find(const platform::MacAddress& mac) const {
  const std::uint32_t s = impl_->lookup(mac);
  if (s == kNone) return std::nullopt;
  return impl_->make_record(impl_->slots[s], ~0U);
}

std::vector<DeviceRecord> DeviceTable::snapshot() const {
  std::vector<DeviceRecord> out;
  out.reserve(impl_->live);
  for (const Slot& x : impl_->slots) {
    if (x.live) out.push_back(impl_->make_record(x, ~0U));
  }
  std::sort(out.begin(), out.end(),
            [](const DeviceRecord& a, const DeviceRecord& b) { return a.mac < b.mac; });
  return out;
}

void DeviceTable::drain_changes(std::vector<Observation>& out) {
  Impl& t = *impl_;
  for (const auto& mac : t.evicted) {
    Observation o;
    o.changes = change_evicted;
    o.record.mac = mac;
    out.push_back(std::move(o));
  }
  t.evicted.clear();
  for (const std::uint32_t s : t.dirty) {
    Slot& x = t.slots[s];
    if (x.live && x.dirty != 0) {
      // A new device reports everything it has.
      const std::uint32_t groups = (x.dirty & change_created) ? ~0U : x.dirty;
      out.push_back(Observation{x.dirty, t.make_record(x, groups)});
    }
    x.dirty = 0;
  }
  t.dirty.clear();
}

std::string format_param_list(std::string_view raw) {
  std::string out;
  for (const char ch : raw) {
    if (!out.empty()) out.push_back(',');
    out.append(std::to_string(static_cast<unsigned char>(ch)));
  }
  return out;
}

std::string format_hex(std::string_view raw, char separator) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char ch : raw) {
    if (!out.empty() && separator != '\0') out.push_back(separator);
    const auto b = static_cast<unsigned char>(ch);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

}  // namespace edgeid::capture
