// Ordering and folding of identity lists for GraphClient and join_identities (identity_order.h).
#include "identity_order.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace edgeid::cloud {

using platform::Guid;

void overlay(Identity& base, const Identity& change) {
  if (!change.entra_object_id.is_nil()) base.entra_object_id = change.entra_object_id;
  if (!change.azure_ad_device_id.is_nil()) base.azure_ad_device_id = change.azure_ad_device_id;
  if (change.last_sync) base.last_sync = change.last_sync;
  if (change.account_enabled) base.account_enabled = change.account_enabled;
  if (change.is_compliant) base.is_compliant = change.is_compliant;
  if (change.is_managed) base.is_managed = change.is_managed;
  base.sources |= change.sources;
  const Identity copy = base;
  std::array<std::string_view, kIdentityTextCount> views;
  for (std::size_t i = 0; i < kIdentityTextCount; ++i) {
    const auto f = static_cast<IdentityText>(i);
    views[i] = change.text(f).empty() ? copy.text(f) : change.text(f);
  }
  base.assign_texts(views);
}

SortKey sort_key(const Guid& g, std::size_t index) noexcept {
  SortKey k;
  k.index = index;
  for (std::size_t i = 0; i < 8; ++i) {
    k.hi = (k.hi << 8U) | g.bytes()[i];
    k.lo = (k.lo << 8U) | g.bytes()[i + 8];
  }
  return k;
}

// ---- the Entra device set: a vector sorted by entra_object_id, one device per id. A device
// takes sizeof(Identity) there where a hash map node took ~40 B more plus its bucket, and the
// set goes to join_identities() as it is, without a copy.

Identity* find_entra(std::vector<Identity>& set, const Guid& id) {
  const auto it =
      std::lower_bound(set.begin(), set.end(), id,
                       [](const Identity& d, const Guid& g) { return d.entra_object_id < g; });
  return it != set.end() && it->entra_object_id == id ? &*it : nullptr;
}

// Follows each cycle of the permutation: the sort keys are the only index array, no second one
// of the list's length next to them.
void keep_in_order(std::vector<Identity>& items, std::vector<SortKey>& order, std::size_t kept) {
  for (std::size_t start = 0; start < order.size(); ++start) {
    if (order[start].index == start) continue;
    Identity held = std::move(items[start]);
    std::size_t k = start;
    while (order[k].index != start) {
      const std::size_t from = order[k].index;
      items[k] = std::move(items[from]);
      order[k].index = k;
      k = from;
    }
    items[k] = std::move(held);
    order[k].index = k;
  }
  items.erase(items.begin() + static_cast<std::ptrdiff_t>(kept), items.end());
}

// Sorting positions and permuting in place keeps the memory at the vector itself (a stable sort
// of the devices would allocate half of it again).
void fold_round(std::vector<Identity>& items, std::vector<Removal> removals, bool overlay_repeats) {
  std::vector<SortKey> order;
  order.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    order.push_back(sort_key(items[i].entra_object_id, i));
  }
  std::sort(order.begin(), order.end());
  std::sort(removals.begin(), removals.end(), [](const Removal& a, const Removal& b) {
    return a.id != b.id ? a.id < b.id : a.position < b.position;
  });
  // order[0, kept) becomes the positions kept, in id order (kept never passes the group being
  // read); `gone` collects the others.
  std::size_t kept = 0;
  std::vector<SortKey> gone;
  auto r = removals.begin();
  for (std::size_t g = 0; g < order.size();) {
    const Guid id = items[order[g].index].entra_object_id;
    std::size_t end = g + 1;
    while (end < order.size() && order[end].same_guid(order[g])) ++end;
    while (r != removals.end() && r->id < id) ++r;
    constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
    std::size_t base = kNone;  // the position this id's device is folded into
    auto forget = [&] {
      if (base != kNone) gone.push_back({0, 0, base});
      base = kNone;
      ++r;
    };
    for (std::size_t k = g; k < end; ++k) {
      const std::size_t i = order[k].index;
      while (r != removals.end() && r->id == id && r->position <= i) forget();
      if (base == kNone) {
        base = i;
        continue;
      }
      if (overlay_repeats) overlay(items[base], items[i]);
      gone.push_back({0, 0, i});
    }
    while (r != removals.end() && r->id == id) forget();
    if (base != kNone) order[kept++].index = base;
    g = end;
  }
  std::copy(gone.begin(), gone.end(), order.begin() + static_cast<std::ptrdiff_t>(kept));
  keep_in_order(items, order, kept);
  // A reservation far above what arrived gives the address space back (a small copy).
  if (items.capacity() / 2 > items.size()) items.shrink_to_fit();
}

void apply_delta(std::vector<Identity>& set, std::vector<Identity>& changes,
                 std::vector<Guid> removed) {
  std::vector<Identity> added;
  std::unordered_map<Guid, std::size_t> added_at;  // new devices are few between two rounds
  for (Identity& change : changes) {
    if (Identity* known = find_entra(set, change.entra_object_id)) {
      overlay(*known, change);
      continue;
    }
    const auto [it, inserted] = added_at.try_emplace(change.entra_object_id, added.size());
    if (inserted) {
      added.push_back(std::move(change));
    } else {
      overlay(added[it->second], change);
    }
  }
  if (!added.empty()) {
    const auto by_id = [](const Identity& a, const Identity& b) {
      return a.entra_object_id < b.entra_object_id;
    };
    std::sort(added.begin(), added.end(), by_id);
    const auto old_size = static_cast<std::ptrdiff_t>(set.size());
    set.insert(set.end(), std::make_move_iterator(added.begin()),
               std::make_move_iterator(added.end()));
    std::inplace_merge(set.begin(), set.begin() + old_size, set.end(), by_id);
  }
  if (!removed.empty()) {
    std::sort(removed.begin(), removed.end());
    std::erase_if(set, [&removed](const Identity& d) {
      return std::binary_search(removed.begin(), removed.end(), d.entra_object_id);
    });
  }
}

std::vector<Guid> sort_unique(std::vector<Identity>& items) {
  std::vector<SortKey> order;
  order.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) order.push_back(sort_key(items[i].intune_id, i));
  std::sort(order.begin(), order.end());
  // order[0, kept) becomes the first occurrences in id order; the repeats go to `dropped`.
  std::size_t kept = 0;
  std::vector<SortKey> dropped;
  for (const SortKey& key : order) {
    if (kept > 0 && key.same_guid(order[kept - 1])) {
      dropped.push_back(key);
    } else {
      order[kept++] = key;
    }
  }
  std::vector<std::size_t> arrival;
  arrival.reserve(dropped.size());
  for (const SortKey& key : dropped) arrival.push_back(key.index);
  std::sort(arrival.begin(), arrival.end());
  std::vector<Guid> repeated;
  repeated.reserve(arrival.size());
  for (const std::size_t i : arrival) repeated.push_back(items[i].intune_id);
  std::copy(dropped.begin(), dropped.end(), order.begin() + static_cast<std::ptrdiff_t>(kept));
  keep_in_order(items, order, kept);
  return repeated;
}

}  // namespace edgeid::cloud
