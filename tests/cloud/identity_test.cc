// Identity's text storage: value semantics over shared blocks, and the pool that interns them.

#include "cloud/identity.h"

#include <array>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

using namespace edgeid::cloud;

namespace {

constexpr auto kCount = kIdentityTextCount;

std::array<std::string, kCount> distinct_texts(const std::string& tag) {
  std::array<std::string, kCount> t;
  for (std::size_t i = 0; i < kCount; ++i) t[i] = tag + "-field" + std::to_string(i);
  return t;
}

std::array<std::string_view, kCount> views_of(const std::array<std::string, kCount>& t) {
  std::array<std::string_view, kCount> v;
  for (std::size_t i = 0; i < kCount; ++i) v[i] = t[i];
  return v;
}

IdentityText field(std::size_t i) {
  return static_cast<IdentityText>(i);
}

// A device of a fleet: its own name, UPN, e-mail and serial; OS, model and the rest shared.
std::array<std::string, kCount> fleet_device(int n, const std::string& model) {
  std::array<std::string, kCount> t;
  t[static_cast<std::size_t>(IdentityText::device_name)] = "DEV-" + std::to_string(n);
  t[static_cast<std::size_t>(IdentityText::user_principal_name)] =
      "user" + std::to_string(n) + "@example.test";
  t[static_cast<std::size_t>(IdentityText::email)] = "user" + std::to_string(n) + "@example.test";
  t[static_cast<std::size_t>(IdentityText::serial_number)] = "SN" + std::to_string(n);
  t[static_cast<std::size_t>(IdentityText::os)] = "Windows";
  t[static_cast<std::size_t>(IdentityText::os_version)] = "10.0.22631.4460";
  t[static_cast<std::size_t>(IdentityText::model)] = model;
  t[static_cast<std::size_t>(IdentityText::manufacturer)] = "Contoso";
  t[static_cast<std::size_t>(IdentityText::compliance_state)] = "compliant";
  return t;
}

}  // namespace

TEST_CASE("Identity: every text field round-trips and is replaced on its own") {
  const auto texts = distinct_texts("a");
  Identity id;
  id.assign_texts(views_of(texts));
  for (std::size_t i = 0; i < kCount; ++i) CHECK(id.text(field(i)) == texts[i]);
  for (std::size_t i = 0; i < kCount; ++i) {
    Identity changed = id;
    changed.set_text(field(i), "changed");
    for (std::size_t j = 0; j < kCount; ++j) {
      CHECK(changed.text(field(j)) == (i == j ? std::string("changed") : texts[j]));
      CHECK(id.text(field(j)) == texts[j]);  // the copy's change never shows in the original
    }
    CHECK_FALSE(changed == id);
    changed.set_text(field(i), texts[i]);
    CHECK(changed == id);
  }
}

TEST_CASE("Identity: empty texts, copies, moves and equality") {
  Identity empty;
  for (std::size_t i = 0; i < kCount; ++i) CHECK(empty.text(field(i)).empty());
  CHECK(empty.text_capacity() == 0);

  Identity a;
  a.set_text(IdentityText::os, "Windows");
  CHECK(a.text_capacity() > 0);
  a.set_text(IdentityText::os, "");
  CHECK(a == empty);  // all texts empty again: no block is kept
  CHECK(a.text_capacity() == 0);

  Identity b;
  b.set_text(IdentityText::serial_number, "SN1");
  b.set_text(IdentityText::manufacturer, "Contoso");
  Identity c = b;
  CHECK(c == b);
  CHECK(c.text(IdentityText::manufacturer).data() == b.text(IdentityText::manufacturer).data());
  Identity d = std::move(c);
  CHECK(d == b);
  c = d;  // assigning to a moved-from identity
  CHECK(c == b);
  const Identity& alias = c;
  c = alias;  // self-assignment keeps the texts
  CHECK(c.text(IdentityText::serial_number) == "SN1");
  b.intune_id = edgeid::platform::Guid::parse("6bc3e8e8-d6c0-4d3c-9a1e-000000000001").value();
  CHECK_FALSE(c == b);  // the fixed-size fields count too
}

TEST_CASE("Identity: set_text may take a view of the identity's own text") {
  Identity id;
  id.set_text(IdentityText::device_name, "laptop-7");
  id.set_text(IdentityText::email, id.text(IdentityText::device_name));
  id.set_text(IdentityText::os_version, id.text(IdentityText::device_name).substr(0, 6));
  CHECK(id.text(IdentityText::email) == "laptop-7");
  CHECK(id.text(IdentityText::os_version) == "laptop");
  CHECK(id.text(IdentityText::device_name) == "laptop-7");
}

TEST_CASE("Identity: each block holds at most 64 KiB of text; longer values are cut") {
  const std::string big(70'000, 'x');
  Identity id;
  id.set_text(IdentityText::device_name, big);
  CHECK(id.text(IdentityText::device_name).size() == 65'535);
  id.set_text(IdentityText::email, "after");  // no room left in the own block
  CHECK(id.text(IdentityText::email).empty());
  id.set_text(IdentityText::model, "still fits");  // the other block is separate
  CHECK(id.text(IdentityText::model) == "still fits");
}

TEST_CASE("IdentityTextPool: identities of one model share one copy of the shared texts") {
  IdentityTextPool pool;
  std::vector<Identity> fleet(3);
  for (int n = 0; n < 3; ++n) {
    fleet[static_cast<std::size_t>(n)].assign_texts(views_of(fleet_device(n, "Laptop 5")), &pool);
  }
  Identity other_model;
  other_model.assign_texts(views_of(fleet_device(3, "Laptop 6")), &pool);
  Identity unpooled;
  unpooled.assign_texts(views_of(fleet_device(4, "Laptop 5")));

  const char* os = fleet[0].text(IdentityText::os).data();
  CHECK(fleet[1].text(IdentityText::os).data() == os);
  CHECK(fleet[2].text(IdentityText::model).data() == fleet[0].text(IdentityText::model).data());
  CHECK(other_model.text(IdentityText::os).data() != os);
  CHECK(unpooled.text(IdentityText::os).data() != os);
  // Device-specific texts are never shared, and values are what was assigned.
  CHECK(fleet[1].text(IdentityText::device_name) == "DEV-1");
  CHECK(fleet[1].text(IdentityText::device_name).data() !=
        fleet[2].text(IdentityText::device_name).data());
  CHECK(other_model.text(IdentityText::model) == "Laptop 6");
  CHECK(unpooled.text(IdentityText::model) == "Laptop 5");

  // Changing a shared text of one device leaves the others alone.
  fleet[1].set_text(IdentityText::compliance_state, "noncompliant");
  CHECK(fleet[1].text(IdentityText::compliance_state) == "noncompliant");
  CHECK(fleet[0].text(IdentityText::compliance_state) == "compliant");
  CHECK(fleet[2].text(IdentityText::compliance_state) == "compliant");
}

TEST_CASE("IdentityTextPool: blocks outlive the pool, and a full pool still stores values") {
  std::vector<Identity> ids;
  {
    IdentityTextPool pool;
    for (int n = 0; n < 5000; ++n) {  // more distinct models than the pool interns
      Identity id;
      id.assign_texts(views_of(fleet_device(n, "model-" + std::to_string(n))), &pool);
      ids.push_back(id);
    }
    Identity again;
    again.assign_texts(views_of(fleet_device(1, "model-1")), &pool);
    CHECK(again.text(IdentityText::model).data() == ids[1].text(IdentityText::model).data());
    Identity late;
    late.assign_texts(views_of(fleet_device(4999, "model-4999")), &pool);
    CHECK(late == ids[4999]);
  }
  for (int n = 0; n < 5000; ++n) {
    REQUIRE(ids[static_cast<std::size_t>(n)].text(IdentityText::model) ==
            "model-" + std::to_string(n));
  }
}

TEST_CASE("Identity: copies sharing blocks may be destroyed on other threads") {
  IdentityTextPool pool;
  Identity proto;
  proto.assign_texts(views_of(fleet_device(1, "Laptop 5")), &pool);
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([proto] {
      for (int i = 0; i < 10'000; ++i) {
        Identity copy = proto;  // shares both blocks, then replaces its own one
        copy.set_text(IdentityText::device_name, "DEV-" + std::to_string(i));
        if (copy.text(IdentityText::model) != "Laptop 5") std::abort();
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(proto.text(IdentityText::model) == "Laptop 5");
}

TEST_CASE("parse_page: one pool shares texts across pages") {
  const std::string page =
      R"({"value":[{"id":"705c034c-034c-705c-4c03-5c704c035c70","deviceName":"A",)"
      R"("operatingSystem":"Windows","model":"M1"},)"
      R"({"id":"805c034c-034c-705c-4c03-5c704c035c70","deviceName":"B",)"
      R"("operatingSystem":"Windows","model":"M1"}]})";
  IdentityTextPool pool;
  Page first;
  Page second;
  REQUIRE_FALSE(parse_page(page, PageKind::intune, first, &pool));
  REQUIRE_FALSE(parse_page(page, PageKind::intune, second, &pool));
  REQUIRE(first.items.size() == 2);
  REQUIRE(second.items.size() == 2);
  CHECK(first.items[0].text(IdentityText::device_name) == "A");
  CHECK(first.items[1].text(IdentityText::device_name) == "B");
  CHECK(second.items[1].text(IdentityText::model) == "M1");
  CHECK(first.items[0].text(IdentityText::os).data() ==
        second.items[1].text(IdentityText::os).data());
}
