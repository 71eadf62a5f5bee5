#include "agent/flat_map.h"

#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace edgeid::agent {
namespace {

template <typename K, typename V>
void check_same(const FlatMap<K, V>& flat, const std::map<K, V>& model) {
  REQUIRE(flat.size() == model.size());
  auto m = model.begin();
  for (const auto& [key, value] : flat) {
    CHECK(key == m->first);
    CHECK(value == m->second);
    ++m;
  }
}

TEST_CASE("flat map: from() sorts, and of equal keys keeps the last") {
  const auto map =
      FlatMap<int, std::string>::from({{5, "a"}, {1, "b"}, {5, "c"}, {3, "d"}, {1, "e"}});
  check_same(map, std::map<int, std::string>{{1, "e"}, {3, "d"}, {5, "c"}});
  CHECK(map.contains(3));
  CHECK_FALSE(map.contains(4));
  CHECK(map.at(5) == "c");
  CHECK_THROWS_AS(static_cast<void>(map.at(4)), std::out_of_range);
  CHECK(map.find(2) == map.end());
}

TEST_CASE("flat map: behaves as std::map under random operations") {
  std::mt19937 rng(7);
  FlatMap<int, int> flat;
  std::map<int, int> model;
  for (int step = 0; step < 20000; ++step) {
    const int key = static_cast<int>(rng() % 500);
    const int value = static_cast<int>(rng() % 1000);
    switch (rng() % 6) {
      case 0: {
        const auto a = flat.try_emplace(key, value);
        const auto b = model.try_emplace(key, value);
        CHECK(a.second == b.second);
        CHECK(a.first->second == b.first->second);
        break;
      }
      case 1: {
        const auto a = flat.insert_or_assign(key, value);
        const auto b = model.insert_or_assign(key, value);
        CHECK(a.second == b.second);
        break;
      }
      case 2:
        flat[key] += value;
        model[key] += value;
        break;
      case 3: {
        // A batch of up to 20 pairs, repeats included: the last of a key wins.
        std::vector<std::pair<int, int>> batch;
        for (auto n = rng() % 21; n > 0; --n) {
          batch.emplace_back(static_cast<int>(rng() % 500), static_cast<int>(rng() % 1000));
        }
        for (const auto& [k, v] : batch) model.insert_or_assign(k, v);
        flat.insert_or_assign_all(std::move(batch));
        break;
      }
      case 4: {
        const int modulus = 3 + static_cast<int>(rng() % 50);
        const auto odd = [modulus](const auto& e) { return (e.first + e.second) % modulus == 0; };
        CHECK(flat.erase_if(odd) == std::erase_if(model, odd));
        break;
      }
      default: {
        const auto a = flat.find(key);
        const auto b = model.find(key);
        REQUIRE((a == flat.end()) == (b == model.end()));
        if (a != flat.end()) CHECK(a->second == b->second);
      }
    }
  }
  check_same(flat, model);
  const auto rebuilt =
      FlatMap<int, int>::from(std::vector<std::pair<int, int>>(model.rbegin(), model.rend()));
  CHECK(rebuilt == flat);
}

}  // namespace
}  // namespace edgeid::agent
