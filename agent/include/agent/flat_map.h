#pragma once
/// @file
/// FlatMap: an ordered map kept as one sorted vector of pairs. The merge state holds a tenant's
/// identities (100 k and more) for the agent's whole life; a std::map node costs ~48 bytes of
/// tree links and allocator overhead per entry on top of the entry itself.
///
/// The subset of std::map's interface the agent uses, with the same iteration order (ascending
/// keys). Unlike std::map, inserting a key moves the entries after it and invalidates iterators
/// and pointers into the map, and costs a move of every later entry: build a large map with
/// from(), or insert in ascending key order (which appends), then take pointers. Error policy: at()
/// throws std::out_of_range; otherwise only std::bad_alloc. Thread safety: a plain value.

#include <algorithm>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

namespace edgeid::agent {

template <typename Key, typename Value>
class FlatMap {
 public:
  using value_type = std::pair<Key, Value>;
  using iterator = typename std::vector<value_type>::iterator;
  using const_iterator = typename std::vector<value_type>::const_iterator;

  FlatMap() = default;
  /// The map of @p items in any order; of equal keys the last one wins (as insert_or_assign()
  /// in that order would). One sort instead of an insertion per entry.
  static FlatMap from(std::vector<value_type> items) {
    std::stable_sort(items.begin(), items.end(),
                     [](const value_type& a, const value_type& b) { return a.first < b.first; });
    FlatMap out;
    out.items_.reserve(items.size());
    for (auto& e : items) {
      if (!out.items_.empty() && !(out.items_.back().first < e.first)) {
        out.items_.back().second = std::move(e.second);
      } else {
        out.items_.push_back(std::move(e));
      }
    }
    return out;
  }

  iterator begin() noexcept { return items_.begin(); }
  iterator end() noexcept { return items_.end(); }
  const_iterator begin() const noexcept { return items_.begin(); }
  const_iterator end() const noexcept { return items_.end(); }
  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  void clear() noexcept { items_.clear(); }
  void reserve(std::size_t n) { items_.reserve(n); }

  iterator find(const Key& key) {
    const auto it = lower(key);
    return it != items_.end() && !(key < it->first) ? it : items_.end();
  }
  const_iterator find(const Key& key) const {
    const auto it = lower(key);
    return it != items_.end() && !(key < it->first) ? it : items_.end();
  }
  bool contains(const Key& key) const { return find(key) != end(); }
  Value& at(const Key& key) {
    const auto it = find(key);
    if (it == end()) throw std::out_of_range("FlatMap::at: no such key");
    return it->second;
  }
  const Value& at(const Key& key) const {
    const auto it = find(key);
    if (it == end()) throw std::out_of_range("FlatMap::at: no such key");
    return it->second;
  }

  /// Inserts (key, Value(args...)) unless the key is present; like std::map::try_emplace.
  template <typename... Args>
  std::pair<iterator, bool> try_emplace(const Key& key, Args&&... args) {
    // The common case while building in key order: after the last entry.
    if (items_.empty() || items_.back().first < key) {
      items_.emplace_back(std::piecewise_construct, std::forward_as_tuple(key),
                          std::forward_as_tuple(std::forward<Args>(args)...));
      return {items_.end() - 1, true};
    }
    const auto it = lower(key);
    if (it != items_.end() && !(key < it->first)) return {it, false};
    const auto at = items_.emplace(it, std::piecewise_construct, std::forward_as_tuple(key),
                                   std::forward_as_tuple(std::forward<Args>(args)...));
    return {at, true};
  }
  template <typename V>
  std::pair<iterator, bool> emplace(const Key& key, V&& value) {
    return try_emplace(key, std::forward<V>(value));
  }
  template <typename V>
  std::pair<iterator, bool> insert_or_assign(const Key& key, V&& value) {
    auto [it, inserted] = try_emplace(key, std::forward<V>(value));
    if (!inserted) it->second = std::forward<V>(value);
    return {it, inserted};
  }
  Value& operator[](const Key& key) { return try_emplace(key).first->second; }

  /// Adds @p items (any order) in one sort of the items and one merge, instead of an insertion
  /// (and a move of every later entry) each; of equal keys the last item wins, over the map's
  /// entry too. The result has no spare capacity: a long-lived map stays the size it needs.
  void insert_or_assign_all(std::vector<value_type> items) {
    if (items.empty()) return;
    auto added = from(std::move(items)).items_;
    std::vector<value_type> merged;
    merged.reserve(items_.size() + added.size());
    auto old = items_.begin();
    for (auto& e : added) {
      for (; old != items_.end() && old->first < e.first; ++old) merged.push_back(std::move(*old));
      if (old != items_.end() && !(e.first < old->first)) ++old;  // replaced by e
      merged.push_back(std::move(e));
    }
    for (; old != items_.end(); ++old) merged.push_back(std::move(*old));
    items_.swap(merged);
  }
  /// Removes the entries (key, value pairs) for which @p pred is true; returns how many.
  template <typename Pred>
  std::size_t erase_if(Pred pred) {
    return std::erase_if(items_, pred);
  }

  friend bool operator==(const FlatMap& a, const FlatMap& b) { return a.items_ == b.items_; }

 private:
  iterator lower(const Key& key) {
    return std::lower_bound(items_.begin(), items_.end(), key,
                            [](const value_type& e, const Key& k) { return e.first < k; });
  }
  const_iterator lower(const Key& key) const {
    return std::lower_bound(items_.begin(), items_.end(), key,
                            [](const value_type& e, const Key& k) { return e.first < k; });
  }

  std::vector<value_type> items_;
};

}  // namespace edgeid::agent
