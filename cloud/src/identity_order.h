#pragma once
// Private to cloud/: how GraphClient keeps its device lists and how join_identities() finds
// devices, without a hash map or a node per device (a tenant's 100 k + 100 k devices live in
// the agent). Lists are sorted by Guid through SortKey arrays: integers in one array, instead
// of memcmp on 152-byte devices spread over the heap; permutations are applied in place, so a
// sort never holds the list twice.
// Errors: none (pure functions on values). Thread safety: none needed (no shared state).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cloud/identity.h"
#include "platform/guid.h"

namespace edgeid::cloud {

/// A Guid as a sort key (its bytes in text order as two big-endian words) next to the position
/// in a list it stands for. operator< orders by Guid, then position.
struct SortKey {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  std::size_t index = 0;

  bool same_guid(const SortKey& o) const noexcept { return hi == o.hi && lo == o.lo; }
  bool guid_less(const SortKey& o) const noexcept { return hi != o.hi ? hi < o.hi : lo < o.lo; }
  friend bool operator<(const SortKey& a, const SortKey& b) noexcept {
    return !a.same_guid(b) ? a.guid_less(b) : a.index < b.index;
  }
};
SortKey sort_key(const platform::Guid& g, std::size_t index) noexcept;

/// A field present in a delta change overrides the stored value; absent fields are kept
/// (delta pages carry the id and at least the changed properties).
void overlay(Identity& base, const Identity& change);

/// Moves items[order[k].index] to position k for every k, in place, then drops the positions
/// from @p kept on. @p order must be a permutation of the positions; it is consumed.
void keep_in_order(std::vector<Identity>& items, std::vector<SortKey>& order, std::size_t kept);

/// An Intune list in arrival order → the same list in intune_id order with each id once (its
/// first occurrence). Returns the ids of the dropped repeats, in arrival order.
std::vector<platform::Guid> sort_unique(std::vector<Identity>& items);

/// The Entra set: a vector sorted by entra_object_id, one device per id. nullptr if absent.
Identity* find_entra(std::vector<Identity>& set, const platform::Guid& id);

/// An "@removed" entry of a full Entra round: the device it names, and how many devices had
/// arrived before it.
struct Removal {
  platform::Guid id;
  std::size_t position = 0;
};

/// A full Entra round's devices in arrival order → the sorted set, as if each device had been
/// applied in arrival order: a repeat overlays what came before it (or, with
/// !overlay_repeats, is ignored), a removal forgets what came before it.
void fold_round(std::vector<Identity>& items, std::vector<Removal> removals,
                bool overlay_repeats = true);

/// A delta round applied to the sorted set: the changes in arrival order (overlaying a known
/// device, adding a new one), then the removals.
void apply_delta(std::vector<Identity>& set, std::vector<Identity>& changes,
                 std::vector<platform::Guid> removed);

}  // namespace edgeid::cloud
