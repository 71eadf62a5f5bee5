// cloud/src/identity_order.h: the sorted, folded device lists of GraphClient, checked against a
// plain map that applies the same devices and removals one at a time, in arrival order.
#include "identity_order.h"

#include <map>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace {

using edgeid::cloud::Identity;
using edgeid::cloud::IdentityText;
using edgeid::cloud::Removal;
using edgeid::platform::Guid;

unsigned pick(std::mt19937& rng, unsigned n) {
  return static_cast<unsigned>(rng() % n);
}

Guid id_of(unsigned n) {
  Guid::Bytes b{};
  // Vary the first and the last byte so that both words of the sort key matter.
  b[0] = static_cast<std::uint8_t>(n * 37U);
  b[15] = static_cast<std::uint8_t>(n);
  return Guid(b);
}

// A device with a random subset of fields: an empty text or an absent value keeps what an
// overlay had.
Identity random_device(std::mt19937& rng, unsigned ids, bool entra) {
  Identity d;
  const Guid id = id_of(pick(rng, ids));
  (entra ? d.entra_object_id : d.intune_id) = id;
  if (pick(rng, 2)) d.azure_ad_device_id = id_of(100 + pick(rng, 50));
  if (pick(rng, 2)) {
    d.last_sync = edgeid::platform::Timestamp::from_unix_seconds(1795000000 + pick(rng, 1000));
  }
  if (pick(rng, 3) == 0) d.account_enabled = pick(rng, 2) == 0;
  d.sources = static_cast<std::uint8_t>(1U + pick(rng, 2));
  if (pick(rng, 2)) d.set_text(IdentityText::device_name, "dev-" + std::to_string(pick(rng, 1000)));
  if (pick(rng, 2)) d.set_text(IdentityText::os, pick(rng, 2) ? "Windows" : "iOS");
  if (pick(rng, 3) == 0) d.set_text(IdentityText::trust_type, "AzureAd");
  return d;
}

std::vector<Identity> values(const std::map<Guid, Identity>& m) {
  std::vector<Identity> out;
  out.reserve(m.size());
  for (const auto& [id, d] : m) out.push_back(d);
  return out;
}

}  // namespace

TEST_CASE("identity order: a full Entra round folds repeats and removals as arrival order says") {
  std::mt19937 rng(20261202);
  for (int round = 0; round < 400; ++round) {
    const unsigned ids = 1 + pick(rng, 12);
    const std::size_t n = pick(rng, 40);
    std::vector<Identity> items;
    for (std::size_t i = 0; i < n; ++i) items.push_back(random_device(rng, ids, true));
    std::vector<Removal> removals;
    const std::size_t r = pick(rng, 8);
    for (std::size_t i = 0; i < r; ++i) {
      removals.push_back(
          {id_of(pick(rng, ids + 2)), pick(rng, static_cast<unsigned>(n + 1))});  // some never sent
    }
    for (const bool overlay_repeats : {true, false}) {
      CAPTURE(round);
      CAPTURE(overlay_repeats);
      // The model: every device and removal applied in arrival order (a removal at position p
      // comes after the first p devices; removals at one position in the order given).
      std::map<Guid, Identity> model;
      for (std::size_t i = 0; i <= n; ++i) {
        for (const auto& rem : removals) {
          if (rem.position == i) model.erase(rem.id);
        }
        if (i == n) break;
        const auto [it, inserted] = model.try_emplace(items[i].entra_object_id, items[i]);
        if (!inserted && overlay_repeats) edgeid::cloud::overlay(it->second, items[i]);
      }
      auto folded = items;
      edgeid::cloud::fold_round(folded, removals, overlay_repeats);
      CHECK(folded == values(model));
      for (const auto& [id, d] : model) CHECK(edgeid::cloud::find_entra(folded, id) != nullptr);
      CHECK(edgeid::cloud::find_entra(folded, id_of(250)) == nullptr);
    }
  }
}

TEST_CASE("identity order: a delta round overlays, adds and then removes") {
  std::mt19937 rng(7);
  for (int round = 0; round < 400; ++round) {
    CAPTURE(round);
    const unsigned ids = 1 + pick(rng, 16);
    std::vector<Identity> set;
    for (unsigned i = 0, count = pick(rng, 20); i < count; ++i) {
      set.push_back(random_device(rng, ids, true));
    }
    edgeid::cloud::fold_round(set, {});
    std::map<Guid, Identity> model;
    for (const auto& d : set) model.emplace(d.entra_object_id, d);
    std::vector<Identity> changes;
    for (unsigned i = 0, count = pick(rng, 20); i < count; ++i) {
      changes.push_back(random_device(rng, ids, true));
    }
    std::vector<Guid> removed;
    for (unsigned i = 0, count = pick(rng, 5); i < count; ++i) {
      removed.push_back(id_of(pick(rng, ids + 2)));
    }
    for (const auto& c : changes) {
      const auto [it, inserted] = model.try_emplace(c.entra_object_id, c);
      if (!inserted) edgeid::cloud::overlay(it->second, c);
    }
    for (const auto& g : removed) model.erase(g);
    edgeid::cloud::apply_delta(set, changes, removed);
    CHECK(set == values(model));
  }
}

TEST_CASE("identity order: an Intune list keeps each id's first device, in id order") {
  std::mt19937 rng(11);
  for (int round = 0; round < 400; ++round) {
    CAPTURE(round);
    const unsigned ids = 1 + pick(rng, 20);
    std::vector<Identity> items;
    for (unsigned i = 0, count = pick(rng, 50); i < count; ++i) {
      items.push_back(random_device(rng, ids, false));
    }
    std::map<Guid, Identity> model;
    std::vector<Guid> repeats;
    for (const auto& d : items) {
      if (!model.try_emplace(d.intune_id, d).second) repeats.push_back(d.intune_id);
    }
    auto list = items;
    CHECK(edgeid::cloud::sort_unique(list) == repeats);
    CHECK(list == values(model));
  }
}
