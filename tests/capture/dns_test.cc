#include <memory>

#include <doctest/doctest.h>

#include "capture/decode.h"
#include "capture/frame_builder.h"

namespace edgeid::capture {
namespace {

using namespace test;

struct Fixture : PayloadDecoder {
  Fixture() {
    ctx.eth_src = kHost;
    ctx.has_eth_src = true;
    ctx.ip_src = {10, 0, 0, 2};
  }
  FrameFacts& mdns(const Frame& m) { return run(decode_mdns, m); }
  FrameFacts& nbns(const Frame& m) { return run(decode_nbns, m); }
};

Frame header(unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar) {
  Frame f = {0, 0};
  put16(f, flags);
  put16(f, qd);
  put16(f, an);
  put16(f, ns);
  put16(f, ar);
  return f;
}

Frame labels(std::initializer_list<std::string_view> parts) {
  Frame f;
  for (auto p : parts) {
    f.push_back(static_cast<std::uint8_t>(p.size()));
    put(f, p);
  }
  f.push_back(0);
  return f;
}

void rr(Frame& f, const Frame& name, unsigned type, std::uint32_t ttl, const Frame& rdata) {
  put(f, name);
  put16(f, type);
  put16(f, 0x8001);  // cache-flush, IN
  put32(f, ttl);
  put16(f, static_cast<unsigned>(rdata.size()));
  put(f, rdata);
}

std::string mdns_name(const FrameFacts& f) {
  for (const auto& fact : f.view()) {
    if (fact.kind == FactKind::host_name && fact.name == NameSource::mdns) return text_of(fact);
  }
  return "<none>";
}

TEST_CASE("mdns: A and AAAA announcements give the host name and addresses") {
  Fixture t;
  Frame m = header(0x8400, 0, 2, 0, 0);
  rr(m, labels({"Gabrieles-iPad", "local"}), 1, 120, Frame{10, 0, 0, 2});
  // The second owner is a pointer to the first (offset 12).
  rr(m, Frame{0xc0, 12}, 28, 120, kLinkLocal);
  auto& out = t.mdns(m);
  CHECK(mdns_name(out) == "Gabrieles-iPad");
  CHECK(facts_of(out, FactKind::ipv4, kHost).size() == 1);
  const auto v6 = facts_of(out, FactKind::ipv6, kHost);
  REQUIRE(v6.size() == 1);
  CHECK_FALSE(v6[0].proven);
  CHECK(t.malformed(Decoder::mdns) == 0);
}

TEST_CASE("mdns: service instance names are not host names; SRV target is") {
  Fixture t;
  Frame m = header(0x8400, 0, 1, 0, 0);
  Frame srv = {0, 0, 0, 0, 0, 22};
  put(srv, labels({"gemini", "local"}));
  rr(m, labels({"gemini", "_sftp-ssh", "_tcp", "local"}), 33, 120, srv);
  CHECK(mdns_name(t.mdns(m)) == "gemini");
}

TEST_CASE("mdns: queries, goodbyes and compression loops") {
  Fixture t;
  SUBCASE("a query announces nothing") {
    Frame m = header(0x0000, 0, 1, 0, 0);
    rr(m, labels({"x", "local"}), 1, 120, Frame{10, 0, 0, 2});
    CHECK(t.mdns(m).fact_count == 0);
  }
  SUBCASE("TTL 0 withdraws") {
    Frame m = header(0x8400, 0, 1, 0, 0);
    rr(m, labels({"x", "local"}), 1, 0, Frame{10, 0, 0, 2});
    CHECK(t.mdns(m).fact_count == 0);
  }
  SUBCASE("a pointer to itself") {
    Frame m = header(0x8400, 0, 1, 0, 0);
    rr(m, Frame{0xc0, 12}, 1, 120, Frame{10, 0, 0, 2});
    t.mdns(m);
    CHECK(t.malformed(Decoder::mdns) == 1);
  }
  SUBCASE("two pointers to each other") {
    Frame m = header(0x8400, 0, 1, 0, 0);
    // offset 12: label "a" then pointer to 17; offset 17: pointer to 12.
    put(m, {1, 'a', 0xc0, 17, 0});
    m.resize(17);
    put(m, {0xc0, 12});
    put(m, {0, 1, 0, 1, 0, 0, 0, 120, 0, 4, 10, 0, 0, 2});
    t.mdns(m);
    CHECK(t.malformed(Decoder::mdns) == 1);
  }
  SUBCASE("a forward pointer") {
    Frame m = header(0x8400, 0, 1, 0, 0);
    rr(m, Frame{0xc0, 40}, 1, 120, Frame{10, 0, 0, 2});
    t.mdns(m);
    CHECK(t.malformed(Decoder::mdns) == 1);
  }
  SUBCASE("rdlength beyond the message") {
    Frame m = header(0x8400, 0, 1, 0, 0);
    rr(m, labels({"x", "local"}), 1, 120, Frame{10, 0, 0, 2});
    m[m.size() - 5] = 0x40;
    t.mdns(m);
    CHECK(t.malformed(Decoder::mdns) == 1);
  }
  SUBCASE("huge record counts stop at the bytes") {
    Frame m = header(0x8400, 0xffff, 0xffff, 0xffff, 0xffff);
    t.mdns(m);
    CHECK(t.malformed(Decoder::mdns) == 1);
  }
}

// NetBIOS first-level encoding of a 15-character, space-padded name plus suffix.
Frame nb_name(std::string_view name, std::uint8_t suffix) {
  std::string raw(name);
  raw.resize(15, ' ');
  raw.push_back(static_cast<char>(suffix));
  Frame f = {32};
  for (unsigned char ch : raw) {
    f.push_back(static_cast<std::uint8_t>('A' + (ch >> 4)));
    f.push_back(static_cast<std::uint8_t>('A' + (ch & 0xf)));
  }
  f.push_back(0);
  return f;
}

Frame nb_registration(std::string_view name, std::uint8_t suffix, bool group) {
  Frame m = header(0x2910, 1, 0, 0, 1);  // opcode 5 registration, RD, broadcast
  put(m, nb_name(name, suffix));
  put(m, {0, 0x20, 0, 1});
  put(m, {0xc0, 12, 0, 0x20, 0, 1, 0, 0, 0x0e, 0x10, 0, 6});
  put(m, {group ? 0x80 : 0x00, 0, 10, 0, 0, 2});
  return m;
}

std::string nbns_name(const FrameFacts& f) {
  for (const auto& fact : f.view()) {
    if (fact.kind == FactKind::host_name && fact.name == NameSource::nbns) return text_of(fact);
  }
  return "<none>";
}

TEST_CASE("nbns: registration of a unique workstation name") {
  Fixture t;
  auto& out = t.nbns(nb_registration("DJP95S0J", 0x00, false));
  CHECK(nbns_name(out) == "DJP95S0J");
  CHECK(facts_of(out, FactKind::ipv4, kHost).size() == 1);
}

TEST_CASE("nbns: group names and role suffixes are not host names") {
  Fixture t;
  CHECK(nbns_name(t.nbns(nb_registration("WORKGROUP", 0x00, true))) == "<none>");
  CHECK(nbns_name(t.nbns(nb_registration("WORKGROUP", 0x1d, false))) == "<none>");
  CHECK(nbns_name(t.nbns(nb_registration("SERVER", 0x20, false))) == "SERVER");
}

TEST_CASE("nbns: a positive response counts only when it is about the responder") {
  Fixture t;
  Frame m = header(0x8500, 0, 1, 0, 0);
  put(m, nb_name("GURU", 0));
  put(m, {0, 0x20, 0, 1, 0, 0, 0, 0, 0, 6, 0, 0});
  put(m, {10, 0, 0, 2});
  CHECK(nbns_name(t.nbns(m)) == "GURU");
  m[m.size() - 1] = 99;  // someone else's address: a WINS/proxy answer
  CHECK(t.nbns(m).fact_count == 0);
}

TEST_CASE("nbns: bad encodings are malformed") {
  Fixture t;
  Frame m = nb_registration("X", 0, false);
  m[13] = 'Z';  // outside 'A'..'P'
  t.nbns(m);
  CHECK(t.malformed(Decoder::nbns) == 1);
}

}  // namespace
}  // namespace edgeid::capture
