#include "capture/device_table.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <sys/mman.h>
#include <utility>

#include "capture/oui_table.h"
#include "platform/hash.h"

namespace edgeid::capture {

namespace {

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

enum Flag : std::uint8_t {
  flag_router = 1U << 0,
  flag_multi_vlan = 1U << 1,
};

// Addresses keep their bytes as integers (memcpy, so in wire order) for compares without memcmp.
struct Address4 {
  using Raw = std::uint32_t;
  std::int64_t last_ns;
  Raw raw;
  bool proven;
  static Raw load(const std::uint8_t* a) noexcept {
    Raw v{};
    std::memcpy(&v, a, 4);
    return v;
  }
  static bool equal(Raw a, Raw b) noexcept { return a == b; }
  bool same(Raw a) const noexcept { return equal(raw, a); }
  std::array<std::uint8_t, 4> array() const noexcept {
    std::array<std::uint8_t, 4> out;
    std::memcpy(out.data(), &raw, 4);
    return out;
  }
};

struct Address16 {
  struct Raw {
    std::uint64_t hi;
    std::uint64_t lo;
  };
  std::int64_t last_ns;
  Raw raw;
  bool proven;
  static Raw load(const std::uint8_t* a) noexcept {
    Raw v{};
    std::memcpy(&v.hi, a, 8);
    std::memcpy(&v.lo, a + 8, 8);
    return v;
  }
  static bool equal(const Raw& a, const Raw& b) noexcept {
    return ((a.hi ^ b.hi) | (a.lo ^ b.lo)) == 0;
  }
  bool same(const Raw& a) const noexcept { return equal(raw, a); }
  std::array<std::uint8_t, 16> array() const noexcept {
    std::array<std::uint8_t, 16> out;
    std::memcpy(out.data(), &raw.hi, 8);
    std::memcpy(out.data() + 8, &raw.lo, 8);
    return out;
  }
};

// Writes @p value into @p slot, capped at @p max bytes; true if it changed. Comparing first keeps
// the per-packet path allocation-free for an already known value.
bool store_text(std::string& slot, std::string_view value, std::size_t max) {
  if (value.size() > max) value = value.substr(0, max);
  if (slot == value) return false;
  slot.assign(value);
  return true;
}

bool is_link_local(const Address4& e) noexcept {
  const auto a = e.array();
  return a[0] == 169 && a[1] == 254;
}
bool is_link_local(const Address16& e) noexcept {
  const auto a = e.array();
  return a[0] == 0xfe && (a[1] & 0xc0U) == 0x80;
}

// Text facts of a device other than LLDP/CDP: the host names (ids 0..6, NameSource) and the DHCP
// fingerprints. Most devices have a few of the twelve, so they share one buffer of
// [id:1][length:4][bytes] entries instead of twelve std::string members (a third of the memory
// of a host). An absent entry and an empty one mean the same: "none".
enum TextId : std::uint8_t {
  text_dhcp_vendor_class = kNameSourceCount,
  text_dhcp_param_list,
  text_dhcp_client_id,
  text_dhcpv6_duid,
  text_dhcpv6_vendor_class,
};

class TextSet {
 public:
  std::string_view get(std::uint8_t id) const noexcept {
    const std::size_t at = find(id);
    if (at == kNpos) return {};
    return std::string_view(buf_).substr(at + kHeader, length_at(at));
  }
  // Stores @p value (capped at @p max bytes) under @p id; true if that changed it. Comparing
  // first keeps the per-packet path allocation-free for an already known value.
  bool store(std::uint8_t id, std::string_view value, std::size_t max) {
    if (value.size() > max) value = value.substr(0, max);
    const std::size_t at = find(id);
    if (at == kNpos) {
      if (value.empty()) return false;
      const auto n = static_cast<std::uint32_t>(value.size());
      char header[kHeader];
      header[0] = static_cast<char>(id);
      std::memcpy(header + 1, &n, 4);
      buf_.append(header, kHeader);
      buf_.append(value);
      return true;
    }
    const std::uint32_t old = length_at(at);
    if (std::string_view(buf_).substr(at + kHeader, old) == value) return false;
    if (value.empty()) {
      buf_.erase(at, kHeader + old);
      return true;
    }
    const auto n = static_cast<std::uint32_t>(value.size());
    std::memcpy(buf_.data() + at + 1, &n, 4);
    buf_.replace(at + kHeader, old, value);
    return true;
  }

 private:
  static constexpr std::size_t kHeader = 5;
  static constexpr std::size_t kNpos = std::string::npos;
  std::uint32_t length_at(std::size_t at) const noexcept {
    std::uint32_t n = 0;
    std::memcpy(&n, buf_.data() + at + 1, 4);
    return n;
  }
  std::size_t find(std::uint8_t id) const noexcept {
    for (std::size_t at = 0; at < buf_.size(); at += kHeader + length_at(at)) {
      if (static_cast<std::uint8_t>(buf_[at]) == id) return at;
    }
    return kNpos;
  }
  std::string buf_;
};

// Facts from the discovery protocols: only switches, phones and the like send them, so they get
// their own allocation instead of widening every device.
struct NeighborFacts {
  LldpInfo lldp;
  CdpInfo cdp;
};

// Everything beyond the hot counters; allocated with the first fact.
struct Details {
  std::vector<Address4> ipv4;
  std::vector<Address16> ipv6;
  std::vector<std::uint64_t> vlans;  // VlanStack keys
  TextSet texts;
  std::unique_ptr<NeighborFacts> neighbor;
  std::int64_t window_start_ns = 0;  // router detection window
  std::uint32_t window_count = 0;
};

// The address of one family that a device repeats (usually its source address), kept in its
// slot: a repeated fact is settled here without touching the set in Details (two cache misses
// fewer per frame). The hits' latest time and proof are pending here and written to the set's
// entry (sync) before anything reads or changes that set; max and "or" do not mind the delay.
template <class A>
struct Hot {
  static constexpr std::uint32_t kValid = 1U << 31;
  static constexpr std::uint32_t kProven = 1U << 30;
  static constexpr std::uint32_t kIndex = kProven - 1;
  std::int64_t ns = 0;      // the latest hit, not yet written to the entry
  typename A::Raw raw{};    // the entry's address
  std::uint32_t state = 0;  // kValid | kProven (pending) | index into the set

  bool hit(const typename A::Raw& a, bool proven, std::int64_t now) noexcept {
    if ((state & kValid) == 0 || !A::equal(raw, a)) return false;
    if (now > ns) ns = now;
    if (proven) state |= kProven;
    return true;
  }
  void sync(std::vector<A>& set) noexcept {
    if ((state & kValid) == 0) return;
    A& e = set[state & kIndex];
    if (ns > e.last_ns) e.last_ns = ns;
    if (state & kProven) e.proven = true;
    state &= ~kProven;
  }
  void cache(const std::vector<A>& set, std::size_t index) noexcept {
    if (index > kIndex) {
      state = 0;
      return;
    }
    ns = set[index].last_ns;
    raw = set[index].raw;
    state = kValid | static_cast<std::uint32_t>(index);
  }
  void forget() noexcept { state = 0; }
};

// One device. The MAC is kept as its 48-bit integer (MacAddress::to_u64: byte-wise order). What
// apply() touches for a frame of a known device is in these two cache lines.
struct alignas(64) Slot {
  std::uint64_t key = 0;
  std::int64_t first_ns = 0;
  std::int64_t last_ns = 0;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint64_t last_vlan_key = 0;  // the stack of the previous frame: the usual case is "same"
  std::uint64_t touched = 0;        // recency: the table's clock at the last touch
  std::unique_ptr<Details> details;
  Hot<Address4> hot4;
  Hot<Address16> hot6;
  std::uint32_t lru_prev = kNone;  // towards the most recently seen (only once the list is built)
  std::uint32_t lru_next = kNone;  // towards the least recently seen
  std::uint32_t dirty = 0;
  SourceMask sources = 0;
  std::uint8_t flags = 0;
  bool live = false;
};
static_assert(sizeof(Slot) == 128, "a slot is two cache lines");

// A bucket of the index holds the key next to the slot number: a probe never touches a slot.
struct Bucket {
  std::uint64_t key;
  std::uint32_t slot;  // kNone = empty
};

// Allocator of the slot array and the index: blocks of 1 MiB and more are aligned to 2 MiB and
// offered to the kernel as transparent huge pages (madvise mode). A frame's device is a random
// slot among tens of thousands: with 4 KiB pages nearly every lookup also misses the TLB, which
// costs a page walk (two nested ones under a hypervisor) before the cache miss can start.
template <class T>
struct HugeAllocator {
  using value_type = T;
  static constexpr std::size_t kHuge = std::size_t{2} << 20;
  HugeAllocator() noexcept = default;
  template <class U>
  explicit HugeAllocator(const HugeAllocator<U>&) noexcept {}
  static std::size_t rounded(std::size_t n) noexcept {
    return (n * sizeof(T) + kHuge - 1) & ~(kHuge - 1);
  }
  T* allocate(std::size_t n) {
    if (n * sizeof(T) < (std::size_t{1} << 20)) return std::allocator<T>{}.allocate(n);
    // The allocator interface hands out raw memory; std::vector owns it.
    void* p = std::aligned_alloc(kHuge, rounded(n));  // NOLINT(cppcoreguidelines-owning-memory)
    if (p == nullptr) throw std::bad_alloc();
    ::madvise(p, rounded(n), MADV_HUGEPAGE);  // a hint: without THP it is ordinary memory
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) < (std::size_t{1} << 20)) {
      std::allocator<T>{}.deallocate(p, n);
    } else {
      std::free(p);  // NOLINT(cppcoreguidelines-owning-memory): see allocate()
    }
  }
  friend bool operator==(const HugeAllocator&, const HugeAllocator&) noexcept { return true; }
};

// The low bytes vary most between devices of one vendor; mix all 48 bits.
std::uint64_t mix(std::uint64_t x) noexcept {
  return platform::mix64(x);
}

}  // namespace

struct DeviceTable::Impl {
  TableOptions options;
  const OuiTable* oui;
  TableCounters counters;
  std::vector<Slot, HugeAllocator<Slot>> slots;
  std::vector<std::uint32_t> free_slots;
  std::vector<Bucket, HugeAllocator<Bucket>> index;  // open addressing, linear probing
  std::size_t live = 0;
  std::uint64_t clock = 0;  // counts touches
  // The least-recently-seen list is only needed to evict: it is built from `touched` the first
  // time the cap is reached and kept up to date from then on. Below the cap a touch is one store.
  bool lru_built = false;
  std::uint32_t lru_head = kNone;
  std::uint32_t lru_tail = kNone;
  std::vector<std::uint32_t> dirty;
  std::vector<platform::MacAddress> evicted;

  Impl(TableOptions o, const OuiTable* table) : options(o), oui(table) {
    if (options.max_devices == 0) options.max_devices = 1;
    index.assign(64, Bucket{0, kNone});
  }

  std::size_t mask() const noexcept { return index.size() - 1; }
  std::size_t home(std::uint64_t key) const noexcept {
    return static_cast<std::size_t>(mix(key) & mask());
  }

  std::uint32_t lookup(std::uint64_t key) const noexcept {
    const Bucket* b = index.data();
    for (std::size_t i = home(key);; i = (i + 1) & mask()) {
      if (b[i].slot == kNone) return kNone;
      if (b[i].key == key) return b[i].slot;
    }
  }

  void index_insert(std::uint64_t key, std::uint32_t s) {
    if ((live + 1) * 2 > index.size()) {  // keep the load factor at most 1/2
      std::vector<Bucket, HugeAllocator<Bucket>> old(index.size() * 2, Bucket{0, kNone});
      old.swap(index);
      for (const Bucket& b : old) {
        if (b.slot != kNone) place(b);
      }
    }
    place(Bucket{key, s});
  }
  void place(const Bucket& v) noexcept {
    std::size_t i = home(v.key);
    while (index[i].slot != kNone) i = (i + 1) & mask();
    index[i] = v;
  }
  // Backward-shift deletion: no tombstones, so lookups stay short under churn.
  void index_erase(std::uint64_t key) noexcept {
    const std::size_t m = mask();
    std::size_t b = home(key);
    while (index[b].slot != kNone && index[b].key != key) b = (b + 1) & m;
    if (index[b].slot == kNone) return;
    std::size_t hole = b;
    for (std::size_t next = (hole + 1) & m; index[next].slot != kNone; next = (next + 1) & m) {
      const std::size_t h = home(index[next].key);
      // Move the entry into the hole if its home is not cyclically in (hole, next].
      const bool movable = hole <= next ? (h <= hole || h > next) : (h <= hole && h > next);
      if (movable) {
        index[hole] = index[next];
        hole = next;
      }
    }
    index[hole] = Bucket{0, kNone};
  }

  void lru_unlink(std::uint32_t s) noexcept {
    Slot& x = slots[s];
    if (x.lru_prev != kNone) {
      slots[x.lru_prev].lru_next = x.lru_next;
    } else {
      lru_head = x.lru_next;
    }
    if (x.lru_next != kNone) {
      slots[x.lru_next].lru_prev = x.lru_prev;
    } else {
      lru_tail = x.lru_prev;
    }
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
  // Orders the live slots by their last touch, most recent first: the list the eager version
  // would have kept (every touch moved its slot to the front).
  void lru_build() {
    std::vector<std::pair<std::uint64_t, std::uint32_t>> order;
    order.reserve(live);
    for (std::uint32_t s = 0; s < slots.size(); ++s) {
      if (slots[s].live) order.emplace_back(slots[s].touched, s);
    }
    std::sort(order.begin(), order.end());
    lru_head = lru_tail = kNone;
    for (const auto& [touched, s] : order) lru_push_front(s);
    lru_built = true;
  }
  // Marks @p s the most recently seen.
  void refresh(std::uint32_t s) noexcept {
    slots[s].touched = ++clock;
    if (lru_built && lru_head != s) {
      lru_unlink(s);
      lru_push_front(s);
    }
  }
  void touch(std::uint32_t s, std::int64_t now) noexcept {
    Slot& x = slots[s];
    if (now > x.last_ns) x.last_ns = now;
    if (now < x.first_ns) x.first_ns = now;  // out-of-order timestamps across merged files
    refresh(s);
  }

  void mark(std::uint32_t s, std::uint32_t bits) {
    if (!options.track_changes) return;
    Slot& x = slots[s];
    if (x.dirty == 0) dirty.push_back(s);
    x.dirty |= bits;
  }

  void evict_oldest() {
    if (!lru_built) lru_build();
    const std::uint32_t s = lru_tail;
    Slot& x = slots[s];
    index_erase(x.key);
    lru_unlink(s);
    ++counters.evicted;
    if (options.track_changes) {
      if (evicted.size() < options.max_devices) {
        evicted.push_back(platform::MacAddress::from_u64(x.key));
      } else {
        ++counters.evictions_unreported;
      }
    }
    x.live = false;
    x.details.reset();
    --live;
    free_slots.push_back(s);
  }

  std::uint32_t find_or_create(std::uint64_t key, std::int64_t now) {
    const std::uint32_t found = lookup(key);
    if (found != kNone) return found;
    return create(key, now);
  }

  std::uint32_t create(std::uint64_t key, std::int64_t now) {
    if (live >= options.max_devices) evict_oldest();
    std::uint32_t s = kNone;
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
    x.key = key;
    x.live = true;
    x.first_ns = x.last_ns = now;
    x.dirty = pending;
    index_insert(key, s);
    ++live;
    x.touched = ++clock;
    if (lru_built) lru_push_front(s);
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

  template <class A>
  void add_address(std::uint32_t s, std::vector<A>& set, Hot<A>& hot, const std::uint8_t* bytes,
                   bool proven, std::int64_t now, std::size_t cap, std::uint32_t change) {
    hot.sync(set);
    const typename A::Raw raw = A::load(bytes);
    for (std::size_t i = 0; i < set.size(); ++i) {
      A& e = set[i];
      if (!e.same(raw)) continue;
      if (now > e.last_ns) e.last_ns = now;
      if (proven && !e.proven) e.proven = true;  // not a visible change: the set is the same
      hot.cache(set, i);
      return;
    }
    const A a{now, raw, proven};
    if (!proven) {
      if (slots[s].flags & flag_router) {
        ++counters.addresses_suppressed;
        return;
      }
      if (!is_link_local(a) && count_towards_router(s, now)) return;
    }
    if (cap == 0) return;
    if (set.size() >= cap) {
      auto oldest = std::min_element(set.begin(), set.end(),
                                     [](const A& l, const A& r) { return l.last_ns < r.last_ns; });
      set.erase(oldest);
      ++counters.addresses_replaced;
    }
    set.push_back(a);
    hot.cache(set, set.size() - 1);
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
    x.hot4.sync(d.ipv4);
    x.hot6.sync(d.ipv6);
    x.hot4.forget();  // the sets are about to shrink
    x.hot6.forget();
    const auto unproven = [](const auto& e) { return !e.proven; };
    const auto n4 = d.ipv4.size();
    const auto n6 = d.ipv6.size();
    d.ipv4.erase(std::remove_if(d.ipv4.begin(), d.ipv4.end(), unproven), d.ipv4.end());
    d.ipv6.erase(std::remove_if(d.ipv6.begin(), d.ipv6.end(), unproven), d.ipv6.end());
    counters.addresses_suppressed += (n4 - d.ipv4.size()) + (n6 - d.ipv6.size());
    mark(s, change_flags | change_ipv4 | change_ipv6);
  }

  void store(std::uint32_t s, std::uint8_t id, std::string_view text, std::uint32_t change) {
    if (details(s).texts.store(id, text, options.max_text)) mark(s, change);
  }

  void apply_fact(std::uint32_t s, const Fact& f, std::int64_t now) {
    Slot& x = slots[s];
    x.sources |= static_cast<SourceMask>(f.source);
    ++counters.facts;
    const auto text = f.text_view();
    switch (f.kind) {
      case FactKind::ipv4:
        if (x.hot4.hit(Address4::load(f.addr.data()), f.proven, now)) return;
        add_address(s, details(s).ipv4, x.hot4, f.addr.data(), f.proven, now, options.max_ipv4,
                    change_ipv4);
        return;
      case FactKind::ipv6:
        if (x.hot6.hit(Address16::load(f.addr.data()), f.proven, now)) return;
        add_address(s, details(s).ipv6, x.hot6, f.addr.data(), f.proven, now, options.max_ipv6,
                    change_ipv6);
        return;
      case FactKind::host_name: {
        const auto i = static_cast<std::size_t>(f.name);
        if (i < kNameSourceCount) store(s, static_cast<std::uint8_t>(i), text, change_names);
        return;
      }
      case FactKind::router: mark_router(s); return;
      case FactKind::dhcp_vendor_class: store(s, text_dhcp_vendor_class, text, change_dhcp); return;
      case FactKind::dhcp_param_list: store(s, text_dhcp_param_list, text, change_dhcp); return;
      case FactKind::dhcp_client_id: store(s, text_dhcp_client_id, text, change_dhcp); return;
      case FactKind::dhcpv6_duid: store(s, text_dhcpv6_duid, text, change_dhcp); return;
      case FactKind::dhcpv6_vendor_class:
        store(s, text_dhcpv6_vendor_class, text, change_dhcp);
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

  // Fills @p r (reusing its buffers) with the groups of @p x named in @p groups.
  void fill_record(const Slot& x, std::uint32_t groups, DeviceRecord& r) const {
    r.mac = platform::MacAddress::from_u64(x.key);
    if (oui != nullptr) {
      r.vendor.assign(oui->vendor(r.mac));
      r.randomized = oui->is_randomized(r.mac);
    } else {
      r.vendor.clear();
      r.randomized = r.mac.is_locally_administered();
    }
    r.router = (x.flags & flag_router) != 0;
    r.multi_vlan = (x.flags & flag_multi_vlan) != 0;
    r.first_seen = platform::Timestamp(std::chrono::nanoseconds(x.first_ns));
    r.last_seen = platform::Timestamp(std::chrono::nanoseconds(x.last_ns));
    r.packets = x.packets;
    r.bytes = x.bytes;
    r.sources = x.sources;
    r.vlans.clear();
    r.ipv4.clear();
    r.ipv6.clear();
    for (auto& n : r.names) n.clear();
    r.hostname_source.reset();
    r.hostname.clear();
    r.dhcp_vendor_class.clear();
    r.dhcp_param_list.clear();
    r.dhcp_client_id.clear();
    r.dhcpv6_duid.clear();
    r.dhcpv6_vendor_class.clear();
    const Details* d = x.details.get();
    const bool lldp = d != nullptr && d->neighbor && (groups & change_lldp);
    const bool cdp = d != nullptr && d->neighbor && (groups & change_cdp);
    if (lldp) {
      r.lldp = d->neighbor->lldp;
    } else {
      r.lldp = LldpInfo{};
    }
    if (cdp) {
      r.cdp = d->neighbor->cdp;
    } else {
      r.cdp = CdpInfo{};
    }
    if (d == nullptr) return;
    if (groups & change_vlans) {
      for (const auto k : d->vlans) r.vlans.push_back(VlanStack::from_key(k));
      std::sort(r.vlans.begin(), r.vlans.end(),
                [](const VlanStack& a, const VlanStack& b) { return a.key() < b.key(); });
    }
    if (groups & change_ipv4) {
      for (const auto& e : d->ipv4) r.ipv4.push_back(e.array());
      std::sort(r.ipv4.begin(), r.ipv4.end());
    }
    if (groups & change_ipv6) {
      for (const auto& e : d->ipv6) r.ipv6.push_back(e.array());
      std::sort(r.ipv6.begin(), r.ipv6.end());
    }
    if (groups & change_names) {
      for (std::size_t i = 0; i < kNameSourceCount; ++i) {
        r.names[i].assign(d->texts.get(static_cast<std::uint8_t>(i)));
      }
      for (std::size_t i = 0; i < kNameSourceCount; ++i) {
        if (r.names[i].empty()) continue;
        r.hostname = r.names[i];
        r.hostname_source = static_cast<NameSource>(i);
        break;
      }
    }
    if (groups & change_dhcp) {
      r.dhcp_vendor_class.assign(d->texts.get(text_dhcp_vendor_class));
      r.dhcp_param_list.assign(d->texts.get(text_dhcp_param_list));
      r.dhcp_client_id.assign(d->texts.get(text_dhcp_client_id));
      r.dhcpv6_duid.assign(d->texts.get(text_dhcpv6_duid));
      r.dhcpv6_vendor_class.assign(d->texts.get(text_dhcpv6_vendor_class));
    }
  }

  DeviceRecord make_record(const Slot& x, std::uint32_t groups) const {
    DeviceRecord r;
    fill_record(x, groups, r);
    return r;
  }

  // The live slots, sorted by MAC.
  std::vector<std::uint32_t> sorted_slots() const {
    std::vector<std::pair<std::uint64_t, std::uint32_t>> keys;
    keys.reserve(live);
    for (std::uint32_t s = 0; s < slots.size(); ++s) {
      if (slots[s].live) keys.emplace_back(slots[s].key, s);
    }
    std::sort(keys.begin(), keys.end());
    std::vector<std::uint32_t> out;
    out.reserve(keys.size());
    for (const auto& k : keys) out.push_back(k.second);
    return out;
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
    src = t.find_or_create(frame.src.to_u64(), now);
    Slot& x = t.slots[src];
    t.touch(src, now);
    ++x.packets;
    x.bytes += frame.wire_length;
    t.mark(src, change_activity);
    t.add_vlan(src, frame.vlans);
  }
  for (const Fact& f : frame.view()) {
    const std::uint64_t key = f.mac.to_u64();
    std::uint32_t s = src;
    // A new subject may have evicted the source under a tiny cap: check the slot's owner.
    if (s == kNone || !t.slots[s].live || t.slots[s].key != key) {
      s = t.find_or_create(key, now);
      t.touch(s, now);
      t.mark(s, change_activity);
    }
    t.apply_fact(s, f, now);
  }
}

void DeviceTable::prefetch(const platform::MacAddress& mac, unsigned stage) const noexcept {
  const Impl& t = *impl_;
  const std::uint64_t key = mac.to_u64();
  if (stage == 0) {
    __builtin_prefetch(&t.index[t.home(key)]);
    return;
  }
  const std::uint32_t s = t.lookup(key);
  if (s == kNone) return;
  const char* x = reinterpret_cast<const char*>(&t.slots[s]);
  __builtin_prefetch(x);
  __builtin_prefetch(x + 64);
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
  const std::uint32_t s = impl_->lookup(mac.to_u64());
  if (s == kNone) return std::nullopt;
  return impl_->make_record(impl_->slots[s], ~0U);
}

std::vector<DeviceRecord> DeviceTable::snapshot() const {
  std::vector<DeviceRecord> out;
  out.reserve(impl_->live);
  for (const std::uint32_t s : impl_->sorted_slots()) {
    out.push_back(impl_->make_record(impl_->slots[s], ~0U));
  }
  return out;
}

void DeviceTable::for_each_sorted(const std::function<void(const DeviceRecord&)>& visit) const {
  for_each_of(sorted_handles(), visit);
}

std::vector<std::uint32_t> DeviceTable::sorted_handles() const {
  return impl_->sorted_slots();
}

void DeviceTable::for_each_of(std::span<const std::uint32_t> handles,
                              const std::function<void(const DeviceRecord&)>& visit) const {
  // MAC order is not memory order: every slot is a cache miss, and its details another. Both are
  // requested a few devices ahead of the one being filled.
  constexpr std::size_t kSlotAhead = 8;
  constexpr std::size_t kDetailsAhead = 4;
  const Impl& t = *impl_;
  DeviceRecord r;
  for (std::size_t i = 0; i < handles.size(); ++i) {
    if (i + kSlotAhead < handles.size()) __builtin_prefetch(&t.slots[handles[i + kSlotAhead]]);
    if (i + kDetailsAhead < handles.size()) {
      if (const Details* d = t.slots[handles[i + kDetailsAhead]].details.get()) {
        __builtin_prefetch(d);
      }
    }
    t.fill_record(t.slots[handles[i]], ~0U, r);
    visit(r);
  }
}

void absorb(Observation& into, Observation&& newer) {
  const std::uint32_t groups = (newer.changes & change_created) != 0 ? ~0U : newer.changes;
  into.record.mac = newer.record.mac;
  if ((newer.changes & change_evicted) != 0 && (newer.changes & change_created) == 0) {
    // An eviction carries nothing but the MAC: what was observed before it still stands.
    into.changes |= newer.changes;
    return;
  }
  into.changes |= newer.changes;
  DeviceRecord& a = into.record;
  DeviceRecord& b = newer.record;
  a.mac = b.mac;
  a.randomized = b.randomized;
  a.vendor = std::move(b.vendor);
  a.router = b.router;
  a.multi_vlan = b.multi_vlan;
  a.first_seen = b.first_seen;
  a.last_seen = b.last_seen;
  a.packets = b.packets;
  a.bytes = b.bytes;
  a.sources = b.sources;
  if (groups & change_vlans) a.vlans = std::move(b.vlans);
  if (groups & change_ipv4) a.ipv4 = std::move(b.ipv4);
  if (groups & change_ipv6) a.ipv6 = std::move(b.ipv6);
  if (groups & change_names) {
    a.names = std::move(b.names);
    a.hostname_source = b.hostname_source;
    a.hostname = std::move(b.hostname);
  }
  if (groups & change_dhcp) {
    a.dhcp_vendor_class = std::move(b.dhcp_vendor_class);
    a.dhcp_param_list = std::move(b.dhcp_param_list);
    a.dhcp_client_id = std::move(b.dhcp_client_id);
    a.dhcpv6_duid = std::move(b.dhcpv6_duid);
    a.dhcpv6_vendor_class = std::move(b.dhcpv6_vendor_class);
  }
  if (groups & change_lldp) a.lldp = std::move(b.lldp);
  if (groups & change_cdp) a.cdp = std::move(b.cdp);
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
