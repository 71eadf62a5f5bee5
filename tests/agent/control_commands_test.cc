#include "control_commands.h"

#include <ostream>
#include <set>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "fake_control_context.h"

using namespace edgeid::agent;
namespace json = boost::json;

namespace {

Answer run(std::string_view request, edgeid::test::FakeControlContext& ctx, bool admin = true) {
  return handle_request(request, ctx, [admin] { return admin; });
}

}  // namespace

TEST_CASE("the command table: unique kebab-case names, help on every row, mutating rows marked") {
  std::set<std::string_view> names;
  for (const ControlCommand& c : control_commands()) {
    CHECK_MESSAGE(names.insert(c.name).second, "duplicate command ", c.name);
    CHECK_MESSAGE(!c.help.empty(), "no help for ", c.name);
    CHECK(static_cast<bool>(c.handler));
    CHECK(c.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") == std::string_view::npos);
    CHECK(find_control_command(c.name) == &c);
  }
  for (const char* expected : {"status", "devices", "device", "sync", "flush", "upstream-retry",
                               "metrics", "config-get", "list-commands", "version"}) {
    CHECK_MESSAGE(names.count(expected) == 1, expected);
  }
  CHECK(find_control_command("sync")->mutates);
  CHECK(find_control_command("flush")->mutates);
  CHECK(find_control_command("upstream-retry")->mutates);
  CHECK_FALSE(find_control_command("status")->mutates);
  CHECK(find_control_command("nope") == nullptr);
}

TEST_CASE("list-commands is generated from the table") {
  edgeid::test::FakeControlContext ctx;
  const Answer a = run(R"({"command":"list-commands"})", ctx);
  REQUIRE(a.result == kResultOk);
  const auto& list = a.arguments.at("commands").as_array();
  REQUIRE(list.size() == control_commands().size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    CHECK(list[i].at("name").as_string() == control_commands()[i].name);
    CHECK(list[i].at("help").as_string() == control_commands()[i].help);
    CHECK(list[i].at("mutates").as_bool() == control_commands()[i].mutates);
  }
}

TEST_CASE("malformed, empty and unknown requests get error answers, never exceptions") {
  edgeid::test::FakeControlContext ctx;
  struct Case {
    const char* request;
    int result;
    const char* text;
  };
  const Case cases[] = {
      {"", kResultError, "empty request"},
      {"  \r", kResultError, "empty request"},
      {"hello", kResultError, "malformed request"},
      {R"({"command":"sta)", kResultError, "malformed request"},
      {"[1,2]", kResultError, "not a JSON object"},
      {R"({"arguments":{}})", kResultError, "\"command\" must be a string"},
      {R"({"command":5})", kResultError, "\"command\" must be a string"},
      {R"({"command":"status","arguments":[]})", kResultError, "\"arguments\" must be an object"},
      {R"({"command":"status","extra":1})", kResultError, "unknown key 'extra'"},
      {R"({"command":"status","arguments":{"x":1}})", kResultError, "argument 'x'"},
      {R"({"command":"reboot"})", kResultUnsupported, "unknown command 'reboot'"},
      {R"({"command":"device","arguments":{}})", kResultError, "argument 'key' is required"},
      {R"({"command":"device","arguments":{"key":7}})", kResultError, "argument 'key'"},
      {R"({"command":"device","arguments":{"key":"boom"}})", kResultError, "lookup exploded"},
      {R"({"command":"devices","arguments":{"vlan":5000}})", kResultError, "between 0 and 4095"},
      {R"({"command":"devices","arguments":{"state":"weird"}})", kResultError, "managed"},
      {R"({"command":"devices","arguments":{"limit":0}})", kResultError, "'limit'"},
      {R"({"command":"devices","arguments":{"noncompliant":"yes"}})", kResultError, "true or"},
      {R"({"command":"devices","arguments":{"seen_since":"yesterday"}})", kResultError, "RFC"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.request);
    const Answer a = run(c.request, ctx);
    CHECK(a.result == c.result);
    CHECK_MESSAGE(a.text.find(c.text) != std::string::npos, a.text);
  }
  // Deeply nested garbage: Boost.JSON's depth limit, not a stack overflow.
  const Answer deep = run(std::string(100000, '['), ctx);
  CHECK(deep.result == kResultError);
}

TEST_CASE("every command answers from the context") {
  edgeid::test::FakeControlContext ctx;
  Answer a = run(R"({"command":"status"})", ctx);
  CHECK(a.result == kResultOk);
  CHECK(a.arguments.at("uptime_s").as_int64() == 42);

  a = run(R"({"command":"devices","arguments":{"state":"managed","vlan":101,
              "seen_since":"2026-11-23T19:00:00Z","noncompliant":true,"randomized":true,
              "offset":0,"limit":5}})",
          ctx);
  CHECK(a.result == kResultOk);
  CHECK(a.text == "1 of 2 devices");
  CHECK(ctx.last_state == "managed");
  CHECK(ctx.last_vlan == 101);
  CHECK(ctx.last_seen_since == 1795460400);
  CHECK(ctx.last_noncompliant);
  CHECK(ctx.last_randomized);
  CHECK(ctx.last_limit == 5);
  a = run(R"({"command":"devices","arguments":{"offset":10,"seen_since":12}})", ctx);
  CHECK(a.result == kResultEmpty);
  CHECK(ctx.last_seen_since == 12);
  CHECK(ctx.last_limit == 1000);

  a = run(R"({"command":"device","arguments":{"key":"host-00001"}})", ctx);
  CHECK(a.result == kResultOk);
  CHECK(a.arguments.at("mac").as_string() == "3c:22:fb:00:00:01");
  a = run(R"({"command":"device","arguments":{"key":"nothing"}})", ctx);
  CHECK(a.result == kResultEmpty);
  CHECK(a.text == "no device matches 'nothing'");

  a = run(R"({"command":"sync"})", ctx);
  CHECK(a.result == kResultOk);
  CHECK(a.text == "identity sync started");
  CHECK(ctx.syncs == 1);
  ctx.fail_actions = true;
  a = run(R"({"command":"sync"})", ctx);
  CHECK(a.result == kResultError);
  CHECK(a.text.find("a sync is already running") != std::string::npos);
  a = run(R"({"command":"flush"})", ctx);
  CHECK(a.result == kResultOk);
  CHECK(ctx.flushes == 1);
  a = run(R"({"command":"upstream-retry"})", ctx);
  CHECK(a.result == kResultOk);
  CHECK(a.text == "requeued 2 dead letters; sending now");
  CHECK(ctx.upstream_retries == 1);

  a = run(R"({"command":"metrics"})", ctx);
  CHECK(a.arguments.at("metrics").as_string().starts_with("# TYPE edgeid_packets_total"));
  a = run(R"({"command":"config-get"})", ctx);
  CHECK(a.arguments.at("sensor_id").as_string() == "fw1");
  a = run(R"({"command":"version"})", ctx);
  CHECK(a.result == kResultOk);
  CHECK(a.arguments.contains("version"));
}

TEST_CASE("mutating commands need the caller's authority; read-only ones never ask") {
  edgeid::test::FakeControlContext ctx;
  int asked = 0;
  auto deny = [&asked] {
    ++asked;
    return false;
  };
  Answer a = handle_request(R"({"command":"sync"})", ctx, deny);
  CHECK(a.result == kResultError);
  CHECK(a.text.find("permission denied") != std::string::npos);
  CHECK(ctx.syncs == 0);
  a = handle_request(R"({"command":"flush"})", ctx, deny);
  CHECK(a.result == kResultError);
  CHECK(ctx.flushes == 0);
  CHECK(asked == 2);
  a = handle_request(R"({"command":"status"})", ctx, deny);
  CHECK(a.result == kResultOk);
  CHECK(asked == 2);
}

TEST_CASE("serialize_answer writes the envelope on one line") {
  Answer a{kResultEmpty, "no \"device\"\nhere", {}};
  a.arguments["k"] = 1;
  const std::string line = serialize_answer(a);
  CHECK(line.find('\n') == std::string::npos);
  const json::value v = json::parse(line);
  CHECK(v.at("result").as_int64() == 3);
  CHECK(v.at("text").as_string() == "no \"device\"\nhere");
  CHECK(v.at("arguments").at("k").as_int64() == 1);
}
